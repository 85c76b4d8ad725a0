//! The datasource against a tiny Prometheus stand-in on loopback: the body
//! cap (announced and streamed), the series cap, error classification and
//! the auth header, over real HTTP.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::*;
use crate::config::{PrometheusConfig, Secret};

fn config(url: String, max_response_bytes: u64) -> PrometheusConfig {
    // The binary installs ring at start (src/cli/mod.rs); a test must too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    PrometheusConfig {
        external_url: url.clone(),
        url,
        timeout: Duration::from_secs(5),
        headers: Vec::new(),
        basic_auth: None,
        bearer_token: Some(Secret::new("t0ken")),
        max_response_bytes,
        max_series: 1000,
        tls: None,
    }
}

/// Serves `app` on 127.0.0.1:0 and returns its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn series_json(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"metric":{{"i":"{i}"}},"value":[1,"{i}"]}}"#))
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        items.join(",")
    )
}

fn now() -> Timestamp {
    Timestamp::now()
}

#[tokio::test]
async fn an_announced_body_over_the_cap_is_refused_unread() {
    let body = series_json(1) + &" ".repeat(200_000);
    let url = serve(Router::new().route(
        "/api/v1/query",
        get(move || {
            let body = body.clone();
            async move { body }
        }),
    ))
    .await;
    let ds = PrometheusDatasource::new(&config(url, 100_000)).unwrap();
    let err = ds.query("up", now(), 1000).await.unwrap_err();
    assert_eq!(err, DatasourceError::TooLarge { limit: 100_000 });
    assert_eq!(
        err.to_string(),
        "Prometheus answer larger than max_response_bytes (100000 bytes); narrow the query or raise the limit"
    );
}

#[tokio::test]
async fn a_streamed_body_is_abandoned_at_the_cap() {
    // 100 MB in 64 KiB chunks with no Content-Length; the server counts
    // what it managed to hand to the socket.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let url = serve(Router::new().route(
        "/api/v1/query",
        get(move || {
            let counter = counter.clone();
            async move {
                let chunk = Bytes::from(vec![b' '; 64 << 10]);
                let stream = futures_util::stream::iter((0..1600).map(move |_| {
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    Ok::<_, std::io::Error>(chunk.clone())
                }));
                Body::from_stream(stream)
            }
        }),
    ))
    .await;
    let cap = 1 << 20;
    let ds = PrometheusDatasource::new(&config(url, cap)).unwrap();
    let err = ds.query("up", now(), 1000).await.unwrap_err();
    assert_eq!(err, DatasourceError::TooLarge { limit: cap });
    assert!(err.to_string().contains("(1 MiB)"), "{err}");
    // Socket buffers hold a few MB at most; the other 90-odd MB were never
    // produced because reading stopped.
    let produced = sent.load(Ordering::Relaxed);
    assert!(produced < 20 << 20, "the server produced {produced} bytes");
}

#[tokio::test]
async fn more_series_than_the_check_allows_is_an_error_naming_both() {
    let url =
        serve(Router::new().route("/api/v1/query", get(|| async { series_json(1_001) }))).await;
    let ds = PrometheusDatasource::new(&config(url, 16 << 20)).unwrap();
    assert_eq!(ds.query("up", now(), 1001).await.unwrap().len(), 1001);
    let err = ds.query("up", now(), 1000).await.unwrap_err();
    assert_eq!(
        err,
        DatasourceError::TooManySeries {
            count: 1001,
            limit: 1000
        }
    );
}

#[tokio::test]
async fn errors_keep_their_classes() {
    async fn answer(
        headers: HeaderMap,
        q: axum::extract::Query<Vec<(String, String)>>,
    ) -> Response {
        let query =
            q.0.iter()
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v.as_str());
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        if bearer != Some("Bearer t0ken") {
            return (StatusCode::UNAUTHORIZED, "no token").into_response();
        }
        match query {
            Some("bad(") => (
                StatusCode::BAD_REQUEST,
                r#"{"status":"error","errorType":"bad_data","error":"unclosed left parenthesis"}"#,
            )
                .into_response(),
            Some("slow") => (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#,
            )
                .into_response(),
            Some("proxy") => {
                (StatusCode::BAD_GATEWAY, "<html>\nbad gateway</html>").into_response()
            }
            Some("range") => {
                r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.into_response()
            }
            _ => series_json(1).into_response(),
        }
    }
    let url = serve(Router::new().route("/api/v1/query", get(answer))).await;
    let ds = PrometheusDatasource::new(&config(url, 16 << 20)).unwrap();
    assert_eq!(ds.query("up", now(), 10).await.unwrap().len(), 1);
    assert_eq!(
        ds.query("bad(", now(), 10).await.unwrap_err(),
        DatasourceError::Query("bad_data: unclosed left parenthesis".into())
    );
    assert_eq!(
        ds.query("slow", now(), 10).await.unwrap_err(),
        DatasourceError::Timeout(Duration::from_secs(5))
    );
    assert_eq!(
        ds.query("proxy", now(), 10).await.unwrap_err(),
        DatasourceError::Protocol("HTTP 502 Bad Gateway: <html> bad gateway</html>".into())
    );
    assert!(matches!(
        ds.query("range", now(), 10).await.unwrap_err(),
        DatasourceError::Query(why) if why.contains("range vector")
    ));
    ds.ping().await.unwrap();
}

#[tokio::test]
async fn nobody_listening_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ds =
        PrometheusDatasource::new(&config(format!("http://127.0.0.1:{port}/"), 1 << 20)).unwrap();
    assert!(matches!(
        ds.query("up", now(), 10).await.unwrap_err(),
        DatasourceError::Unreachable(_)
    ));
}

#[test]
fn out_of_file_descriptors_is_senas_own_problem() {
    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("tcp open error")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let emfile = Wrapper(std::io::Error::from_raw_os_error(24));
    let local = local_resource_failure(&emfile).expect("EMFILE is local");
    assert!(local.is_local());
    assert_eq!(
        local.to_string(),
        "Sena is out of file descriptors (Too many open files); raise LimitNOFILE"
    );
    let enfile = Wrapper(std::io::Error::from_raw_os_error(23));
    assert!(local_resource_failure(&enfile).is_some_and(|e| e.is_local()));
    let refused = Wrapper(std::io::Error::from_raw_os_error(111));
    assert_eq!(local_resource_failure(&refused), None);
}

#[test]
fn a_tls_pair_that_is_not_a_key_is_a_config_error_that_quotes_nothing() {
    let mut cfg = config("https://prom.example:9090".into(), 1 << 20);
    cfg.tls = Some(crate::config::PrometheusTls {
        ca: None,
        client: Some((
            "-----BEGIN CERTIFICATE-----\nTk9U\n-----END CERTIFICATE-----\n".into(),
            Secret::new(
                "-----BEGIN PRIVATE KEY-----\nS0VZTUFURVJJQUw=\n-----END PRIVATE KEY-----\n",
            ),
        )),
    });
    let Err(e) = PrometheusDatasource::new(&cfg) else {
        panic!("a garbage identity was accepted");
    };
    let text = e.to_string();
    assert!(text.contains("tls.cert_file"), "{text}");
    assert!(!text.contains("S0VZ"), "{text}");
}
