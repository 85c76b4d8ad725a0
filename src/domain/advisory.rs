//! The advisory: everything a person needs to act on one rollout state change,
//! independent of the channel that carries it. Serializable because it waits
//! in the outbox (state store) until a channel confirms delivery.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::check::{CheckResult, CheckStatus};
use super::verdict::{Expansion, Verdict};

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
    /// A channel has delivered nothing for longer than `notify.stuck_after`;
    /// told once per episode on the other channels (the notice says which
    /// and since when).
    ChannelStuck,
    /// A person's GO or NO-GO took effect (verdict `continue` for GO,
    /// `hold` for NO-GO; the reason says who and why).
    Decided,
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
            (AdvisoryKind::ChannelStuck, _) => format!("SENA PROBLEM: {}", self.reason),
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
            (AdvisoryKind::Decided, Verdict::Continue) => {
                format!("GO {} → now at {}", self.rollout, self.traffic)
            }
            (AdvisoryKind::Decided, _) => {
                format!("NO-GO {}: held at {}", self.rollout, self.traffic)
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
            .filter(|c| c.status != CheckStatus::Passing)
    }
}

/// Someone Sena can page: a roster person, with the ways to reach them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub name: String,
    pub slack: Option<String>,
    pub email: Option<String>,
}

/// One advisory addressed to people over one channel.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    pub advisory: Advisory,
    /// Empty for channel-wide posts (Slack channel, console).
    pub recipients: Vec<Person>,
    /// Stable across retries and restarts; channels that can deduplicate use it.
    pub dedup_key: DedupKey,
    /// Set on the copy handed over after this channel refused the original
    /// for good: a fallback is never handed on again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<Channel>,
    /// Slack Web API thread to reply in (the incident's first message).
    pub thread: Option<String>,
}

/// A way of reaching people. The set is closed: a channel the code does
/// not know cannot be configured, queued or counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// stdout: the default when neither Slack nor email is configured.
    Console,
    Slack,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Console, Channel::Slack, Channel::Email];

    /// The name in the outbox, metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Console => "console",
            Channel::Slack => "slack",
            Channel::Email => "email",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one message for deduplication: the outbox keeps one row per
/// key (a retried commit queues nothing twice) and channels that can
/// deduplicate receive it (`X-Sena-Dedup-Key`). Every key is made here, so
/// their shapes cannot drift apart.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DedupKey(String);

impl DedupKey {
    /// A page about an incident: `ROLLOUT:ID:KIND:LEVEL:MILLIS`.
    pub fn incident(rollout: &str, id: i64, kind: &str, level: usize, at: Timestamp) -> Self {
        DedupKey(format!(
            "{rollout}:{id}:{kind}:{level}:{}",
            at.as_millisecond()
        ))
    }

    /// "Ready to expand" for a stage: `ROLLOUT:ready:STAGE:MILLIS`.
    pub fn ready(rollout: &str, stage_index: usize, at: Timestamp) -> Self {
        DedupKey(format!(
            "{rollout}:ready:{stage_index}:{}",
            at.as_millisecond()
        ))
    }

    /// The notice that queued row `outbox_id` was unreadable and set aside.
    /// A GO or NO-GO that took effect on `stage_index`.
    pub fn decided(rollout: &str, stage_index: usize, at: Timestamp) -> Self {
        DedupKey(format!(
            "{rollout}:decided:{stage_index}:{}",
            at.as_millisecond()
        ))
    }

    pub fn lost(outbox_id: i64) -> Self {
        DedupKey(format!("outbox-{outbox_id}:unreadable"))
    }

    /// The advisory that `channel` is stuck, for the episode whose oldest
    /// waiting row is `outbox_id`: one per episode, even across restarts
    /// while it waits.
    pub fn stuck(channel: Channel, outbox_id: i64) -> Self {
        DedupKey(format!("{channel}:stuck:outbox-{outbox_id}"))
    }

    /// The copy of this message for one channel.
    pub fn on(&self, channel: Channel) -> Self {
        DedupKey(format!("{}:{channel}", self.0))
    }

    /// The copy handed to another channel after `failed` refused it for good.
    pub fn fallback_from(&self, failed: Channel) -> Self {
        DedupKey(format!("{}:fallback-from-{failed}", self.0))
    }

    /// A key taken as written, for tests and tools; the daemon's own keys
    /// come from the constructors above.
    pub fn literal(text: impl Into<String>) -> Self {
        DedupKey(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DedupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
