//! Who may change what over HTTP. Each route declares what it needs
//! ([`Need`]); [`gate`] runs before the handler and either refuses the
//! request (401/403, JSON, counted and logged without the token) or hands
//! the handler the caller's [`Identity`] as a request extension.
//!
//! A handler that acts for someone takes `Extension<Identity>`: if its
//! route forgot the gate, the extension is missing and axum answers 500,
//! so a forgotten declaration fails closed, never open.
//!
//! - With `server.tokens`: a mutating route needs `Authorization: Bearer`
//!   with a token whose identity holds the capability. Reads
//!   ([`Need::Read`]: status, incidents, decisions) need one holding
//!   `read` too, unless `server.public_reads` opens them: decisions name
//!   who decided what, with comments, and should not answer whoever
//!   reaches the port while the gates are closed. Gates ([`Need::Gate`])
//!   need `read` unless `server.public_gates` or `server.public_reads`
//!   opens them (Flagger cannot send a header). An open read still takes
//!   a token if one is sent, and it must then be valid.
//! - Without: mutating routes answer only loopback peers, as
//!   [`Identity::local`]; the accept loop puts the peer address on every
//!   request (`ConnectInfo`), and a request without one counts as remote.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::Api;
use crate::domain::{Capabilities, Capability, Identity, TokenTable};
use crate::metrics::{Metrics, HTTP_UNAUTHORIZED};

/// Longer than any token worth configuring; a longer header is refused
/// before it is hashed.
const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// What a route asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing; a token, if sent, must be valid (an opened read).
    Nothing,
    /// With `server.tokens`, a token holding `read` unless
    /// `server.public_reads`; without, nothing (status, incidents,
    /// decisions).
    Read,
    /// With `server.tokens`, a token holding `read` unless
    /// `server.public_gates` or `server.public_reads`; without, nothing
    /// (the gates a traffic mover asks from inside the cluster).
    Gate,
    /// An identity holding this capability (every mutating route).
    Capability(Capability),
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    MissingToken,
    MalformedToken,
    InvalidToken,
    /// A valid token whose identity lacks what the route needs.
    Forbidden {
        who: String,
        need: Capability,
        has: Capabilities,
    },
    /// No tokens configured and the caller is not on this host.
    NotLoopback,
}

impl Denied {
    /// The `reason` label of `sena_http_unauthorized_total`.
    pub const REASONS: &'static [&'static str] = &[
        "missing_token",
        "malformed_token",
        "invalid_token",
        "forbidden",
        "not_loopback",
    ];

    pub fn reason(&self) -> &'static str {
        match self {
            Denied::MissingToken => "missing_token",
            Denied::MalformedToken => "malformed_token",
            Denied::InvalidToken => "invalid_token",
            Denied::Forbidden { .. } => "forbidden",
            Denied::NotLoopback => "not_loopback",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Denied::MissingToken | Denied::MalformedToken | Denied::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            Denied::Forbidden { .. } | Denied::NotLoopback => StatusCode::FORBIDDEN,
        }
    }
}

