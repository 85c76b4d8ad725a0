//! Never lost, never doubled (issue 7), against the real `sena` binary: NaN
//! and ±Inf answers delivered on every channel, a state store on a full disk
//! (a real 200 KiB tmpfs), a second daemon on the same state directory, and
//! a damaged store file.
//!
//! The checks here use constant PromQL (`vector(1) / 0` is `+Inf`), so they
//! need the shared Prometheus but no test app series and no waiting for
//! scrapes.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::sena::{sena_cmd, Sena};
use common::slack::SlackStandIn;
use common::smtp::{Mail, SmtpServer};
use common::{wait_until, ConfigBuilder, RolloutSpec};

const DEADLINE: Duration = Duration::from_secs(40);

const ROSTER: &str = r#"timezone: UTC
people:
  sena:  { slack: U0SENA,  email: sena@example.com }
  lubit: { slack: U0LUBIT, email: lubit@example.com }
slots:
  - name: around-the-clock
    from: "00:00"
    to: "24:00"
    escalation:
      - notify: [sena]
"#;

/// Three checks whose answers are NaN, +Inf and -Inf: a canary with no
/// traffic (`0/0`), a p95 in the `+Inf` bucket, a ratio gone to `-Inf`.
fn non_finite_rules() -> String {
    r#"checks:
  - name: idle_ratio
    query: vector(0) / 0
    below: 0.1%
    on_fail: hold
  - name: latency_p95
    query: vector(1) / 0
    below: 2s
    on_fail: rollback
  - name: satisfaction
    query: -vector(1) / 0
    above: 95%
    on_fail: hold
"#
    .to_string()
}

