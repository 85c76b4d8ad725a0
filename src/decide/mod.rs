//! CheckResults + stage + clock → Verdict. Pure: no I/O, no system clock.
//!
//! `rollback` if any `on_fail: rollback` check is failing; else `hold` if any
//! check is failing, blind (`no_data`) or errored; else `continue`. A pending
//! check does not change the verdict, but a stage with one is never ready to
//! expand. The reason names the checks and values that decided it.

pub use crate::domain::{Decision, Expansion, StagePosition, Verdict};

use std::time::Duration;

use jiff::Timestamp;

use crate::config::{OnFail, Rollout};
use crate::domain::format::{format_duration, format_elapsed};
use crate::domain::{CheckResult, CheckStatus};
use crate::saturating;

pub fn decide(
    rollout: &Rollout,
    stage: StagePosition,
    checks: &[CheckResult],
    now: Timestamp,
) -> Decision {
    if checks.is_empty() {
        return hold("no checks are defined, so nothing is watched".into());
    }
    let rollback: Vec<String> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Failing && c.on_fail == OnFail::Rollback)
        .map(|c| describe(c, now))
        .collect();
    if !rollback.is_empty() {
        return Decision {
            verdict: Verdict::Rollback,
            reason: format!("roll back: {}", rollback.join("; ")),
            ready_to_expand: None,
        };
    }
    let holding: Vec<String> = checks
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                CheckStatus::Failing | CheckStatus::NoData | CheckStatus::Error
            )
        })
        .map(|c| describe(c, now))
        .collect();
    if !holding.is_empty() {
        return hold(format!("hold: {}", holding.join("; ")));
    }
    let pending: Vec<String> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Pending)
        .map(|c| describe(c, now))
        .collect();
    if !pending.is_empty() {
        return Decision {
            verdict: Verdict::Continue,
            reason: format!(
                "within limits for now, but not ready to expand: {}",
                pending.join("; ")
            ),
            ready_to_expand: None,
        };
    }
    continue_clean(rollout, stage, checks.len(), now)
}

fn hold(reason: String) -> Decision {
    Decision {
        verdict: Verdict::Hold,
        reason,
        ready_to_expand: None,
    }
}

fn continue_clean(rollout: &Rollout, stage: StagePosition, n: usize, now: Timestamp) -> Decision {
    let current = rollout.stages.get(stage.index);
    let traffic = current.map(|s| s.traffic.to_string()).unwrap_or_default();
    let next = rollout.stages.get(stage.index + 1);
    let (Some(current), Some(next)) = (current, next) else {
        return Decision {
            verdict: Verdict::Continue,
            reason: format!(
                "all {n} checks passing at {traffic}: the rollout is at its last stage"
            ),
            ready_to_expand: None,
        };
    };
    let bake = current.bake.unwrap_or(Duration::ZERO);
    let baked = elapsed(stage.started_at, now);
    if baked >= bake {
        Decision {
            verdict: Verdict::Continue,
            reason: format!(
                "ready to expand to {}, needs approval from {}",
                next.traffic, rollout.approver
            ),
            ready_to_expand: Some(Expansion {
                next_index: stage.index + 1,
                next_traffic: next.traffic.to_string(),
                approver: rollout.approver.clone(),
            }),
        }
    } else {
        Decision {
            verdict: Verdict::Continue,
            reason: format!(
                "all {n} checks passing; {traffic} has baked {} of {}",
                format_elapsed(saturating::whole_seconds(baked)),
                format_duration(bake)
            ),
            ready_to_expand: None,
        }
    }
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    saturating::elapsed(since, now)
}

/// `error_rate 0.42% (limit < 0.1%) breaching for 2m 10s`, worst labels included.
fn describe(c: &CheckResult, now: Timestamp) -> String {
    match c.status {
        CheckStatus::Error => format!(
            "{}: query failed ({})",
            c.name,
            c.error.as_deref().unwrap_or("unknown error")
        ),
        CheckStatus::NoData => format!("{}: {}", c.name, c.value_text),
        _ => {
            let mut s = format!("{} {} (limit {})", c.name, c.value_text, c.threshold);
            let broken: Vec<String> = c
                .breaching_series()
                .filter(|s| !s.labels.is_empty())
                .take(3)
                .map(|s| labels_text(&s.labels))
                .collect();
            if !broken.is_empty() && c.series.len().max(c.series_total) > 1 {
                s.push_str(&format!(" at {}", broken.join(", ")));
            }
            if let Some(start) = c.breach_started_at {
                let age = format_elapsed(saturating::whole_seconds(elapsed(start, now)));
                if c.status == CheckStatus::Pending {
                    s.push_str(&format!(
                        " breaching for {age} of {}",
                        format_duration(Duration::from_secs(c.for_seconds))
                    ));
                } else {
                    s.push_str(&format!(" breaching for {age}"));
                }
            }
            s
        }
    }
}

/// `{region="eu",instance="a"}` without `__name__`.
pub fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests;
