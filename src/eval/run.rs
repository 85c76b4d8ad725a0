//! Querying: all checks of a rollout run concurrently; one slow query holds
//! only its own check, and the datasource enforces the timeout.

use std::time::Duration;

use futures_util::future::join_all;
use jiff::Timestamp;

use super::counts::observe_counts;
use super::judge::{breach_start_from_range, judge, observe, Observation, Observed};
use crate::config::{Check, Rollout};
use crate::datasource::Datasource;
use crate::domain::{BreachMemory, CheckResult};
use crate::saturating;

/// One evaluation with daemon memory. Returns the results (in rule order)
/// and the breach memory to keep.
pub async fn evaluate_rollout(
    ds: &dyn Datasource,
    rollout: &Rollout,
    stage_started_at: Timestamp,
    at: Timestamp,
    breaches: &BreachMemory,
) -> (Vec<CheckResult>, BreachMemory) {
    let observed = join_all(
        rollout
            .checks
            .iter()
            .map(|c| observe_check(ds, c, stage_started_at, at)),
    )
    .await;
    let mut memory = BreachMemory::new();
    let results = rollout
        .checks
        .iter()
        .zip(observed)
        .map(|(check, observed)| {
            let (result, start) = judge(check, observed, breaches.get(&check.name).copied(), at);
            if let Some(start) = start {
                memory.insert(check.name.clone(), start);
            }
            result
        })
        .collect();
    (results, memory)
}

/// One check's answer: a count check asks for its counts (and judges
/// them), a plain check runs its one query.
async fn observe_check(
    ds: &dyn Datasource,
    check: &Check,
    stage_started_at: Timestamp,
    at: Timestamp,
) -> Observed {
    match &check.counts {
        Some(q) => observe_counts(ds, check, q, stage_started_at, at).await,
        None => observe(check, ds.query(&check.query, at, check.max_series).await),
    }
}

/// One evaluation with no daemon state (`sena eval`): a breaching check with
/// a `for` asks Prometheus for the `for` window to learn when the breach
/// began, so the one-shot answer matches what the daemon would say.
pub async fn evaluate_rollout_stateless(
    ds: &dyn Datasource,
    rollout: &Rollout,
    stage_started_at: Timestamp,
    at: Timestamp,
) -> Vec<CheckResult> {
    let per_check = rollout.checks.iter().map(|check| async move {
        let observed = observe_check(ds, check, stage_started_at, at).await;
        let mut started = None;
        if observed.observation == Observation::Breaching && !check.for_duration.is_zero() {
            // Look back further than `for` so "breaching for" reads as the
            // daemon's would; the verdict itself needs only the `for` window.
            // Saturating: `for` comes from YAML, and a huge one must read as
            // "look back as far as possible", not panic.
            let lookback = saturating::times(check.for_duration, 3)
                .max(check.for_duration.saturating_add(Duration::from_secs(60)));
            let start = saturating::before(at, lookback);
            let step = (lookback.as_secs_f64() / 120.0)
                .min(rollout.interval.as_secs_f64())
                .max(1.0);
            if let Ok(range) = ds
                .query_range(&check.query, start, at, step, check.max_series)
                .await
            {
                started = breach_start_from_range(&check.threshold, &range)
                    .and_then(|s| Timestamp::from_second(s).ok());
            }
        }
        judge(check, observed, started, at).0
    });
    join_all(per_check).await
}
