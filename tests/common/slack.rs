//! A local stand-in for Slack: records what Sena sends and can answer 429
//! (with `Retry-After`) or 500 on demand.
//!
//! - `POST {base}/webhook` (incoming-webhook mode) answers `ok` as text.
//! - `POST {base}/api/METHOD` (Web API mode; `chat.postMessage`,
//!   `chat.update`, ...) answers `{"ok":true,"channel":"C0TEST","ts":TS}`
//!   with a unique, increasing `ts`.
//! - `POST {base}/response/ANY` (an interaction's `response_url`, see
//!   `response_url()`) answers `ok` as text.
//!
//! `requests()` holds the answered (2xx) requests only, in order;
//! `all_attempts()` every request with the status it got.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One answered request.
#[derive(Clone, Debug)]
pub struct SlackRequest {
    /// `/webhook` or `/api/chat.postMessage`, ...
    pub path: String,
    /// The `Authorization` header (`Bearer xoxb-...` in Web API mode).
    pub authorization: Option<String>,
    /// The JSON body; a form-encoded body comes as an object of its fields,
    /// anything else as a JSON string.
    pub body: serde_json::Value,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    answered: Vec<SlackRequest>,
    attempts: Vec<(String, u16)>,
    /// Failures still to serve: (status, Retry-After seconds).
    failures: VecDeque<(u16, Option<u64>)>,
    next_ts: u64,
}

pub struct SlackStandIn {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl SlackStandIn {
    pub fn start() -> SlackStandIn {
        let state: Arc<Mutex<State>> = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the Slack stand-in");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("Slack stand-in address");
        let shared = state.clone();
        super::runtime().spawn(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).expect("tokio Slack listener");
            let router = axum::Router::new().fallback(move |uri, headers, body| {
                let state = shared.clone();
                async move { answer(&state, uri, headers, body) }
            });
            axum::serve(listener, router)
                .await
                .expect("serve the Slack stand-in");
        });
        SlackStandIn { addr, state }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The incoming-webhook URL: `{base}/webhook`.
    pub fn webhook_url(&self) -> String {
        format!("{}/webhook", self.base_url())
    }

    /// The Web API base (`slack.api_url`): `{base}/api`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// A `response_url` for a signed interaction: `{base}/response/{id}`.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/response/{id}", self.base_url())
    }

    /// Answered (2xx) requests, in order of arrival.
    pub fn requests(&self) -> Vec<SlackRequest> {
        self.state.lock().unwrap().answered.clone()
    }

    /// Every request, failed ones included: (path, status answered).
    pub fn all_attempts(&self) -> Vec<(String, u16)> {
        self.state.lock().unwrap().attempts.clone()
    }

    /// Waits until at least `n` requests were answered and returns them all.
    pub fn wait_for(&self, n: usize, deadline: Duration) -> Vec<SlackRequest> {
        super::wait_until(
            &format!("{n} answered request(s) at the Slack stand-in"),
            deadline,
            || {
                let requests = self.requests();
                (requests.len() >= n).then_some(requests)
            },
            || {
                format!(
                    "answered: {:#?}\nall attempts: {:?}",
                    self.requests(),
                    self.all_attempts()
                )
            },
        )
    }

    /// Answers the next `n` requests with `status` (e.g. 429 or 500) and,
    /// if given, a `Retry-After: SECONDS` header. Queued after failures
    /// already pending.
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<u64>) {
        let mut state = self.state.lock().unwrap();
        for _ in 0..n {
            state.failures.push_back((status, retry_after));
        }
    }
}

fn answer(state: &Mutex<State>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let mut state = state.lock().unwrap();
    if let Some((status, retry_after)) = state.failures.pop_front() {
        state.attempts.push((path, status));
        let status = StatusCode::from_u16(status).expect("a valid HTTP status");
        let mut response = (status, "failing on purpose").into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                "retry-after",
                seconds.to_string().parse().expect("header value"),
            );
        }
        return response;
    }
    let known = path == "/webhook" || path.starts_with("/api/") || path.starts_with("/response/");
    let status = if known { 200 } else { 404 };
    state.attempts.push((path.clone(), status));
    if !known {
        return (StatusCode::NOT_FOUND, "no such Slack endpoint").into_response();
    }
    state.answered.push(SlackRequest {
        path: path.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        body: parse_body(&headers, &body),
        at: Instant::now(),
    });
    if !path.starts_with("/api/") {
        return (StatusCode::OK, "ok").into_response();
    }
    state.next_ts += 1;
    let ts = format!("1700000000.{:06}", state.next_ts);
    axum::Json(serde_json::json!({"ok": true, "channel": "C0TEST", "ts": ts})).into_response()
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> serde_json::Value {
    if let Ok(json) = serde_json::from_slice(body) {
        return json;
    }
    let text = String::from_utf8_lossy(body).into_owned();
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return serde_json::Value::String(text);
    }
    let fields = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let v = url_decode(v);
            // Slack's form API carries JSON in some fields (blocks, attachments).
            let v = serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
            (url_decode(k), v)
        })
        .collect();
    serde_json::Value::Object(fields)
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
