//! What one evaluation of one check found.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::threshold::{OnFail, Threshold};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passing,
    /// Breaching, but for less than the check's `for`.
    Pending,
    Failing,
    /// Empty result, or only NaN/±Inf values: Sena cannot see.
    NoData,
    /// The query failed (Prometheus down, slow, bad PromQL).
    Error,
    /// A count-based check with too few requests to say either way: it
    /// neither rolls back nor counts as healthy; the stage is not ready.
    Insufficient,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Passing => "passing",
            CheckStatus::Pending => "pending",
            CheckStatus::Failing => "failing",
            CheckStatus::NoData => "no_data",
            CheckStatus::Error => "error",
            CheckStatus::Insufficient => "insufficient",
        }
    }

    /// Gauge value on /metrics (`sena_check_status`): 0 passing, 1 pending,
    /// 2 failing, 3 no_data, 4 error, 5 insufficient.
    pub fn gauge(self) -> i64 {
        match self {
            CheckStatus::Passing => 0,
            CheckStatus::Pending => 1,
            CheckStatus::Failing => 2,
            CheckStatus::NoData => 3,
            CheckStatus::Error => 4,
            CheckStatus::Insufficient => 5,
        }
    }

    /// Order for listing checks in advisories: the ones that matter first.
    pub fn severity_rank(self) -> u8 {
        match self {
            CheckStatus::Failing => 0,
            CheckStatus::Error => 1,
            CheckStatus::NoData => 2,
            CheckStatus::Pending => 3,
            CheckStatus::Insufficient => 4,
            CheckStatus::Passing => 5,
        }
    }
}

/// Series kept in a `CheckResult` (and so in the outbox, the journal and
/// advisories); more would say nothing a reader can act on.
pub const SERIES_KEPT: usize = 10;

/// One series of a check's result, with whether it is on the wrong side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesValue {
    pub labels: BTreeMap<String, String>,
    #[serde(with = "super::float::always")]
    pub value: f64,
    pub breaching: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub status: CheckStatus,
    /// The deciding value: the worst series value (+Inf on the breaching
    /// side counts), if any.
    #[serde(with = "super::float::optional", default)]
    pub value: Option<f64>,
    /// The worst value in the threshold's notation (`0.42%`), or why there is none.
    pub value_text: String,
    /// The limit, typed: renderers compare and format from it.
    pub threshold: Threshold,
    pub on_fail: OnFail,
    /// The few series worth showing (at most [`SERIES_KEPT`]): breaching
    /// first, then blind ones, then the closest to the limit. The judgement
    /// saw every series; only what is stored and sent is trimmed, so an
    /// outbox row stays small whatever the query returned.
    pub series: Vec<SeriesValue>,
    /// How many series the answer held, kept or not ("and 990 more").
    #[serde(default)]
    pub series_total: usize,
    /// How many of them were breaching.
    #[serde(default)]
    pub breaching_total: usize,
    /// The query failed because Sena itself is out of a local resource
    /// (file descriptors); the daemon reports that as its own health
    /// problem. Not stored: it matters only to the evaluation that saw it.
    #[serde(skip)]
    pub local_failure: bool,
    /// When the current breach began (kept across restarts by the state store).
    pub breach_started_at: Option<Timestamp>,
    /// For pending/failing: the check's `for` in seconds.
    pub for_seconds: u64,
    pub error: Option<String>,
    pub description: Option<String>,
    pub runbook_url: Option<String>,
    pub query: String,
    /// A count-based check's counts, interval and finding; `None` for a
    /// plain value check (and in rows written before counts existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<super::evidence::Evidence>,
}

impl CheckResult {
    /// The series that broke the limit, for "which region broke" messages.
    pub fn breaching_series(&self) -> impl Iterator<Item = &SeriesValue> {
        self.series.iter().filter(|s| s.breaching)
    }

    /// Failing only because the baseline fails as well: a shared failure
    /// (the database down for everyone) holds, it never rolls the canary back.
    pub fn is_shared_failure(&self) -> bool {
        self.status == CheckStatus::Failing
            && self
                .evidence
                .as_ref()
                .is_some_and(|e| e.finding == super::evidence::Finding::Shared)
    }
}

/// Check name → when its current breach began. Owned by the daemon and
/// persisted in the state store so a restart keeps it.
pub type BreachMemory = HashMap<String, Timestamp>;
