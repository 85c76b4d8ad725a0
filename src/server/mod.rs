//! Sena's HTTP surface: `/healthz`, `/readyz`, `/metrics`, `/api/v1/status`,
//! `POST /-/reload`, and incidents (`GET /api/v1/incidents`,
//! `POST /api/v1/incidents/{id}/ack`). It reads shared state and sends
//! commands; it knows nothing about PromQL. Connections are accepted and
//! bounded in `connections.rs`.

mod connections;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::daemon::{transition, Command, Shared};

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/incidents", get(incidents))
        .route("/api/v1/incidents/{id}/ack", post(ack))
        .route("/-/reload", post(reload))
        .with_state(App {
            shared: shared.clone(),
            commands,
        });
    let server = &shared.config().server;
    let limits = connections::Limits {
        max_connections: server.max_connections,
        header_read_timeout: server.header_read_timeout,
    };
    connections::serve(
        listener,
        app,
        limits,
        shared.health.clone(),
        shared.metrics.clone(),
    )
    .await;
}

/// 200 once Prometheus has answered and while Sena itself is well; 503
/// with every reason otherwise (one per line).
async fn readyz(State(app): State<App>) -> Response {
    let mut reasons = Vec::new();
    if !app.shared.prometheus_seen.load(Ordering::Relaxed) {
        reasons.push("Prometheus has not answered yet".to_string());
    }
    for (component, why) in app.shared.health.problems() {
        reasons.push(format!("{} failing: {why}", component.as_str()));
    }
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

async fn metrics(State(app): State<App>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.shared.metrics.render(),
    )
        .into_response()
}

async fn status(State(app): State<App>) -> Response {
    Json(app.shared.status()).into_response()
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
    match app.shared.store.call(move |s| s.incidents(limit)).await {
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
    let shared = app.shared.clone();
    let result =
        tokio::task::spawn_blocking(move || transition::acknowledge(&shared, id, &by)).await;
    match result {
        Ok(Ok(Some(incident))) => Json(serde_json::json!({ "incident": incident })).into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, format!("no incident {id}\n")).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn reload(State(app): State<App>) -> Response {
    let (tx, rx) = oneshot::channel();
    if app.commands.send(Command::Reload(Some(tx))).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match rx.await {
        Ok(Ok(())) => (StatusCode::OK, "reloaded\n").into_response(),
        Ok(Err(diagnostics)) => {
            (StatusCode::BAD_REQUEST, format!("{diagnostics}\n")).into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response(),
    }
}
