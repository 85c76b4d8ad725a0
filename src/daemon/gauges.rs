//! What one evaluation found, as gauges on `/metrics`: each check's value,
//! limit and status, and where the rollout stands (stage, traffic, bake
//! left, waiting for a GO). Grafana and the alerting on top read these, so
//! they are written whole after every evaluation: a check removed by a
//! reload leaves no stale series behind (a removed rollout's series go in
//! `reload`, with the rest of its labels).

use std::time::Duration;

use jiff::Timestamp;

use crate::config::Rollout;
use crate::domain::evidence::{Evidence, Finding};
use crate::domain::{CheckResult, Decision, StagePosition};
use crate::metrics::{self, Metrics};

/// Publishes the evaluation of `rollout` at `now` (stage `stage`, final
/// decision `decision`, after any NO-GO).
pub fn publish(
    m: &Metrics,
    rollout: &Rollout,
    stage: StagePosition,
    decision: &Decision,
    checks: &[CheckResult],
    now: Timestamp,
) {
    let name = rollout.name.as_str();
    let scope = ("rollout", name);
    let per_check = |value: fn(&CheckResult) -> f64| {
        checks
            .iter()
            .map(move |c| (vec![scope, ("check", c.name.as_str())], value(c)))
    };
    // No value is NaN, not a missing series: the check exists, Sena is blind.
    m.set_exactly(
        metrics::CHECK_VALUE,
        scope,
        per_check(|c| c.value.unwrap_or(f64::NAN)),
    );
    m.set_exactly(
        metrics::CHECK_THRESHOLD,
        scope,
        per_check(|c| c.threshold.value),
    );
    m.set_exactly(
        metrics::CHECK_STATUS,
        scope,
        per_check(|c| c.status.gauge() as f64),
    );
    // A count check's evidence, only where there is some: a check that
    // lost it (blind, errored, or no longer count-based after a reload)
    // leaves no stale series behind.
    let per_evidence = |value: fn(&Evidence) -> Option<f64>| {
        checks.iter().filter_map(move |c| {
            let v = value(c.evidence.as_ref()?)?;
            Some((vec![scope, ("check", c.name.as_str())], v))
        })
    };
    m.set_exactly(
        metrics::CHECK_EVIDENCE_REQUESTS,
        scope,
        per_evidence(|e| Some(e.total)),
    );
    m.set_exactly(
        metrics::CHECK_EVIDENCE_PART,
        scope,
        per_evidence(|e| Some(e.part)),
    );
    m.set_exactly(
        metrics::CHECK_INTERVAL_LOWER,
        scope,
        per_evidence(|e| Some(e.lower)),
    );
    m.set_exactly(
        metrics::CHECK_INTERVAL_UPPER,
        scope,
        per_evidence(|e| Some(e.upper)),
    );
    m.set_exactly(
        metrics::CHECK_EVIDENCE_NEEDED,
        scope,
        per_evidence(|e| {
            e.total_needed
                .filter(|_| e.finding == Finding::Insufficient)
        }),
    );

    let labels = &[scope];
    m.set(metrics::ROLLOUT_STAGE, labels, stage.index as f64);
    let current = rollout.stages.get(stage.index);
    m.set(
        metrics::ROLLOUT_TRAFFIC_RATIO,
        labels,
        current.map_or(f64::NAN, |s| s.traffic.0 / 100.0),
    );
    m.set(
        metrics::ROLLOUT_BAKE_REMAINING,
        labels,
        bake_remaining(current.and_then(|s| s.bake), stage.started_at, now).as_secs_f64(),
    );
    let pending = decision.ready_to_expand.is_some();
    m.set(
        metrics::APPROVAL_PENDING,
        labels,
        if pending { 1.0 } else { 0.0 },
    );
}

/// Bake time still to go; zero once baked and for a stage without bake
/// (the last one).
fn bake_remaining(bake: Option<Duration>, started_at: Timestamp, now: Timestamp) -> Duration {
    let baked = crate::saturating::elapsed(started_at, now);
    bake.unwrap_or(Duration::ZERO).saturating_sub(baked)
}

#[cfg(test)]
#[path = "gauges_tests.rs"]
mod tests;
