//! The datasource: "run this PromQL at instant t → samples", behind a small
//! trait so the evaluator knows nothing about HTTP and tests can swap it.

pub mod prometheus;

use std::collections::BTreeMap;

use jiff::Timestamp;

pub use prometheus::PrometheusDatasource;

use crate::notify::BoxFuture;

/// One series of an instant query result.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One series of a range query result: `(unix seconds, value)` points.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DatasourceError {
    #[error("Prometheus did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("cannot reach Prometheus: {0}")]
    Unreachable(String),
    #[error("Prometheus rejected the query: {0}")]
    Query(String),
    #[error("unexpected answer from Prometheus: {0}")]
    Protocol(String),
}

pub trait Datasource: Send + Sync + 'static {
    /// Instant query at `at`. Scalars come back as one series with no labels.
    fn query<'a>(
        &'a self,
        promql: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>>;

    /// Range query over `[start, end]` at `step` seconds, for `sena eval`'s
    /// one-shot judgement of `for` windows.
    fn query_range<'a>(
        &'a self,
        promql: &'a str,
        start: Timestamp,
        end: Timestamp,
        step_seconds: f64,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>>;

    /// Cheap liveness probe used by `/readyz`.
    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>>;
}
