//! The dispatcher: drains the outbox, one task per channel so a dead channel
//! never blocks another or the evaluation loop. Transient failures retry with
//! exponential backoff and jitter (or the server's `Retry-After`); permanent
//! ones are recorded, surfaced (log, metric) and handed to the other channel.
//! A row that cannot be read is quarantined, never retried in place: no
//! record may block its queue. When the store cannot record an outcome, the
//! outcome is kept in memory (`memory`), so nothing sent is sent again.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::memory::{DeliveryMemory, MemoryItem, Outcome};
use super::{Advisory, AdvisoryKind, Delivery, Notifier, NotifyError};
use crate::clock::Clock;
use crate::decide::Verdict;
use crate::health::{Component, Health};
use crate::metrics::Metrics;
use crate::state::{Store, Unreadable};

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
    /// Outcomes and deliveries the store could not take (process lifetime).
    pub memory: Arc<DeliveryMemory>,
    pub health: Arc<Health>,
}

/// Where a delivery being sent came from, and so where its outcome goes.
enum Source {
    Stored { id: i64, attempts: u32 },
    Memory { attempts: u32 },
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
        self.metrics.touch(
            "sena_outbox_quarantined_total",
            QUARANTINED_HELP,
            &[("channel", channel)],
        );
        loop {
            if *shutdown.borrow() {
                return;
            }
            self.record_remembered(channel);
            for item in self.memory.take_due(channel, self.clock.now()) {
                let source = Source::Memory {
                    attempts: item.attempts,
                };
                self.deliver(notifier.as_ref(), source, item.delivery).await;
                if *shutdown.borrow() {
                    return;
                }
            }
            match self.store.due(channel, self.clock.now(), 16) {
                Ok(due) => {
                    for bad in due.unreadable {
                        self.quarantine(bad);
                    }
                    for item in due.items {
                        // Sent (or given up on) already; only the store
                        // has not heard. Never send it twice.
                        if self.memory.knows(item.id) {
                            continue;
                        }
                        self.deliver(
                            notifier.as_ref(),
                            Source::Stored {
                                id: item.id,
                                attempts: item.attempts,
                            },
                            item.delivery,
                        )
                        .await;
                        if *shutdown.borrow() {
                            return;
                        }
                    }
                }
                Err(e) => self.store_failed("read_outbox", &e),
            }
            let wait = self.wait_for(channel);
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// How long to sleep before the next pass over `channel`.
    fn wait_for(&self, channel: &str) -> Duration {
        let now = self.clock.now();
        let stored = match self.store.next_due_at(channel) {
            Ok(at) => at,
            Err(_) => Some(now + jiff::SignedDuration::from_secs(1)),
        };
        // Outcomes waiting for the store are retried every second.
        let unrecorded = (!self.memory.unrecorded(channel).is_empty())
            .then(|| now + jiff::SignedDuration::from_secs(1));
        [stored, self.memory.next_due_at(channel), unrecorded]
            .into_iter()
            .flatten()
            .min()
            .map(|at| {
                Duration::try_from(at.duration_since(now))
                    .unwrap_or(Duration::ZERO)
                    .clamp(Duration::from_millis(50), Duration::from_secs(5))
            })
            .unwrap_or(Duration::from_secs(5))
    }

    async fn deliver(&self, notifier: &dyn Notifier, source: Source, mut delivery: Delivery) {
        let channel = notifier.channel();
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
        let attempts = match source {
            Source::Memory { attempts } | Source::Stored { attempts, .. } => attempts,
        };
        let outcome = match outcome {
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
                Outcome::Sent
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
                let wait = retry_after.unwrap_or_else(|| backoff(attempts));
                tracing::warn!(channel, key, attempt = attempts + 1, retry_in = ?wait, error = %message, "notification failed; will retry");
                Outcome::Retry {
                    // `wait` may come from a server's Retry-After: saturate, never panic.
                    next_attempt_at: crate::saturating::after(self.clock.now(), wait),
                    error: message,
                }
            }
            Err(NotifyError::Permanent(message)) => {
                self.metrics.inc(
                    "sena_notifications_failed_total",
                    FAILED_HELP,
                    &[("channel", channel), ("kind", "permanent")],
                );
                tracing::error!(channel, key, error = %message, "notification failed permanently");
                self.fall_back(channel, &delivery);
                Outcome::Failed { error: message }
            }
        };
        match source {
            Source::Stored { id, .. } => self.record(id, channel, outcome),
            Source::Memory { .. } => {
                if let Outcome::Retry {
                    next_attempt_at, ..
                } = outcome
                {
                    self.memory.push(
                        channel,
                        MemoryItem {
                            delivery,
                            attempts: attempts.saturating_add(1),
                            next_attempt_at,
                        },
                    );
                }
            }
        }
    }

    /// Writes a send's outcome to its row, or keeps it in memory until the
    /// store takes it.
    fn record(&self, id: i64, channel: &str, outcome: Outcome) {
        let written = match &outcome {
            Outcome::Sent => self.store.mark_sent(id),
            Outcome::Retry {
                next_attempt_at,
                error,
            } => self.store.mark_retry(id, *next_attempt_at, error),
            Outcome::Failed { error } => self.store.mark_failed(id, error),
        };
        match written {
            Ok(()) => self.memory.recorded(id),
            Err(e) => {
                self.store_failed("record_delivery", &e);
                self.memory.remember_outcome(id, channel, outcome);
            }
        }
    }

