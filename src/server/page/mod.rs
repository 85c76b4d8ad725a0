//! The dashboard: HTML pages served by `sena run` on the API's listener.
//!
//! - `/` overview (`?verdict=all|attention|rollback|hold|continue`),
//!   `/rollouts/{name}` one rollout, `/oncall` the roster now;
//! - `/login` (GET form, POST token → session cookie), `POST /logout`;
//! - `POST /rollouts/{name}/decide` (GO / NO-GO) and
//!   `POST /incidents/{id}/ack`, signed in, with the session's CSRF token;
//! - `/fragments/overview`, `/fragments/rollouts/{name}`: the live parts
//!   the script swaps in; `/assets/sena.css`, `/assets/live.js`.
//!
//! Who may see: with `server.tokens`, the pages need a signed-in session
//! whose token holds `read` (like `/api/v1/status`), unless
//! `server.public_reads` opens them; a session is needed to act. A visitor
//! without one is sent to `/login` (fragments answer 401); the sign-in
//! form, sign-out and the assets stay open. Without tokens the pages
//! answer loopback callers only and are read-only.
//!
//! Stable hooks for browser tests (keep them):
//! - every page: `#signed-in[data-who]`, `button#sign-out`, `#sign-in-link`
//!   (tokens configured, no session), `#read-only` (no tokens), `#flash`
//!   (the last action's outcome), `#live[data-src]` (the refreshed part),
//!   `#live-status[data-state=live|stale|blind]`;
//! - overview: `#filters a[data-filter=all|attention|rollback|hold|continue]`,
//!   `#rollouts` table, rows `tr[data-rollout=NAME][data-verdict=continue|hold|rollback|none]`,
//!   `.verdict[data-verdict]`, `.bake[data-ready]`, `td.reason`, `td.worst`, `#no-rollouts`;
//! - rollout page: `#verdict`, `#checks tr[data-check=NAME][data-status=STATUS]`
//!   with `td.value`, `td.threshold`, `td.since`, `svg.chart[data-check=NAME]`
//!   (`rect.breach`, `line.threshold`, and for a count check
//!   `path.interval[data-check=NAME]`, its confidence interval as a band),
//!   a count check's `ul.evidence[data-check=NAME][data-finding=FINDING]`
//!   (one `li` per fact) in `td.value`, `a.prometheus`, `a.runbook`;
//!   the stage ladder `ol.ladder` (`li[aria-current=step]` current, `li.done` passed);
//!   `#verdict-band`; `form#decide-go button#go` (ready stage only),
//!   `#go-unavailable`, `form#decide-no-go textarea#comment button#no-go`;
//!   `#incidents tr[data-incident=ID]`, `button.ack[data-incident=ID]`;
//!   `#decisions tr[data-decision=ID]`; `#not-found` (404), `#bad-form` (400),
//!   `#refused` (403);
//! - sign in: `form#login`, `input#token`, `button#sign-in`, `#login-error`;
//! - on call: `#oncall-now`, `#escalation tr[data-level=N]`, `#overrides`,
//!   `#handover`, `#gaps`.

mod actions;
mod assets;
mod chart;
mod history;
mod html;
mod layout;
mod login;
mod oncall;
mod overview;
mod parts;
mod rollout;
mod session;
#[cfg(test)]
mod tests;
pub mod view;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::auth::is_loopback;
use super::Api;
use crate::domain::Capability;
use crate::metrics::Metrics;
use layout::{Frame, Nav};
pub use session::Sessions;

#[derive(Clone)]
struct Pages {
    api: Arc<dyn Api>,
    sessions: Arc<Sessions>,
    /// Refused sign-ins and visits count in `sena_http_unauthorized_total`
    /// like refused API calls.
    metrics: Arc<Metrics>,
}

/// The pages' routes, ready to merge into the server's router.
pub fn router(api: Arc<dyn Api>, metrics: Arc<Metrics>) -> Router {
    let pages = Pages {
        api,
        sessions: Arc::new(Sessions::default()),
        metrics,
    };
    Router::new()
        .route("/", get(overview_page))
        .route("/fragments/overview", get(overview_fragment))
        .route("/rollouts/{name}", get(rollout::page))
        .route("/fragments/rollouts/{name}", get(rollout::fragment))
        .route("/rollouts/{name}/decide", post(actions::decide))
        .route("/incidents/{id}/ack", post(actions::acknowledge))
        .route("/oncall", get(oncall::page))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/assets/sena.css", get(css))
        .route("/assets/live.js", get(js))
        .layer(axum::middleware::from_fn_with_state(pages.clone(), guard))
        .with_state(pages)
}

/// Whether a page may be shown to this peer: anyone when tokens are
/// configured, else loopback only (as the mutating API endpoints).
pub fn may_view(tokens_configured: bool, peer: Option<SocketAddr>) -> bool {
    tokens_configured || peer.is_some_and(is_loopback)
}

/// Runs before every page: the loopback rule, then the security headers on
/// whatever the page answered.
async fn guard(State(pages): State<Pages>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(p)| *p);
    let tokens_configured = pages.api.tokens().is_some();
    let mut response = if may_view(tokens_configured, peer) {
        let reader = !tokens_configured
            || pages.api.public_reads()
            || request.method() != axum::http::Method::GET
            || always_open(request.uri().path())
            || pages
                .session(request.headers())
                .is_some_and(|(_, s)| s.identity.can.contains(Capability::Read));
        if reader {
            next.run(request).await
        } else {
            pages.metrics.inc(
                crate::metrics::HTTP_UNAUTHORIZED,
                &[("reason", "missing_token")],
            );
            sign_in_first(request.uri())
        }
    } else {
        pages.metrics.inc(
            crate::metrics::HTTP_UNAUTHORIZED,
            &[("reason", "not_loopback")],
        );
        layout::respond(
            StatusCode::FORBIDDEN,
            "<!doctype html><title>Sena</title><p>The dashboard answers only callers on Sena's own host while no <code>server.tokens</code> are configured.</p>".into(),
        )
    };
    layout::add_security_headers(&mut response);
    response
}

