//! The datasource: "run this PromQL at instant t → samples", behind a small
//! trait so the evaluator knows nothing about HTTP and tests can swap it.
//! Every answer is bounded: at most `max_response_bytes` read from the wire
//! and at most the check's `max_series` series decoded, so one careless
//! query cannot take the daemon's memory.

mod answer;
pub mod prometheus;

use std::collections::BTreeMap;

use jiff::Timestamp;

pub use prometheus::PrometheusDatasource;

use futures_util::future::BoxFuture;

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

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DatasourceError {
    #[error("Prometheus did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("cannot reach Prometheus: {0}")]
    Unreachable(String),
    #[error("Prometheus rejected the query: {0}")]
    Query(String),
    #[error("unexpected answer from Prometheus: {0}")]
    Protocol(String),
    /// The `prometheus:` section cannot make a client (a header name, the
    /// URL); `sena check` should have said so, this is the backstop.
    #[error("prometheus configuration: {0}")]
    Config(String),
    /// The body passed `prometheus.max_response_bytes`; reading stopped there.
    #[error("Prometheus answer larger than max_response_bytes ({}); narrow the query or raise the limit", crate::domain::format::format_bytes(*.limit))]
    TooLarge { limit: u64 },
    /// More series than the check's `max_series`; only the count was kept.
    #[error("the query returned {count} series, more than max_series ({limit}); aggregate it (for example `sum by (region) (...)`) or raise the check's `max_series`")]
    TooManySeries { count: usize, limit: usize },
    /// Sena's own limit, not Prometheus's (EMFILE/ENFILE): the message says
    /// which limit to raise.
    #[error("{0}")]
    LocalResource(String),
}

impl DatasourceError {
    /// True when the failure is Sena's own (out of file descriptors), so the
    /// daemon reports it as its own health problem as well.
    pub fn is_local(&self) -> bool {
        matches!(self, DatasourceError::LocalResource(_))
    }
}

pub trait Datasource: Send + Sync + 'static {
    /// Instant query at `at`. Scalars come back as one series with no labels.
    /// More than `max_series` series is [`DatasourceError::TooManySeries`].
    fn query<'a>(
        &'a self,
        promql: &'a str,
        at: Timestamp,
        max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>>;

    /// Range query over `[start, end]` at `step` seconds, for `sena eval`'s
    /// one-shot judgement of `for` windows.
    fn query_range<'a>(
        &'a self,
        promql: &'a str,
        start: Timestamp,
        end: Timestamp,
        step_seconds: f64,
        max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>>;

    /// Cheap liveness probe used by `/readyz`.
    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>>;
}
