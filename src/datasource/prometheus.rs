//! The Prometheus HTTP API datasource: `GET /api/v1/query` and
//! `/api/v1/query_range` over reqwest, with the answer decoded in
//! `answer.rs`.
//!
//! Why not prometheus-http-query (used before): it buffers the whole body
//! and decodes every series before the caller sees anything, so a 100 MB
//! answer cost 2.6 GB of RSS. Here the body is streamed and reading stops at
//! `max_response_bytes` (a `Content-Length` over the cap is refused before a
//! byte is read), and decoding stops keeping series past the check's
//! `max_series`. What the crate did for us besides (URL joining, the error
//! envelope) is a few lines, so it was dropped rather than kept for one call.
//!
//! URLs are built by `domain::prometheus_url` (the `url` crate), and every
//! error text passes [`PrometheusDatasource::redact`]: reqwest's own texts
//! carry the URL, and the URL may carry a password or a `?token=`; an error
//! reaches the log, `/api/v1/status`, the dashboard and the HOLD message.
//!
//! The HTTP timeout is Sena's own (reqwest), not only Prometheus's evaluation
//! timeout, so a hung Prometheus cannot stall an evaluation.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use super::answer::{decode, error_of, Decoded};
use super::{Datasource, DatasourceError, RangeSeries, Sample};
use crate::config::PrometheusConfig;
use crate::domain::prometheus_url;
use futures_util::future::BoxFuture;

pub struct PrometheusDatasource {
    http: reqwest::Client,
    /// `prometheus.url`; endpoints are appended to its path.
    base: reqwest::Url,
    /// What an error text must not repeat: `base`'s userinfo and query.
    secrets: Vec<String>,
    timeout: Duration,
    max_response_bytes: u64,
    /// Bounds queries in flight. Prometheus itself runs 20 at a time by
    /// default and queues the rest; queueing here instead keeps Sena to a
    /// pool of sockets (a thousand rollouts starting at once would otherwise
    /// open thousands, hit the open-file limit and report Prometheus down).
    in_flight: tokio::sync::Semaphore,
}

const QUERY: &[&str] = &["api", "v1", "query"];
const QUERY_RANGE: &[&str] = &["api", "v1", "query_range"];

/// As many as the connection pool keeps idle, so every query reuses a socket.
const MAX_QUERIES_IN_FLIGHT: usize = 64;

impl PrometheusDatasource {
    pub fn new(cfg: &PrometheusConfig) -> Result<Self, DatasourceError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &cfg.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|e| DatasourceError::Config(format!("header name `{name}`: {e}")))?;
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
        let mut builder = reqwest::Client::builder();
        if let Some(tls) = &cfg.tls {
            builder = with_tls(builder, tls)?;
        }
        let http = builder
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .default_headers(headers)
            .pool_max_idle_per_host(MAX_QUERIES_IN_FLIGHT)
            .build()
            .map_err(|e| {
                // rustls checks the key only here; reqwest's text quotes
                // no key material.
                let hint = if cfg.tls.is_some() {
                    " (check `tls.ca_file`, `tls.cert_file` and `tls.key_file`)"
                } else {
                    ""
                };
                DatasourceError::Config(format!("building the HTTP client{hint}: {e}"))
            })?;
        // The parse error never quotes the URL, which may hold a password.
        let base = reqwest::Url::parse(cfg.url.trim())
            .map_err(|e| DatasourceError::Config(format!("url: {e}")))?;
        Ok(PrometheusDatasource {
            http,
            secrets: prometheus_url::secrets(&base),
            base,
            timeout: cfg.timeout,
            max_response_bytes: cfg.max_response_bytes,
            in_flight: tokio::sync::Semaphore::new(MAX_QUERIES_IN_FLIGHT),
        })
    }

    /// One GET against `endpoint` with `params`: the decoded answer, or
    /// why there is none. The timeout covers waiting for a slot too: a
    /// check is judged within `timeout` or reported as an error, never left
    /// pending.
    async fn get(
        &self,
        endpoint: &[&str],
        params: &[(&str, &str)],
        max_series: usize,
    ) -> Result<Decoded, DatasourceError> {
        self.get_unredacted(endpoint, params, max_series)
            .await
            .map_err(|e| self.redact(e))
    }

    /// The texts of `e` without the URL's secrets.
    fn redact(&self, e: DatasourceError) -> DatasourceError {
        let clean = |text: String| prometheus_url::redact(&text, &self.secrets);
        match e {
            DatasourceError::Unreachable(t) => DatasourceError::Unreachable(clean(t)),
            DatasourceError::Query(t) => DatasourceError::Query(clean(t)),
            DatasourceError::Protocol(t) => DatasourceError::Protocol(clean(t)),
            DatasourceError::Config(t) => DatasourceError::Config(clean(t)),
            DatasourceError::LocalResource(t) => DatasourceError::LocalResource(clean(t)),
            e @ (DatasourceError::Timeout(_)
            | DatasourceError::TooLarge { .. }
            | DatasourceError::TooManySeries { .. }) => e,
        }
    }

    async fn get_unredacted(
        &self,
        endpoint: &[&str],
        params: &[(&str, &str)],
        max_series: usize,
    ) -> Result<Decoded, DatasourceError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let _slot = tokio::time::timeout_at(deadline, self.in_flight.acquire())
            .await
            .map_err(|_| DatasourceError::Timeout(self.timeout))?
            .map_err(|_| DatasourceError::Protocol("datasource closed".into()))?;
        let response = self
            .http
            .get(prometheus_url::endpoint(&self.base, endpoint, params))
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        let body = self.read_capped(response).await?;
        if !status.is_success() {
            return Err(match error_of(&body) {
                Some((kind, _)) if kind == "timeout" => DatasourceError::Timeout(self.timeout),
                Some((kind, why)) => DatasourceError::Query(format!("{kind}: {why}")),
                None => DatasourceError::Protocol(format!("HTTP {status}: {}", snippet(&body))),
            });
        }
        decode(&body, max_series)
    }

    /// The body, read chunk by chunk and abandoned as soon as it passes
    /// `max_response_bytes`: memory is bounded by the cap, not by what
    /// Prometheus (or a proxy in front of it) chooses to send.
    async fn read_capped(
        &self,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, DatasourceError> {
        let cap = self.max_response_bytes;
        let too_large = DatasourceError::TooLarge { limit: cap };
        let announced = response.content_length();
        if announced.is_some_and(|n| n > cap) {
            return Err(too_large);
        }
        // Never trust a length for an allocation beyond a modest start.
        let start = announced.unwrap_or(0).min(cap).min(1 << 20);
        let mut body = Vec::with_capacity(start as usize);
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify(&self, e: reqwest::Error) -> DatasourceError {
        // reqwest's text names the URL; the redaction in `get` is the
        // second line of defence.
        let e = &e.without_url();
        if let Some(local) = local_resource_failure(e) {
            return local;
        }
        if e.is_timeout() {
            DatasourceError::Timeout(self.timeout)
        } else if e.is_connect() {
            DatasourceError::Unreachable(crate::domain::format::root_cause(e))
        } else {
            DatasourceError::Unreachable(format!("{e}: {}", crate::domain::format::root_cause(e)))
        }
    }
}

const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// EMFILE/ENFILE anywhere in the error's chain: Sena's own limit, reported
/// as such so nobody goes looking for a Prometheus outage.
pub(crate) fn local_resource_failure(
    e: &(dyn std::error::Error + 'static),
) -> Option<DatasourceError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.raw_os_error() {
                Some(EMFILE) => {
                    return Some(DatasourceError::LocalResource(
                        "Sena is out of file descriptors (Too many open files); raise LimitNOFILE"
                            .into(),
                    ))
                }
                Some(ENFILE) => {
                    return Some(DatasourceError::LocalResource(
                        "the system is out of file descriptors (Too many open files in system); raise fs.file-max"
                            .into(),
                    ))
                }
                _ => {}
            }
        }
        cur = err.source();
    }
    None
}

