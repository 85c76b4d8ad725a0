//! Slack's interactive buttons: `POST /api/v1/slack/interactions`.
//!
//! Slack signs every request (`X-Slack-Signature` = `v0=` + hex HMAC-SHA256
//! of `v0:{X-Slack-Request-Timestamp}:{raw body}` with the app's signing
//! secret); that signature, not a bearer token, is the caller's proof, so
//! the route has no `auth::gate`. It is checked over the raw bytes before
//! any decoding, in constant time (`ring::hmac::verify`), with a timestamp
//! within 300 s of the daemon's clock. Slack wants an answer within 3 s:
//! a button press is verified and parsed here (`slack_payload.rs`),
//! answered 200 at once, and the decision, the modal and the
//! `response_url` reply run in a spawned task (`Api::slack_action`). A
//! submitted NO-GO form is decided before the answer, within
//! `FORM_ANSWER_BUDGET`, because only the answer can show the person an
//! error inside the form (`response_action: errors`). Neither the secret
//! nor the signature is logged.
//!
//! A signature proves who sent a request, not that it is new: within the
//! 300 s window the same bytes verify again. So every verified request's
//! signature is remembered in the store (`state/replay.rs`) before it is
//! acted on, whether the action is then accepted or refused, and a second
//! use is refused (401, `slack_replayed`): a GO refused for a short bake
//! cannot be sent again once the bake is over.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::slack_payload::{parse, SlackInteraction, REASON_BLOCK};
use super::App;
use crate::metrics::HTTP_UNAUTHORIZED;

/// Slack's own limit for a request's age.
pub const MAX_SKEW_SECONDS: u64 = 300;
/// Slack gives up after 3 s; the rest is for the network.
const FORM_ANSWER_BUDGET: std::time::Duration = std::time::Duration::from_millis(2500);

/// Why a request is not Slack's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadSignature {
    /// A header is absent.
    Missing,
    /// The signature does not match, or is not `v0=` + 64 hex digits.
    Invalid,
    /// The timestamp is not a number or lies more than 300 s from now.
    Stale,
    /// A genuine signature seen before: the same request sent again.
    Replayed,
}

impl BadSignature {
    /// The `reason` labels of `sena_http_unauthorized_total`.
    pub const REASONS: &'static [&'static str] = &[
        "slack_signature_missing",
        "slack_signature_invalid",
        "slack_timestamp_stale",
        "slack_replayed",
    ];

    pub fn reason(self) -> &'static str {
        match self {
            BadSignature::Missing => "slack_signature_missing",
            BadSignature::Invalid => "slack_signature_invalid",
            BadSignature::Stale => "slack_timestamp_stale",
            BadSignature::Replayed => "slack_replayed",
        }
    }
}

/// A request whose signature holds: what identifies it for the replay
/// check. The digest is of the decoded signature, so `V0=AB..` and
/// `v0=ab..` are one request; the signature itself is never kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signed {
    pub digest: [u8; 32],
    pub at: jiff::Timestamp,
}

/// Checks Slack's signature of `body` (raw bytes) at time `now`.
pub fn verify(
    key: &ring::hmac::Key,
    headers: &HeaderMap,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Signed, BadSignature> {
    let (Some(timestamp), Some(signature)) = (
        headers.get("x-slack-request-timestamp"),
        headers.get("x-slack-signature"),
    ) else {
        return Err(BadSignature::Missing);
    };
    let timestamp = timestamp.to_str().map_err(|_| BadSignature::Stale)?;
    let signature = signature.to_str().map_err(|_| BadSignature::Invalid)?;
    let seconds: i64 = timestamp.trim().parse().map_err(|_| BadSignature::Stale)?;
    // Checked: the header is the caller's, read before the signature, and
    // `i64::MIN` would overflow the subtraction.
    let skew = now.as_second().checked_sub(seconds).map(i64::unsigned_abs);
    if skew.is_none_or(|s| s > MAX_SKEW_SECONDS) {
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
    ring::hmac::verify(key, &base, &digest).map_err(|_| BadSignature::Invalid)?;
    let hashed = ring::digest::digest(&ring::digest::SHA256, &digest);
    let mut key_of_request = [0u8; 32];
    key_of_request.copy_from_slice(hashed.as_ref());
    Ok(Signed {
        digest: key_of_request,
        at: jiff::Timestamp::from_second(seconds).map_err(|_| BadSignature::Stale)?,
    })
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

pub(super) async fn interactions(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = app.api.slack_signing_key() else {
        let why = "Slack interactivity is off: set `slack.signing_secret_file`";
        return (StatusCode::NOT_FOUND, Json(json!({ "error": why }))).into_response();
    };
    let first_use = match verify(&key, &headers, &body, app.api.now()) {
        Ok(signed) => app
            .api
            .slack_first_use(signed.digest, signed.at)
            .await
            .map(|first| (!first).then_some(BadSignature::Replayed)),
        Err(bad) => Ok(Some(bad)),
    };
    let refused = match first_use {
        Ok(refused) => refused,
        Err(e) => {
            // Without the memory of used signatures, acting could replay.
            tracing::error!(error = %e, "could not check a Slack interaction against the used signatures");
            let why = "Sena could not record this request; try again";
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": why })),
            )
                .into_response();
        }
    };
    if let Some(bad) = refused {
        app.metrics
            .inc(HTTP_UNAUTHORIZED, &[("reason", bad.reason())]);
        tracing::warn!(
            reason = bad.reason(),
            "refused a Slack interaction: its signature does not hold or was used before"
        );
        let why = match bad {
            BadSignature::Replayed => "this signed request was already received once",
            _ => "not a request signed by Slack",
        };
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": why }))).into_response();
    }
    match parse(&body) {
        Ok(Some(SlackInteraction::Press(action))) => {
            let api = app.api.clone();
            tokio::spawn(async move { api.slack_action(action).await });
            StatusCode::OK.into_response()
        }
        Ok(Some(SlackInteraction::NoGoReason(no_go))) => {
            // The daemon runs the decision in its own task: past the budget
            // it still finishes (and updates the message); only the answer
            // to this request gives up.
            let decided =
                tokio::time::timeout(FORM_ANSWER_BUDGET, app.api.slack_no_go(no_go)).await;
            let shown = match decided {
                Ok(Ok(())) => return StatusCode::OK.into_response(),
                Ok(Err(why)) => why,
                Err(_) => "Sena is slow to answer; run `sena decisions` to see whether this NO-GO was recorded before sending it again".to_string(),
            };
            // An empty 200 closes the form; errors keep it open and show
            // the message under the reason field.
            let shown: String = shown.chars().take(500).collect();
            Json(json!({
                "response_action": "errors",
                "errors": { REASON_BLOCK: shown },
            }))
            .into_response()
        }
        Ok(None) => StatusCode::OK.into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, Json(json!({ "error": why }))).into_response(),
    }
}

#[cfg(test)]
#[path = "slack_tests.rs"]
mod tests;
