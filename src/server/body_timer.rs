//! A deadline on reading a request's body.
//!
//! The header timeout ends when the headers are in; after that hyper waits
//! for a body as long as the handler reads it. Eight clients that sent
//! `Content-Length: 100000` and then a byte a second held every connection
//! of `max_connections: 8`, and `/healthz` answered 503 as long as they
//! liked. So every request body is read against a deadline, the way
//! Apache's `mod_reqtimeout` does it: `server.body_read_timeout` from the
//! headers, extended by one second for every `server.body_min_rate` bytes
//! that arrive, so a large body sent at a fair rate finishes and a trickle
//! does not. (The connection's lifetime still bounds both.)
//!
//! When the deadline passes the body fails (the handler answers 400) and
//! the connection is told to close (`expired`), so it is not kept alive for
//! the rest of a body nobody will read.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Bytes, HttpBody};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// What `server.body_*` allows a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// From the end of the headers to the end of the body, before any
    /// extension.
    pub read_timeout: Duration,
    /// Bytes that buy one more second; 0 buys none.
    pub min_rate: u64,
}

impl BodyLimits {
    /// When a body that started at `started` and has `received` bytes so
    /// far must be finished.
    pub fn deadline(&self, started: Instant, received: u64) -> Instant {
        let earned = if self.min_rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(received as f64 / self.min_rate as f64)
        };
        started + self.read_timeout.saturating_add(earned)
    }
}

/// The body ran out of time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time (server.body_read_timeout {timeout:?}, server.body_min_rate {rate} bytes/s); {received} bytes came")]
pub struct BodyTooSlow {
    timeout: Duration,
    rate: u64,
    received: u64,
}

/// A request body read against [`BodyLimits`].
pub struct TimedBody<B> {
    inner: Pin<Box<B>>,
    limits: BodyLimits,
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    /// Notified once when the deadline passes: the connection closes.
    expired: Arc<Notify>,
    failed: bool,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, limits: BodyLimits, expired: Arc<Notify>) -> Self {
        let started = Instant::now();
        TimedBody {
            inner: Box::pin(inner),
            limits,
            started,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(limits.deadline(started, 0))),
            expired,
            failed: false,
        }
    }
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::BoxError>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = self.inner.as_mut().poll_frame(cx) {
            if let Some(Ok(f)) = &frame {
                if let Some(data) = f.data_ref() {
                    self.received = self.received.saturating_add(data.len() as u64);
                    let deadline = self.limits.deadline(self.started, self.received);
                    self.timer.as_mut().reset(deadline);
                }
            }
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.failed = true;
            self.expired.notify_one();
            tracing::debug!(
                received = self.received,
                "request body too slow; closing the connection"
            );
            return Poll::Ready(Some(Err(Box::new(BodyTooSlow {
                timeout: self.limits.read_timeout,
                rate: self.limits.min_rate,
                received: self.received,
            }))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that sent its headers and then nothing.
    struct Silent;

    impl HttpBody for Silent {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_does_not_come_fails_and_closes_its_connection() {
        let limits = BodyLimits {
            read_timeout: Duration::from_secs(10),
            min_rate: 500,
        };
        let expired = Arc::new(Notify::new());
        let mut body = TimedBody::new(Silent, limits, expired.clone());
        let started = Instant::now();
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let err = frame.expect("a frame").expect_err("an error");
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert!(err.to_string().contains("0 bytes came"), "{err}");
        // The connection hears of it (a stored permit: no race with its wait).
        tokio::time::timeout(Duration::from_millis(1), expired.notified())
            .await
            .expect("the connection is told to close");
        assert!(body.is_end_stream());
    }

    #[test]
    fn each_min_rate_bytes_buy_a_second() {
        let limits = BodyLimits {
            read_timeout: Duration::from_secs(10),
            min_rate: 500,
        };
        let t = Instant::now();
        assert_eq!(limits.deadline(t, 0), t + Duration::from_secs(10));
        assert_eq!(limits.deadline(t, 1_000), t + Duration::from_secs(12));
        let none = BodyLimits {
            min_rate: 0,
            ..limits
        };
        assert_eq!(none.deadline(t, 1_000_000), t + Duration::from_secs(10));
    }
}
