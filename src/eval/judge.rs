//! Pure judgement of one check: query answer + breach memory + now →
//! `CheckResult`. No I/O, no system clock; this is where "blind means hold"
//! is enforced (its tests: `judge_tests.rs` and `decide/tests.rs`).

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::config::{Bound, Check, NoData, Threshold};
use crate::datasource::{DatasourceError, RangeSeries, Sample};
use crate::domain::{CheckResult, CheckStatus, Evidence, SeriesValue, SERIES_KEPT};

/// What the answer says before `for` is applied.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// At least one series is on the wrong side of the threshold.
    Breaching,
    Healthy,
    /// Sena cannot see: why, and whether the check's policy says to hold.
    Blind {
        why: String,
        holds: bool,
    },
    Failed(DatasourceError),
    /// A count-based check with too few requests to judge either way.
    Insufficient,
}

pub struct Observed {
    pub observation: Observation,
    pub value: Option<f64>,
    /// The series worth keeping, at most [`SERIES_KEPT`].
    pub series: Vec<SeriesValue>,
    pub series_total: usize,
    pub breaching_total: usize,
    /// A count-based check's counts and finding (the worst series').
    pub evidence: Option<Evidence>,
}

impl Observed {
    /// An observation with no value and no series behind it (a failed
    /// query, an empty answer).
    pub fn bare(observation: Observation) -> Observed {
        Observed {
            observation,
            value: None,
            series: Vec::new(),
            series_total: 0,
            breaching_total: 0,
            evidence: None,
        }
    }
}

/// Classifies a query answer. Every series is checked and the worst decides.
/// NaN is blind; ±Inf counts as breaching when it is on the breaching side
/// (a p95 in the +Inf bucket is a real breach) and blind otherwise.
pub fn observe(check: &Check, answer: Result<Vec<Sample>, DatasourceError>) -> Observed {
    let samples = match answer {
        Ok(s) => s,
        Err(e) => return Observed::bare(Observation::Failed(e)),
    };
    if samples.is_empty() {
        return Observed::bare(Observation::Blind {
            why: "query returned no series".into(),
            holds: check.no_data == NoData::Hold,
        });
    }
    let t = &check.threshold;
    let mut worst: Option<f64> = None;
    let mut any_breach = false;
    let mut blind_series = 0usize;
    let mut series: Vec<SeriesValue> = samples
        .into_iter()
        .map(|s| {
            let breaching = !s.value.is_nan() && t.is_breached_by(s.value);
            if breaching || s.value.is_finite() {
                worst = Some(match worst {
                    None => s.value,
                    Some(w) => worse(t, w, s.value),
                });
            }
            if breaching {
                any_breach = true;
            } else if !s.value.is_finite() {
                blind_series += 1;
            }
            SeriesValue {
                labels: s.labels,
                value: s.value,
                breaching,
            }
        })
        .collect();
    let series_total = series.len();
    let breaching_total = series.iter().filter(|s| s.breaching).count();
    let observation = if any_breach {
        Observation::Breaching
    } else if blind_series > 0 {
        Observation::Blind {
            why: format!(
                "{blind_series} of {series_total} series is NaN or infinite (no traffic?)"
            ),
            // NaN is not an empty answer: `no_data: ignore` does not cover it.
            holds: true,
        }
    } else {
        Observation::Healthy
    };
    keep_worst(t, &mut series);
    Observed {
        observation,
        value: worst,
        series,
        series_total,
        breaching_total,
        evidence: None,
    }
}

/// Trims `series` to the [`SERIES_KEPT`] most telling, in order: breaching
/// (worst first), then NaN/±Inf, then healthy (closest to the limit first).
/// Called after the judgement, which saw them all.
fn keep_worst(t: &Threshold, series: &mut Vec<SeriesValue>) {
    let rank = |s: &SeriesValue| match (s.breaching, s.value.is_finite()) {
        (true, _) => 0,
        (false, false) => 1,
        (false, true) => 2,
    };
    // Worst first along the threshold's direction; NaN compares as equal.
    let badness = |s: &SeriesValue| match t.bound {
        Bound::Below => s.value,
        Bound::Above => -s.value,
    };
    series.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| {
            badness(b)
                .partial_cmp(&badness(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    series.truncate(SERIES_KEPT);
}

fn worse(t: &Threshold, a: f64, b: f64) -> f64 {
    match t.bound {
        Bound::Below => a.max(b),
        Bound::Above => a.min(b),
    }
}

/// Applies `for` and returns the result plus the breach start to remember.
/// A blind or failed evaluation neither confirms nor clears a breach: the
/// start is kept, so a Prometheus blip mid-breach does not restart `for`.
pub fn judge(
    check: &Check,
    observed: Observed,
    breach_started_at: Option<Timestamp>,
    now: Timestamp,
) -> (CheckResult, Option<Timestamp>) {
    let t = &check.threshold;
    let for_seconds = check.for_duration.as_secs();
    // A count-based check says its counts, not only its value.
    let measured = |value: Option<f64>| match &observed.evidence {
        Some(e) => e.summary(t),
        None => value.map(|v| t.format_value(v)).unwrap_or_default(),
    };
    let (status, breach, error, value_text) = match &observed.observation {
        Observation::Breaching => {
            let started = breach_started_at.unwrap_or(now);
            let age = now.duration_since(started).as_secs_f64();
            let status = if age >= check.for_duration.as_secs_f64() {
                CheckStatus::Failing
            } else {
                CheckStatus::Pending
            };
            (status, Some(started), None, measured(observed.value))
        }
        Observation::Healthy => (CheckStatus::Passing, None, None, measured(observed.value)),
        Observation::Insufficient => (
            CheckStatus::Insufficient,
            None,
            None,
            measured(observed.value),
        ),
        Observation::Blind { why, holds: true } => (
            CheckStatus::NoData,
            breach_started_at,
            Some(why.clone()),
            format!("no data ({why})"),
        ),
        Observation::Blind { why, holds: false } => (
            CheckStatus::Passing,
            None,
            None,
            format!("no data ({why}; ignored by no_data: ignore)"),
        ),
        Observation::Failed(e) => (
            CheckStatus::Error,
            breach_started_at,
            Some(e.to_string()),
            "error".to_string(),
        ),
    };
    let local_failure = matches!(&observed.observation, Observation::Failed(e) if e.is_local());
    let result = CheckResult {
        name: check.name.clone(),
        status,
        value: observed.value.filter(|v| !v.is_nan()),
        value_text,
        threshold: *t,
        on_fail: check.on_fail,
        series: observed.series,
        series_total: observed.series_total,
        breaching_total: observed.breaching_total,
        local_failure,
        breach_started_at: breach,
        for_seconds,
        error,
        description: check.description.clone(),
        runbook_url: check.runbook_url.clone(),
        query: check.query.clone(),
        evidence: observed.evidence,
    };
    (result, breach)
}

/// For `sena eval` (no daemon state): when the breach that is still going on
/// at the end of the range began, judged from a range query over the `for`
/// window. The check breaches at an instant if any series does; a missing
/// point ends the run.
pub fn breach_start_from_range(threshold: &Threshold, series: &[RangeSeries]) -> Option<i64> {
    let mut breaching_at: BTreeMap<i64, bool> = BTreeMap::new();
    for s in series {
        for &(ts, v) in &s.points {
            let b = !v.is_nan() && threshold.is_breached_by(v);
            *breaching_at.entry(ts).or_insert(false) |= b;
        }
    }
    let mut start = None;
    for (&ts, &b) in breaching_at.iter().rev() {
        if !b {
            break;
        }
        start = Some(ts);
    }
    start
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
