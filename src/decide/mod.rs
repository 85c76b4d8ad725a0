//! CheckResults + stage + clock → Verdict. Pure: no I/O, no system clock.
//!
//! `rollback` if any `on_fail: rollback` check is failing on its own; else
//! `hold` if any check is failing (a failure the baseline shares holds: the
//! database down for everyone is not the canary's fault), blind (`no_data`)
//! or errored; else `continue`. A pending check, or a count check without
//! enough evidence yet, does not change the verdict, but a stage with one is
//! never ready to expand. Ready needs the bake time (or `min_bake`, when
//! every check is count-based) and every count check confidently within
//! its limit. The reason names the checks, values and counts that decided it.

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
        .filter(|c| {
            c.status == CheckStatus::Failing
                && c.on_fail == OnFail::Rollback
                && !c.is_shared_failure()
        })
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
        .filter(|c| matches!(c.status, CheckStatus::Pending | CheckStatus::Insufficient))
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
    continue_clean(rollout, stage, checks, now)
}

fn hold(reason: String) -> Decision {
    Decision {
        verdict: Verdict::Hold,
        reason,
        ready_to_expand: None,
    }
}

fn continue_clean(
    rollout: &Rollout,
    stage: StagePosition,
    checks: &[CheckResult],
    now: Timestamp,
) -> Decision {
    let n = checks.len();
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
    // Evidence alone may end the bake early, but only when every check has
    // evidence to give: a plain value check knows nothing of its requests.
    let evidence_bake = current
        .min_bake
        .filter(|_| checks.iter().all(|c| c.evidence.is_some()));
    let early = evidence_bake.is_some_and(|min| baked >= min) && baked < bake;
    if baked >= bake || early {
        let confident = confidence_text(checks);
        Decision {
            verdict: Verdict::Continue,
            reason: format!(
                "ready to expand to {}{}{}, needs approval from {}",
                next.traffic,
                if confident.is_empty() { "" } else { ": " },
                confident,
                rollout.approver
            ),
            ready_to_expand: Some(Expansion {
                next_index: stage.index + 1,
                next_traffic: next.traffic.to_string(),
                approver: rollout.approver.clone(),
                stage_started_at: Some(stage.started_at),
            }),
        }
    } else {
        Decision {
            verdict: Verdict::Continue,
            reason: format!(
                "all {n} checks passing; {traffic} has baked {} of {}{}",
                format_elapsed(saturating::whole_seconds(baked)),
                format_duration(bake),
                match evidence_bake {
                    Some(min) => format!(" (evidence may end it from {})", format_duration(min)),
                    None => String::new(),
                }
            ),
            ready_to_expand: None,
        }
    }
}

/// `95% confident error_rate is below 0.1% (41 bad of 86,412 requests, at
/// most 0.062%)`, for each count check, in the approver's words.
fn confidence_text(checks: &[CheckResult]) -> String {
    checks
        .iter()
        .filter_map(|c| {
            let e = c.evidence.as_ref()?;
            let side = match c.threshold.bound {
                crate::domain::Bound::Below => "below",
                crate::domain::Bound::Above => "above",
            };
            let (word, bound) = match c.threshold.bound {
                crate::domain::Bound::Below => ("at most", e.upper),
                crate::domain::Bound::Above => ("at least", e.lower),
            };
            Some(format!(
                "{} confident {} is {side} {} ({}, {word} {})",
                e.confidence_text(),
                c.name,
                c.threshold.format_value(c.threshold.value),
                e.counts_text(),
                c.threshold.format_value(bound)
            ))
        })
        .collect::<Vec<_>>()
        .join("; ")
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
        CheckStatus::NoData | CheckStatus::Insufficient => format!("{}: {}", c.name, c.value_text),
        CheckStatus::Failing if c.is_shared_failure() => format!(
            "{}: {} (limit {}); hold, do not roll the canary back: the stable track is failing too",
            c.name, c.value_text, c.threshold
        ),
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
            // A count check breaches on evidence, not after a `for`: "for 0s"
            // on its first page says nothing.
            let just_now =
                |start: Timestamp| c.evidence.is_some() && elapsed(start, now).as_secs() == 0;
            if let Some(start) = c.breach_started_at.filter(|s| !just_now(*s)) {
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
