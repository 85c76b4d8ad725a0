//! The history a backtest replays: every check's queries fetched once over
//! the whole window with range queries (chunked under Prometheus's point
//! limit, a bounded number in flight), then served back through the same
//! [`Datasource`] trait the daemon queries.
//!
//! A plain check's `query` is fetched on the replay's step grid and served
//! as instant answers: a range query evaluates the expression at
//! `start + k·step` exactly as an instant query at that instant would, so
//! the daemon's code sees the answers it would have seen, series by series.
//!
//! A count check's queries carry `{{ window }}`, and the daemon asks for
//! them with two windows (`eval::counts`): the stage so far (an instant
//! query, `{{ window }}` = `Ns`) and 5-minute buckets (a range query at a
//! 300 s step, `{{ window }}` = `300s`, the epoch-aligned bucket ends of the
//! last day). For each count template (canary and baseline, part and
//! total) the history fetches the bucket rendering once, at a 300 s step on
//! the epoch-aligned grid, from a day before the replay (or before the
//! earliest stage start, if earlier) to its end. Then:
//!
//! - a range query for the bucket rendering is answered from those buckets
//!   exactly (the same expression at the same instants);
//! - an instant query for the stage rendering (any `N`) is answered with,
//!   per series, the sum of the buckets whose end lies in `(at − N, at]`.
//!   That is an approximation of what Prometheus would have answered: the
//!   buckets are exact, the cumulative is their sum, and the current
//!   partial bucket (from the last bucket end to `at`) is left out, so the
//!   sum covers `N` seconds that end at the last bucket end rather than at
//!   `at`. Prometheus's own `increase()` over `N` seconds extrapolates from
//!   the first and last samples inside the range; over a stage of hours the
//!   two differ by a fraction of one bucket's requests.
//!
//! Anything else, the history was not asked to fetch and answers with an
//! error, as a datasource does for a query it cannot answer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::future::{join_all, BoxFuture};
use jiff::Timestamp;
use tokio::sync::Semaphore;

use super::window::{Window, PROMETHEUS_MAX_POINTS};
use crate::config::rules::WINDOW;
use crate::config::{Check, Rollout};
use crate::datasource::{Datasource, DatasourceError, RangeSeries, Sample};
use crate::stats::{BUCKETS_PER_DAY, BUCKET_SECONDS};

/// Range queries in flight at once: enough to overlap Prometheus's work,
/// few enough not to crowd out the daemon that may share it.
pub const MAX_IN_FLIGHT: usize = 4;

/// The bucket of a count check's windows, in seconds.
const BUCKET: i64 = BUCKET_SECONDS as i64;

/// How far before the replay a count check's buckets are fetched: the
/// change detector looks back a day of buckets.
const LOOKBACK: i64 = BUCKET * BUCKETS_PER_DAY as i64;

/// Why a history could not be fetched: which check, which part of the range.
#[derive(Debug, thiserror::Error)]
#[error("rollout {rollout}, check {check}: fetching {from} to {to}: {error}")]
pub struct FetchError {
    pub rollout: String,
    pub check: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub error: DatasourceError,
}

/// Recorded answers: per plain query text, answered as instant queries;
/// per count template, its 5-minute buckets.
#[derive(Default)]
pub struct History {
    /// Series per query, each series' points sorted by time.
    series: HashMap<String, Vec<RangeSeries>>,
    /// Per count template (`{{ window }}` spelled as [`WINDOW`]).
    counts: HashMap<String, Buckets>,
}

/// One count template's buckets: the expression with `{{ window }}` =
/// `300s`, evaluated at every bucket end of `[from, to]`.
struct Buckets {
    /// The template cut at each `{{ window }}`.
    pieces: Vec<String>,
    /// The bucket rendering, as the daemon's range query spells it.
    query: String,
    /// The first and last bucket end fetched (multiples of 300 s).
    from: i64,
    to: i64,
    series: Vec<BucketSeries>,
}

struct BucketSeries {
    range: RangeSeries,
    /// Finite bucket values summed: `sums[i]` is the sum of the first `i`
    /// points (a non-finite bucket counts as nothing).
    sums: Vec<f64>,
}

