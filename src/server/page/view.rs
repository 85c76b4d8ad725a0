//! What the pages are drawn from: the daemon fills these through
//! `server::Api` (`daemon/api.rs`), so the pages know nothing of the
//! config, the store or the roster, and the renderers are pure functions
//! of these values (unit-tested without a daemon).

use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;

use crate::domain::{CheckStatus, Threshold, Verdict};
use crate::report::RolloutReport;

/// Every configured rollout, as of now.
#[derive(Clone, Debug)]
pub struct Board {
    pub now: Timestamp,
    /// Base of the links to Prometheus's graph page (`prometheus.external_url`).
    pub prometheus_url: String,
    /// Why Sena is not ready (`/readyz`): Prometheus never answered, the
    /// store failing. Shown as a banner: the numbers below may be old.
    pub not_ready: Vec<String>,
    pub rollouts: Vec<BoardRollout>,
}

/// One rollout: its configuration and its latest evaluation.
#[derive(Clone, Debug)]
pub struct BoardRollout {
    pub name: String,
    /// Traffic of each stage in order (`5%`, `10%`, `50%`, `100%`).
    pub ladder: Vec<String>,
    /// How long the current stage bakes; `None` for the last stage.
    pub bake: Option<Duration>,
    pub interval: Duration,
    pub approver: String,
    /// `None` until the first evaluation.
    pub report: Option<RolloutReport>,
    /// The configured checks, in file order.
    pub checks: Vec<CheckInfo>,
}

/// What the rule file says about a check, beside what it last measured.
#[derive(Clone, Debug)]
pub struct CheckInfo {
    pub name: String,
    pub query: String,
    pub threshold: Threshold,
    pub description: Option<String>,
    pub runbook_url: Option<String>,
}

impl BoardRollout {
    /// Sena cannot see this rollout: every check without data or failing
    /// to query. (Blind means hold; the page says why the hold.)
    pub fn blind(&self) -> bool {
        self.report.as_ref().is_some_and(|r| {
            !r.checks.is_empty()
                && r.checks
                    .iter()
                    .all(|c| matches!(c.status, CheckStatus::NoData | CheckStatus::Error))
        })
    }

    /// The last evaluation is older than two intervals: the daemon has
    /// fallen behind or stopped evaluating this rollout.
    pub fn stale(&self, now: Timestamp) -> bool {
        let Some(report) = &self.report else {
            return false;
        };
        let age = now.as_millisecond() - report.evaluated_at.as_millisecond();
        let limit = i64::try_from(self.interval.as_millis().saturating_mul(2)).unwrap_or(i64::MAX);
        age > limit
    }

    /// Whether people are needed: a rollback or hold, or a stage waiting
    /// for a GO. Such rollouts are listed first.
    pub fn needs_people(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| r.verdict != Verdict::Continue || r.ready_to_expand.is_some())
    }
}

/// One journal record of the current stage, as the chart needs it.
#[derive(Clone, Debug, Deserialize)]
pub struct JournalPoint {
    pub at: Timestamp,
    pub verdict: Verdict,
    pub checks: Vec<JournalValue>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct JournalValue {
    pub name: String,
    pub status: CheckStatus,
    /// `null` in the journal for no data, an error or a non-finite value.
    pub value: Option<f64>,
    /// A count check's counts and interval at that evaluation (absent for
    /// a plain check and in records written before counts).
    #[serde(default)]
    pub evidence: Option<crate::domain::evidence::Evidence>,
}

/// Who is on call, from the roster (`sena roster`).
#[derive(Clone, Debug, Default)]
pub struct OnCallView {
    pub timezone: String,
    /// The slot holding now; `None` in a coverage gap.
    pub now: Option<SlotView>,
    /// When who is paged next changes, and to what (`None` for a gap).
    pub next_handover: Option<(Timestamp, Option<SlotView>)>,
    /// Hours of a typical week nobody is paged (`sat 00:00–24:00`).
    pub gaps: Vec<String>,
    /// Overrides in force now (their text as `sena roster` prints it).
    pub overrides: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SlotView {
    pub slot: String,
    pub levels: Vec<LevelView>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LevelView {
    /// After how long without an ack this level is paged (level 0: zero).
    pub after: Duration,
    pub people: Vec<String>,
}
