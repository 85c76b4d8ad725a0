//! The email channel: one multipart/alternative message (text + HTML) per
//! delivery, sent over a pooled SMTP transport built once. One `send` is one
//! attempt; the outcome is classified for the dispatcher's retries: SMTP 5xx
//! and configuration problems are `Permanent`, 4xx, refused connections and
//! timeouts are `Transient`.
//!
//! Mail threading: every mail of an incident carries `References` and
//! `In-Reply-To` naming one root id derived from the incident, so mail clients
//! that thread by references (Thunderbird, mutt, Apple Mail) group them. The
//! `Message-ID` itself comes from the delivery's dedup key, stable across
//! retries: when a send succeeded but its acknowledgement was lost and the
//! outbox sends again, clients that drop repeated Message-IDs (Gmail) show it
//! once.

use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailConfig, Secret, SmtpTls};
use crate::notify::{render, Advisory, BoxFuture, Delivery, Notifier, NotifyError, Sent};

#[derive(Debug, thiserror::Error)]
pub enum EmailSetupError {
    #[error("email: from address {address:?} is not a valid mailbox: {message}")]
    From { address: String, message: String },
    #[error("email: cannot set up TLS for {host}: {message}")]
    Tls { host: String, message: String },
}

pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Right-hand side of generated Message-IDs: the sender's own domain.
    domain: String,
    timeout: Duration,
    /// Kept only to scrub it from error text, should a server echo it.
    password: Option<Secret>,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EmailNotifier {
    pub fn new(cfg: &EmailConfig) -> Result<Self, EmailSetupError> {
        let from: Mailbox = cfg.from.parse().map_err(|e| EmailSetupError::From {
            address: cfg.from.clone(),
            message: format!("{e}"),
        })?;
        let tls_error = |e: lettre::transport::smtp::Error| EmailSetupError::Tls {
            host: cfg.host.clone(),
            message: e.to_string(),
        };
        let builder = match cfg.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
                .map_err(tls_error)?,
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(tls_error)?
            }
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(cfg.timeout))
            // Pages come in bursts (one per rollout state change); a few warm
            // connections cover a burst, and idle ones close before servers
            // drop them on their own.
            .pool_config(
                PoolConfig::new()
                    .max_size(4)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(EmailNotifier {
            transport: builder.build(),
            domain: from.email.domain().to_string(),
            from,
            timeout: cfg.timeout,
            password: cfg.password.clone(),
        })
    }

    /// The message a delivery becomes; public so tests and `sena` tooling
    /// can inspect exactly what would be sent.
    pub fn message(&self, d: &Delivery) -> Result<Message, NotifyError> {
        let to = recipients(d)?;
        let ids = thread_ids(&d.advisory, &d.dedup_key, &self.domain);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(render::email_subject(&d.advisory))
            .message_id(Some(ids.message_id))
            .header(DedupKey(one_line(&d.dedup_key)))
            .user_agent(concat!("sena/", env!("CARGO_PKG_VERSION")).to_string());
        for mailbox in to {
            builder = builder.to(mailbox);
        }
        if let Some(root) = ids.root {
            builder = builder.in_reply_to(root.clone()).references(root);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                render::text(&d.advisory, &d.recipients),
                render::html(&d.advisory, &d.recipients),
            ))
            .map_err(|e| NotifyError::Permanent(format!("email: cannot build the message: {e}")))
    }

    async fn send_once(&self, d: &Delivery) -> Result<Sent, NotifyError> {
        let message = self.message(d)?;
        // lettre's timeout bounds each read and write; this bounds the whole
        // exchange, so a server that trickles bytes cannot hold a send.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_response)) => Ok(Sent::default()),
            Ok(Err(e)) => Err(self.scrub(classify(&e))),
            Err(_) => Err(NotifyError::Transient {
                message: format!("email: SMTP send timed out after {:?}", self.timeout),
                retry_after: None,
            }),
        }
    }

    fn scrub(&self, e: NotifyError) -> NotifyError {
        let Some(password) = self.password.as_ref().filter(|p| !p.expose().is_empty()) else {
            return e;
        };
        let clean = |m: String| m.replace(password.expose(), "<password>");
        match e {
            NotifyError::Transient {
                message,
                retry_after,
            } => NotifyError::Transient {
                message: clean(message),
                retry_after,
            },
            NotifyError::Permanent(message) => NotifyError::Permanent(clean(message)),
        }
    }
}

impl Notifier for EmailNotifier {
    fn channel(&self) -> &'static str {
        "email"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        Box::pin(self.send_once(delivery))
    }
}

/// Everyone in the delivery with a usable address; people without one are
/// reached on other channels, so they are skipped rather than failing all.
fn recipients(d: &Delivery) -> Result<Vec<Mailbox>, NotifyError> {
    let mut mailboxes: Vec<Mailbox> = Vec::new();
    for person in &d.recipients {
        let Some(email) = person.email.as_deref().filter(|e| !e.trim().is_empty()) else {
            continue;
        };
        match email.trim().parse::<Address>() {
            Ok(address) if !mailboxes.iter().any(|m| m.email == address) => {
                mailboxes.push(Mailbox::new(Some(person.name.clone()), address));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(person = %person.name, %email, error = %e, "skipping an invalid email address")
            }
        }
    }
    if mailboxes.is_empty() {
        return Err(NotifyError::Permanent(
            "email: no recipient has an email address".into(),
        ));
    }
    Ok(mailboxes)
}