/// `prometheus.tls` on the client: the CA bundle trusted besides the
/// built-in roots, and the client certificate and key (mTLS). The errors
/// name which file, never its contents.
fn with_tls(
    mut builder: reqwest::ClientBuilder,
    tls: &crate::config::PrometheusTls,
) -> Result<reqwest::ClientBuilder, DatasourceError> {
    if let Some(ca) = &tls.ca {
        let certs = reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|_| {
            DatasourceError::Config("`tls.ca_file` holds no certificate Sena can read".into())
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some((cert, key)) = &tls.client {
        let mut pem = cert.clone().into_bytes();
        pem.push(b'\n');
        pem.extend_from_slice(key.expose().as_bytes());
        let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
            DatasourceError::Config(
                "`tls.cert_file` and `tls.key_file` do not make a client identity (a PEM certificate and its PKCS#8, PKCS#1 or SEC1 key)".into(),
            )
        })?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

/// Unix seconds with milliseconds, as the Prometheus API accepts them.
fn prometheus_time(t: Timestamp) -> String {
    let ms = t.as_millisecond();
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn sensitive(v: &str) -> Result<HeaderValue, DatasourceError> {
    let mut value = HeaderValue::from_str(v)
        .map_err(|_| DatasourceError::Config("a header value has invalid characters".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The start of a body for an error message, printable and short.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

impl Datasource for PrometheusDatasource {
    fn query<'a>(
        &'a self,
        promql: &'a str,
        at: Timestamp,
        max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        Box::pin(async move {
            // Millisecond precision: whole seconds would judge data up to a
            // second old.
            let time = prometheus_time(at);
            let params = [("query", promql), ("time", time.as_str())];
            match self.get(QUERY, &params, max_series).await? {
                Decoded::Vector(samples) => Ok(samples),
                Decoded::Scalar(value) => Ok(vec![Sample {
                    labels: Default::default(),
                    value,
                }]),
                Decoded::Matrix(_) => Err(DatasourceError::Query(
                    "the query returns a range vector; checks need an instant vector or scalar (wrap it in a function such as rate())".into(),
                )),
            }
        })
    }

    fn query_range<'a>(
        &'a self,
        promql: &'a str,
        start: Timestamp,
        end: Timestamp,
        step_seconds: f64,
        max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        Box::pin(async move {
            let (start, end, step) = (
                start.as_second().to_string(),
                end.as_second().to_string(),
                step_seconds.to_string(),
            );
            let params = [
                ("query", promql),
                ("start", start.as_str()),
                ("end", end.as_str()),
                ("step", step.as_str()),
            ];
            match self.get(QUERY_RANGE, &params, max_series).await? {
                Decoded::Matrix(series) => Ok(series),
                Decoded::Vector(_) | Decoded::Scalar(_) => Err(DatasourceError::Protocol(
                    "range query did not return a matrix".into(),
                )),
            }
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(async move {
            self.get(QUERY, &[("query", "vector(1)")], 1)
                .await
                .map(|_| ())
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

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod http_tests;
