//! Slack's interactive buttons: `POST /api/v1/slack/interactions`.
//!
//! Slack signs every request (`X-Slack-Signature` = `v0=` + hex HMAC-SHA256
//! of `v0:{X-Slack-Request-Timestamp}:{raw body}` with the app's signing
//! secret); that signature, not a bearer token, is the caller's proof, so
//! the route has no `auth::gate`. It is checked over the raw bytes before
//! any decoding, in constant time (`ring::hmac::verify`), with a timestamp
//! within 300 s of the daemon's clock. Slack wants an answer within 3 s:
//! the request is verified and parsed here, answered 200 at once, and the
//! decision and the `response_url` reply run in a spawned task
//! (`Api::slack_action`). Neither the secret nor the signature is logged.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::App;
use crate::domain::Choice;
use crate::metrics::HTTP_UNAUTHORIZED;

/// Slack's own limit for a request's age.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// Far above any block_actions payload; a larger body is refused unread.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a request is not Slack's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadSignature {
    /// A header is absent.
    Missing,
    /// The signature does not match, or is not `v0=` + 64 hex digits.
    Invalid,
    /// The timestamp is not a number or lies more than 300 s from now.
    Stale,
}

impl BadSignature {
    /// The `reason` labels of `sena_http_unauthorized_total`.
    pub const REASONS: &'static [&'static str] = &[
        "slack_signature_missing",
        "slack_signature_invalid",
        "slack_timestamp_stale",
    ];

    pub fn reason(self) -> &'static str {
        match self {
            BadSignature::Missing => "slack_signature_missing",
            BadSignature::Invalid => "slack_signature_invalid",
            BadSignature::Stale => "slack_timestamp_stale",
        }
    }
}

/// Checks Slack's signature of `body` (raw bytes) at time `now`.
pub fn verify(
    key: &ring::hmac::Key,
    headers: &HeaderMap,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<(), BadSignature> {
    let (Some(timestamp), Some(signature)) = (
        headers.get("x-slack-request-timestamp"),
        headers.get("x-slack-signature"),
    ) else {
        return Err(BadSignature::Missing);
    };
    let timestamp = timestamp.to_str().map_err(|_| BadSignature::Stale)?;
    let signature = signature.to_str().map_err(|_| BadSignature::Invalid)?;
    let seconds: i64 = timestamp.trim().parse().map_err(|_| BadSignature::Stale)?;
    if (now.as_second() - seconds).abs() > MAX_SKEW_SECONDS {
        return Err(BadSignature::Stale);
    }
    let digest = signature
        .strip_prefix("v0=")
        .and_then(decode_hex)
        .ok_or(BadSignature::Invalid)?;
    let mut base = Vec::with_capacity(body.len() + timestamp.len() + 4);
    base.extend_from_slice(b"v0:");
    base.extend_from_slice(timestamp.as_bytes());
    base.push(b':');
    base.extend_from_slice(body);
    ring::hmac::verify(key, &base, &digest).map_err(|_| BadSignature::Invalid)
}

/// Exactly 32 bytes as 64 hex digits (Slack sends lower case).
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// One button press, as far as Sena needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackAction {
    /// The Slack member ID (`user.id`): stable, unlike display names.
    pub user: String,
    pub choice: Choice,
    pub rollout: String,
    pub stage: usize,
    /// Where the answer goes; checked by the daemon before it posts.
    pub response_url: String,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: User,
    actions: Vec<Action>,
    response_url: String,
}

#[derive(Deserialize)]
struct User {
    id: String,
}

#[derive(Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: String,
}

/// The `payload` field of a form-encoded body, parsed. `Ok(None)`: a
/// well-formed interaction Sena has no business with (another type or
/// another button), answered 200 and ignored.
pub fn parse(body: &[u8]) -> Result<Option<SlackAction>, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!("the body is longer than {MAX_BODY_BYTES} bytes"));
    }
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let payload = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "payload")
        .map(|(_, v)| url_decode(v))
        .ok_or("no `payload` field")??;
    let p: Payload = serde_json::from_str(&payload)
        .map_err(|e| format!("the payload is not one Sena reads: {e}"))?;
    if p.kind != "block_actions" {
        return Ok(None);
    }
    let Some(action) = p.actions.first() else {
        return Err("block_actions without actions".into());
    };
    let choice = match action.action_id.as_str() {
        "sena_go" => Choice::Go,
        "sena_no_go" => Choice::NoGo,
        _ => return Ok(None),
    };
    let (rollout, stage) = action
        .value
        .rsplit_once(':')
        .and_then(|(r, s)| Some((r, s.parse::<usize>().ok()?)))
        .filter(|(r, _)| !r.is_empty() && r.len() <= 200)
        .ok_or("the button's value is not ROLLOUT:STAGE")?;
    let id_ok = |id: &str| {
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    if !id_ok(&p.user.id) {
        return Err("`user.id` is not a Slack member ID".into());
    }
    Ok(Some(SlackAction {
        user: p.user.id,
        choice,
        rollout: rollout.to_string(),
        stage,
        response_url: p.response_url,
    }))
}

/// `application/x-www-form-urlencoded` decoding; invalid UTF-8 is an error.
fn url_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a bad %-escape in the body")?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the payload is not UTF-8".to_string())
}

pub(super) async fn interactions(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = app.api.slack_signing_key() else {
        let why = "Slack interactivity is off: set `slack.signing_secret_file`";
        return (StatusCode::NOT_FOUND, Json(json!({ "error": why }))).into_response();
    };
    if let Err(bad) = verify(&key, &headers, &body, app.api.now()) {
        app.metrics
            .inc(HTTP_UNAUTHORIZED, &[("reason", bad.reason())]);
        tracing::warn!(
            reason = bad.reason(),
            "refused a Slack interaction: its signature does not hold"
        );
        let why = "not a request signed by Slack";
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": why }))).into_response();
    }
    match parse(&body) {
        Ok(Some(action)) => {
            let api = app.api.clone();
            tokio::spawn(async move { api.slack_action(action).await });
            StatusCode::OK.into_response()
        }
        Ok(None) => StatusCode::OK.into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, Json(json!({ "error": why }))).into_response(),
    }
}

#[cfg(test)]
#[path = "slack_tests.rs"]
mod tests;
