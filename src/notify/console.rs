//! The console notifier: advisories printed readably to stdout, the default
//! when neither Slack nor email is configured, so the quickstart shows the
//! whole path from a PromQL answer to an advice without any account.

use crate::domain::Channel;
use std::io::Write;

use super::{BoxFuture, Delivery, Notifier, NotifyError, Sent};

pub struct ConsoleNotifier;

impl Notifier for ConsoleNotifier {
    fn channel(&self) -> Channel {
        Channel::Console
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        Box::pin(async move {
            let text = super::render::text(&d.advisory, &d.recipients);
            let mut out = std::io::stdout().lock();
            writeln!(out, "\n{text}").map_err(|e| NotifyError::Transient {
                message: format!("writing to stdout: {e}"),
                retry_after: None,
            })?;
            out.flush().ok();
            Ok(Sent::default())
        })
    }
}
