//! The Prometheus HTTP API datasource (prometheus-http-query over reqwest).
//! The HTTP timeout is Sena's own (reqwest), not only Prometheus's evaluation
//! timeout, so a hung Prometheus cannot stall an evaluation.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use prometheus_http_query::response::Data;
use prometheus_http_query::{Client, Error as PromError};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use super::{Datasource, DatasourceError, RangeSeries, Sample};
use crate::config::PrometheusConfig;
use crate::notify::BoxFuture;

pub struct PrometheusDatasource {
    client: Client,
    timeout: Duration,
    /// Bounds queries in flight. Prometheus itself runs 20 at a time by
    /// default and queues the rest; queueing here instead keeps Sena to a
    /// pool of sockets (a thousand rollouts starting at once would otherwise
    /// open thousands, hit the open-file limit and report Prometheus down).
    in_flight: tokio::sync::Semaphore,
}

/// As many as the connection pool keeps idle, so every query reuses a socket.
const MAX_QUERIES_IN_FLIGHT: usize = 64;

impl PrometheusDatasource {
    pub fn new(cfg: &PrometheusConfig) -> Result<Self, DatasourceError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &cfg.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|e| DatasourceError::Protocol(format!("header name `{name}`: {e}")))?;
            headers.insert(name, sensitive(value.expose())?);
        }
        if let Some(auth) = &cfg.basic_auth {
            let raw = format!("{}:{}", auth.username, auth.password.expose());
            headers.insert(
                AUTHORIZATION,
                sensitive(&format!("Basic {}", base64(raw.as_bytes())))?,
            );
        }
        if let Some(token) = &cfg.bearer_token {
            headers.insert(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", token.expose()))?,
            );
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .default_headers(headers)
            .pool_max_idle_per_host(MAX_QUERIES_IN_FLIGHT)
            .build()
            .map_err(|e| DatasourceError::Protocol(format!("building HTTP client: {e}")))?;
        let client = Client::from(http, &cfg.url)
            .map_err(|e| DatasourceError::Protocol(format!("Prometheus URL: {e}")))?;
        Ok(PrometheusDatasource {
            client,
            timeout: cfg.timeout,
            in_flight: tokio::sync::Semaphore::new(MAX_QUERIES_IN_FLIGHT),
        })
    }

    fn classify(&self, e: PromError) -> DatasourceError {
        match e {
            PromError::Prometheus(p) if p.is_timeout() => DatasourceError::Timeout(self.timeout),
            PromError::Prometheus(p) => DatasourceError::Query(p.to_string()),
            PromError::Client(c) => {
                let source =
                    std::error::Error::source(&c).and_then(|s| s.downcast_ref::<reqwest::Error>());
                match source {
                    Some(r) if r.is_timeout() => DatasourceError::Timeout(self.timeout),
                    Some(r) if r.is_connect() => DatasourceError::Unreachable(root_cause(r)),
                    _ => DatasourceError::Unreachable(c.to_string()),
                }
            }
            other => DatasourceError::Protocol(other.to_string()),
        }
    }
}

/// Unix seconds with milliseconds, as the Prometheus API accepts them.
fn prometheus_time(t: Timestamp) -> String {
    let ms = t.as_millisecond();
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn sensitive(v: &str) -> Result<HeaderValue, DatasourceError> {
    let mut value = HeaderValue::from_str(v)
        .map_err(|_| DatasourceError::Protocol("a header value has invalid characters".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn labels(metric: &std::collections::HashMap<String, String>) -> BTreeMap<String, String> {
    metric.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Datasource for PrometheusDatasource {
    fn query<'a>(
        &'a self,
        promql: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        Box::pin(async move {
            // The timeout covers waiting for a slot too: a check is judged
            // within `timeout` or reported as an error, never left pending.
            let deadline = tokio::time::Instant::now() + self.timeout;
            let _slot = tokio::time::timeout_at(deadline, self.in_flight.acquire())
                .await
                .map_err(|_| DatasourceError::Timeout(self.timeout))?
                .map_err(|_| DatasourceError::Protocol("datasource closed".into()))?;
            let result = self
                .client
                .query(promql)
                // Millisecond precision: whole seconds (`.at()`) would judge
                // data up to a second old.
                .query("time", prometheus_time(at))
                .get()
                .await
                .map_err(|e| self.classify(e))?;
            Ok(match result.data() {
                Data::Vector(v) => v
                    .iter()
                    .map(|s| Sample {
                        labels: labels(s.metric()),
                        value: s.sample().value(),
                    })
                    .collect(),
                Data::Scalar(s) => vec![Sample {
                    labels: BTreeMap::new(),
                    value: s.value(),
                }],
                Data::Matrix(_) => {
                    return Err(DatasourceError::Query(
                        "the query returns a range vector; checks need an instant vector or scalar (wrap it in a function such as rate())".into(),
                    ))
                }
            })
        })
    }

    fn query_range<'a>(
        &'a self,
        promql: &'a str,
        start: Timestamp,
        end: Timestamp,
        step_seconds: f64,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        Box::pin(async move {
            let result = self
                .client
                .query_range(promql, start.as_second(), end.as_second(), step_seconds)
                .get()
                .await
                .map_err(|e| self.classify(e))?;
            match result.data() {
                Data::Matrix(m) => Ok(m
                    .iter()
                    .map(|r| RangeSeries {
                        labels: labels(r.metric()),
                        points: r
                            .samples()
                            .iter()
                            .map(|s| (s.timestamp() as i64, s.value()))
                            .collect(),
                    })
                    .collect()),
                Data::Vector(_) | Data::Scalar(_) => Err(DatasourceError::Protocol(
                    "range query did not return a matrix".into(),
                )),
            }
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(async move {
            self.client
                .query("vector(1)")
                .get()
                .await
                .map(|_| ())
                .map_err(|e| self.classify(e))
        })
    }
}

/// Standard base64 for the basic-auth header (no dependency for 15 lines).
fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn evaluation_time_keeps_milliseconds() {
        let t: jiff::Timestamp = "2025-10-22T14:00:00.042Z".parse().unwrap();
        assert_eq!(super::prometheus_time(t), "1761141600.042");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(super::base64(b"user:pass"), "dXNlcjpwYXNz");
    }
}