impl BucketSeries {
    fn new(mut range: RangeSeries) -> BucketSeries {
        range.points.sort_by_key(|p| p.0);
        range.points.dedup_by_key(|p| p.0);
        let mut sums = Vec::with_capacity(range.points.len() + 1);
        let mut sum = 0.0;
        sums.push(sum);
        for &(_, v) in &range.points {
            if v.is_finite() {
                sum += v;
            }
            sums.push(sum);
        }
        BucketSeries { range, sums }
    }

    /// The sum of the buckets whose end lies in `(after, until]`, or `None`
    /// when there is no bucket there.
    fn sum(&self, after: i64, until: i64) -> Option<f64> {
        let lo = self.range.points.partition_point(|p| p.0 <= after);
        let hi = self.range.points.partition_point(|p| p.0 <= until);
        (hi > lo).then(|| self.sums[hi] - self.sums[lo])
    }
}

impl Buckets {
    fn new(template: &str, query: String, from: i64, to: i64, series: Vec<RangeSeries>) -> Self {
        Buckets {
            pieces: template.split(WINDOW).map(str::to_string).collect(),
            query,
            from,
            to,
            series: series.into_iter().map(BucketSeries::new).collect(),
        }
    }

    /// `N` when `promql` is the template with every `{{ window }}` = `Ns`.
    fn stage_seconds(&self, promql: &str) -> Option<i64> {
        let mut rest = promql.strip_prefix(self.pieces[0].as_str())?;
        let mut seconds = None;
        for piece in &self.pieces[1..] {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let n: i64 = rest[..digits].parse().ok()?;
            if seconds.is_some_and(|s| s != n) {
                return None;
            }
            seconds = Some(n);
            rest = rest[digits..].strip_prefix('s')?;
            rest = rest.strip_prefix(piece.as_str())?;
        }
        if !rest.is_empty() {
            return None;
        }
        seconds
    }

    /// The stage-window instant answer: per series, its buckets ending in
    /// `(at − seconds, at]` summed.
    fn instant(&self, at: i64, seconds: i64) -> Result<Vec<Sample>, DatasourceError> {
        let after = at.saturating_sub(seconds);
        let first_end = after.div_euclid(BUCKET) * BUCKET + BUCKET;
        let last_end = at.div_euclid(BUCKET) * BUCKET;
        if first_end <= last_end && (first_end < self.from || last_end > self.to) {
            return Err(DatasourceError::Protocol(format!(
                "the history of {} holds buckets ending {} to {}, not {} to {}",
                self.query,
                stamp(self.from),
                stamp(self.to),
                stamp(first_end),
                stamp(last_end)
            )));
        }
        Ok(self
            .series
            .iter()
            .filter_map(|s| {
                s.sum(after, at).map(|value| Sample {
                    labels: s.range.labels.clone(),
                    value,
                })
            })
            .collect())
    }

    /// The bucket range answer, sliced from what was fetched.
    fn range(&self, start: i64, end: i64, step: f64) -> Result<Vec<RangeSeries>, DatasourceError> {
        let on_grid = |t: i64| t.rem_euclid(BUCKET) == 0;
        if step != BUCKET as f64 || !on_grid(start) || !on_grid(end) {
            return Err(DatasourceError::Protocol(format!(
                "the history of {} holds {BUCKET}s buckets at multiples of {BUCKET}s; asked for {} to {} at a {step}s step",
                self.query,
                stamp(start),
                stamp(end)
            )));
        }
        if start < self.from || end > self.to {
            return Err(DatasourceError::Protocol(format!(
                "the history of {} holds buckets ending {} to {}, not {} to {}",
                self.query,
                stamp(self.from),
                stamp(self.to),
                stamp(start),
                stamp(end)
            )));
        }
        Ok(self
            .series
            .iter()
            .filter_map(|s| {
                let lo = s.range.points.partition_point(|p| p.0 < start);
                let hi = s.range.points.partition_point(|p| p.0 <= end);
                (hi > lo).then(|| RangeSeries {
                    labels: s.range.labels.clone(),
                    points: s.range.points[lo..hi].to_vec(),
                })
            })
            .collect())
    }
}

