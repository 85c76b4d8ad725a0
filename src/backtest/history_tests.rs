//! Fetching: chunks under Prometheus's limit, a bounded number in flight,
//! series rejoined across chunks, and instant answers served back exactly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;
use jiff::Timestamp;

use super::*;
use crate::backtest::window::Window;

/// Answers every range query with `x{k=v}` = the instant's unix seconds,
/// recording each call's point count and the most calls at once.
#[derive(Default)]
struct Counting {
    calls: Mutex<Vec<(i64, i64, i64)>>,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

impl Datasource for Counting {
    fn query<'a>(
        &'a self,
        _: &'a str,
        _: Timestamp,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        unreachable!("a backtest fetches with range queries only")
    }

    fn query_range<'a>(
        &'a self,
        _: &'a str,
        start: Timestamp,
        end: Timestamp,
        step: f64,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::task::yield_now().await;
            let (s, e, st) = (start.as_second(), end.as_second(), step as i64);
            self.calls.lock().unwrap().push((s, e, st));
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(vec![RangeSeries {
                labels: BTreeMap::from([("k".to_string(), "v".to_string())]),
                points: (s..=e)
                    .step_by(st as usize)
                    .map(|t| (t, t as f64))
                    .collect(),
            }])
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(async { Ok(()) })
    }
}

fn config() -> (tempfile::TempDir, crate::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("checks:\n");
    for i in 0..6 {
        rules.push_str(&format!("  - name: c{i}\n    query: q{i}\n    below: 1\n"));
    }
    std::fs::write(dir.path().join("r.yaml"), rules).unwrap();
    let yaml = "prometheus: {url: http://127.0.0.1:9}\nrollouts:\n  - name: web\n    approver: lubit\n    stages: [{traffic: 100%}]\n    rules: [r.yaml]\n";
    let config = crate::config::load_str(yaml, &dir.path().join("sena.yaml"))
        .unwrap_or_else(|d| panic!("{d}"))
        .config;
    (dir, config)
}

#[test]
fn a_week_at_15s_is_fetched_in_chunks_prometheus_accepts_and_answered_per_instant() {
    let (_dir, config) = config();
    let from = Timestamp::from_second(1_793_577_600).unwrap();
    let to = Timestamp::from_second(1_793_577_600 + 7 * 86_400).unwrap();
    let w = Window::new(from, to, Duration::from_secs(15)).unwrap();
    let ds = Counting::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = rt
        .block_on(History::fetch(&ds, &[&config.rollouts[0]], w, from))
        .unwrap();
    let calls = ds.calls.lock().unwrap().clone();
    // 40,321 instants → 4 chunks per query, 6 queries.
    assert_eq!(calls.len(), 24);
    assert!(calls
        .iter()
        .all(|(s, e, st)| (e - s) / st <= PROMETHEUS_MAX_POINTS));
    assert!(ds.most.load(Ordering::SeqCst) <= MAX_IN_FLIGHT);
    assert!(ds.most.load(Ordering::SeqCst) > 1, "queries overlap");
    // The series is one again, every instant answered with its own value.
    for t in [w.from, w.from + 11_000 * 15, w.last()] {
        let at = Timestamp::from_second(t).unwrap();
        let samples = rt.block_on(h.query("q3", at, 10)).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].value, t as f64);
    }
    // Off the grid there is no point: the daemon would have seen nothing.
    let off = Timestamp::from_second(w.from + 7).unwrap();
    assert!(rt.block_on(h.query("q3", off, 10)).unwrap().is_empty());
    // max_series holds per instant, as in the daemon.
    let first = Timestamp::from_second(w.from).unwrap();
    assert_eq!(
        rt.block_on(h.query("q3", first, 0)),
        Err(DatasourceError::TooManySeries { count: 1, limit: 0 })
    );
}

/// Refuses any range of more than 100 points as too large, as Prometheus's
/// answer over `max_response_bytes` would be.
struct Small(Counting);

