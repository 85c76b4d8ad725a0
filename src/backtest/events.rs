//! What a replay found, as events on a timeline: the JSON output is these
//! values as they are (field names are a contract for scripts; see the
//! README), and the text and HTML renderings read the same values.

use jiff::Timestamp;
use serde::Serialize;

use crate::domain::{AdvisoryKind, Channel, CheckStatus, Threshold, Verdict};

/// One thing that would have happened at `at`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub at: Timestamp,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// The rollout's verdict changed (the first instant always reports one).
    Verdict { verdict: Verdict, reason: String },
    /// A check's status changed (the first instant always reports each).
    Check {
        check: String,
        status: CheckStatus,
        /// The worst series' value; absent when blind.
        value: Option<f64>,
        value_text: String,
    },
    /// A message that would have gone out.
    Page {
        page: PageKind,
        verdict: Verdict,
        /// The incident it belongs to (numbered from 1 in this replay).
        incident: Option<i64>,
        /// The escalation level it pages (incident messages only).
        level: Option<usize>,
        /// Roster names, in the order the policy lists them.
        to: Vec<String>,
        channels: Vec<Channel>,
    },
    /// The stage became ready to expand (baked, every check passing).
    Ready {
        stage: usize,
        next_stage: usize,
        next_traffic: String,
    },
    /// `--assume-go`: the stage taken at once when it became ready.
    Stage { stage: usize, traffic: String },
}

/// The kind of message, named as the daemon's advisories are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    Opened,
    Reminder,
    Escalated,
    Resolved,
    ReadyToExpand,
    Other,
}

impl PageKind {
    pub fn of(kind: AdvisoryKind) -> PageKind {
        match kind {
            AdvisoryKind::Opened => PageKind::Opened,
            AdvisoryKind::Reminder => PageKind::Reminder,
            AdvisoryKind::Escalated => PageKind::Escalated,
            AdvisoryKind::Resolved => PageKind::Resolved,
            AdvisoryKind::ReadyToExpand => PageKind::ReadyToExpand,
            _ => PageKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Opened => "opened",
            PageKind::Reminder => "reminder",
            PageKind::Escalated => "escalated",
            PageKind::Resolved => "resolved",
            PageKind::ReadyToExpand => "ready_to_expand",
            PageKind::Other => "other",
        }
    }
}

/// One check's values at every step, for the charts.
#[derive(Clone, Debug, Serialize)]
pub struct CheckTrace {
    pub check: String,
    pub threshold: Threshold,
    #[serde(skip)]
    pub values: Vec<Option<f64>>,
    #[serde(skip)]
    pub statuses: Vec<CheckStatus>,
}

/// One rollout replayed over the window.
#[derive(Clone, Debug, Serialize)]
pub struct RolloutTimeline {
    pub rollout: String,
    /// The stage the replay started at, and when it was entered.
    pub stage: usize,
    pub stage_entered_at: Timestamp,
    pub events: Vec<Event>,
    #[serde(skip)]
    pub checks: Vec<CheckTrace>,
    /// The verdict at every step, for the charts' verdict band.
    #[serde(skip)]
    pub verdicts: Vec<Verdict>,
    /// Unix seconds of step 0 and the step, to place the traces in time.
    #[serde(skip)]
    pub first_step: i64,
    #[serde(skip)]
    pub step: i64,
}

impl RolloutTimeline {
    /// The pages, in order.
    pub fn pages(&self) -> impl Iterator<Item = (&Timestamp, &What)> {
        self.events
            .iter()
            .filter(|e| matches!(e.what, What::Page { .. }))
            .map(|e| (&e.at, &e.what))
    }

    /// When `check` first became failing (breach confirmed after `for`).
    pub fn first_failing(&self, check: &str) -> Option<Timestamp> {
        self.events.iter().find_map(|e| match &e.what {
            What::Check {
                check: c,
                status: CheckStatus::Failing,
                ..
            } if c == check => Some(e.at),
            _ => None,
        })
    }

    /// When `stage` first became ready to expand.
    pub fn first_ready(&self, stage: usize) -> Option<Timestamp> {
        self.events.iter().find_map(|e| match &e.what {
            What::Ready { stage: s, .. } if *s == stage => Some(e.at),
            _ => None,
        })
    }

    /// Every stage that became ready at some point, in order.
    pub fn ready_stages(&self) -> Vec<usize> {
        let mut stages: Vec<usize> = self
            .events
            .iter()
            .filter_map(|e| match &e.what {
                What::Ready { stage, .. } => Some(*stage),
                _ => None,
            })
            .collect();
        stages.dedup();
        stages
    }
}
