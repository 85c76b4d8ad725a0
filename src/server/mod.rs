//! Sena's HTTP surface: `/healthz`, `/readyz`, `/metrics`, `/api/v1/status`,
//! `POST /-/reload`, and incidents (`GET /api/v1/incidents`,
//! `POST /api/v1/incidents/{id}/ack`), and GO / NO-GO decisions
//! (`decisions.rs`), and gates for Flagger, Argo Rollouts and CI
//! (`gates.rs`), and Slack's signed button presses and NO-GO form
//! (`slack.rs`, read by `slack_payload.rs`), and the dashboard's HTML
//! pages (`page/`). It reads shared state and sends
//! commands; it knows nothing about PromQL. Connections are accepted and
//! bounded in `connections.rs`; who may call what is decided in `auth.rs`,
//! declared per route below.

mod api_errors;
mod auth;
mod body_timer;
mod connections;
mod decisions;
mod gates;
pub mod page;
mod slack;
mod slack_payload;

use std::sync::Arc;

use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::future::BoxFuture;
use serde::Deserialize;

pub use body_timer::BodyLimits;
pub use connections::Limits;
pub use slack::MAX_SKEW_SECONDS as SLACK_MAX_SKEW_SECONDS;
pub use slack_payload::{
    Button, MessageRef, NoGoMetadata, SlackAction, SlackNoGo, NO_GO_CALLBACK, REASON_ACTION,
    REASON_BLOCK, REASON_MAX_CHARS,
};

use crate::domain::{
    Capability, DecisionAnswer, DecisionRecord, DecisionRequest, GateView, Identity, Incident,
    Principal, TokenTable,
};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::report::StatusReport;

/// What the HTTP surface asks of the daemon. The daemon implements it
/// (`daemon::api`); the server knows nothing of how, so the dependency
/// points one way: the daemon wires the server, never the reverse.
pub trait Api: Send + Sync + 'static {
    /// The latest evaluation of every rollout.
    fn status(&self) -> StatusReport;
    /// Every configured rollout with its latest evaluation and what the
    /// dashboard shows beside it (stages, bake, checks' descriptions).
    fn board(&self) -> page::view::Board;
    /// The journal of `rollout` since `since` (its current stage's start),
    /// oldest first, at most `limit` records: the dashboard's charts.
    fn journal(
        &self,
        rollout: String,
        since: jiff::Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<page::view::JournalPoint>, String>>;
    /// Who is on call now, the chain, the next hand-over and the gaps;
    /// `None` without a roster.
    fn on_call(&self) -> Option<page::view::OnCallView>;
    /// Why Sena is not ready, one reason each; empty when it is.
    fn not_ready(&self) -> Vec<NotReady>;
    /// The most recent incidents, newest first.
    fn incidents(&self, limit: usize) -> BoxFuture<'_, Result<Vec<Incident>, String>>;
    /// Acknowledges incident `id` for `by`; `None` when there is none.
    fn acknowledge(&self, id: i64, by: String) -> BoxFuture<'_, Result<Option<Incident>, String>>;
    /// A GO / NO-GO by the caller (`request.by`); `can_decide`: the caller
    /// holds `Capability::Decide`.
    fn decide(
        &self,
        rollout: String,
        request: DecisionRequest,
        can_decide: bool,
    ) -> BoxFuture<'_, Result<DecisionAnswer, String>>;
    /// Decision records, oldest first, of one rollout or all, since a time.
    fn decisions(
        &self,
        rollout: Option<String>,
        since: Option<jiff::Timestamp>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DecisionRecord>, String>>;
    /// The gate's judgement of one rollout now; `None` when none matches.
    fn gate(&self, target: GateTarget) -> BoxFuture<'_, Result<Option<GateView>, String>>;
    /// Reloads the configuration from its file.
    fn reload(&self) -> BoxFuture<'_, Reload>;
    /// The configured tokens, as of the last reload; `None` when there are
    /// none (then only loopback callers may change anything).
    fn tokens(&self) -> Option<Arc<TokenTable>>;
    /// `server.public_gates`, as of the last reload: the gates
    /// ([`auth::Need::Gate`]) answer without a token.
    fn public_gates(&self) -> bool {
        false
    }
    /// `server.public_reads`, as of the last reload: every read
    /// ([`auth::Need::Read`], the gates and the dashboard's pages) answers
    /// without a token.
    fn public_reads(&self) -> bool {
        false
    }
    /// The HMAC key of `slack.signing_secret_file`, as of the last reload;
    /// `None` turns Slack's interactions endpoint off (404).
    fn slack_signing_key(&self) -> Option<ring::hmac::Key>;
    /// The daemon's clock (a Slack timestamp's freshness).
    fn now(&self) -> jiff::Timestamp;
    /// Remembers a verified Slack request by the SHA-256 of its signature
    /// (signed at `signed_at`) for Slack's 300 s window; `false` when it
    /// was used before, which makes it a replay.
    fn slack_first_use(
        &self,
        digest: [u8; 32],
        signed_at: jiff::Timestamp,
    ) -> BoxFuture<'_, Result<bool, String>>;
    /// A verified button press: decides, acknowledges or opens the NO-GO
    /// form, and answers through its `response_url`. Runs after Slack has
    /// had its 200.
    fn slack_action(&self, action: SlackAction) -> BoxFuture<'_, ()>;
    /// A submitted NO-GO form: `Err` is shown in the form (an empty reason,
    /// a refusal); `Ok` closes it. The daemon finishes the work even if
    /// the server stops waiting.
    fn slack_no_go(&self, no_go: SlackNoGo) -> BoxFuture<'_, Result<(), String>>;
}

/// One reason Sena is not ready. `/readyz` answers probes from anywhere,
/// so it says only the `summary` (`store failing`) to an unknown caller;
/// the failure's own `detail` (a database path, a Prometheus error) goes
/// to a caller holding `read`, or to this host while no tokens are
/// configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotReady {
    pub summary: String,
    pub detail: Option<String>,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {detail}", self.summary),
            None => f.write_str(&self.summary),
        }
    }
}