impl Datasource for Small {
    fn query<'a>(
        &'a self,
        p: &'a str,
        at: Timestamp,
        m: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        self.0.query(p, at, m)
    }

    fn query_range<'a>(
        &'a self,
        p: &'a str,
        start: Timestamp,
        end: Timestamp,
        step: f64,
        m: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        if (end.as_second() - start.as_second()) / step as i64 >= 100 {
            return Box::pin(async { Err(DatasourceError::TooLarge { limit: 1 }) });
        }
        self.0.query_range(p, start, end, step, m)
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        self.0.ping()
    }
}

#[test]
fn an_answer_too_large_is_asked_again_in_halves() {
    let (_dir, config) = config();
    let from = Timestamp::from_second(1_793_577_600).unwrap();
    let w = Window::new(
        from,
        from + jiff::SignedDuration::from_hours(6),
        Duration::from_secs(30),
    )
    .unwrap();
    let ds = Small(Counting::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = rt
        .block_on(History::fetch(&ds, &[&config.rollouts[0]], w, from))
        .unwrap();
    for t in w.instants() {
        let samples = rt
            .block_on(h.query("q0", Timestamp::from_second(t).unwrap(), 10))
            .unwrap();
        assert_eq!(samples.len(), 1, "at {t}");
        assert_eq!(samples[0].value, t as f64);
    }
    // Every instant once: 721 points, 6 queries.
    assert_eq!(h.series["q0"][0].points.len(), 721);
    assert!(ds
        .0
        .calls
        .lock()
        .unwrap()
        .iter()
        .all(|(s, e, st)| (e - s) / st < 100));
}

/// Answers range queries from the bucket end: `bad` has 1 per bucket,
/// `total` the bucket's index since T0 (so sums say which buckets were
/// added), `plain` the instant; records every call.
#[derive(Default)]
struct Buckets {
    calls: Mutex<Vec<(String, i64, i64, i64)>>,
}

const T0: i64 = 1_793_577_600;

impl Datasource for Buckets {
    fn query<'a>(
        &'a self,
        _: &'a str,
        _: Timestamp,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        unreachable!("a backtest fetches with range queries only")
    }

    fn query_range<'a>(
        &'a self,
        q: &'a str,
        start: Timestamp,
        end: Timestamp,
        step: f64,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        let (s, e, st) = (start.as_second(), end.as_second(), step as i64);
        self.calls.lock().unwrap().push((q.to_string(), s, e, st));
        let value = |t: i64| {
            if q.contains("bad") {
                1.0
            } else if q.contains("total") {
                ((t - T0) / 300) as f64
            } else {
                t as f64
            }
        };
        let labels = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let answer = Ok(vec![RangeSeries {
            labels,
            points: (s..=e)
                .step_by(st as usize)
                .map(|t| (t, value(t)))
                .collect(),
        }]);
        Box::pin(async move { answer })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(async { Ok(()) })
    }
}

const COUNT_RULES: &str = "checks:\n  - name: errors\n    bad: sum(increase(bad{app=\"{{ rollout }}\"}[{{ window }}]))\n    total: sum(increase(total{app=\"{{ rollout }}\"}[{{ window }}])) + 0 * sum(increase(total{app=\"{{ rollout }}\"}[{{ window }}]))\n    below: 0.1%\n    on_fail: rollback\n  - name: plain\n    query: plain\n    below: 1\n";

fn count_config(rules: &str) -> (tempfile::TempDir, crate::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), rules).unwrap();
    let yaml = "prometheus: {url: http://127.0.0.1:9}\nrollouts:\n  - name: web\n    approver: lubit\n    stages: [{traffic: 100%}]\n    rules: [r.yaml]\n";
    let config = crate::config::load_str(yaml, &dir.path().join("sena.yaml"))
        .unwrap_or_else(|d| panic!("{d}"))
        .config;
    (dir, config)
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