/// One query to fetch: the text, the grid, and the check it is for.
struct Job<'a> {
    rollout: &'a Rollout,
    check: &'a Check,
    query: String,
    /// `Some(template)` for a count template's buckets.
    template: Option<String>,
    grid: Window,
}

impl History {
    /// Builds a history from answers already at hand (tests, hand-written series).
    pub fn from_series(series: HashMap<String, Vec<RangeSeries>>) -> History {
        let mut h = History {
            series,
            counts: HashMap::new(),
        };
        for list in h.series.values_mut() {
            for s in list.iter_mut() {
                s.points.sort_by_key(|p| p.0);
            }
        }
        h
    }

    /// Adds a count template's buckets at hand (tests): `series` evaluated
    /// with `{{ window }}` = `300s` at the bucket ends `from` to `to`.
    pub fn with_buckets(
        mut self,
        template: &str,
        from: i64,
        to: i64,
        series: Vec<RangeSeries>,
    ) -> History {
        let query = bucket_query(template);
        self.counts.insert(
            template.to_string(),
            Buckets::new(template, query, from, to, series),
        );
        self
    }

    /// Fetches every check of `rollouts` over `window` from `ds`; a count
    /// check's buckets from a day before `window` or before `stage_since`
    /// (the earliest stage start the replay uses), whichever is earlier.
    pub async fn fetch(
        ds: &dyn Datasource,
        rollouts: &[&Rollout],
        window: Window,
        stage_since: Timestamp,
    ) -> Result<History, FetchError> {
        let earliest = (window.from - LOOKBACK).min(stage_since.as_second());
        let buckets = Window {
            from: earliest.div_euclid(BUCKET) * BUCKET,
            to: window.last().div_euclid(BUCKET) * BUCKET,
            step: BUCKET,
        };
        let mut todo: Vec<Job> = Vec::new();
        let mut seen = HashSet::new();
        for &rollout in rollouts {
            for check in &rollout.checks {
                match &check.counts {
                    // Two checks (or rollouts) with the same query share its answer.
                    None => {
                        if seen.insert((false, check.query.clone())) {
                            todo.push(Job {
                                rollout,
                                check,
                                query: check.query.clone(),
                                template: None,
                                grid: window,
                            });
                        }
                    }
                    Some(q) => {
                        let mut templates = vec![&q.part, &q.total];
                        if let Some(b) = &q.baseline {
                            templates.extend([&b.part, &b.total]);
                        }
                        for t in templates {
                            if seen.insert((true, t.clone())) {
                                todo.push(Job {
                                    rollout,
                                    check,
                                    query: bucket_query(t),
                                    template: Some(t.clone()),
                                    grid: buckets,
                                });
                            }
                        }
                    }
                }
            }
        }
        let gate = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut jobs = Vec::new();
        for (index, job) in todo.iter().enumerate() {
            for (start, end) in job.grid.chunks(PROMETHEUS_MAX_POINTS) {
                let gate = gate.clone();
                jobs.push(async move {
                    let _permit = gate.acquire().await.expect("the semaphore is never closed");
                    fetch_chunk(
                        ds,
                        &job.query,
                        job.check.max_series,
                        job.grid.step,
                        start,
                        end,
                    )
                    .await
                    .map(|s| (index, s))
                    .map_err(|(from, to, error)| FetchError {
                        rollout: job.rollout.name.clone(),
                        check: job.check.name.clone(),
                        from: stamp(from),
                        to: stamp(to),
                        error,
                    })
                });
            }
        }
        let mut answers: Vec<Vec<RangeSeries>> = vec![Vec::new(); todo.len()];
        for answer in join_all(jobs).await {
            let (index, chunk) = answer?;
            // The same series in two chunks becomes one series again.
            join(&mut answers[index], chunk);
        }
        let mut series = HashMap::new();
        let mut counts = HashMap::new();
        for (job, answer) in todo.into_iter().zip(answers) {
            match job.template {
                None => {
                    series.insert(job.query, answer);
                }
                Some(t) => {
                    let b = Buckets::new(&t, job.query, buckets.from, buckets.to, answer);
                    counts.insert(t, b);
                }
            }
        }
        let mut h = History::from_series(series);
        h.counts = counts;
        Ok(h)
    }
}