/// The message a caller reads; it never repeats what was sent.
impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::MissingToken => f.write_str("this needs `Authorization: Bearer <token>` with a token from `server.tokens`"),
            Denied::MalformedToken => f.write_str("the Authorization header must be one `Bearer <token>`"),
            Denied::InvalidToken => f.write_str("the bearer token is not valid"),
            Denied::Forbidden { who, need, has } => {
                write!(f, "{who} may not {need} (the token allows: {has})")
            }
            Denied::NotLoopback => f.write_str("only callers on Sena's own host may do this while no tokens are configured; configure `server.tokens` to allow it from elsewhere"),
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self {
                Denied::MissingToken => r#"Bearer realm="sena""#,
                _ => r#"Bearer realm="sena", error="invalid_token""#,
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// The decision, pure: the identity the handler acts for (`None` for a
/// read without a token), or why the request is refused.
pub fn check(
    tokens: Option<&TokenTable>,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    need: Need,
) -> Result<Option<Identity>, Denied> {
    let Some(tokens) = tokens else {
        return match need {
            Need::Nothing | Need::Read | Need::Gate => Ok(None),
            Need::Capability(_) if peer.is_some_and(is_loopback) => Ok(Some(Identity::local())),
            Need::Capability(_) => Err(Denied::NotLoopback),
        };
    };
    let presented = match (bearer(headers)?, need) {
        (None, Need::Nothing) => return Ok(None),
        (None, Need::Capability(_) | Need::Read | Need::Gate) => return Err(Denied::MissingToken),
        (Some(token), _) => token,
    };
    let identity = tokens.authenticate(presented).ok_or(Denied::InvalidToken)?;
    let need = match need {
        Need::Read | Need::Gate => Need::Capability(Capability::Read),
        need => need,
    };
    match need {
        Need::Capability(need) if !identity.can.contains(need) => Err(Denied::Forbidden {
            who: identity.principal.name().to_string(),
            need,
            has: identity.can,
        }),
        _ => Ok(Some(identity.clone())),
    }
}

/// Whether `/readyz` may give this caller a failure's own text (a
/// database path, a Prometheus error) besides what is failing: a caller
/// holding `read`, or this host while no tokens are configured.
pub fn may_see_failures(
    tokens: Option<&TokenTable>,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> bool {
    match tokens {
        None => peer.is_some_and(is_loopback),
        Some(_) => matches!(check(tokens, headers, peer, Need::Read), Ok(Some(_))),
    }
}

/// What `need` asks for once `server.public_reads` and
/// `server.public_gates` have opened what they open.
pub fn opened(need: Need, public_reads: bool, public_gates: bool) -> Need {
    match need {
        Need::Read if public_reads => Need::Nothing,
        Need::Gate if public_reads || public_gates => Need::Nothing,
        need => need,
    }
}

/// The token of `Authorization: Bearer <token>`; the scheme is
/// case-insensitive (RFC 7235). Two headers, other schemes, non-ASCII and
/// oversized values are malformed.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Denied> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() || value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(Denied::MalformedToken);
    }
    let value = value.to_str().map_err(|_| Denied::MalformedToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(Denied::MalformedToken)?;
    let token = token.trim_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Denied::MalformedToken);
    }
    Ok(Some(token))
}

/// `127.0.0.0/8`, `::1`, and `::ffff:127.x.y.z` (an IPv4 caller on a
/// dual-stack socket).
pub fn is_loopback(peer: SocketAddr) -> bool {
    peer.ip().to_canonical().is_loopback()
}

/// What [`gate`] needs: the daemon (for the current tokens, which a reload
/// may change), the metrics, and the route's [`Need`].
#[derive(Clone)]
pub struct Gate {
    pub api: Arc<dyn Api>,
    pub metrics: Arc<Metrics>,
    pub need: Need,
}

/// The middleware every API route runs through (see the module doc).
pub async fn gate(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    let tokens = gate.api.tokens();
    // Opened reads take a token if one is sent (it must then be valid).
    let need = opened(gate.need, gate.api.public_reads(), gate.api.public_gates());
    match check(tokens.as_deref(), request.headers(), peer, need) {
        Ok(identity) => {
            if let Some(identity) = identity {
                request.extensions_mut().insert(identity);
            }
            next.run(request).await
        }
        Err(denied) => {
            gate.metrics
                .inc(HTTP_UNAUTHORIZED, &[("reason", denied.reason())]);
            tracing::warn!(
                peer = %peer.map_or_else(|| "unknown".to_string(), |p| p.to_string()),
                method = %request.method(),
                path = %request.uri().path(),
                reason = denied.reason(),
                "refused an HTTP request: {denied}"
            );
            denied.into_response()
        }
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