fn fetched(since: i64) -> (Buckets, History, Window) {
    let (_dir, config) = count_config(COUNT_RULES);
    // A window that starts and ends off the 300 s grid.
    let w = Window::new(
        ts(T0 + 45),
        ts(T0 + 2 * 86_400 + 100),
        Duration::from_secs(30),
    )
    .unwrap();
    let ds = Buckets::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = rt
        .block_on(History::fetch(&ds, &[&config.rollouts[0]], w, ts(since)))
        .unwrap();
    (ds, h, w)
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn count_templates_are_fetched_as_5_minute_buckets_from_a_day_before() {
    let (ds, _h, w) = fetched(T0 + 45);
    let calls = ds.calls.lock().unwrap().clone();
    let bad = "sum(increase(bad{app=\"web\"}[300s]))";
    let buckets: Vec<_> = calls.iter().filter(|c| c.0 == bad).collect();
    // From a day before the window (on the grid) to the last bucket end
    // inside it, at 300 s: 865 points, one chunk.
    assert_eq!(buckets.len(), 1, "{calls:?}");
    assert_eq!(
        (buckets[0].1, buckets[0].2, buckets[0].3),
        (T0 - 86_400, T0 + 2 * 86_400, 300)
    );
    assert!(calls.iter().any(|c| c.0.starts_with("sum(increase(total")));
    // The plain check as before: on the replay's own grid.
    let plain: Vec<_> = calls.iter().filter(|c| c.0 == "plain").collect();
    assert_eq!(plain.len(), 1);
    assert_eq!((plain[0].1, plain[0].2, plain[0].3), (w.from, w.last(), 30));
    // Nothing else: the stage windows are never fetched as such.
    assert_eq!(calls.len(), 3, "{calls:?}");
}

#[test]
fn a_stage_that_began_before_the_lookback_is_fetched_from_its_start() {
    let (ds, _h, _w) = fetched(T0 - 3 * 86_400 - 100);
    let calls = ds.calls.lock().unwrap().clone();
    let bad = calls
        .iter()
        .find(|c| c.0.starts_with("sum(increase(bad"))
        .unwrap();
    assert_eq!(bad.1, T0 - 3 * 86_400 - 300);
}

#[test]
fn stage_windows_are_the_sum_of_the_buckets_that_end_inside_them() {
    let (_ds, h, _w) = fetched(T0 + 45);
    let total = |n: i64, at: i64| {
        let q = format!(
            "sum(increase(total{{app=\"web\"}}[{n}s])) + 0 * sum(increase(total{{app=\"web\"}}[{n}s]))"
        );
        block_on(h.query(&q, ts(at), 10))
    };
    // Buckets 11 and 12 (ending T0+3300, T0+3600): `total` is the bucket
    // index, so the sum says which buckets were added.
    let two = total(600, T0 + 3_600).unwrap();
    assert_eq!(two.len(), 1);
    assert_eq!(two[0].value, 11.0 + 12.0);
    // Off the grid: the partial bucket since T0+3600 is left out, and the
    // window reaches back to the bucket ending T0+3300.
    assert_eq!(total(600, T0 + 3_700).unwrap()[0].value, 11.0 + 12.0);
    assert_eq!(total(900, T0 + 3_700).unwrap()[0].value, 10.0 + 11.0 + 12.0);
    // The whole two days so far: buckets 1..=576.
    let n = 2 * 86_400;
    assert_eq!(
        total(n, T0 + n).unwrap()[0].value,
        (1..=576).sum::<i64>() as f64
    );
    let bad =
        block_on(h.query("sum(increase(bad{app=\"web\"}[3600s]))", ts(T0 + 7_200), 10)).unwrap();
    assert_eq!(bad[0].value, 12.0);
    // max_series holds as for any answer.
    assert_eq!(total(600, T0 + 3_600), Ok(two.clone()));
    assert_eq!(
        block_on(h.query("sum(increase(bad{app=\"web\"}[600s]))", ts(T0 + 3_600), 0)),
        Err(DatasourceError::TooManySeries { count: 1, limit: 0 })
    );
}

#[test]
fn bucket_ranges_are_sliced_and_anything_not_fetched_is_an_error() {
    let (_ds, h, _w) = fetched(T0 + 45);
    let bad = "sum(increase(bad{app=\"web\"}[300s]))";
    let got = block_on(h.query_range(bad, ts(T0 + 600), ts(T0 + 1_500), 300.0, 10)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].points,
        vec![
            (T0 + 600, 1.0),
            (T0 + 900, 1.0),
            (T0 + 1_200, 1.0),
            (T0 + 1_500, 1.0)
        ]
    );
    let refused = |r: Result<Vec<RangeSeries>, DatasourceError>| {
        assert!(matches!(r, Err(DatasourceError::Protocol(_))), "{r:?}");
    };
    // Another step, off the grid, beyond what was fetched.
    refused(block_on(h.query_range(
        bad,
        ts(T0 + 600),
        ts(T0 + 1_500),
        60.0,
        10,
    )));
    refused(block_on(h.query_range(
        bad,
        ts(T0 + 601),
        ts(T0 + 1_500),
        300.0,
        10,
    )));
    refused(block_on(h.query_range(
        bad,
        ts(T0 - 2 * 86_400),
        ts(T0),
        300.0,
        10,
    )));
    refused(block_on(h.query_range(
        bad,
        ts(T0),
        ts(T0 + 3 * 86_400),
        300.0,
        10,
    )));
    // A plain check's query is answered per instant only.
    refused(block_on(h.query_range(
        "plain",
        ts(T0 + 600),
        ts(T0 + 900),
        30.0,
        10,
    )));
    // Queries it was never asked to fetch.
    let unknown = |q: &str, at: i64| {
        let r = block_on(h.query(q, ts(at), 10));
        assert!(matches!(r, Err(DatasourceError::Protocol(_))), "{q}: {r:?}");
    };
    unknown("sum(increase(other[300s]))", T0 + 600);
    // Two windows that disagree are no rendering of the template.
    unknown(
        "sum(increase(total{app=\"web\"}[600s])) + 0 * sum(increase(total{app=\"web\"}[900s]))",
        T0 + 3_600,
    );
    unknown("sum(increase(bad{app=\"web\"}[600m]))", T0 + 3_600);
    // A stage window reaching back before the fetched buckets.
    unknown("sum(increase(bad{app=\"web\"}[259200s]))", T0 + 3_600);
    // The plain check is served per instant, as before.
    let plain = block_on(h.query("plain", ts(T0 + 45 + 300), 10)).unwrap();
    assert_eq!(plain[0].value, (T0 + 345) as f64);
}

