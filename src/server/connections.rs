//! Accepting HTTP connections without letting clients take what the
//! evaluator needs.
//!
//! `axum::serve` accepts every connection and keeps it as long as the client
//! likes: 1,100 idle connections used up a 1,024 file-descriptor limit, the
//! next Prometheus query failed with `Too many open files`, and the rollout
//! was held for a reason that was not the canary's. So the accept loop is
//! Sena's own, with three bounds:
//!
//! - **at most `server.max_connections` at once** (default 512, half the
//!   usual limit of 1,024): one more is answered `503` and closed at once,
//!   never queued;
//! - **`server.header_read_timeout`** (default 10 s): a client must send a
//!   request's headers within it, from connecting or from the previous
//!   response. hyper runs this timer whenever it waits for a request head,
//!   so it is also the idle timeout of a kept-alive connection, and a
//!   half-sent request is closed when it runs out;
//! - **`server.body_read_timeout`** (default 10 s) and
//!   **`server.body_min_rate`** (default 500 bytes/s): a request's body
//!   must arrive within the timeout, one second more for every
//!   `body_min_rate` bytes (`body_timer`); a body that does not is
//!   answered 400 and its connection closed;
//! - **`server.reserved_connections`** (default 4) beyond the cap, for
//!   `/healthz`, `/readyz` and `/metrics` only: when clients hold every
//!   ordinary slot, a probe and a scrape still get through. A reserved
//!   connection serves one request, with a header timeout of at most
//!   [`RESERVE_HEADER_TIMEOUT`], and anything but those paths is answered
//!   503;
//! - **a lifetime of [`CONNECTION_LIFETIME`]**, after which the connection
//!   is closed gracefully (at once if idle, after the response in flight
//!   otherwise, by force [`CLOSE_GRACE`] later). This bounds what the
//!   header timeout does not see: a body that never arrives, a client that
//!   never reads its response.
//!
//! Out of file descriptors on accept is reported as Sena's own health
//! problem (`/readyz` 503), like the evaluator's.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::HttpBody;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};

use super::body_timer::{BodyLimits, TimedBody};
use crate::health::{Component, Health};

/// How long one connection may live, whatever it does.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// How long a connection asked to close may take to finish its response.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Pause after an accept error, so a listener that stays readable while the
/// process is out of descriptors does not spin a core.
const ACCEPT_RETRY: Duration = Duration::from_millis(200);
/// A probe sends its headers at once; a reserved slot is not held longer
/// by one that does not.
pub const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// What a reserved connection may ask for.
const PROBE_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// What `server.*` allows a client.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body: BodyLimits,
    /// Connections beyond `max_connections` for the probe paths only.
    pub reserved_connections: usize,
}

/// The answer to a connection over the cap: written without waiting (a
/// client that does not read gets nothing), then the socket is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 21\r\nretry-after: 1\r\nconnection: close\r\n\r\ntoo many connections\n";

/// Serves `router` on `listener` until the task is aborted.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    health: Arc<Health>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(limits.reserved_connections));
    let mut accept_failing = false;
    let mut at_cap = false;
    metrics.touch(crate::metrics::HTTP_CONNECTIONS_REFUSED, &[]);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                if is_out_of_descriptors(&e) {
                    accept_failing = true;
                    health.fail(
                        Component::Resources,
                        format!("Sena is out of file descriptors accepting HTTP connections ({e}); raise LimitNOFILE or lower server.max_connections"),
                    );
                } else {
                    // ECONNABORTED and the like concern one connection only.
                    tracing::debug!(error = %e, "accept failed");
                }
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        if accept_failing {
            accept_failing = false;
            health.recover(Component::Resources);
        }
        let (slot, reserved) = match slots.clone().try_acquire_owned() {
            Ok(slot) => (slot, false),
            Err(_) => {
                if !at_cap {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "HTTP connection cap reached; refusing new connections until some close (the reserve still serves /healthz, /readyz and /metrics)"
                    );
                }
                at_cap = true;
                let Ok(slot) = reserve.clone().try_acquire_owned() else {
                    metrics.inc(crate::metrics::HTTP_CONNECTIONS_REFUSED, &[]);
                    refuse(stream);
                    continue;
                };
                (slot, true)
            }
        };
        if at_cap && slots.available_permits() * 10 >= limits.max_connections {
            tracing::info!("HTTP connections below the cap again");
            at_cap = false;
        }
        // Notified when a request body runs out of time: the connection
        // closes rather than wait for the rest of it.
        let expired = Arc::new(Notify::new());
        let body = limits.body;
        let on_body = expired.clone();
        // One layer per connection: a layer wraps every route.
        let router = router.clone().layer(axum::middleware::from_fn(
            move |mut req: Request, next: Next| {
                let expired = on_body.clone();
                async move {
                    if reserved && !PROBE_PATHS.contains(&req.uri().path()) {
                        return too_many_connections();
                    }
                    // The peer address rides on every request: without
                    // tokens, only loopback callers may change anything
                    // (`auth.rs`).
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    let req = if req.body().is_end_stream() {
                        req
                    } else {
                        req.map(|b| axum::body::Body::new(TimedBody::new(b, body, expired)))
                    };
                    next.run(req).await
                }
            },
        ));
        let service = TowerToHyperService::new(router);
        tokio::spawn(async move {
            let _slot = slot;
            let mut builder = http1::Builder::new();
            let header_read_timeout = if reserved {
                limits.header_read_timeout.min(RESERVE_HEADER_TIMEOUT)
            } else {
                limits.header_read_timeout
            };
            builder
                .timer(TokioTimer::new())
                .keep_alive(!reserved)
                .header_read_timeout(header_read_timeout);
            let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = tokio::time::sleep(CONNECTION_LIFETIME) => {}
                _ = expired.notified() => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        });
    }
}

/// A reserved connection asked for something other than a probe.
fn too_many_connections() -> Response {
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "1")],
        "too many connections\n",
    )
        .into_response()
}

fn refuse(stream: TcpStream) {
    let _ = stream.try_write(REFUSAL);
    drop(stream);
}

fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (the process's limit) and ENFILE (the system's).
    matches!(e.raw_os_error(), Some(24) | Some(23))
}
