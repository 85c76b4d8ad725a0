//! Signing in and out. The form exchanges an API token from
//! `server.tokens` for a session cookie (see `session.rs`); the token is
//! checked by the same table as a bearer token (`TokenTable::authenticate`,
//! constant time), and it is never echoed, logged or stored: the session
//! keeps only the identity it stood for.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::html::Html;
use super::layout::{self, Frame, Nav};
use super::{session, Pages};

/// Longer than any token worth configuring; refused before hashing.
const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Deserialize)]
pub(super) struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Where to go after signing in: a path on this site only (`/x`, not
/// `//evil.example` or `https://…`), else the overview.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => "/",
    }
}

pub fn form(next: &str, error: Option<&str>, tokens_configured: bool) -> Html {
    let mut h = Html::default();
    h.raw("<h1>Sign in</h1>");
    if !tokens_configured {
        h.raw("<p id=\"login-error\" class=\"banner\">Signing in needs <code>server.tokens</code> in sena.yaml; until then the dashboard is read-only and answers only this host.</p>");
        return h;
    }
    if let Some(error) = error {
        h.raw("<p id=\"login-error\" class=\"banner bad\" role=\"alert\">")
            .text(error)
            .raw("</p>");
    }
    h.raw("<form id=\"login\" method=\"post\" action=\"/login\">")
        .raw("<label for=\"token\">Your API token (from <code>server.tokens</code>)</label>")
        .raw("<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required>")
        .raw("<input type=\"hidden\" name=\"next\" value=\"")
        .text(next)
        .raw("\"><p><button id=\"sign-in\" type=\"submit\">Sign in</button></p></form>")
        .raw("<p class=\"muted\">The session lasts ")
        .display(session::LIFETIME.as_secs() / 3600)
        .raw(" hours, or until you sign out or Sena restarts.</p>");
    h
}

fn login_page(pages: &Pages, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let tokens = pages.api.tokens().is_some();
    let frame = Frame {
        title: "Sign in",
        nav: Nav::SignIn,
        session: None,
        can_sign_in: tokens,
        here: next,
        flash: None,
    };
    layout::respond(status, layout::page(&frame, &form(next, error, tokens)))
}

pub(super) async fn show(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref());
    if pages.session(&headers).is_some() {
        return super::see_other(next);
    }
    login_page(&pages, next, None, StatusCode::OK)
}

pub(super) async fn submit(
    State(pages): State<Pages>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    // Said without the rejection's text: it could quote the token.
    let Ok(Form(form)) = form else {
        let why = "Send the sign-in form as a form.";
        return login_page(&pages, "/", Some(why), StatusCode::BAD_REQUEST);
    };
    let next = local_path(form.next.as_deref()).to_string();
    if !super::same_origin(&headers) {
        return super::forbidden(&pages, "This form was sent from another site.");
    }
    let Some(tokens) = pages.api.tokens() else {
        return login_page(&pages, &next, None, StatusCode::FORBIDDEN);
    };
    let token = form.token.trim();
    let identity = if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        None
    } else {
        tokens.authenticate(token).cloned()
    };
    let Some(identity) = identity else {
        tracing::warn!("refused a dashboard sign-in: the token is not valid");
        pages.metrics.inc(
            crate::metrics::HTTP_UNAUTHORIZED,
            &[("reason", "invalid_token")],
        );
        let why = "That token is not valid.";
        return login_page(&pages, &next, Some(why), StatusCode::UNAUTHORIZED);
    };
    let digest = crate::domain::TokenDigest::of(token);
    let (id, _) = match pages
        .sessions
        .start(identity.clone(), digest, pages.api.now())
    {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a dashboard session");
            let why = "Sena cannot start a session now; try again.";
            return login_page(&pages, &next, Some(why), StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    tracing::info!(by = %identity.principal, "signed in to the dashboard");
    let mut response = super::see_other(&next);
    let cookie = session::set_cookie(&id, session::behind_https(&headers));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub(super) async fn logout(
    State(pages): State<Pages>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return super::bad_form(&pages, rejection),
    };
    let Some((id, session)) = pages.session(&headers) else {
        return super::see_other("/");
    };
    if !super::same_origin(&headers) || !session::csrf_ok(&session, &form.csrf) {
        return super::forbidden(
            &pages,
            "This form is out of date; reload the page and try again.",
        );
    }
    pages.sessions.end(&id);
    let mut response = super::see_other("/");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session::clear_cookie(session::behind_https(&headers)))
            .unwrap_or(HeaderValue::from_static("")),
    );
    response.into_response()
}
