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
        .block_on(History::fetch(&ds, &[&config.rollouts[0]], w))
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
        .block_on(History::fetch(&ds, &[&config.rollouts[0]], w))
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
