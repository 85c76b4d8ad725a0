//! Gates for the tools that move traffic: Flagger webhooks
//! (`POST /api/v1/gates/flagger`, `.../flagger/rollback`), the Argo
//! Rollouts web metric (`GET /api/v1/gates/{rollout}[?stage=N]`). The judgement is
//! `domain::gate`; this file maps it onto each tool's contract:
//!
//! - Flagger counts 200–202 as a pass and anything else as "not yet", so a
//!   "no" is 403, never another 2xx; its payload has no weight, so the
//!   canary is mapped to a rollout and the rollout's own stage decides.
//! - Argo up to 1.9 takes any non-JSON 2xx as success, so every answer is
//!   JSON; a non-2xx is an Error there, so a known rollout always gets 200
//!   and its conditions read `verdict`/`approved`.
//!
//! Bodies are parsed here, not by axum's extractor, so every malformed
//! payload (wrong types, non-UTF-8) is a 400 with a JSON `{"error"}`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{App, GateTarget};
use crate::domain::{GatePass, GateView};

/// Flagger's webhook payload. `phase`, `checksum` and `metadata` are
/// accepted and not used: the rollout's own state decides.
#[derive(Deserialize)]
struct FlaggerPayload {
    name: String,
    namespace: String,
    #[serde(default)]
    #[allow(dead_code)]
    phase: Option<String>,
}

fn error(status: StatusCode, why: impl Into<String>) -> Response {
    (status, Json(json!({ "error": why.into() }))).into_response()
}

/// Which hook asked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hook {
    /// `confirm-rollout`, `confirm-traffic-increase`, `confirm-promotion`.
    Confirm,
    Rollback,
}

pub(super) async fn flagger_confirm(State(app): State<App>, body: Bytes) -> Response {
    flagger(app, body, Hook::Confirm).await
}

pub(super) async fn flagger_rollback(State(app): State<App>, body: Bytes) -> Response {
    flagger(app, body, Hook::Rollback).await
}

async fn flagger(app: App, body: Bytes, hook: Hook) -> Response {
    let payload: FlaggerPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("bad Flagger webhook payload ({e}); expected {{\"name\", \"namespace\", \"phase\", \"checksum\", \"metadata\"}}"),
            )
        }
    };
    let target = GateTarget::Flagger {
        name: payload.name.clone(),
        namespace: payload.namespace.clone(),
    };
    let view = match app.api.gate(target).await {
        Ok(Some(view)) => view,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                format!(
                "no rollout is Flagger canary {}/{}; set `rollouts[].flagger: {{name, namespace}}`",
                payload.namespace.escape_debug(),
                payload.name.escape_debug()
            ),
            )
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let passes = match hook {
        Hook::Confirm => view.pass() == GatePass::Pass,
        Hook::Rollback => view.pass() == GatePass::Rollback,
    };
    answer(passes, view)
}

/// 200 with the view when the gate passes; 403 with the reason otherwise.
fn answer(passes: bool, view: GateView) -> Response {
    if passes {
        return (StatusCode::OK, Json(json!({ "gate": view }))).into_response();
    }
    let why = view.reason.clone();
    (
        StatusCode::FORBIDDEN,
        Json(json!({ "error": why, "gate": view })),
    )
        .into_response()
}

/// The Argo Rollouts web metric, and `sena gate`: always the JSON view.
/// `?stage=N` of the Argo web metric and `sena gate --stage N`.
#[derive(Deserialize)]
pub(super) struct ViewQuery {
    stage: Option<String>,
}

pub(super) async fn view(
    State(app): State<App>,
    Path(rollout): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    view_of(app, rollout, q).await
}

/// `GET /api/v1/gates/flagger`: the static Flagger path shadows the
/// parameter route, so a rollout named `flagger` is answered here.
pub(super) async fn view_flagger(State(app): State<App>, Query(q): Query<ViewQuery>) -> Response {
    view_of(app, "flagger".to_string(), q).await
}

async fn view_of(app: App, rollout: String, q: ViewQuery) -> Response {
    let expected_stage = match q.stage.as_deref().map(str::parse::<usize>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "`stage` must be a stage index (0, 1, 2, ...)",
            )
        }
    };
    let target = GateTarget::Rollout {
        name: rollout.clone(),
        expected_stage,
    };
    match app.api.gate(target).await {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no rollout named {}", rollout.escape_debug()),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
