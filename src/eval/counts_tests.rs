//! Count checks against a scripted datasource: which windows are asked
//! for, how series are matched, and what each kind of bad answer becomes.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::*;
use crate::config::{BaselineQueries, Bound, OnFail, Threshold, Unit};
use crate::datasource::RangeSeries;
use crate::domain::CheckStatus;
use crate::eval::judge::judge;

/// Answers by query text: `part`/`total` (and `base_part`/`base_total`)
/// each with a window, instant or range; records what was asked.
#[derive(Default)]
struct Scripted {
    instant: BTreeMap<String, Result<Vec<Sample>, DatasourceError>>,
    range: BTreeMap<String, Vec<RangeSeries>>,
    asked: Mutex<Vec<String>>,
}

impl Datasource for Scripted {
    fn query<'a>(
        &'a self,
        promql: &'a str,
        _: Timestamp,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        self.asked.lock().unwrap().push(promql.to_string());
        let answer = self
            .instant
            .iter()
            .find(|(k, _)| promql.starts_with(k.as_str()))
            .map(|(_, v)| v.clone())
            .unwrap_or(Ok(Vec::new()));
        Box::pin(std::future::ready(answer))
    }
    fn query_range<'a>(
        &'a self,
        promql: &'a str,
        _: Timestamp,
        _: Timestamp,
        step: f64,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        assert_eq!(step, 300.0);
        self.asked.lock().unwrap().push(format!("range {promql}"));
        let answer = self
            .range
            .iter()
            .find(|(k, _)| promql.starts_with(k.as_str()))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Box::pin(std::future::ready(Ok(answer)))
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
    }
}

