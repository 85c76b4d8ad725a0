//! The JSON shape of one evaluation, shared by `sena eval --format json`,
//! `/api/v1/status` and the decision journal (contract: keep field names).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::evidence::Evidence;
use crate::domain::{CheckResult, CheckStatus, Decision, Expansion, StagePosition, Verdict};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusReport {
    pub at: Timestamp,
    pub rollouts: Vec<RolloutReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RolloutReport {
    pub name: String,
    pub stage: StageReport,
    pub verdict: Verdict,
    pub reason: String,
    pub ready_to_expand: Option<Expansion>,
    pub approver: String,
    /// When this evaluation ran.
    pub evaluated_at: Timestamp,
    pub checks: Vec<CheckReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageReport {
    pub index: usize,
    pub traffic: String,
    pub started_at: Timestamp,
    pub of: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckReport {
    pub name: String,
    pub status: CheckStatus,
    /// The deciding value; `null` when there is none (no data, error, NaN).
    pub value: Option<f64>,
    /// The value in the threshold's notation: `0.42%`, `2.3s`.
    pub value_text: String,
    /// `< 0.1%`
    pub threshold: String,
    pub bound: String,
    pub threshold_value: f64,
    pub on_fail: crate::config::OnFail,
    #[serde(rename = "for")]
    pub for_duration: String,
    pub breach_started_at: Option<Timestamp>,
    pub error: Option<String>,
    /// The worst few series (breaching first); `series_total` counts them all.
    pub series: Vec<SeriesReport>,
    #[serde(default)]
    pub series_total: usize,
    /// A count-based check's counts, interval and finding (absent for a
    /// plain value check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeriesReport {
    pub labels: BTreeMap<String, String>,
    pub value: Option<f64>,
    pub breaching: bool,
}

impl CheckReport {
    pub fn from_result(c: &CheckResult) -> Self {
        CheckReport {
            name: c.name.clone(),
            status: c.status,
            value: c.value.filter(|v| v.is_finite()),
            value_text: c.value_text.clone(),
            threshold: c.threshold.to_string(),
            bound: c.threshold.bound.as_str().to_string(),
            threshold_value: c.threshold.value,
            on_fail: c.on_fail,
            for_duration: crate::domain::format::format_duration(std::time::Duration::from_secs(
                c.for_seconds,
            )),
            breach_started_at: c.breach_started_at,
            error: c.error.clone(),
            series: c
                .series
                .iter()
                .map(|s| SeriesReport {
                    labels: s.labels.clone(),
                    value: Some(s.value).filter(|v| v.is_finite()),
                    breaching: s.breaching,
                })
                .collect(),
            series_total: c.series_total.max(c.series.len()),
            evidence: c.evidence.clone(),
        }
    }
}

impl RolloutReport {
    pub fn new(
        rollout: &crate::config::Rollout,
        stage: StagePosition,
        decision: &Decision,
        checks: &[CheckResult],
        at: Timestamp,
    ) -> Self {
        RolloutReport {
            name: rollout.name.clone(),
            stage: StageReport {
                index: stage.index,
                traffic: rollout
                    .stages
                    .get(stage.index)
                    .map(|s| s.traffic.to_string())
                    .unwrap_or_default(),
                started_at: stage.started_at,
                of: rollout.stages.len(),
            },
            verdict: decision.verdict,
            reason: decision.reason.clone(),
            ready_to_expand: decision.ready_to_expand.clone(),
            approver: rollout.approver.clone(),
            evaluated_at: at,
            checks: checks.iter().map(CheckReport::from_result).collect(),
        }
    }
}

/// A compact journal record: what was decided and the numbers behind it,
/// without series labels (they are in Prometheus) to keep rows small.
#[derive(Serialize)]
pub struct JournalRecord<'a> {
    pub at: Timestamp,
    pub rollout: &'a str,
    pub stage: usize,
    pub traffic: &'a str,
    pub verdict: Verdict,
    pub reason: &'a str,
    pub checks: Vec<JournalCheck<'a>>,
}

#[derive(Serialize)]
pub struct JournalCheck<'a> {
    pub name: &'a str,
    pub status: CheckStatus,
    pub value: Option<f64>,
    /// A count check's counts and interval, as judged at `at` (the
    /// dashboard draws the interval from it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<&'a Evidence>,
}

impl<'a> JournalRecord<'a> {
    pub fn new(r: &'a RolloutReport) -> Self {
        JournalRecord {
            at: r.evaluated_at,
            rollout: &r.name,
            stage: r.stage.index,
            traffic: &r.stage.traffic,
            verdict: r.verdict,
            reason: &r.reason,
            checks: r
                .checks
                .iter()
                .map(|c| JournalCheck {
                    name: &c.name,
                    status: c.status,
                    value: c.value,
                    evidence: c.evidence.as_ref(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
