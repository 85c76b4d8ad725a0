//! The advisory: everything a person needs to act on one rollout state change,
//! independent of the channel that carries it. Serializable because it waits
//! in the outbox (state store) until a channel confirms delivery.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::decide::{Expansion, Verdict};
use crate::eval::CheckResult;
use crate::roster::Person;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvisoryKind {
    /// The verdict changed away from `continue`, or between hold and rollback.
    Opened,
    /// Still not `continue` after `notify.repeat`.
    Reminder,
    /// Nobody acknowledged in time: a further escalation level is paged.
    Escalated,
    /// The rollout is back to `continue`.
    Resolved,
    /// The stage has baked clean; the approver may expand.
    ReadyToExpand,
    /// Someone acknowledged; escalation stopped.
    Acknowledged,
    /// The rollout was removed from the configuration: its open incident
    /// closes without a verdict, and nobody watches it any more.
    Removed,
    /// Sena itself lost a queued notification (an unreadable outbox row)
    /// and says so instead of dropping it silently.
    Undeliverable,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub kind: AdvisoryKind,
    pub at: Timestamp,
    pub rollout: String,
    pub stage_index: usize,
    /// `5%`
    pub traffic: String,
    pub verdict: Verdict,
    pub reason: String,
    pub ready_to_expand: Option<Expansion>,
    /// Sorted: failing first.
    pub checks: Vec<CheckResult>,
    pub approver: String,
    pub incident: Option<IncidentView>,
    /// Base URL of Prometheus for graph links.
    pub prometheus_url: String,
    /// Sena's own trouble that the reader must know to weigh this message
    /// ("the state store is failing: sent from memory").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Paging context when the advisory belongs to an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: i64,
    pub opened_at: Timestamp,
    pub slot: Option<String>,
    /// Escalation level being paged by this advisory.
    pub level: usize,
    /// People this advisory pages.
    pub paged: Vec<Person>,
    /// Who would be paged next, and after how long since the incident opened.
    pub next: Option<NextLevel>,
    pub acknowledged_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NextLevel {
    pub level: usize,
    pub after_seconds: u64,
    pub people: Vec<Person>,
}

impl Advisory {
    /// Headline in words: "ROLL BACK checkout-api at 5%".
    pub fn headline(&self) -> String {
        match (self.kind, self.verdict) {
            (AdvisoryKind::Undeliverable, _) => {
                format!(
                    "SENA PROBLEM: a notification about {} was lost",
                    self.rollout
                )
            }
            (AdvisoryKind::Removed, _) => format!(
                "CLOSED {}: removed from Sena's configuration, no longer watched",
                self.rollout
            ),
            (AdvisoryKind::Resolved, _) => {
                format!(
                    "RECOVERED {} at {}: back within limits",
                    self.rollout, self.traffic
                )
            }
            (AdvisoryKind::ReadyToExpand, _) | (_, Verdict::Continue) => {
                match &self.ready_to_expand {
                    Some(e) => format!(
                        "OK to continue {} to {} — needs {}'s approval",
                        self.rollout, e.next_traffic, e.approver
                    ),
                    None => format!("OK {} at {}: keep going", self.rollout, self.traffic),
                }
            }
            (_, Verdict::Rollback) => format!("ROLL BACK {} at {}", self.rollout, self.traffic),
            (_, Verdict::Hold) => format!("HOLD {} at {}", self.rollout, self.traffic),
        }
    }

    /// Checks that are not passing, worst first.
    pub fn problem_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks
            .iter()
            .filter(|c| c.status != crate::eval::CheckStatus::Passing)
    }
}
