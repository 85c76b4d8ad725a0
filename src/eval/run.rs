//! Querying: all checks of a rollout run concurrently; one slow query holds
//! only its own check, and the datasource enforces the timeout.

use std::time::Duration;

use futures_util::future::join_all;
use jiff::Timestamp;

use super::judge::{breach_start_from_range, judge, observe, Observation};
use crate::config::Rollout;
use crate::datasource::Datasource;
use crate::domain::{BreachMemory, CheckResult};
use crate::saturating;

/// One evaluation with daemon memory. Returns the results (in rule order)
/// and the breach memory to keep.
pub async fn evaluate_rollout(
    ds: &dyn Datasource,
    rollout: &Rollout,
    at: Timestamp,
    breaches: &BreachMemory,
) -> (Vec<CheckResult>, BreachMemory) {
    let answers = join_all(
        rollout
            .checks
            .iter()
            .map(|c| ds.query(&c.query, at, c.max_series)),
    )
    .await;
    let mut memory = BreachMemory::new();
    let results = rollout
        .checks
        .iter()
        .zip(answers)
        .map(|(check, answer)| {
            let observed = observe(check, answer);
            let (result, start) = judge(check, observed, breaches.get(&check.name).copied(), at);
            if let Some(start) = start {
                memory.insert(check.name.clone(), start);
            }
            result
        })
        .collect();
    (results, memory)
}

/// One evaluation with no daemon state (`sena eval`): a breaching check with
/// a `for` asks Prometheus for the `for` window to learn when the breach
/// began, so the one-shot answer matches what the daemon would say.
pub async fn evaluate_rollout_stateless(
    ds: &dyn Datasource,
    rollout: &Rollout,
    at: Timestamp,
) -> Vec<CheckResult> {
    let per_check = rollout.checks.iter().map(|check| async move {
        let observed = observe(check, ds.query(&check.query, at, check.max_series).await);
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