/// What a visitor without a session may GET while reads are closed: the
/// way to sign in, and what its page is drawn with. An unknown `/api/`
/// path reaches this guard as the shared fallback: it answers its own 404
/// (the API's routes decide their own access in `auth.rs`).
fn always_open(path: &str) -> bool {
    path == "/login" || path.starts_with("/assets/") || path.starts_with("/api/")
}

/// A closed read: a page goes to the sign-in form, which comes back here;
/// a fragment (fetched by the page's script) answers 401.
fn sign_in_first(uri: &axum::http::Uri) -> Response {
    if uri.path().starts_with("/fragments/") {
        return layout::respond(StatusCode::UNAUTHORIZED, "sign in to read\n".into());
    }
    let here = uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let mut login = url::Url::parse("http://sena.invalid/login").expect("a fixed URL");
    login.query_pairs_mut().append_pair("next", here);
    match login.query() {
        Some(query) => see_other(&format!("/login?{query}")),
        None => see_other("/login"),
    }
}

/// 303 to a path on this site (after a form: the browser GETs it).
fn see_other(path: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(path) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A form that could not be read (a stage that is not a number, an
/// unknown decision, not a form at all): a page that says so, 400. The
/// sign-in form never gets here with its token in the text (`login.rs`).
fn bad_form(pages: &Pages, rejection: axum::extract::rejection::FormRejection) -> Response {
    let why = format!("The form could not be read: {}", rejection.body_text());
    message_page(pages, StatusCode::BAD_REQUEST, "Bad form", "bad-form", &why)
}

/// A refused form, as a page.
fn forbidden(pages: &Pages, why: &str) -> Response {
    message_page(pages, StatusCode::FORBIDDEN, "Refused", "refused", why)
}

/// A page that only says one thing (a refusal, a 404).
fn message_page(
    pages: &Pages,
    status: StatusCode,
    title: &str,
    id: &'static str,
    why: &str,
) -> Response {
    let mut body = html::Html::default();
    body.raw("<h1>")
        .text(title)
        .raw("</h1><p id=\"")
        .raw(id)
        .raw("\">")
        .text(why)
        .raw("</p><p><a href=\"/\">All rollouts</a></p>");
    let frame = Frame {
        title,
        nav: Nav::Other,
        session: None,
        can_sign_in: pages.api.tokens().is_some(),
        here: "/",
        flash: None,
    };
    layout::respond(status, layout::page(&frame, &body))
}

/// A form post came from a page of this site: its `Origin` (which
/// browsers send on every POST) names the host it was sent to (`Host`, or
/// `X-Forwarded-Host` from a proxy that rewrites `Host`), and
/// `Sec-Fetch-Site` does not say cross-site. The CSRF token is the real
/// check; this also covers the sign-in form, which has no session yet.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site").is_some_and(|s| s == "cross-site") {
        return false;
    }
    let Some(origin) = text("origin") else {
        return true;
    };
    let Some(origin_host) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    [text("host"), text("x-forwarded-host")]
        .into_iter()
        .flatten()
        .any(|host| host.trim().eq_ignore_ascii_case(origin_host))
}

impl Pages {
    /// The signed-in session of this request, if any.
    fn session(&self, headers: &HeaderMap) -> Option<(String, session::Session)> {
        let id = session::cookie_value(headers)?;
        let tokens = self.api.tokens();
        let found = self.sessions.find(&id, self.api.now(), tokens.as_deref())?;
        Some((id, found))
    }
}

#[derive(Deserialize)]
struct OverviewQuery {
    verdict: Option<String>,
}

async fn overview_page(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let board = pages.api.board();
    let filter = overview::Filter::parse(q.verdict.as_deref());
    let session = pages.session(&headers);
    let flash = session
        .as_ref()
        .and_then(|(id, _)| pages.sessions.take_flash(id));
    let body = overview::body(&board, filter);
    let frame = Frame {
        title: "Rollouts",
        nav: Nav::Overview,
        session: session.as_ref().map(|(_, s)| s),
        can_sign_in: pages.api.tokens().is_some(),
        here: "/",
        flash: flash.as_deref(),
    };
    layout::respond(StatusCode::OK, layout::page(&frame, &body))
}

async fn overview_fragment(State(pages): State<Pages>, Query(q): Query<OverviewQuery>) -> Response {
    let board = pages.api.board();
    let filter = overview::Filter::parse(q.verdict.as_deref());
    layout::respond(StatusCode::OK, overview::live(&board, filter).into_string())
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        assets::CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        assets::JS,
    )
        .into_response()
}

/// Renders the overview of `board` as a whole page (the benchmark's entry).
pub fn render_overview(board: &view::Board) -> String {
    let frame = Frame {
        title: "Rollouts",
        nav: Nav::Overview,
        session: None,
        can_sign_in: true,
        here: "/",
        flash: None,
    };
    layout::page(&frame, &overview::body(board, overview::Filter::All))
}
