//! The frame around every page: head, navigation, who is signed in, the
//! flash message of the last action, and the response with the security
//! headers every page carries.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::html::Html;
use super::session::Session;

/// Which navigation entry is the current page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    OnCall,
    /// The sign-in page: its header offers no sign-in link of its own.
    SignIn,
    Other,
}

/// What the frame needs to know about the request.
pub struct Frame<'a> {
    pub title: &'a str,
    pub nav: Nav,
    pub session: Option<&'a Session>,
    /// Whether signing in is possible (`server.tokens` configured).
    pub can_sign_in: bool,
    /// The page to come back to after signing in (`/rollouts/x`).
    pub here: &'a str,
    pub flash: Option<&'a str>,
}

/// A whole page: `body` inside the frame.
pub fn page(frame: &Frame<'_>, body: &Html) -> String {
    let mut h = Html::with_capacity(body.bytes() + 2048);
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(frame.title)
        .raw(" · Sena</title><link rel=\"stylesheet\" href=\"/assets/sena.css\">")
        .raw("<script src=\"/assets/live.js\" defer></script></head><body>")
        .raw("<header class=\"top\"><a class=\"brand\" href=\"/\">Sena</a><nav class=\"main\" aria-label=\"Pages\">");
    for (nav, href, label) in [
        (Nav::Overview, "/", "Rollouts"),
        (Nav::OnCall, "/oncall", "On call"),
    ] {
        h.raw("<a href=\"").raw(href).raw("\"");
        if frame.nav == nav {
            h.raw(" aria-current=\"page\"");
        }
        h.raw(">").raw(label).raw("</a>");
    }
    h.raw("</nav>");
    match frame.session {
        Some(session) => {
            h.raw("<span id=\"signed-in\" data-who=\"")
                .text(session.identity.principal.name())
                .raw("\">Signed in as <strong>")
                .text(session.identity.principal.name())
                .raw("</strong></span>")
                .raw("<form class=\"inline\" method=\"post\" action=\"/logout\">");
            csrf_field(&mut h, session);
            h.raw("<button id=\"sign-out\" type=\"submit\">Sign out</button></form>");
        }
        None if frame.nav == Nav::SignIn => {}
        None if frame.can_sign_in => {
            h.raw("<a id=\"sign-in-link\" href=\"/login?next=")
                .text(&super::html::query_value(frame.here))
                .raw("\">Sign in to decide</a>");
        }
        None => {
            h.raw("<span class=\"muted\" id=\"read-only\">Read-only: no <code>server.tokens</code> configured</span>");
        }
    }
    h.raw("</header><main>");
    if let Some(flash) = frame.flash {
        h.raw("<p id=\"flash\" class=\"flash\" role=\"status\">")
            .text(flash)
            .raw("</p>");
    }
    h.append(body).raw("</main></body></html>");
    h.into_string()
}

/// The hidden CSRF field every form of a signed-in page carries.
pub fn csrf_field(h: &mut Html, session: &Session) {
    h.raw("<input type=\"hidden\" name=\"csrf\" value=\"")
        .text(&session.csrf)
        .raw("\">");
}

/// An HTML answer; the security headers are added to every page response
/// by the pages' middleware (`headers`).
pub fn respond(status: StatusCode, html: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// The headers on every page, asset and fragment: no script or style from
/// anywhere but Sena itself (and none inline), no sniffing, no framing,
/// no full URLs leaking to other sites, no caching of signed-in pages.
pub fn add_security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}