fn check(baseline: bool) -> Check {
    Check {
        name: "error_rate".into(),
        query: "ratio".into(),
        threshold: Threshold {
            bound: Bound::Below,
            value: 0.001,
            unit: Unit::Percent,
        },
        for_duration: Duration::ZERO,
        on_fail: OnFail::Rollback,
        no_data: NoData::Hold,
        description: None,
        runbook_url: None,
        max_series: 100,
        defined_at: "r.yaml:1".into(),
        counts: Some(CountQueries {
            share: Share::Bad,
            part: format!("part[{WINDOW}]"),
            total: format!("total[{WINDOW}]"),
            confidence: 0.95,
            min_total: 0.0,
            baseline: baseline.then(|| BaselineQueries {
                part: format!("base_part[{WINDOW}]"),
                total: format!("base_total[{WINDOW}]"),
                max_ratio: 2.0,
                floor: None,
                swapped: vec!["track".into()],
            }),
        }),
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

async fn run(ds: &Scripted, check: &Check) -> crate::domain::CheckResult {
    let now = at("2026-12-04T12:00:30Z");
    let observed = observe_counts(
        ds,
        check,
        check.counts.as_ref().unwrap(),
        at("2026-12-03T12:00:00Z"),
        now,
    )
    .await;
    judge(check, observed, None, now).0
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn windows_are_the_stage_and_whole_aligned_buckets_of_the_last_day() {
    let w = Windows::new(at("2026-12-04T11:52:10Z"), at("2026-12-04T12:00:30Z"));
    assert_eq!(w.stage_seconds, 500);
    let end = at("2026-12-04T12:00:00Z").as_second();
    assert_eq!(w.bucket_ends, vec![end]);
    let young = Windows::new(at("2026-12-04T11:58:00Z"), at("2026-12-04T12:00:30Z"));
    assert_eq!(young.stage_seconds, 300, "at least one bucket");
    assert!(young.bucket_ends.is_empty());
    let old = Windows::new(at("2026-11-01T00:00:00Z"), at("2026-12-04T12:00:30Z"));
    assert_eq!(old.bucket_ends.len(), BUCKETS_PER_DAY);
    assert_eq!(*old.bucket_ends.last().unwrap(), end);
}

#[test]
fn a_clean_day_is_within_and_says_its_counts() {
    let mut ds = Scripted::default();
    ds.instant
        .insert("part[".into(), Ok(vec![sample(&[], 41.0)]));
    ds.instant
        .insert("total[".into(), Ok(vec![sample(&[], 86_412.0)]));
    let result = rt().block_on(run(&ds, &check(false)));
    assert_eq!(result.status, CheckStatus::Passing, "{result:?}");
    let e = result.evidence.as_ref().unwrap();
    assert_eq!(
        (e.part, e.total, e.window_seconds),
        (41.0, 86_412.0, 86_430)
    );
    assert!(
        result.value_text.contains("41 bad of 86,412 requests"),
        "{}",
        result.value_text
    );
    let asked = ds.asked.lock().unwrap().clone();
    assert!(asked.contains(&"part[86430s]".to_string()), "{asked:?}");
    assert!(asked.contains(&"range part[300s]".to_string()), "{asked:?}");
}

#[test]
fn no_bad_series_is_zero_bad_but_no_total_is_blind() {
    let mut ds = Scripted::default();
    ds.instant
        .insert("total[".into(), Ok(vec![sample(&[], 37.0)]));
    let result = rt().block_on(run(&ds, &check(false)));
    assert_eq!(result.status, CheckStatus::Insufficient, "{result:?}");
    assert!(
        result
            .value_text
            .starts_with("insufficient evidence: 0 bad of 37 requests, needs about"),
        "{}",
        result.value_text
    );

    let mut ds = Scripted::default();
    ds.instant
        .insert("part[".into(), Ok(vec![sample(&[], 3.0)]));
    let result = rt().block_on(run(&ds, &check(false)));
    assert_eq!(result.status, CheckStatus::NoData, "{result:?}");
}

#[test]
fn nonsense_counts_hold_and_say_why() {
    for (bad, total, why) in [
        (f64::NAN, 100.0, "not numbers"),
        (1.0, f64::INFINITY, "not numbers"),
        (-3.0, 100.0, "negative"),
        (500.0, 100.0, "more than `total`"),
        (1.0, 1e300, "implausibly large"),
    ] {
        let mut ds = Scripted::default();
        ds.instant
            .insert("part[".into(), Ok(vec![sample(&[], bad)]));
        ds.instant
            .insert("total[".into(), Ok(vec![sample(&[], total)]));
        let result = rt().block_on(run(&ds, &check(false)));
        assert_eq!(result.status, CheckStatus::NoData, "{bad}/{total}");
        assert!(
            result.error.as_deref().unwrap_or("").contains(why),
            "{result:?}"
        );
    }
}

#[test]
fn a_failed_query_is_an_error_never_healthy() {
    let mut ds = Scripted::default();
    ds.instant.insert(
        "part[".into(),
        Err(DatasourceError::Timeout(Duration::from_secs(5))),
    );
    ds.instant
        .insert("total[".into(), Ok(vec![sample(&[], 86_412.0)]));
    let result = rt().block_on(run(&ds, &check(false)));
    assert_eq!(result.status, CheckStatus::Error);
}

#[test]
fn per_region_groups_are_judged_and_the_worst_decides() {
    let mut ds = Scripted::default();
    ds.instant.insert(
        "part[".into(),
        Ok(vec![
            sample(&[("region", "eu")], 0.0),
            sample(&[("region", "us")], 300.0),
        ]),
    );
    ds.instant.insert(
        "total[".into(),
        Ok(vec![
            sample(&[("region", "eu")], 50_000.0),
            sample(&[("region", "us")], 30_000.0),
        ]),
    );
    let result = rt().block_on(run(&ds, &check(false)));
    assert_eq!(result.status, CheckStatus::Failing);
    assert_eq!((result.series_total, result.breaching_total), (2, 1));
    assert_eq!(
        result.series[0].labels.get("region").map(String::as_str),
        Some("us")
    );
}

#[test]
fn a_failure_the_baseline_shares_is_marked_shared_and_a_missing_baseline_holds() {
    let mut ds = Scripted::default();
    ds.instant.insert(
        "part[".into(),
        Ok(vec![sample(&[("track", "canary")], 30.0)]),
    );
    ds.instant.insert(
        "total[".into(),
        Ok(vec![sample(&[("track", "canary")], 3_000.0)]),
    );
    ds.instant.insert(
        "base_part[".into(),
        Ok(vec![sample(&[("track", "stable")], 600.0)]),
    );
    ds.instant.insert(
        "base_total[".into(),
        Ok(vec![sample(&[("track", "stable")], 57_000.0)]),
    );
    let result = rt().block_on(run(&ds, &check(true)));
    assert_eq!(result.status, CheckStatus::Failing);
    assert!(result.is_shared_failure(), "{result:?}");

    ds.instant.remove("base_total[");
    ds.instant.remove("base_part[");
    let result = rt().block_on(run(&ds, &check(true)));
    assert_eq!(result.status, CheckStatus::NoData);
    assert!(
        result.error.as_deref().unwrap().contains("baseline"),
        "{result:?}"
    );
}

/// Three healthy days and then half an hour at ten times the limit: the
/// stage's counts are still far under the limit, the buckets are not.
#[test]
fn a_late_regression_is_found_in_the_buckets_and_says_since_when() {
    let now = at("2026-12-04T12:00:30Z");
    let windows = Windows::new(at("2026-12-01T12:00:00Z"), now);
    let n = windows.bucket_ends.len();
    let series = |per_bucket: &dyn Fn(usize) -> f64| RangeSeries {
        labels: BTreeMap::new(),
        points: windows
            .bucket_ends
            .iter()
            .enumerate()
            .map(|(i, ts)| (*ts, per_bucket(i)))
            .collect(),
    };
    let mut ds = Scripted::default();
    ds.instant
        .insert("part[".into(), Ok(vec![sample(&[], 130.0 + 54.0)]));
    ds.instant
        .insert("total[".into(), Ok(vec![sample(&[], 259_200.0)]));
    ds.range.insert(
        "part[".into(),
        vec![series(&|i| if i >= n - 6 { 3.0 } else { 0.15 })],
    );
    ds.range.insert("total[".into(), vec![series(&|_| 300.0)]);
    let check = check(false);
    let observed = rt().block_on(observe_counts(
        &ds,
        &check,
        check.counts.as_ref().unwrap(),
        at("2026-12-01T12:00:00Z"),
        now,
    ));
    let result = judge(&check, observed, None, now).0;
    assert_eq!(result.status, CheckStatus::Failing, "{result:?}");
    let recent = result.evidence.as_ref().unwrap().recent.unwrap();
    assert!(recent.since >= at("2026-12-04T11:20:00Z"), "{recent:?}");
    assert!(
        result.value_text.contains(" since 2026-12-04 11:"),
        "{}",
        result.value_text
    );
}
