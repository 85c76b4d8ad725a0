//! GO / NO-GO over HTTP: `POST /api/v1/rollouts/{name}/decisions` (needs
//! `decide`) and the records (`GET` of the same path, `GET
//! /api/v1/decisions`). The body is parsed here, not by axum's extractor,
//! so every malformed body (wrong types, NaN, non-UTF-8, unknown decision)
//! is a 400 with a JSON `{"error"}` like every other refusal. Who decides
//! comes from the token; only a loopback caller without tokens names
//! itself with `by`, as for an ack.

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::App;
use crate::domain::printable::{unprintable, Lines};
use crate::domain::{
    Choice, DecisionAnswer, DecisionRequest, Identity, Outcome, Principal, Refused, Via,
};

/// Longer comments are refused rather than cut: a record keeps what the
/// decider wrote, whole.
pub(super) const MAX_COMMENT_CHARS: usize = 2000;
/// The most records one listing returns (the newest).
const MAX_LISTED: usize = 10_000;

#[derive(Deserialize)]
struct Body {
    decision: Choice,
    stage: usize,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default, rename = "override")]
    override_advice: bool,
    /// Only for a loopback caller without tokens.
    #[serde(default)]
    by: Option<String>,
    /// `cli` from `sena approve`/`reject`; `api` otherwise.
    #[serde(default)]
    via: Option<Via>,
}

fn error(status: StatusCode, why: impl Into<String>) -> Response {
    (status, Json(json!({ "error": why.into() }))).into_response()
}

pub(super) async fn post(
    State(app): State<App>,
    Extension(caller): Extension<Identity>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let body: Body = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("bad decision body ({e}); expected {{\"decision\": \"go\"|\"no_go\", \"stage\": N, \"comment\": \"...\", \"override\": false}}"),
            )
        }
    };
    if body
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        let why = format!("the comment is longer than {MAX_COMMENT_CHARS} characters");
        return error(StatusCode::BAD_REQUEST, why);
    }
    if let Some(bad) = body.comment.as_deref().and_then(unprintable_comment) {
        return error(StatusCode::BAD_REQUEST, bad);
    }
    let via = match body.via.unwrap_or(Via::Api) {
        Via::Slack => {
            return error(
                StatusCode::BAD_REQUEST,
                "`via: slack` is for Slack's signed interactions only",
            )
        }
        Via::Web => {
            return error(
                StatusCode::BAD_REQUEST,
                "`via: web` is for the dashboard's own forms only",
            )
        }
        via => via,
    };
    let (by, token) = match &caller.principal {
        Principal::Local => (
            Principal::Person(body.by.clone().unwrap_or_else(|| "local".into())),
            None,
        ),
        Principal::Machine(name) => (caller.principal.clone(), Some(name.clone())),
        Principal::Person(_) => (caller.principal.clone(), None),
    };
    let request = DecisionRequest {
        choice: body.decision,
        stage: body.stage,
        stage_started_at: None,
        comment: body.comment,
        override_advice: body.override_advice,
        by,
        token,
        slack_user: None,
        via,
    };
    let can_decide = caller.can.contains(crate::domain::Capability::Decide);
    match app.api.decide(name.clone(), request, can_decide).await {
        Ok(DecisionAnswer::Decided(record)) => {
            Json(json!({ "decision": record, "duplicate": false })).into_response()
        }
        Ok(DecisionAnswer::Duplicate(record)) => {
            Json(json!({ "decision": record, "duplicate": true })).into_response()
        }
        Ok(DecisionAnswer::Refused(record)) => {
            let (status, why) = match &record.outcome {
                Outcome::Refused { refused, why } => (status_of(*refused), why.clone()),
                Outcome::Accepted => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
            };
            (status, Json(json!({ "error": why, "decision": record }))).into_response()
        }
        Ok(DecisionAnswer::UnknownRollout) => {
            error(StatusCode::NOT_FOUND, format!("no rollout named {name}"))
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Why a comment cannot be recorded, in the words every door shows: the
/// record is printed in terminals (`sena decisions`, `sena dataset`) and on
/// the dashboard (`domain::printable`).
pub(super) fn unprintable_comment(comment: &str) -> Option<String> {
    unprintable(comment, Lines::Many)
        .map(|bad| format!("the comment cannot contain {bad}; line breaks and tabs are fine"))
}

fn status_of(refused: Refused) -> StatusCode {
    match refused {
        Refused::NotAllowed => StatusCode::FORBIDDEN,
        Refused::Stale | Refused::NotReady => StatusCode::CONFLICT,
        Refused::Invalid => StatusCode::BAD_REQUEST,
    }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    /// RFC 3339 (`2026-01-02T03:04:05Z`).
    since: Option<String>,
    rollout: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn list_one(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    list(app, Some(name), q).await
}

pub(super) async fn list_all(State(app): State<App>, Query(q): Query<ListQuery>) -> Response {
    let rollout = q.rollout.clone();
    list(app, rollout, q).await
}

async fn list(app: App, rollout: Option<String>, q: ListQuery) -> Response {
    let since = match q.since.as_deref().map(str::parse::<jiff::Timestamp>) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            let why = format!("`since` must be an RFC 3339 time such as 2026-01-02T03:04:05Z: {e}");
            return error(StatusCode::BAD_REQUEST, why);
        }
    };
    let limit = q.limit.unwrap_or(MAX_LISTED).min(MAX_LISTED);
    match app.api.decisions(rollout, since, limit).await {
        Ok(records) => Json(json!({ "decisions": records })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