/// Ids for mail threading; see the module comment for why they are shaped so.
pub struct ThreadIds {
    pub message_id: String,
    /// The incident's root id, referenced by every mail of the incident.
    pub root: Option<String>,
}

pub fn thread_ids(a: &Advisory, dedup_key: &str, domain: &str) -> ThreadIds {
    let root = a
        .incident
        .as_ref()
        .map(|i| format!("<sena.incident.{}.{}@{domain}>", i.id, atom(&a.rollout)));
    ThreadIds {
        message_id: format!("<sena.{}@{domain}>", atom(dedup_key)),
        root,
    }
}

/// A Message-ID's left side must be a dot-atom: letters, digits and a few
/// symbols, dots only between them. Anything else becomes a dot.
fn atom(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '.'
            }
        })
        .collect();
    let parts: Vec<&str> = mapped.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        "x".to_string()
    } else {
        parts.join(".")
    }
}

fn one_line(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// `X-Sena-Dedup-Key`: lets a mail filter or a person spot a repeated send.
#[derive(Clone)]
struct DedupKey(String);

impl Header for DedupKey {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Sena-Dedup-Key")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(DedupKey(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// SMTP 5xx, TLS and client-side refusals will fail the same way next time;
/// 4xx, refused connections, resets and timeouts may not.
fn classify(e: &lettre::transport::smtp::Error) -> NotifyError {
    let text = error_chain(e);
    if e.is_permanent() {
        return NotifyError::Permanent(format!("email: the SMTP server refused: {text}"));
    }
    if e.is_client() {
        return NotifyError::Permanent(format!("email: {text} (check email.smtp in the config)"));
    }
    if e.is_tls() || has_rustls_error(e) {
        return NotifyError::Permanent(format!(
            "email: TLS failed: {text} (check email.smtp.tls, the host name and the server certificate)"
        ));
    }
    let what = if e.is_transient() {
        "the SMTP server deferred"
    } else if e.is_timeout() {
        "SMTP timed out"
    } else {
        "cannot reach the SMTP server"
    };
    NotifyError::Transient {
        message: format!("email: {what}: {text}"),
        retry_after: None,
    }
}

fn has_rustls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        source = err.source();
    }
    false
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::fixtures::{person, rollback_advisory};
    use crate::roster::Person;

    fn notifier() -> EmailNotifier {
        EmailNotifier::new(&EmailConfig {
            host: "127.0.0.1".into(),
            port: 2525,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "Sena <sena-bot@example.org>".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    fn delivery(recipients: Vec<Person>) -> Delivery {
        Delivery {
            advisory: rollback_advisory(),
            recipients,
            dedup_key: "checkout-api:42:opened:0:1729598580000".into(),
            thread: None,
        }
    }

    #[test]
    fn message_has_threading_dedup_and_both_parts() {
        let m = notifier()
            .message(&delivery(vec![person("sena", "U0SENA")]))
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <sena.checkout-api.42.opened.0.1729598580000@example.org>"),
            "{raw}"
        );
        assert!(raw.contains("In-Reply-To: <sena.incident.42.checkout-api@example.org>"));
        assert!(raw.contains("References: <sena.incident.42.checkout-api@example.org>"));
        assert!(raw.contains("X-Sena-Dedup-Key: checkout-api:42:opened:0:1729598580000"));
        assert!(raw.contains("To: sena <sena@example.com>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(
            raw.contains("Subject: [sena] ROLLBACK checkout-api 5%: error_rate 0.42%"),
            "{raw}"
        );
    }

    #[test]
    fn people_without_email_are_skipped_and_none_is_permanent() {
        let no_email = Person {
            name: "ghost".into(),
            slack: None,
            email: None,
        };
        let m = notifier()
            .message(&delivery(vec![
                no_email.clone(),
                person("lubit", "U0LUBIT"),
            ]))
            .unwrap();
        assert_eq!(m.envelope().to().len(), 1);
        match notifier().message(&delivery(vec![no_email])) {
            Err(NotifyError::Permanent(m)) => {
                assert_eq!(m, "email: no recipient has an email address")
            }
            other => panic!("expected permanent, got {other:?}"),
        }
    }

    #[test]
    fn atoms_are_valid_message_id_parts() {
        assert_eq!(atom("a:b..c d@e"), "a.b.c.d.e");
        assert_eq!(atom("::"), "x");
    }

    #[test]
    fn bad_from_address_is_a_setup_error() {
        let err = EmailNotifier::new(&EmailConfig {
            host: "127.0.0.1".into(),
            port: 25,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "not an address".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap_err();
        assert!(err.to_string().contains("not an address"));
    }
}
