//! A real SMTP server on loopback: Debian's `python3-aiosmtpd`, run by
//! `/usr/bin/python3` (not whatever python3 is first on PATH) with a small
//! handler written into a scratch directory. The handler decodes each
//! message with Python's stdlib `email` (multipart, quoted-printable,
//! base64, encoded headers) and stores it as one JSON file, so the tests
//! read exactly what a mail client would show.
//!
//! `stop()` / `start_again()` take the server down and back on the same port
//! (an outage); `reply_with(Some("451 ..."))` makes it answer the DATA
//! command with that reply instead of accepting, until `reply_with(None)`;
//! `reply_to_rcpt("a@b", Some("550 ..."))` makes it answer `RCPT TO:<a@b>`
//! with that reply (that recipient refused or deferred, the others in the
//! transaction accepted), until `reply_to_rcpt("a@b", None)`. A message
//! is stored with the recipients the server accepted, so a refused address
//! never appears in `Mail::to`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::process::{self, Guarded};

/// The interpreter that has Debian's aiosmtpd; `SENA_TEST_PYTHON` overrides.
fn python() -> String {
    std::env::var("SENA_TEST_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

const HANDLER: &str = r#"
import email, email.policy, json, os, signal, sys, threading
from aiosmtpd.controller import Controller

port, box = int(sys.argv[1]), sys.argv[2]
reply_file = os.path.join(box, "reply")
rcpt_file = os.path.join(box, "rcpt-replies")
counter = [len([n for n in os.listdir(box) if n.endswith(".json")])]
lock = threading.Lock()

def body(msg, kind):
    part = msg.get_body(preferencelist=(kind,))
    if part is None or part.get_content_type() != "text/" + kind:
        return None
    return part.get_content()

def rcpt_reply(address):
    # One "address reply" per line, written by SmtpServer::reply_to_rcpt.
    try:
        with open(rcpt_file) as f:
            for line in f:
                listed, _, reply = line.strip().partition(" ")
                if listed.lower() == address.lower() and reply:
                    return reply
    except FileNotFoundError:
        pass
    return None

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = rcpt_reply(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        try:
            with open(reply_file) as f:
                reply = f.read().strip()
            if reply:
                return reply
        except FileNotFoundError:
            pass
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(msg.get("subject", "")),
            "text": body(msg, "plain"),
            "html": body(msg, "html"),
            "raw": raw.decode("utf-8", "replace"),
        }
        with lock:
            counter[0] += 1
            name = os.path.join(box, "%06d.json" % counter[0])
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 OK"

controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("READY", flush=True)
signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
threading.Event().wait()
"#;

/// One message as a mail client would show it.
#[derive(Clone, Debug, PartialEq)]
pub struct Mail {
    /// Envelope sender (MAIL FROM).
    pub from: String,
    /// Envelope recipients (RCPT TO).
    pub to: Vec<String>,
    /// Decoded Subject header.
    pub subject: String,
    /// Decoded text/plain body (the text part of a multipart/alternative).
    pub text: String,
    /// Decoded text/html body, if any.
    pub html: Option<String>,
    /// The message as received.
    pub raw: String,
}

pub struct SmtpServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Mutex<Option<Guarded>>,
    /// Address → reply to its `RCPT TO`, mirrored in the `rcpt-replies` file.
    rcpt_replies: Mutex<BTreeMap<String, String>>,
}

impl SmtpServer {
    /// Starts a server that accepts every message.
    pub fn start() -> SmtpServer {
        let dir = super::scratch_dir("smtp");
        fs::create_dir_all(dir.path().join("box")).expect("create the mailbox");
        fs::write(dir.path().join("handler.py"), HANDLER).expect("write the handler");
        let mut server = SmtpServer {
            port: 0,
            dir,
            child: Mutex::new(None),
            rcpt_replies: Mutex::new(BTreeMap::new()),
        };
        for attempt in 1..=5 {
            server.port = super::free_port();
            match server.launch() {
                Ok(()) => return server,
                Err(e) if attempt < 5 && e.contains("in use") => continue,
                Err(e) => panic!("SMTP server did not start: {e}"),
            }
        }
        unreachable!()
    }

    /// Starts a server that answers every DATA with `reply`, e.g.
    /// `"550 5.7.1 Rejected for the test"`.
    pub fn start_rejecting(reply: &str) -> SmtpServer {
        let server = SmtpServer::start();
        server.reply_with(Some(reply));
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// From now on answer DATA with `reply` (a full SMTP reply such as
    /// `"451 4.3.0 Try again later"` or `"550 5.7.1 No"`), or accept again
    /// with `None`. Takes effect for the next message.
    pub fn reply_with(&self, reply: Option<&str>) {
        let path = self.mailbox().join("reply");
        match reply {
            Some(reply) => fs::write(path, reply).expect("write the reply file"),
            None => {
                let _ = fs::remove_file(path);
            }
        }
    }

    /// From now on answer `RCPT TO:<address>` with `reply` (e.g.
    /// `"550 5.1.1 No such user"` or `"450 4.2.1 Mailbox busy"`), or accept
    /// it again with `None`. Takes effect for the next transaction.
    pub fn reply_to_rcpt(&self, address: &str, reply: Option<&str>) {
        let mut replies = self.rcpt_replies.lock().unwrap();
        match reply {
            Some(reply) => replies.insert(address.to_string(), reply.to_string()),
            None => replies.remove(address),
        };
        let text: String = replies
            .iter()
            .map(|(address, reply)| format!("{address} {reply}\n"))
            .collect();
        // Whole or not at all: the handler may read it at any moment.
        let path = self.mailbox().join("rcpt-replies");
        let tmp = self.mailbox().join("rcpt-replies.tmp");
        fs::write(&tmp, text).expect("write the RCPT replies");
        fs::rename(&tmp, &path).expect("replace the RCPT replies");
    }

    /// Takes the server down: connections to the port are refused.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            child.kill();
        }
    }

    /// Brings the server back on the same port, keeping the messages received.
    pub fn start_again(&self) {
        if self.child.lock().unwrap().is_some() {
            return;
        }
        if let Err(e) = self.launch() {
            panic!("SMTP server did not restart on port {}: {e}", self.port);
        }
    }

    /// Every message accepted so far, in order of arrival.
    pub fn messages(&self) -> Vec<Mail> {
        let mut names: Vec<PathBuf> = fs::read_dir(self.mailbox())
            .expect("read the mailbox")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names.iter().map(|p| read_mail(p)).collect()
    }

    /// Waits until at least `n` messages have arrived and returns them all.
    pub fn wait_for(&self, n: usize, deadline: Duration) -> Vec<Mail> {
        super::wait_until(
            &format!("{n} message(s) at the SMTP server"),
            deadline,
            || {
                let mails = self.messages();
                (mails.len() >= n).then_some(mails)
            },
            || format!("{:#?}", self.messages()),
        )
    }

    /// The server's stderr (aiosmtpd logs), for failure messages.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.dir.path().join("smtp.log")).unwrap_or_default()
    }

    fn mailbox(&self) -> PathBuf {
        self.dir.path().join("box")
    }

    fn launch(&self) -> Result<(), String> {
        let log_path = self.dir.path().join("smtp.log");
        let log = fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(python());
        cmd.arg(self.dir.path().join("handler.py"))
            .arg(self.port.to_string())
            .arg(self.mailbox())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let mut child = process::spawn(cmd).map_err(|e| format!("spawn {}: {e}", python()))?;
        let addr = ([127, 0, 0, 1], self.port).into();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(status) = child.try_wait() {
                return Err(format!(
                    "{} exited with {status}; log:\n{}",
                    python(),
                    fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            let said_ready = fs::read_to_string(&log_path).is_ok_and(|l| l.contains("READY"));
            if said_ready && super::port_open(addr) {
                *self.child.lock().unwrap() = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "not listening within 30s; log:\n{}",
            fs::read_to_string(&log_path).unwrap_or_default()
        ))
    }
}

fn read_mail(path: &Path) -> Mail {
    let text = fs::read_to_string(path).expect("read a stored message");
    let v: serde_json::Value = serde_json::from_str(&text).expect("a stored message is JSON");
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Mail {
        from: s("from"),
        to: v["to"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        subject: s("subject"),
        text: s("text"),
        html: v["html"].as_str().map(String::from),
        raw: s("raw"),
    }
}