    /// Retries writing the outcomes the store refused earlier.
    fn record_remembered(&self, channel: &str) {
        for (id, outcome) in self.memory.unrecorded(channel) {
            self.record(id, channel, outcome);
            if self.memory.knows(id) {
                return; // still failing: try again on the next pass
            }
        }
    }

    fn store_failed(&self, op: &'static str, e: &crate::state::StoreError) {
        self.metrics.inc(
            "sena_store_errors_total",
            crate::state::STORE_ERRORS_HELP,
            &[("op", op)],
        );
        self.health
            .fail(Component::Store, crate::notify::error_chain(e));
    }

    /// Sets an unreadable row aside so the rows behind it go out, and tells
    /// people on every channel that a message was lost.
    fn quarantine(&self, bad: Unreadable) {
        let channel = bad.channel.as_str();
        self.metrics.inc(
            "sena_outbox_quarantined_total",
            QUARANTINED_HELP,
            &[("channel", channel)],
        );
        tracing::error!(channel, outbox_id = bad.id, reason = %bad.reason, "quarantined an unreadable outbox row; the rows after it go on");
        let quarantined = self
            .store
            .mark_failed(bad.id, &format!("quarantined: {}", bad.reason));
        if let Err(e) = quarantined {
            self.store_failed("quarantine", &e);
            self.memory.remember_outcome(
                bad.id,
                channel,
                Outcome::Failed {
                    error: format!("quarantined: {}", bad.reason),
                },
            );
        }
        let notice = lost_notice(&bad, self.clock.now());
        let items: Vec<(&str, Delivery)> = self
            .channels
            .iter()
            .map(|n| n.channel())
            .map(|c| {
                let mut d = notice.clone();
                d.dedup_key = format!("outbox-{}:unreadable:{c}", bad.id);
                (c, d)
            })
            .collect();
        self.enqueue_or_remember(items);
    }

    /// Hands a permanently failed delivery to the other channels, once.
    fn fall_back(&self, failed: &str, delivery: &Delivery) {
        if delivery.dedup_key.contains(":fallback-from-") {
            return;
        }
        let others: Vec<(&str, Delivery)> = self
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
        self.enqueue_or_remember(others);
    }

    /// Queues in the store, or in memory when the store refuses.
    fn enqueue_or_remember(&self, items: Vec<(&str, Delivery)>) {
        if items.is_empty() {
            return;
        }
        let now = self.clock.now();
        if let Err(e) = self.store.enqueue(&items, now) {
            self.store_failed("enqueue", &e);
            for (channel, delivery) in items {
                self.memory.push(
                    channel,
                    MemoryItem {
                        delivery,
                        attempts: 0,
                        next_attempt_at: now,
                    },
                );
            }
        }
        self.wake.notify_waiters();
    }
}

/// The message that replaces a lost one: what it was about, as far as can be
/// read, and where to look.
fn lost_notice(bad: &Unreadable, now: jiff::Timestamp) -> Delivery {
    let s = &bad.salvage;
    let look = match &s.rollout {
        Some(r) => format!(
            "`sena journal --rollout {r}` shows what Sena saw, and `sena eval` what it sees now"
        ),
        None => "`sena journal` shows what Sena saw, and `sena eval` what it sees now".to_string(),
    };
    let rollout = s
        .rollout
        .clone()
        .unwrap_or_else(|| "an unknown rollout".into());
    let what = match (&s.kind, &s.verdict) {
        (Some(kind), Some(verdict)) => format!("a `{kind}` advisory ({verdict})"),
        (Some(kind), None) => format!("a `{kind}` advisory"),
        _ => "an advisory".to_string(),
    };
    let advisory = Advisory {
        kind: AdvisoryKind::Undeliverable,
        at: now,
        rollout: rollout.clone(),
        stage_index: 0,
        traffic: s.traffic.clone().unwrap_or_default(),
        // Sena cannot say what the lost message advised: blind means hold.
        verdict: Verdict::Hold,
        reason: format!("queued notification #{} could not be read", bad.id),
        ready_to_expand: None,
        checks: Vec::new(),
        approver: String::new(),
        incident: None,
        prometheus_url: String::new(),
        notice: Some(format!(
            "Sena could not read queued notification #{} ({what} about {rollout}) and set it aside: {}. Its content is lost; {look}.",
            bad.id, bad.reason
        )),
    };
    Delivery {
        advisory,
        recipients: Vec::new(),
        dedup_key: String::new(),
        thread: None,
    }
}

const SENT_HELP: &str = "Notifications confirmed by the channel.";
const QUARANTINED_HELP: &str =
    "Outbox rows set aside because they could not be read; each is told to people as a lost notification.";
const FAILED_HELP: &str =
    "Failed notification attempts by channel and kind (transient = retried, permanent = given up).";

#[cfg(test)]
mod tests;
