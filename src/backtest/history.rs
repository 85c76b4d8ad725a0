//! The history a backtest replays: every check's query fetched once over
//! the whole window with range queries (chunked under Prometheus's point
//! limit, a bounded number in flight), then served back as instant answers
//! through the same [`Datasource`] trait the daemon queries. A range query
//! evaluates the expression at `start + k·step` exactly as an instant query
//! at that instant would, so the daemon's code sees the answers it would
//! have seen, series by series.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::{join_all, BoxFuture};
use jiff::Timestamp;
use tokio::sync::Semaphore;

use super::window::{Window, PROMETHEUS_MAX_POINTS};
use crate::config::Rollout;
use crate::datasource::{Datasource, DatasourceError, RangeSeries, Sample};

/// Range queries in flight at once: enough to overlap Prometheus's work,
/// few enough not to crowd out the daemon that may share it.
pub const MAX_IN_FLIGHT: usize = 4;

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

/// Recorded answers per query text, answered as instant queries.
#[derive(Default)]
pub struct History {
    /// Series per query, each series' points sorted by time.
    series: HashMap<String, Vec<RangeSeries>>,
}

impl History {
    /// Builds a history from answers already at hand (tests, hand-written series).
    pub fn from_series(series: HashMap<String, Vec<RangeSeries>>) -> History {
        let mut h = History { series };
        for list in h.series.values_mut() {
            for s in list.iter_mut() {
                s.points.sort_by_key(|p| p.0);
            }
        }
        h
    }

    /// Fetches every check of `rollouts` over `window` from `ds`.
    pub async fn fetch(
        ds: &dyn Datasource,
        rollouts: &[&Rollout],
        window: Window,
    ) -> Result<History, FetchError> {
        let gate = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let chunks = window.chunks(PROMETHEUS_MAX_POINTS);
        let mut jobs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for rollout in rollouts {
            for check in &rollout.checks {
                // Two checks (or rollouts) with the same query share its answer.
                if !seen.insert(check.query.clone()) {
                    continue;
                }
                for &(start, end) in &chunks {
                    let gate = gate.clone();
                    jobs.push(async move {
                        let _permit = gate.acquire().await.expect("the semaphore is never closed");
                        let answer = fetch_chunk(ds, check, window.step, start, end).await;
                        answer
                            .map(|s| (check.query.clone(), s))
                            .map_err(|(from, to, error)| FetchError {
                                rollout: rollout.name.clone(),
                                check: check.name.clone(),
                                from: at(from),
                                to: at(to),
                                error,
                            })
                    });
                }
            }
        }
        let mut series: HashMap<String, Vec<RangeSeries>> = HashMap::new();
        for answer in join_all(jobs).await {
            let (query, chunk) = answer?;
            // The same series in two chunks becomes one series again.
            join(series.entry(query).or_default(), chunk);
        }
        Ok(History::from_series(series))
    }
}

/// One chunk `[start, end]`; an answer over `max_response_bytes` is asked
/// again in halves (down to single instants), so a query with many series
/// still fits the limit the daemon's one-instant answers live under.
async fn fetch_chunk(
    ds: &dyn Datasource,
    check: &crate::config::Check,
    step: i64,
    start: i64,
    end: i64,
) -> Result<Vec<RangeSeries>, (i64, i64, DatasourceError)> {
    let mut todo = vec![(start, end)];
    let mut got: Vec<RangeSeries> = Vec::new();
    while let Some((from, to)) = todo.pop() {
        let answer = ds
            .query_range(
                &check.query,
                at(from),
                at(to),
                step as f64,
                check.max_series,
            )
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

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Datasource for History {
    fn query<'a>(
        &'a self,
        promql: &'a str,
        at: Timestamp,
        max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        let answer = match self.series.get(promql) {
            None => Err(DatasourceError::Protocol(format!(
                "no history was fetched for {promql}"
            ))),
            Some(list) => {
                let t = at.as_second();
                let samples: Vec<Sample> = list
                    .iter()
                    .filter_map(|s| {
                        let i = s.points.binary_search_by_key(&t, |p| p.0).ok()?;
                        Some(Sample {
                            labels: s.labels.clone(),
                            value: s.points[i].1,
                        })
                    })
                    .collect();
                // The daemon's datasource refuses too many series at one
                // instant; the replay must too.
                if samples.len() > max_series {
                    Err(DatasourceError::TooManySeries {
                        count: samples.len(),
                        limit: max_series,
                    })
                } else {
                    Ok(samples)
                }
            }
        };
        Box::pin(std::future::ready(answer))
    }

    fn query_range<'a>(
        &'a self,
        _promql: &'a str,
        _start: Timestamp,
        _end: Timestamp,
        _step_seconds: f64,
        _max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        Box::pin(std::future::ready(Err(DatasourceError::Protocol(
            "a replayed history answers instant queries only".into(),
        ))))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
