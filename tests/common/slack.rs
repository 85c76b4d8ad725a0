//! A local stand-in for Slack: records what Sena sends and can answer 429
//! (with `Retry-After`) or 500 on demand.
//!
//! - `POST {base}/webhook` (incoming-webhook mode) answers `ok` as text.
//! - `POST {base}/api/METHOD` (Web API mode; `chat.postMessage`,
//!   `chat.update`, ...) answers `{"ok":true,"channel":"C0TEST","ts":TS}`
//!   with a unique, increasing `ts`.
//! - `POST {base}/response/ANY` (an interaction's `response_url`, see
//!   `response_url()`) answers `ok` as text.
//! - `api_error_next("views.open", "expired_trigger_id")` makes the next
//!   call of that Web API method answer `{"ok":false,"error":...}` (HTTP
//!   200, as Slack does); `api_calls("views.open")` lists what was sent.
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
    /// Web API errors still to serve: (method, Slack error code).
    api_errors: VecDeque<(String, String)>,
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

    /// The bodies sent to Web API `method` (`views.open`, `chat.update`),
    /// answered or refused with an API error, in order.
    pub fn api_calls(&self, method: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/{method}");
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .map(|r| r.body)
            .collect()
    }

    /// The next call of Web API `method` answers `{"ok": false, "error":
    /// code}` with HTTP 200, the way Slack refuses (an expired trigger_id,
    /// a missing scope).
    pub fn api_error_next(&self, method: &str, code: &str) {
        self.state
            .lock()
            .unwrap()
            .api_errors
            .push_back((method.to_string(), code.to_string()));
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
    let method = path.trim_start_matches("/api/").to_string();
    if let Some(i) = state.api_errors.iter().position(|(m, _)| *m == method) {
        let (_, code) = state.api_errors.remove(i).expect("a queued API error");
        return axum::Json(serde_json::json!({"ok": false, "error": code})).into_response();
    }
    state.next_ts += 1;
    let ts = format!("1700000000.{:06}", state.next_ts);
    axum::Json(serde_json::json!({"ok": true, "channel": "C0TEST", "ts": ts})).into_response()
}

/// How long the interaction helpers below wait for Sena.
const WAIT: Duration = Duration::from_secs(40);

/// The `value` of the `action_id` button (`sena_go`, `sena_no_go`) on the
/// latest "ready to expand" request Sena posted for `rollout`, waited for:
/// a press must carry what the real message carries.
pub fn request_button(slack: &SlackStandIn, action_id: &str, rollout: &str) -> String {
    super::wait_until(
        &format!("a request for {rollout} with a {action_id} button"),
        WAIT,
        || {
            slack
                .api_calls("chat.postMessage")
                .iter()
                .rev()
                .flat_map(|m| m["blocks"].as_array().cloned().unwrap_or_default())
                .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
                .filter(|e| e["action_id"] == action_id)
                .filter_map(|e| e["value"].as_str().map(str::to_string))
                .find(|v| v.starts_with(&format!("{rollout}:")))
        },
        || format!("{:#?}", slack.requests()),
    )
}

pub fn press(user: &str, action_id: &str, value: &str, response_url: &str) -> String {
    form(&serde_json::json!({
        "type": "block_actions",
        "user": {"id": user, "name": "someone"},
        "actions": [{"action_id": action_id, "value": value, "block_id": "b"}],
        "response_url": response_url,
        "trigger_id": "t",
    }))
}

/// A press on a message in the channel, as Slack sends it: with its
/// `trigger_id`, the message's channel and ts, and its blocks.
pub fn press_on(
    user: &str,
    action_id: &str,
    value: &str,
    response_url: &str,
    trigger_id: &str,
    message_ts: &str,
    blocks: serde_json::Value,
) -> String {
    form(&serde_json::json!({
        "type": "block_actions",
        "user": {"id": user, "name": "someone"},
        "actions": [{"action_id": action_id, "value": value, "block_id": "b"}],
        "response_url": response_url,
        "trigger_id": trigger_id,
        "container": {"type": "message", "channel_id": "C0TEST", "message_ts": message_ts},
        "channel": {"id": "C0TEST"},
        "message": {"ts": message_ts, "blocks": blocks},
    }))
}

/// The NO-GO form sent back with `reason` typed into it (`private_metadata`
/// as Sena set it).
pub fn submit(user: &str, private_metadata: &str, reason: &str) -> String {
    form(&serde_json::json!({
        "type": "view_submission",
        "user": {"id": user, "name": "someone"},
        "trigger_id": "t2",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "sena_no_go",
            "private_metadata": private_metadata,
            "state": {"values": {"sena_reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
        },
    }))
}

pub fn records(sena: &super::sena::Sena, rollout: &str) -> Vec<serde_json::Value> {
    let (status, body) = sena.get(&format!("/api/v1/rollouts/{rollout}/decisions"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["decisions"]
        .as_array()
        .unwrap()
        .clone()
}

pub fn responses(slack: &SlackStandIn, id: &str) -> Vec<serde_json::Value> {
    let path = format!("/response/{id}");
    slack
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| r.body)
        .collect()
}

pub fn wait_response(slack: &SlackStandIn, id: &str, n: usize) -> Vec<serde_json::Value> {
    super::wait_until(
        &format!("{n} post(s) to response_url {id}"),
        WAIT,
        || {
            let got = responses(slack, id);
            (got.len() >= n).then_some(got)
        },
        || format!("{:#?}", slack.requests()),
    )
}

/// Slack's request signature: `v0=` + hex HMAC-SHA256 of
/// `v0:{ts}:{body}` with the signing secret.
pub fn sign(secret: &str, ts: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("v0:{ts}:{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

/// An interaction body as Slack sends it: `payload=` + the JSON,
/// form-encoded.
pub fn form(payload: &serde_json::Value) -> String {
    let json = payload.to_string();
    let mut body = String::from("payload=");
    for b in json.bytes() {
        if b.is_ascii_alphanumeric() {
            body.push(b as char);
        } else {
            body.push_str(&format!("%{b:02X}"));
        }
    }
    body
}

/// POSTs `body` to Sena's `/api/v1/slack/interactions` signed with
/// `secret` at Unix time `ts`, as Slack would.
pub fn post_signed(
    sena_base_url: &str,
    secret: &str,
    ts: i64,
    body: &str,
) -> super::http::Response {
    let sig = sign(secret, ts, body);
    let ts = ts.to_string();
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Slack-Request-Timestamp", ts.as_str()),
        ("X-Slack-Signature", sig.as_str()),
    ];
    let url = format!("{sena_base_url}/api/v1/slack/interactions");
    super::http::request("POST", &url, &headers, body.as_bytes()).expect("POST interactions")
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
