//! A property test over durations: every code path that adds, multiplies or
//! converts a configured duration, fed the edge values of `Duration` and a
//! deterministic sweep across every order of magnitude, must return and not
//! panic. Hand-rolled rather than `proptest`: the interesting inputs are the
//! edges (0, 1ns, `i64::MAX` seconds, `u64::MAX` seconds, `Duration::MAX`),
//! which are listed exactly, and the sweep is reproducible without a new
//! dependency tree to compile.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::config::{Bound, Check, NoData, OnFail, Percent, Rollout, Stage, Threshold, Unit};
use crate::datasource::{Datasource, DatasourceError, RangeSeries, Sample};
use crate::domain::format::{format_duration, format_elapsed};
use crate::eval::judge::{judge, observe};
use crate::notify::{BoxFuture, NextLevel};

/// The edges, then 4,000 values spread over every power of two of seconds
/// and nanoseconds (xorshift, fixed seed: a failure reproduces).
fn durations() -> Vec<Duration> {
    let mut all = edges();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..4000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let secs = x >> (x % 64);
        all.push(Duration::new(secs, (x % 1_000_000_000) as u32));
    }
    all
}

/// Every edge, and every `step`th value of the sweep after them.
fn some_durations(step: usize) -> Vec<Duration> {
    let edges = edges().len();
    let all = durations();
    all.iter()
        .enumerate()
        .filter(|(i, _)| *i < edges || i % step == 0)
        .map(|(_, d)| *d)
        .collect()
}

fn edges() -> Vec<Duration> {
    vec![
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_millis(999),
        Duration::from_secs(1),
        Duration::from_secs(30 * 86_400),
        Duration::from_secs(30 * 86_400) + Duration::from_nanos(1),
        Duration::from_secs(2_562_047_788_015_215 * 3600),
        Duration::from_secs(i64::MAX as u64),
        Duration::from_secs(i64::MAX as u64 + 1),
        Duration::from_secs(u64::MAX / 3),
        Duration::from_secs(u64::MAX / 3 + 1),
        Duration::from_secs(u64::MAX - 59),
        Duration::from_secs(u64::MAX),
        Duration::MAX,
    ]
}

fn instants() -> [Timestamp; 4] {
    [
        Timestamp::MIN,
        Timestamp::UNIX_EPOCH,
        "2025-10-22T12:15:00Z".parse().unwrap(),
        Timestamp::MAX,
    ]
}

#[test]
fn saturating_helpers_never_panic_and_stay_ordered() {
    for d in durations() {
        for t in instants() {
            assert!(after(t, d) >= t);
            assert!(before(t, d) <= t);
            assert_eq!(elapsed(after(t, d), t), Duration::ZERO);
        }
        assert!(whole_seconds(d) >= 0);
        assert!(times(d, 3) >= d);
        let now = tokio::time::Instant::now();
        assert!(instant_after(now, d) >= now);
        // Formatting is on the same path for every configured duration.
        assert!(!format_duration(d).is_empty());
        assert!(!format_elapsed(whole_seconds(d)).is_empty());
    }
    assert_eq!(whole_seconds(Duration::MAX), i64::MAX);
    assert_eq!(signed(Duration::MAX), jiff::SignedDuration::MAX);
    assert_eq!(before(Timestamp::UNIX_EPOCH, Duration::MAX), Timestamp::MIN);
}

fn check(for_duration: Duration) -> Check {
    Check {
        counts: None,
        name: "error_rate".into(),
        query: "errors".into(),
        threshold: Threshold {
            bound: Bound::Below,
            value: 0.001,
            unit: Unit::Percent,
        },
        for_duration,
        on_fail: OnFail::Rollback,
        no_data: NoData::Hold,
        description: None,
        runbook_url: None,
        defined_at: "rules/canary.yaml:1".into(),
        max_series: 1000,
    }
}

fn rollout(d: Duration) -> Rollout {
    Rollout {
        name: "web".into(),
        approver: "lubit".into(),
        deputies: Vec::new(),
        flagger: crate::config::FlaggerCanary {
            name: "checkout-api".into(),
            namespace: None,
        },
        stages: vec![
            Stage {
                min_bake: None,
                traffic: Percent(5.0),
                bake: Some(d),
            },
            Stage {
                min_bake: None,
                traffic: Percent(100.0),
                bake: None,
            },
        ],
        checks: vec![check(d)],
        interval: d,
    }
}

/// Always breaching, with a range answer that breaches throughout.
struct Breaching;

impl Datasource for Breaching {
    fn query<'a>(
        &'a self,
        _: &'a str,
        _: Timestamp,
        _max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        Box::pin(async {
            Ok(vec![Sample {
                labels: BTreeMap::new(),
                value: 0.5,
            }])
        })
    }
    fn query_range<'a>(
        &'a self,
        _: &'a str,
        start: Timestamp,
        end: Timestamp,
        _: f64,
        _max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        let points = vec![(start.as_second(), 0.5), (end.as_second(), 0.5)];
        Box::pin(async move {
            Ok(vec![RangeSeries {
                labels: BTreeMap::new(),
                points,
            }])
        })
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(async { Ok(()) })
    }
}

/// `sena eval` panicked here with `for: 2562047788015215h`: the look-back
/// window was `for * 3`.
#[tokio::test]
async fn stateless_evaluation_takes_any_for() {
    let now: Timestamp = "2025-10-22T12:15:00Z".parse().unwrap();
    for d in some_durations(40) {
        let results =
            crate::eval::evaluate_rollout_stateless(&Breaching, &rollout(d), now, now).await;
        assert_eq!(results.len(), 1, "{d:?}");
    }
}

#[test]
fn judging_deciding_and_rendering_take_any_duration() {
    let now: Timestamp = "2025-10-22T12:15:00Z".parse().unwrap();
    for d in some_durations(10) {
        let r = rollout(d);
        for started in instants() {
            let observed = observe(&r.checks[0], Ok(vec![]));
            let _ = judge(&r.checks[0], observed, Some(started), now);
            let breaching = observe(
                &r.checks[0],
                Ok(vec![Sample {
                    labels: BTreeMap::new(),
                    value: 0.5,
                }]),
            );
            let (result, _) = judge(&r.checks[0], breaching, Some(started), now);
            let stage = crate::decide::StagePosition {
                index: 0,
                started_at: started,
            };
            let _ = crate::decide::decide(&r, stage, std::slice::from_ref(&result), now);
            let mut passing = result.clone();
            passing.status = crate::eval::CheckStatus::Passing;
            let _ = crate::decide::decide(&r, stage, &[passing], now);

            let mut a = crate::notify::render::fixtures::rollback_advisory();
            a.checks = vec![result];
            a.checks[0].for_seconds = d.as_secs();
            a.checks[0].status = crate::eval::CheckStatus::Pending;
            let incident = a.incident.as_mut().unwrap();
            incident.opened_at = started;
            incident.next = Some(NextLevel {
                level: 1,
                after_seconds: d.as_secs(),
                people: vec![],
            });
            let _ = crate::notify::render::text(&a, &[]);
            let _ = crate::notify::render::html(&a, &[]);
            let _ = crate::notify::render::slack_message(&a, &[], true);
            let _ = crate::notify::render::email_subject(&a);
        }
    }
}
