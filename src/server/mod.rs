//! Sena's HTTP surface: `/healthz`, `/readyz`, `/metrics`, `/api/v1/status`,
//! `POST /-/reload`, and incidents (`GET /api/v1/incidents`,
//! `POST /api/v1/incidents/{id}/ack`). It reads shared state and sends
//! commands; it knows nothing about PromQL. Connections are accepted and
//! bounded in `connections.rs`.

mod connections;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::future::BoxFuture;
use serde::Deserialize;

pub use connections::Limits;

use crate::domain::Incident;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::report::StatusReport;

/// What the HTTP surface asks of the daemon. The daemon implements it
/// (`daemon::api`); the server knows nothing of how, so the dependency
/// points one way: the daemon wires the server, never the reverse.
pub trait Api: Send + Sync + 'static {
    /// The latest evaluation of every rollout.
    fn status(&self) -> StatusReport;
    /// Why Sena is not ready, one reason each; empty when it is.
    fn not_ready(&self) -> Vec<String>;
    /// The most recent incidents, newest first.
    fn incidents(&self, limit: usize) -> BoxFuture<'_, Result<Vec<Incident>, String>>;
    /// Acknowledges incident `id` for `by`; `None` when there is none.
    fn acknowledge(&self, id: i64, by: String) -> BoxFuture<'_, Result<Option<Incident>, String>>;
    /// Reloads the configuration from its file.
    fn reload(&self) -> BoxFuture<'_, Reload>;
}

/// How a reload request ended.
pub enum Reload {
    Done,
    /// Every diagnostic of the rejected configuration; the old one runs on.
    Rejected(String),
    ShuttingDown,
}

#[derive(Clone)]
struct App {
    api: Arc<dyn Api>,
    metrics: Arc<Metrics>,
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Arc<dyn Api>,
    limits: Limits,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .route("/api/v1/status", get(status))
        .route("/api/v1/incidents", get(incidents))
        .route("/api/v1/incidents/{id}/ack", post(ack))
        .route("/-/reload", post(reload))
        .with_state(App {
            api,
            metrics: metrics.clone(),
        });
    connections::serve(listener, app, limits, health, metrics).await;
}

/// 200 once Prometheus has answered and while Sena itself is well; 503
/// with every reason otherwise (one per line).
async fn readyz(State(app): State<App>) -> Response {
    let reasons = app.api.not_ready();
    if reasons.is_empty() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let mut body = String::new();
    for r in reasons {
        body.push_str("not ready: ");
        body.push_str(&r);
        body.push('\n');
    }
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

async fn metrics_page(State(app): State<App>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

async fn status(State(app): State<App>) -> Response {
    Json(app.api.status()).into_response()
}

/// The most incidents one `GET /api/v1/incidents` lists.
const MAX_INCIDENTS_LISTED: usize = 1000;

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn incidents(State(app): State<App>, Query(q): Query<Limit>) -> Response {
    // Bounded: the answer is built in memory.
    let limit = q.limit.unwrap_or(50).min(MAX_INCIDENTS_LISTED);
    match app.api.incidents(limit).await {
        Ok(list) => Json(serde_json::json!({ "incidents": list })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

#[derive(Deserialize, Default)]
struct AckBody {
    by: Option<String>,
}

async fn ack(
    State(app): State<App>,
    Path(id): Path<i64>,
    Query(q): Query<AckBody>,
    body: Option<Json<AckBody>>,
) -> Response {
    let by = body
        .and_then(|Json(b)| b.by)
        .or(q.by)
        .unwrap_or_else(|| "someone".into());
    match app.api.acknowledge(id, by).await {
        Ok(Some(incident)) => Json(serde_json::json!({ "incident": incident })).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no incident {id}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn reload(State(app): State<App>) -> Response {
    match app.api.reload().await {
        Reload::Done => (StatusCode::OK, "reloaded\n").into_response(),
        Reload::Rejected(diagnostics) => {
            (StatusCode::BAD_REQUEST, format!("{diagnostics}\n")).into_response()
        }
        Reload::ShuttingDown => {
            (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
        }
    }
}