/// A count template's bucket rendering: what the daemon's range query asks.
fn bucket_query(template: &str) -> String {
    template.replace(WINDOW, &format!("{BUCKET}s"))
}

/// One chunk `[start, end]`; an answer over `max_response_bytes` is asked
/// again in halves (down to single instants), so a query with many series
/// still fits the limit the daemon's one-instant answers live under.
async fn fetch_chunk(
    ds: &dyn Datasource,
    query: &str,
    max_series: usize,
    step: i64,
    start: i64,
    end: i64,
) -> Result<Vec<RangeSeries>, (i64, i64, DatasourceError)> {
    let mut todo = vec![(start, end)];
    let mut got: Vec<RangeSeries> = Vec::new();
    while let Some((from, to)) = todo.pop() {
        let answer = ds
            .query_range(query, stamp(from), stamp(to), step as f64, max_series)
            .await;
        match answer {
            Ok(series) => join(&mut got, series),
            Err(DatasourceError::TooLarge { .. }) if to > from => {
                let half = from + ((to - from) / step / 2) * step;
                // The later half goes on the stack first: the earlier is asked first.
                todo.push((half + step, to));
                todo.push((from, half));
            }
            Err(error) => return Err((from, to, error)),
        }
    }
    Ok(got)
}

/// Adds `more` to `list`; a series seen before gets the new points.
fn join(list: &mut Vec<RangeSeries>, more: Vec<RangeSeries>) {
    for s in more {
        match list.iter_mut().find(|x| x.labels == s.labels) {
            Some(existing) => existing.points.extend(s.points),
            None => list.push(s),
        }
    }
}

fn stamp(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The daemon's datasource refuses too many series in one answer; the
/// replay must too.
fn at_most<T>(answer: Vec<T>, max_series: usize) -> Result<Vec<T>, DatasourceError> {
    if answer.len() > max_series {
        Err(DatasourceError::TooManySeries {
            count: answer.len(),
            limit: max_series,
        })
    } else {
        Ok(answer)
    }
}

impl History {
    fn instant(&self, promql: &str, at: Timestamp) -> Result<Vec<Sample>, DatasourceError> {
        if let Some(list) = self.series.get(promql) {
            let t = at.as_second();
            return Ok(list
                .iter()
                .filter_map(|s| {
                    let i = s.points.binary_search_by_key(&t, |p| p.0).ok()?;
                    Some(Sample {
                        labels: s.labels.clone(),
                        value: s.points[i].1,
                    })
                })
                .collect());
        }
        for b in self.counts.values() {
            if let Some(seconds) = b.stage_seconds(promql) {
                return b.instant(at.as_second(), seconds);
            }
        }
        Err(DatasourceError::Protocol(format!(
            "no history was fetched for {promql}"
        )))
    }

    fn range(
        &self,
        promql: &str,
        start: Timestamp,
        end: Timestamp,
        step: f64,
    ) -> Result<Vec<RangeSeries>, DatasourceError> {
        match self.counts.values().find(|b| b.query == promql) {
            Some(b) => b.range(start.as_second(), end.as_second(), step),
            None => Err(DatasourceError::Protocol(format!(
                "a replayed history answers range queries only for count checks' buckets, not {promql}"
            ))),
        }
    }
}

impl Datasource for History {
    fn query<'a>(
        &'a self,
        promql: &'a str,
        at: Timestamp,
        max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        let answer = self
            .instant(promql, at)
            .and_then(|a| at_most(a, max_series));
        Box::pin(std::future::ready(answer))
    }

    fn query_range<'a>(
        &'a self,
        promql: &'a str,
        start: Timestamp,
        end: Timestamp,
        step_seconds: f64,
        max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        let answer = self
            .range(promql, start, end, step_seconds)
            .and_then(|a| at_most(a, max_series));
        Box::pin(std::future::ready(answer))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
