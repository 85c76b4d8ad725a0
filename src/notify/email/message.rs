//! What a delivery becomes as a mail: headers, recipients and the two
//! bodies. Pure, so tests see exactly what would be sent.
//!
//! Mail threading: every mail of an incident carries `References` and
//! `In-Reply-To` naming one root id derived from the incident, so mail clients
//! that thread by references (Thunderbird, mutt, Apple Mail) group them. The
//! `Message-ID` itself comes from the delivery's dedup key, stable across
//! retries: when a send succeeded but its acknowledgement was lost and the
//! outbox sends again, clients that drop repeated Message-IDs (Gmail) show it
//! once.

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};

use crate::notify::{render, Advisory, Delivery, NotifyError};

/// The mail for one delivery, from `from`, with ids on `domain`.
pub fn build(d: &Delivery, from: &Mailbox, domain: &str) -> Result<Message, NotifyError> {
    let to = recipients(d)?;
    let ids = thread_ids(&d.advisory, d.dedup_key.as_str(), domain);
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(render::email_subject(&d.advisory))
        .message_id(Some(ids.message_id))
        .header(DedupKey(header_safe(d.dedup_key.as_str())))
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

/// A header value Sena made itself (the dedup key): control characters
/// removed so it cannot fold or add a header, and never cut, since a
/// shortened key would no longer match its copies. Free text in the subject
/// goes through the renderer's bounded `one_line` instead.
fn header_safe(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::fixtures::{person, rollback_advisory};
    use crate::roster::Person;

    fn mail(recipients: Vec<Person>) -> Result<Message, NotifyError> {
        let d = Delivery {
            advisory: rollback_advisory(),
            recipients,
            dedup_key: crate::domain::DedupKey::literal("checkout-api:42:opened:0:1729598580000"),
            fallback_from: None,
            thread: None,
        };
        let from: Mailbox = "Sena <sena-bot@example.org>".parse().unwrap();
        build(&d, &from, "example.org")
    }

    #[test]
    fn message_has_threading_dedup_and_both_parts() {
        let m = mail(vec![person("sena", "U0SENA")]).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <sena.checkout-api.42.opened.0.1729598580000@example.org>"),
            "{raw}"
        );
        assert!(raw.contains("In-Reply-To: <sena.incident.42.checkout-api@example.org>"));
        assert!(raw.contains("References: <sena.incident.42.checkout-api@example.org>"));
        assert!(raw.contains("X-Sena-Dedup-Key: checkout-api:42:opened:0:1729598580000"));
        assert!(raw.contains("From: Sena <sena-bot@example.org>"), "{raw}");
        assert!(raw.contains("To: sena <sena@example.com>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(
            raw.contains("Subject: [sena] ROLLBACK checkout-api 5%: error_rate 0.42%"),
            "{raw}"
        );
        assert!(
            raw.is_ascii(),
            "bodies and headers are encoded for 7-bit servers"
        );
    }

    #[test]
    fn people_without_email_are_skipped_and_none_is_permanent() {
        let no_email = Person {
            name: "ghost".into(),
            slack: None,
            email: None,
        };
        let m = mail(vec![no_email.clone(), person("lubit", "U0LUBIT")]).unwrap();
        assert_eq!(m.envelope().to().len(), 1);
        match mail(vec![no_email]) {
            Err(NotifyError::Permanent(m)) => {
                assert_eq!(m, "email: no recipient has an email address")
            }
            other => panic!("expected permanent, got {other:?}"),
        }
    }

    #[test]
    fn advisories_outside_an_incident_do_not_thread() {
        let mut a = rollback_advisory();
        a.incident = None;
        let ids = thread_ids(&a, "k:1", "example.org");
        assert_eq!(ids.message_id, "<sena.k.1@example.org>");
        assert_eq!(ids.root, None);
    }

    #[test]
    fn atoms_are_valid_message_id_parts() {
        assert_eq!(atom("a:b..c d@e"), "a.b.c.d.e");
        assert_eq!(atom("::"), "x");
    }
}