#[test]
fn a_baseline_by_swapped_labels_is_fetched_beside_the_canary() {
    let (_dir, config) = count_config(
        "checks:\n  - name: errors\n    bad: |\n      sum(increase(bad{app=\"{{ rollout }}\",track=\"canary\"}[{{ window }}]))\n    total: |\n      sum(increase(total{app=\"{{ rollout }}\",track=\"canary\"}[{{ window }}]))\n    below: 0.1%\n    vs:\n      labels: { track: stable }\n",
    );
    let w = Window::new(ts(T0), ts(T0 + 3_600), Duration::from_secs(30)).unwrap();
    let ds = Buckets::default();
    let h = block_on(History::fetch(&ds, &[&config.rollouts[0]], w, ts(T0))).unwrap();
    // (The baseline's queries keep the block scalar's last newline.)
    let mut queries: Vec<String> = ds
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.0.trim().to_string())
        .collect();
    queries.sort();
    assert_eq!(
        queries,
        [
            "sum(increase(bad{app=\"web\",track=\"canary\"}[300s]))",
            "sum(increase(bad{app=\"web\",track=\"stable\"}[300s]))",
            "sum(increase(total{app=\"web\",track=\"canary\"}[300s]))",
            "sum(increase(total{app=\"web\",track=\"stable\"}[300s]))",
        ]
    );
    // The baseline's stage window is served like the canary's, its text
    // as the daemon spells it.
    let baseline = config.rollouts[0].checks[0].counts.as_ref().unwrap();
    let part = &baseline.baseline.as_ref().unwrap().part;
    let stage = part.replace(crate::config::rules::WINDOW, "1200s");
    let stable = block_on(h.query(&stage, ts(T0 + 1_200), 10)).unwrap();
    assert_eq!(stable[0].value, 4.0);
}
