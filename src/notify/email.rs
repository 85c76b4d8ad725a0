//! The email channel: one multipart/alternative message (text + HTML) per
//! delivery, sent over a pooled SMTP transport built once. One `send` is one
//! attempt; the outcome is classified for the dispatcher's retries: SMTP 5xx
//! and configuration problems are `Permanent`, 4xx, refused connections and
//! timeouts are `Transient`. What the mail contains, and how an incident's
//! mails thread together, is in `message`.
//!
//! Outcomes are per recipient (`recipients`), because one bad address must
//! not cost everyone else the page.

use crate::domain::Channel;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, Message, Tokio1Executor};

use crate::config::{EmailConfig, Secret, SmtpTls};
use crate::notify::{BoxFuture, Delivery, Notifier, NotifyError, RecipientProgress, Sent};

pub mod message;
mod recipients;

pub use message::{thread_ids, ThreadIds};

#[derive(Debug, thiserror::Error)]
pub enum EmailSetupError {
    #[error("email: from address {address:?} is not a valid mailbox: {message}")]
    From { address: String, message: String },
    #[error("email: cannot set up TLS for {host}: {message}")]
    Tls { host: String, message: String },
    #[error("email: the notifier must be created inside the tokio runtime (its connection pool runs a task)")]
    NoRuntime,
}

pub struct EmailNotifier {
    /// Always `Some` until drop; see `Drop` for why it is an `Option`.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    runtime: tokio::runtime::Handle,
    from: Mailbox,
    /// Right-hand side of generated Message-IDs: the sender's own domain.
    domain: String,
    timeout: Duration,
    /// Kept only to scrub it from error text, should a server echo it.
    password: Option<Secret>,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EmailNotifier {
    /// Builds the pooled transport once; call inside the tokio runtime, since
    /// the pool spawns its idle-connection reaper right away.
    pub fn new(cfg: &EmailConfig) -> Result<Self, EmailSetupError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| EmailSetupError::NoRuntime)?;
        let from: Mailbox = cfg.from.parse().map_err(|e| EmailSetupError::From {
            address: cfg.from.clone(),
            message: format!("{e}"),
        })?;
        let tls_error = |e: lettre::transport::smtp::Error| EmailSetupError::Tls {
            host: cfg.host.clone(),
            message: e.to_string(),
        };
        let builder = match cfg.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
                .map_err(tls_error)?,
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(tls_error)?
            }
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(cfg.timeout))
            // Pages come in bursts (one per rollout state change); a few warm
            // connections cover a burst, and idle ones close before servers
            // drop them on their own.
            .pool_config(
                PoolConfig::new()
                    .max_size(4)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(EmailNotifier {
            transport: Some(builder.build()),
            runtime,
            domain: from.email.domain().to_string(),
            from,
            timeout: cfg.timeout,
            password: cfg.password.clone(),
        })
    }

    /// The message a delivery becomes; public so tests and `sena` tooling
    /// can inspect exactly what would be sent.
    pub fn message(&self, d: &Delivery) -> Result<Message, NotifyError> {
        message::build(d, &self.from, &self.domain)
    }

    fn scrub(&self, e: NotifyError) -> NotifyError {
        let Some(password) = self.password.as_ref().filter(|p| !p.expose().is_empty()) else {
            return e;
        };
        let clean = |m: String| m.replace(password.expose(), "<password>");
        match e {
            NotifyError::Transient {
                message,
                retry_after,
            } => NotifyError::Transient {
                message: clean(message),
                retry_after,
            },
            NotifyError::Permanent(message) => NotifyError::Permanent(clean(message)),
        }
    }
}

/// lettre's pool spawns a task when dropped (to close its connections), which
/// panics outside a tokio runtime; enter the runtime the pool was built in so
/// dropping a notifier is safe anywhere.
impl Drop for EmailNotifier {
    fn drop(&mut self) {
        let _entered = self.runtime.enter();
        drop(self.transport.take());
    }
}

impl Notifier for EmailNotifier {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    /// Everyone in the delivery; recipients refused while others got it
    /// are not reported here (the dispatcher uses `send_pending`).
    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        Box::pin(async move {
            let mut progress = RecipientProgress::default();
            self.send_to_pending(delivery, &mut progress).await
        })
    }

    fn send_pending<'a>(
        &'a self,
        delivery: &'a Delivery,
        progress: &'a mut RecipientProgress,
    ) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        Box::pin(self.send_to_pending(delivery, progress))
    }
}

/// SMTP 5xx, TLS and client-side refusals will fail the same way next time;
/// 4xx, refused connections, resets and timeouts may not.
fn classify(e: &lettre::transport::smtp::Error) -> NotifyError {
    let text = super::error_chain(e);
    if e.is_permanent() {
        return NotifyError::Permanent(format!("email: the SMTP server refused: {text}"));
    }
    if e.is_client() {
        return NotifyError::Permanent(format!("email: {text} (check email.smtp in the config)"));
    }
    if e.is_tls() || has_rustls_error(e) {
        return NotifyError::Permanent(format!(
            "email: TLS failed: {text} (check email.smtp.tls, the host name and the server certificate)"
        ));
    }
    let what = if e.is_transient() {
        "the SMTP server deferred"
    } else if e.is_timeout() {
        "SMTP timed out"
    } else {
        "cannot reach the SMTP server"
    };
    NotifyError::Transient {
        message: format!("email: {what}: {text}"),
        retry_after: None,
    }
}

fn has_rustls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(from: &str) -> EmailConfig {
        EmailConfig {
            host: "127.0.0.1".into(),
            port: 25,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: from.into(),
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn bad_from_address_is_a_setup_error() {
        let err = EmailNotifier::new(&config("not an address")).unwrap_err();
        assert!(err.to_string().contains("not an address"));
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(
            EmailNotifier::new(&config("sena@example.org")),
            Err(EmailSetupError::NoRuntime)
        ));
    }

    #[test]
    fn dropping_outside_the_runtime_is_safe() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let notifier = runtime.block_on(async { EmailNotifier::new(&config("sena@example.org")) });
        drop(notifier.unwrap());
    }
}
