//! Per-recipient progress of one delivery: who already has it and who was
//! refused for good. Email is the channel that needs it: one refused
//! address must not cost everyone else the page, and a retry after a
//! deferral for one recipient must not mail the ones who already have it.
//! The progress lives beside the delivery, in its outbox row (`progress`
//! column) or its in-memory item, so it survives retries and restarts;
//! channels that post once for everyone (Slack, console) never touch it.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientProgress {
    /// Addresses that accepted the message: never sent to again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reached: Vec<String>,
    /// Addresses refused for good: not retried, logged and counted once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refusal>,
}

/// One recipient the server refused permanently, and what it said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub address: String,
    pub error: String,
}

impl RecipientProgress {
    pub fn is_empty(&self) -> bool {
        self.reached.is_empty() && self.refused.is_empty()
    }

    /// Whether `address` needs nothing more: reached or refused. Addresses
    /// compare without case, as mail systems treat them in practice.
    pub fn settled(&self, address: &str) -> bool {
        self.reached
            .iter()
            .chain(self.refused.iter().map(|r| &r.address))
            .any(|a| a.eq_ignore_ascii_case(address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_covers_reached_and_refused_without_case() {
        let p = RecipientProgress {
            reached: vec!["sena@example.com".into()],
            refused: vec![Refusal {
                address: "mira@example.com".into(),
                error: "550".into(),
            }],
        };
        assert!(p.settled("SENA@example.com"));
        assert!(p.settled("mira@example.com"));
        assert!(!p.settled("lubit@example.com"));
        assert_eq!(
            serde_json::to_string(&RecipientProgress::default()).unwrap(),
            "{}"
        );
    }
}
