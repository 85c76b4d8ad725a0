//! The dispatcher: drains the outbox, one task per channel so a dead channel
//! never blocks another or the evaluation loop. Transient failures retry with
//! exponential backoff and jitter (or the server's `Retry-After`); permanent
//! ones are recorded, surfaced (log, metric) and handed to the other channel.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::{Notifier, NotifyError};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::state::{OutboxItem, Store};

/// Retry schedule: 1s, 2s, 4s … capped at 5 minutes, ±20% jitter so many
/// queued items do not hammer a recovering server in lockstep.
pub fn backoff(attempts: u32) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1u32 << attempts.min(9))
        .min(Duration::from_secs(300));
    let jitter = (RandomState::new().build_hasher().finish() % 4001) as f64 / 10_000.0 - 0.2;
    base.mul_f64(1.0 + jitter)
}

pub struct Dispatcher {
    pub store: Arc<Store>,
    pub channels: Vec<Arc<dyn Notifier>>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Poked when new items are queued.
    pub wake: Arc<Notify>,
}

impl Dispatcher {
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let shared = Arc::new(self);
        shared
            .channels
            .iter()
            .map(|n| {
                let me = shared.clone();
                let n = n.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { me.run_channel(n, shutdown).await })
            })
            .collect()
    }

    async fn run_channel(&self, notifier: Arc<dyn Notifier>, mut shutdown: watch::Receiver<bool>) {
        let channel = notifier.channel();
        self.metrics.touch(
            "sena_notifications_sent_total",
            SENT_HELP,
            &[("channel", channel)],
        );
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.due(channel, self.clock.now(), 16) {
                Ok(items) => {
                    for item in items {
                        self.deliver(notifier.as_ref(), item).await;
                        if *shutdown.borrow() {
                            return;
                        }
                    }
                }
                Err(e) => tracing::error!(channel, error = %e, "reading the outbox failed"),
            }
            let wait = match self.store.next_due_at(channel) {
                Ok(Some(at)) => Duration::try_from(at.duration_since(self.clock.now()))
                    .unwrap_or(Duration::ZERO)
                    .clamp(Duration::from_millis(50), Duration::from_secs(5)),
                _ => Duration::from_secs(5),
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn deliver(&self, notifier: &dyn Notifier, item: OutboxItem) {
        let channel = notifier.channel();
        let mut delivery = item.delivery;
        let incident_id = delivery.advisory.incident.as_ref().map(|i| i.id);
        if let Some(id) = incident_id {
            if let Ok(Some(inc)) = self.store.incident(id) {
                delivery.thread = inc.thread;
            }
        }
        // A channel's own timeout should fire first; this is the backstop.
        let outcome =
            match tokio::time::timeout(Duration::from_secs(60), notifier.send(&delivery)).await {
                Ok(r) => r,
                Err(_) => Err(NotifyError::Transient {
                    message: "send took longer than 60s".into(),
                    retry_after: None,
                }),
            };
        let key = delivery.dedup_key.as_str();
        let result = match outcome {
            Ok(sent) => {
                self.metrics.inc(
                    "sena_notifications_sent_total",
                    SENT_HELP,
                    &[("channel", channel)],
                );
                if let (Some(thread), Some(id)) = (sent.thread, incident_id) {
                    if let Err(e) = self.store.set_incident_thread(id, &thread) {
                        tracing::warn!(error = %e, "could not remember the Slack thread");
                    }
                }
                tracing::info!(channel, key, rollout = %delivery.advisory.rollout, "notification delivered");
                self.store.mark_sent(item.id)
            }
            Err(NotifyError::Transient {
                message,
                retry_after,
            }) => {
                self.metrics.inc(
                    "sena_notifications_failed_total",
                    FAILED_HELP,
                    &[("channel", channel), ("kind", "transient")],
                );
                let wait = retry_after.unwrap_or_else(|| backoff(item.attempts));
                tracing::warn!(channel, key, attempt = item.attempts + 1, retry_in = ?wait, error = %message, "notification failed; will retry");
                // `wait` may come from a server's Retry-After: saturate, never panic.
                let next = crate::saturating::after(self.clock.now(), wait);
                self.store.mark_retry(item.id, next, &message)
            }
            Err(NotifyError::Permanent(message)) => {
                self.metrics.inc(
                    "sena_notifications_failed_total",
                    FAILED_HELP,
                    &[("channel", channel), ("kind", "permanent")],
                );
                tracing::error!(channel, key, error = %message, "notification failed permanently");
                self.fall_back(channel, &delivery);
                self.store.mark_failed(item.id, &message)
            }
        };
        if let Err(e) = result {
            tracing::error!(channel, key, error = %e, "recording the delivery outcome failed");
        }
    }

    /// Hands a permanently failed delivery to the other channels, once.
    fn fall_back(&self, failed: &str, delivery: &super::Delivery) {
        if delivery.dedup_key.contains(":fallback-from-") {
            return;
        }
        let others: Vec<(&str, super::Delivery)> = self
            .channels
            .iter()
            .map(|n| n.channel())
            .filter(|c| *c != failed)
            .map(|c| {
                let mut d = delivery.clone();
                d.dedup_key = format!("{}:fallback-from-{failed}", delivery.dedup_key);
                (c, d)
            })
            .collect();
        if others.is_empty() {
            return;
        }
        match self.store.enqueue(&others, self.clock.now()) {
            Ok(()) => self.wake.notify_waiters(),
            Err(e) => tracing::error!(error = %e, "queuing the fallback failed"),
        }
    }
}

const SENT_HELP: &str = "Notifications confirmed by the channel.";
const FAILED_HELP: &str =
    "Failed notification attempts by channel and kind (transient = retried, permanent = given up).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps_with_jitter() {
        for attempts in 0..20 {
            let b = backoff(attempts).as_secs_f64();
            let base = (2f64.powi(attempts.min(9) as i32)).min(300.0);
            assert!(
                b >= base * 0.8 - 1e-9 && b <= base * 1.2 + 1e-9,
                "{attempts}: {b}"
            );
        }
    }
}