#[test]
fn nan_and_infinite_answers_are_delivered_on_slack_and_email() {
    let name = "g-nonfinite";
    let slack = SlackStandIn::start();
    let smtp = SmtpServer::start();
    let cfg = ConfigBuilder::new()
        .rollout(name, &non_finite_rules())
        .slack_webhook(&slack.webhook_url())
        .email(smtp.port(), "sena@example.com")
        .roster(ROSTER)
        .write();
    let sena = Sena::start(cfg.path());
    let held = sena.wait_for_verdict(name, "rollback", DEADLINE);
    assert!(
        held["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("latency_p95"),
        "+Inf on the breaching side is a breach: {held:#}"
    );

    let page = slack.wait_for(1, DEADLINE).remove(0);
    let text = page.body.to_string();
    assert!(text.contains("ROLL BACK"), "a rollback page: {text}");
    assert!(
        text.contains("+Inf") && text.contains("-Inf"),
        "non-finite values read as Prometheus writes them: {text}"
    );
    let mail = smtp.wait_for(1, DEADLINE).remove(0);
    assert!(mail.subject.contains("ROLLBACK"), "{}", mail.subject);
    for body in [mail.text.as_str(), mail.html.as_deref().unwrap_or_default()] {
        assert!(
            body.contains("+Inf") && body.contains("-Inf"),
            "the mail shows +Inf and -Inf: {body}"
        );
    }
    // Nothing is stuck: the outbox drains and nothing failed.
    wait_until(
        "an empty outbox",
        DEADLINE,
        || (sena.metric("sena_outbox_depth", &[]) == Some(0.0)).then_some(()),
        || sena.metrics(),
    );
    assert_eq!(sena.metric("sena_outbox_failed", &[]), Some(0.0));
    assert!(
        !sena.logs().contains("bad record"),
        "no unreadable outbox rows: {}",
        sena.logs_tail()
    );
}

#[test]
fn nan_and_infinite_answers_are_printed_on_the_console() {
    let name = "g-nonfinite-console";
    let cfg = ConfigBuilder::new()
        .rollout(name, &non_finite_rules())
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(name, "rollback", DEADLINE);
    let printed = wait_until(
        "the advisory on stdout",
        DEADLINE,
        || {
            let logs = sena.logs();
            logs.contains("ROLL BACK g-nonfinite-console")
                .then_some(logs)
        },
        || sena.logs_tail(),
    );
    assert!(
        printed.contains("+Inf") && printed.contains("-Inf"),
        "{printed}"
    );
    assert!(!printed.contains("bad record"), "{printed}");
}

/// A second `sena run` on the same state directory exits 1 naming the first
/// one's pid; the read-only verbs still work beside the running daemon.
#[test]
fn a_second_daemon_on_the_same_state_is_refused() {
    let name = "g-two-daemons";
    let cfg = ConfigBuilder::new()
        .rollout(name, &common::rules::file(&[constant_check("0")]))
        .roster(ROSTER)
        .write();
    let first = Sena::start(cfg.path());
    first.wait_for_verdict(name, "continue", DEADLINE);

    // The same config but another port: only the state path is shared.
    let other_port = common::free_port();
    let yaml = std::fs::read_to_string(cfg.path())
        .unwrap()
        .replace(&cfg.listen.to_string(), &format!("127.0.0.1:{other_port}"));
    let second_config = cfg.dir.path().join("second.yaml");
    std::fs::write(&second_config, yaml).unwrap();
    let second = Sena::spawn(&second_config, &[]);
    let status = wait_until(
        "the second sena to exit",
        DEADLINE,
        || second.exit_status(),
        || second.logs_tail(),
    );
    let stderr = second.logs();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let expected = format!(
        "another sena (pid {}) is running on {}",
        first.pid(),
        cfg.state_path.display()
    );
    assert!(
        stderr.contains(&expected),
        "wanted {expected:?} in: {stderr}"
    );
    assert!(
        !common::port_open(([127, 0, 0, 1], other_port).into()),
        "the second daemon never served"
    );

    let config = cfg.path().to_str().unwrap();
    for verb in [
        &["eval", "--config", config][..],
        &["journal", "--config", config, "--limit", "1"],
        &["roster", "--config", config],
    ] {
        let out = sena_cmd(verb);
        assert!(
            out.status.code() == Some(0),
            "`sena {}` beside a running daemon: {:?}\n{}",
            verb[0],
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The first daemon is untouched.
    first.wait_for_verdict(name, "continue", DEADLINE);
}

/// A store with bytes overwritten inside its pages: the daemon refuses to
/// start and says what to do, instead of running on an empty view.
#[test]
fn a_damaged_store_is_refused_at_start_with_what_to_do() {
    let name = "g-damaged";
    let cfg = ConfigBuilder::new()
        .rollout(name, &common::rules::file(&[constant_check("0")]))
        .write();
    {
        let mut sena = Sena::start(cfg.path());
        sena.wait_for_rollout(name, "a few journal records", DEADLINE, |r| {
            r["verdict"] == "continue"
        });
        let status = sena.terminate();
        assert!(status.success(), "clean stop: {status:?}");
    }
    let db = cfg.state_path.join("sena.db");
    let mut bytes = std::fs::read(&db).expect("read sena.db");
    assert!(bytes.len() >= 3 * 4096, "{} bytes", bytes.len());
    // Page 2 on: b-tree pages of the tables. Keep page 1 (the header) so
    // SQLite opens the file and only an integrity check can tell.
    for b in &mut bytes[4096 + 8..3 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();

    // Spawned, not run to completion: a daemon that starts anyway must fail
    // the test, not hang it.
    let sena = Sena::spawn(cfg.path(), &[]);
    let status = wait_until(
        "sena to refuse the damaged store",
        DEADLINE,
        || sena.exit_status(),
        || sena.logs_tail(),
    );
    let stderr = sena.logs();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("state store {} is damaged", db.display())),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("move the file aside") && stderr.contains("first stage"),
        "says what to do and what is lost: {stderr}"
    );
}

/// `value` as a constant check that passes below 0.1 (`0`) or fails (`1`).
fn constant_check(value: &str) -> String {
    format!(
        "  - name: constant\n    query: vector({value})\n    below: 0.1\n    on_fail: rollback\n"
    )
}

/// A tmpfs mounted for one test, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (and a message) where mounting is not allowed (not root, no
    /// CAP_SYS_ADMIN): the injected-failure unit tests still cover the logic.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = common::scratch_dir("tmpfs");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(Tmpfs { dir }),
            other => {
                eprintln!("SKIPPED: cannot mount a tmpfs here ({other:?}); run as root to test a real full disk");
                None
            }
        }
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.dir.path())
            .status()
            .expect("remount");
        assert!(status.success(), "remount {size}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Waits until `rollout` has been evaluated three more times.
fn three_more_evaluations(sena: &Sena, rollout: &str) {
    let count = || sena.metric("sena_evaluations_total", &[("rollout", rollout)]);
    let before = count();
    wait_until(
        "three more evaluations",
        DEADLINE,
        || (count() >= before.map(|b| b + 3.0)).then_some(()),
        || sena.logs_tail(),
    );
}

fn assert_no_mail_twice(smtp: &SmtpServer, when: &str) {
    let doubled: Vec<_> = by_subject(&smtp.messages())
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(doubled.is_empty(), "mails sent twice {when}: {doubled:?}");
}

/// Subject → how many mails had it.
fn by_subject(mails: &[Mail]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in mails {
        *counts.entry(m.subject.clone()).or_insert(0) += 1;
    }
    counts
}

/// The state store on a 200 KiB tmpfs that fills while 30 rollouts fail:
/// every rollout is paged once (from memory, saying the store fails), none
/// twice, all stay in the status, `/readyz` says why; when space returns the
/// store recovers and still nothing is sent twice.
#[test]
fn a_full_disk_pages_every_rollout_once_and_recovers() {
    let Some(disk) = Tmpfs::mount("260k") else {
        return;
    };
    let smtp = SmtpServer::start();
    let names: Vec<String> = (0..30).map(|i| format!("g-full-{i:02}")).collect();
    let mut builder = ConfigBuilder::new()
        .email(smtp.port(), "sena@example.com")
        .roster(ROSTER);
    for name in &names {
        builder = builder.rollout_with(RolloutSpec::new(
            name,
            &common::rules::file(&[constant_check("1")]),
        ));
    }
    let cfg = builder.write();
    let yaml = std::fs::read_to_string(cfg.path()).unwrap().replace(
        &format!("path: {}", cfg.state_path.display()),
        &format!("path: {}", disk.dir.path().display()),
    );
    std::fs::write(cfg.path(), yaml).unwrap();

    // Not `start`: that waits for /readyz 200, which a full disk denies.
    let sena = Sena::spawn(cfg.path(), &[]);
    // Every rollout's rollback is mailed, once.
    let mails = wait_until(
        "one rollback mail per rollout",
        Duration::from_secs(60),
        || {
            let mails = smtp.messages();
            let paged = names
                .iter()
                .filter(|n| {
                    mails
                        .iter()
                        .any(|m| m.subject.starts_with(&format!("[sena] ROLLBACK {n} ")))
                })
                .count();
            (paged == names.len()).then_some(mails)
        },
        || format!("{} mails; {}", smtp.messages().len(), sena.logs_tail()),
    );
    assert!(
        mails
            .iter()
            .any(|m| m.text.contains("state store is failing")),
        "a page sent from memory says the store is failing: {:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let (code, body) = sena.get("/readyz");
    assert_eq!(code, 503, "/readyz while the store cannot commit: {body}");
    assert!(body.contains("state store failing"), "{body}");
    let store_errors: f64 = sena
        .metrics()
        .lines()
        .filter(|l| l.starts_with("sena_store_errors_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(store_errors > 0.0, "sena_store_errors_total counts");
    let status = sena.status();
    let listed = status["rollouts"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, names.len(), "every rollout stays in the status");

    // A few more evaluations on the full disk: still one mail per rollout.
    three_more_evaluations(&sena, &names[0]);
    assert_no_mail_twice(&smtp, "on the full disk");

    // Space returns: ready again, the incidents reach the store, nothing
    // is sent a second time.
    disk.resize("50m");
    wait_until(
        "/readyz 200 after the disk has room",
        DEADLINE,
        || (sena.get("/readyz").0 == 200).then_some(()),
        || format!("{:?}\n{}", sena.get("/readyz"), sena.logs_tail()),
    );
    // Each rollout writes what it kept in memory at its next evaluation.
    let incidents = wait_until(
        "one open incident per rollout in the store",
        DEADLINE,
        || {
            let (code, body) = sena.get("/api/v1/incidents?limit=100");
            let incidents: serde_json::Value = serde_json::from_str(&body).ok()?;
            let open = incidents["incidents"]
                .as_array()?
                .iter()
                .filter(|i| i["resolved_at"].is_null())
                .count();
            (code == 200 && open == names.len()).then_some(incidents)
        },
        || format!("{:?}", sena.get("/api/v1/incidents?limit=100")),
    );
    let body = incidents.to_string();
    let ids: std::collections::HashSet<i64> = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), names.len(), "distinct incident ids: {body}");
    three_more_evaluations(&sena, &names[0]);
    assert_no_mail_twice(&smtp, "after recovery");
}
