//! Notifiers: the channels that carry advisories to people. The engine never
//! calls a channel directly: it writes deliveries to the outbox in the state
//! store, and the dispatcher (`crate::deliver`) sends them with retries.

pub mod console;
pub mod email;
pub mod policy;
pub mod render;
pub mod slack;

pub use crate::domain::{
    Advisory, AdvisoryKind, Delivery, IncidentView, NextLevel, RecipientProgress, Refusal,
};

use crate::domain::Channel;
use std::time::Duration;

pub use futures_util::future::BoxFuture;

/// What a confirmed send returns: for Slack Web API, the message `ts` to
/// thread later messages under.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub thread: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Worth retrying: 429, 5xx, SMTP 4xx, connection refused, timeout.
    #[error("temporary failure: {message}")]
    Transient {
        message: String,
        /// Server-requested wait (Slack `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Retrying will not help: SMTP 5xx, Slack `invalid_auth`, 4xx.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub trait Notifier: Send + Sync {
    /// Channel name for metrics and the outbox: `console`, `slack`, `email`.
    fn channel(&self) -> Channel;
    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>>;

    /// One attempt for the recipients `progress` has not settled yet,
    /// marking each one reached or refused in it as it goes, so what an
    /// attempt achieved is kept even if it then fails or times out. `Ok`
    /// means nothing is left to retry (some recipients may be refused);
    /// `Permanent` that nobody got it. Channels that post once for everyone
    /// (Slack, console) keep this default: a plain `send`.
    fn send_pending<'a>(
        &'a self,
        delivery: &'a Delivery,
        _progress: &'a mut RecipientProgress,
    ) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        self.send(delivery)
    }
}

pub(crate) use crate::domain::format::error_chain;