/// Which rollout a gate asks about.
pub enum GateTarget {
    /// By Sena's name (Argo Rollouts, `sena gate`), optionally with the
    /// stage the asker is about to move traffic into (`?stage=N`).
    Rollout {
        name: String,
        expected_stage: Option<usize>,
    },
    /// By the Flagger canary a webhook names (`rollouts[].flagger`).
    Flagger { name: String, namespace: String },
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
    use auth::Need;
    for reason in auth::Denied::REASONS
        .iter()
        .chain(slack::BadSignature::REASONS)
    {
        metrics.touch(crate::metrics::HTTP_UNAUTHORIZED, &[("reason", reason)]);
    }
    // Every API route declares what it needs; a new mutating route names
    // its capability here and takes `Extension<Identity>`.
    let needs = |need: Need| {
        axum::middleware::from_fn_with_state(
            auth::Gate {
                api: api.clone(),
                metrics: metrics.clone(),
                need,
            },
            auth::gate,
        )
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .route("/api/v1/status", get(status).route_layer(needs(Need::Read)))
        .route(
            "/api/v1/incidents",
            get(incidents).route_layer(needs(Need::Read)),
        )
        .route(
            "/api/v1/incidents/{id}/ack",
            post(ack).route_layer(needs(Need::Capability(Capability::Ack))),
        )
        .route(
            "/api/v1/rollouts/{name}/decisions",
            post(decisions::post)
                .route_layer(needs(Need::Capability(Capability::Decide)))
                .merge(get(decisions::list_one).route_layer(needs(Need::Read))),
        )
        .route(
            "/api/v1/decisions",
            get(decisions::list_all).route_layer(needs(Need::Read)),
        )
        .route(
            "/api/v1/gates/flagger",
            post(gates::flagger_confirm)
                .merge(get(gates::view_flagger))
                .route_layer(needs(Need::Gate)),
        )
        .route(
            "/api/v1/gates/flagger/rollback",
            post(gates::flagger_rollback).route_layer(needs(Need::Gate)),
        )
        .route(
            "/api/v1/gates/{rollout}",
            get(gates::view).route_layer(needs(Need::Gate)),
        )
        // Slack's signature is the caller's proof here, checked in the handler.
        .route("/api/v1/slack/interactions", post(slack::interactions))
        .route(
            "/-/reload",
            post(reload).route_layer(needs(Need::Capability(Capability::Reload))),
        )
        .with_state(App {
            api: api.clone(),
            metrics: metrics.clone(),
        })
        .merge(page::router(api.clone(), metrics.clone()))
        .layer(axum::middleware::from_fn(api_errors::json_errors));
    connections::serve(listener, app, limits, health, metrics).await;
}

/// 200 once Prometheus has answered and while Sena itself is well; 503
/// with every reason otherwise (one per line).
async fn readyz(State(app): State<App>, request: axum::extract::Request) -> Response {
    let reasons = app.api.not_ready();
    if reasons.is_empty() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let headers = request.headers();
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(p)| *p);
    let tokens = app.api.tokens();
    let detailed = auth::may_see_failures(tokens.as_deref(), headers, peer);
    let mut body = String::new();
    for r in reasons {
        body.push_str("not ready: ");
        if detailed {
            body.push_str(&r.to_string());
        } else {
            body.push_str(&r.summary);
        }
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

/// The ack is recorded under the caller's identity. Only a local caller
/// in loopback-only mode (no tokens) names itself with `by`; for a token
/// holder a `by` is ignored rather than refused, so scripts that still
/// send one keep working, and the answer shows who it was recorded as.
async fn ack(
    State(app): State<App>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<i64>,
    Query(q): Query<AckBody>,
    body: Option<Json<AckBody>>,
) -> Response {
    let claimed = body.and_then(|Json(b)| b.by).or(q.by);
    let by = match &caller.principal {
        Principal::Local => claimed.unwrap_or_else(|| "local".into()),
        principal => {
            if claimed.as_deref().is_some_and(|c| c != principal.name()) {
                tracing::info!(incident = id, by = %principal, "ignoring the `by` of an authenticated ack: the token says who acknowledges");
            }
            principal.name().to_string()
        }
    };
    match app.api.acknowledge(id, by).await {
        Ok(Some(incident)) => Json(serde_json::json!({ "incident": incident })).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no incident {id}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn reload(State(app): State<App>, Extension(caller): Extension<Identity>) -> Response {
    tracing::info!(by = %caller.principal, "configuration reload requested over HTTP");
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
