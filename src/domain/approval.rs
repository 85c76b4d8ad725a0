//! GO / NO-GO: a person's decision on a rollout's stage, and the record
//! that keeps it beside Sena's advice at that instant. The record is the
//! dataset that answers "when did people go against the advice, and were
//! they right?", so it carries the evidence, not a pointer to it: a later
//! reload or purge of the journal cannot change what the decider saw.
//!
//! Named `Choice`/`DecisionRecord` because `Decision` already names the
//! verdict that `decide` computes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::check::CheckStatus;
use super::threshold::Threshold;
use super::verdict::{Decision, Verdict};

/// GO (expand to the next stage) or NO-GO (hold where it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Go,
    NoGo,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Go => "GO",
            Choice::NoGo => "NO-GO",
        }
    }
}

/// Where the decision was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Api,
    Cli,
    Slack,
    /// The dashboard's forms (a signed-in session).
    Web,
}

/// One decision as asked; who asks comes from the caller's token.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRequest {
    pub choice: Choice,
    /// The stage index the decider looked at.
    pub stage: usize,
    /// When that stage began, as the request message the decider answered
    /// says (a Slack button, `domain::request`): the decision is refused
    /// when the rollout's stage has begun again since, even at the same
    /// index. `None` from doors that show the live state (API, CLI, page).
    pub stage_started_at: Option<Timestamp>,
    pub comment: Option<String>,
    /// Decide against Sena's advice (needs a comment).
    pub override_advice: bool,
    /// The person (or machine) the token names.
    pub by: super::Principal,
    /// The token's own name, when it has one (machines).
    pub token: Option<String>,
    /// The Slack member ID (`U…`) of a decision taken in Slack.
    pub slack_user: Option<String>,
    pub via: Via,
}

/// One check as the decider could see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckEvidence {
    pub name: String,
    pub status: CheckStatus,
    #[serde(with = "super::float::optional", default)]
    pub value: Option<f64>,
    pub value_text: String,
    pub threshold: Threshold,
    /// A count check's counts, interval and finding at the decision;
    /// absent for a plain check and in records written before counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<super::evidence::Evidence>,
}

/// Sena's advice at the instant of a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// `None` when no evaluation of the current stage exists yet.
    pub verdict: Option<Verdict>,
    pub reason: String,
    /// The stage had baked with every check passing.
    pub ready: bool,
    pub checks: Vec<CheckEvidence>,
    pub bake_elapsed_seconds: u64,
    pub incidents_during_stage: u64,
    /// SHA-256 (hex) of the checks' names, queries and thresholds in force.
    pub rules_hash: String,
}

/// Whether the decision took effect, and why not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Refused { refused: Refused, why: String },
}

/// Why a decision was refused; each maps to one HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refused {
    /// Not the approver or a deputy, or no `decide` capability (403).
    NotAllowed,
    /// The stage named is not the rollout's current stage (409).
    Stale,
    /// GO while Sena does not advise expanding (409).
    NotReady,
    /// A comment is missing where one is required (400).
    Invalid,
}

/// The append-only record of one decision or refusal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Assigned by the store; 0 before it is stored.
    pub id: i64,
    pub at: Timestamp,
    pub rollout: String,
    pub from_stage: usize,
    pub from_traffic: String,
    pub to_stage: usize,
    pub to_traffic: String,
    /// The stage the decider named.
    pub stage_named: usize,
    pub decision: Choice,
    /// The roster person (or machine, or `local`).
    pub by: String,
    /// The token's name, for machine tokens.
    pub token: Option<String>,
    /// The Slack member ID, for decisions taken in Slack. Records written
    /// before this field existed kept it in `token`: see `upgrade`.
    #[serde(default)]
    pub slack_user: Option<String>,
    pub via: Via,
    pub comment: Option<String>,
    #[serde(rename = "override")]
    pub override_advice: bool,
    /// Accepted although Sena did not advise it (an override).
    pub against_advice: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub advice: Advice,
}

impl DecisionRecord {
    /// A record as stored before `slack_user` existed: a Slack decision
    /// carried the member ID in `token`, where no token name can be (Slack
    /// decisions have no token). Moved to its own field when read, so old
    /// and new rows answer the same way.
    pub fn upgrade(mut self) -> DecisionRecord {
        if self.via == Via::Slack && self.slack_user.is_none() {
            self.slack_user = self.token.take();
        }
        self
    }

    /// Same decision by the same person on the same stage: a double click.
    pub fn same_as(&self, r: &DecisionRequest) -> bool {
        self.outcome == Outcome::Accepted
            && self.decision == r.choice
            && self.stage_named == r.stage
            && self.by == r.by.name()
            && self.comment == r.comment
            && self.override_advice == r.override_advice
    }
}

/// How a decision request ended, as the API answers it.
#[derive(Clone, Debug, PartialEq)]
pub enum DecisionAnswer {
    /// It took effect; the stored record.
    Decided(DecisionRecord),
    /// The same decision was already taken: the first record, unchanged.
    Duplicate(DecisionRecord),
    /// Refused; the stored record says why (`outcome`).
    Refused(DecisionRecord),
    UnknownRollout,
}

/// A NO-GO in force: the rollout holds until a later GO or `sena stage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub stage: usize,
    pub by: String,
    pub comment: String,
    pub at: Timestamp,
}

impl Hold {
    pub fn reason(&self) -> String {
        format!("NO-GO by {}: {}", self.by, self.comment)
    }
}

/// The verdict with a NO-GO applied: `hold` with the decider's reason,
/// never ready to expand. Pure, so `decide` stays a function of the checks.
pub fn with_hold(decision: Decision, hold: Option<&Hold>) -> Decision {
    match hold {
        None => decision,
        Some(h) => Decision {
            verdict: Verdict::Hold.max(decision.verdict),
            reason: match decision.verdict {
                Verdict::Rollback => format!("{}; {}", decision.reason, h.reason()),
                _ => h.reason(),
            },
            ready_to_expand: None,
        },
    }
}
