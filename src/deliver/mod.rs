//! Delivery, between the outbox and the channels: the dispatcher drains the
//! outbox, one task per channel so a dead channel
//! never blocks another or the evaluation loop.
//!
//! A channel's queue goes out oldest first (in-memory items, then stored
//! rows by id). A transient failure stops the channel, not just the
//! message: the whole channel backs off (`backoff`: exponential with
//! jitter, or the server's `Retry-After`) and, when it answers again, the
//! message that failed goes first, so people get a channel's messages in the
//! order they were queued, after an outage too. A permanent failure is
//! recorded, surfaced (log, metric) and handed to the other channel, and the
//! queue goes on: it never blocks the channel. Neither does a row that
//! cannot be read: it is quarantined (`aside`). When the store cannot record
//! an outcome, the outcome is kept in memory (`memory`), so nothing sent is
//! sent again. Email reports outcomes per recipient (`progress`): those
//! reached are never mailed again, one refused address is logged and
//! counted while the others get the message. A channel whose oldest
//! message waits longer than `notify.stuck_after` is reported (`stuck`).

mod aside;
mod backoff;
pub mod memory;
mod stuck;

pub use backoff::backoff;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use self::backoff::ChannelBackoff;
use self::memory::{DeliveryMemory, MemoryItem, Outcome};
use crate::clock::Clock;
use crate::domain::{
    Advisory, AdvisoryKind, Channel, DedupKey, Delivery, RecipientProgress, Refusal, Verdict,
};
use crate::health::{Component, Health};
use crate::metrics::Metrics;
use crate::notify::{Notifier, NotifyError};
use crate::state::{StoreHandle, Unreadable};

/// Rows read per pass; a full batch means more may wait behind it.
const BATCH: usize = 16;
/// With nothing queued, a pass every few seconds is the safety net behind
/// `wake` (which every enqueue pokes).
const IDLE_WAIT: Duration = Duration::from_secs(5);
/// Outcomes the store refused, and reads it failed, are retried this often.
const STORE_RETRY: Duration = Duration::from_secs(1);

pub struct Dispatcher {
    pub store: StoreHandle,
    pub channels: Vec<Arc<dyn Notifier>>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Poked when new items are queued.
    pub wake: Arc<Notify>,
    /// Outcomes and deliveries the store could not take (process lifetime).
    pub memory: Arc<DeliveryMemory>,
    pub health: Arc<Health>,
    /// `notify.stuck_after`: a channel whose oldest undelivered message is
    /// older is stuck (`stuck`).
    pub stuck_after: Duration,
}

/// Where a delivery being sent came from, and so where its outcome goes.
#[derive(Clone, Copy)]
enum Source {
    Stored { id: i64 },
    Memory,
}

/// What one send means for the rest of the channel's queue.
enum Step {
    /// Sent or given up on: the next message may go.
    Next,
    /// Failed for now: the channel backs off, this message stays first.
    BackOff,
}

/// How a pass over a channel's queue ended.
enum Pass {
    /// Everything readable was settled; more rows may wait behind the batch.
    More,
    Idle,
    BackingOff,
    StoreFailed,
    ShutDown,
}

impl Dispatcher {
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let shared = Arc::new(self);
        let mut tasks: Vec<JoinHandle<()>> = shared
            .channels
            .iter()
            .map(|n| {
                let me = shared.clone();
                let n = n.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { me.run_channel(n, shutdown).await })
            })
            .collect();
        let me = shared.clone();
        tasks.push(tokio::spawn(async move { me.watch_stuck(shutdown).await }));
        tasks
    }

    async fn run_channel(&self, notifier: Arc<dyn Notifier>, mut shutdown: watch::Receiver<bool>) {
        let channel = notifier.channel();
        self.metrics.touch(
            crate::metrics::NOTIFICATIONS_SENT,
            &[("channel", channel.as_str())],
        );
        self.metrics.touch(
            crate::metrics::OUTBOX_QUARANTINED,
            &[("channel", channel.as_str())],
        );
        let mut backoff = ChannelBackoff::default();
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Listening before the pass: a wake sent while it runs counts.
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            self.record_remembered(channel).await;
            let wait = match backoff.remaining() {
                Some(left) => left,
                None => match self.pass(notifier.as_ref(), &mut backoff, &shutdown).await {
                    Pass::More => continue,
                    Pass::Idle => IDLE_WAIT,
                    Pass::BackingOff => backoff.remaining().unwrap_or_default(),
                    Pass::StoreFailed => STORE_RETRY,
                    Pass::ShutDown => return,
                },
            };
            let wait = if self.memory.unrecorded(channel).is_empty() {
                wait
            } else {
                wait.min(STORE_RETRY)
            };
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Sends the channel's queue in order until it is empty or the channel
    /// fails for now.
    async fn pass(
        &self,
        notifier: &dyn Notifier,
        backoff: &mut ChannelBackoff,
        shutdown: &watch::Receiver<bool>,
    ) -> Pass {
        let channel = notifier.channel();
        let mut held: VecDeque<MemoryItem> = self.memory.take_all(channel);
        while let Some(mut item) = held.pop_front() {
            let step = self
                .deliver(
                    notifier,
                    Source::Memory,
                    &mut item.delivery,
                    &mut item.progress,
                    item.attempts,
                    backoff,
                )
                .await;
            if let Step::BackOff = step {
                item.attempts = item.attempts.saturating_add(1);
                held.push_front(item);
                self.memory.put_back(channel, held);
                return Pass::BackingOff;
            }
            if *shutdown.borrow() {
                self.memory.put_back(channel, held);
                return Pass::ShutDown;
            }
        }

        let due = match self.store.call(move |s| s.due(channel, BATCH)).await {
            Ok(due) => due,
            Err(e) => {
                self.store_failed("read_outbox", &e);
                return Pass::StoreFailed;
            }
        };
        let mut settled = due.unreadable.len();
        for bad in due.unreadable {
            self.quarantine(bad).await;
        }
        let batch = settled + due.items.len();
        for mut item in due.items {
            let (attempts, mut progress) = match self.memory.outcome(item.id) {
                // Sent (or given up on) already; only the store has not
                // heard. Never send it twice.
                Some(Outcome::Sent | Outcome::Failed { .. }) => continue,
                // Failed for now and not recorded: it keeps its place in
                // line, and what that attempt achieved (who has it).
                Some(Outcome::Retry { progress, .. }) => {
                    (item.attempts.saturating_add(1), progress)
                }
                None => (item.attempts, std::mem::take(&mut item.progress)),
            };
            let source = Source::Stored { id: item.id };
            let step = self
                .deliver(
                    notifier,
                    source,
                    &mut item.delivery,
                    &mut progress,
                    attempts,
                    backoff,
                )
                .await;
            if let Step::BackOff = step {
                return Pass::BackingOff;
            }
            settled += 1;
            if *shutdown.borrow() {
                return Pass::ShutDown;
            }
        }
        // A full batch that moved may hide more; rows only waiting for the
        // store to record them do not count, or the loop would spin.
        if batch == BATCH && settled > 0 {
            Pass::More
        } else {
            Pass::Idle
        }
    }

    /// One attempt; records its outcome (a stored row) and moves the
    /// channel's backoff.
    async fn deliver(
        &self,
        notifier: &dyn Notifier,
        source: Source,
        delivery: &mut Delivery,
        progress: &mut RecipientProgress,
        attempts: u32,
        backoff: &mut ChannelBackoff,
    ) -> Step {
        let channel = notifier.channel();
        let incident_id = delivery.advisory.incident.as_ref().map(|i| i.id);
        if let Some(id) = incident_id {
            if let Ok(Some(inc)) = self.store.call(move |s| s.incident(id)).await {
                delivery.thread = inc.thread;
            }
        }
        let refused_before = progress.refused.len();
        // A channel's own timeout should fire first; this is the backstop.
        // What the attempt achieved before it is kept in `progress`.
        let send = notifier.send_pending(delivery, progress);
        let outcome = match tokio::time::timeout(Duration::from_secs(60), send).await {
            Ok(r) => r,
            Err(_) => Err(NotifyError::Transient {
                message: "send took longer than 60s".into(),
                retry_after: None,
            }),
        };
        let key = delivery.dedup_key.as_str();
        let refused_now = &progress.refused[refused_before.min(progress.refused.len())..];
        let outcome = match outcome {
            Ok(sent) => {
                backoff.delivered();
                self.metrics.inc(
                    crate::metrics::NOTIFICATIONS_SENT,
                    &[("channel", channel.as_str())],
                );
                if let (Some(thread), Some(id)) = (sent.thread, incident_id) {
                    let set = self
                        .store
                        .call(move |s| s.set_incident_thread(id, &thread))
                        .await;
                    if let Err(e) = set {
                        tracing::warn!(error = %e, "could not remember the Slack thread");
                    }
                }
                self.report_refusals(channel, key, refused_now);
                tracing::info!(channel = channel.as_str(), key, rollout = %delivery.advisory.rollout, "notification delivered");
                Outcome::Sent
            }
            Err(NotifyError::Transient {
                message,
                retry_after,
            }) => {
                self.report_refusals(channel, key, refused_now);
                self.metrics.inc(
                    crate::metrics::NOTIFICATIONS_FAILED,
                    &[("channel", channel.as_str()), ("kind", "transient")],
                );
                let backoff::Wait { wait, clamped_from } = backoff.failed(retry_after);
                if let Some(asked) = clamped_from {
                    // Only the durations: the error text may carry a URL.
                    tracing::warn!(channel = channel.as_str(), key, retry_after = ?asked, waiting = ?wait, "the server's Retry-After is outside 1s..5m; the channel waits the nearest bound instead");
                }
                tracing::warn!(channel = channel.as_str(), key, attempt = attempts + 1, channel_failures = backoff.failures(), retry_in = ?wait, error = %message, "notification failed; the channel waits, then sends it first");
                Outcome::Retry {
                    next_attempt_at: crate::saturating::after(self.clock.now(), wait),
                    error: message,
                    progress: progress.clone(),
                }
            }
            Err(NotifyError::Permanent(message)) => {
                // Counted once for the delivery: nobody got it.
                self.metrics.inc(
                    crate::metrics::NOTIFICATIONS_FAILED,
                    &[("channel", channel.as_str()), ("kind", "permanent")],
                );
                tracing::error!(channel = channel.as_str(), key, error = %message, "notification failed permanently");
                self.fall_back(channel, delivery).await;
                Outcome::Failed { error: message }
            }
        };
        let step = match outcome {
            Outcome::Retry { .. } => Step::BackOff,
            Outcome::Sent | Outcome::Failed { .. } => Step::Next,
        };
        if let Source::Stored { id } = source {
            self.record(id, channel, outcome).await;
        }
        step
    }

    /// Recipients refused for good while the message went, or is still
    /// retried, to the others: each is logged and counted, once.
    ///
    /// No fallback for them: the engine queues every advisory on every
    /// configured channel with the same recipients, so the Slack copy of
    /// this very message already mentions everyone paged. Handing it to
    /// Slack again for one address would post the advisory twice in the
    /// channel. The whole-delivery fallback stays for when nobody got the
    /// mail (`Permanent`), where it is the only copy that says so.
    fn report_refusals(&self, channel: Channel, key: &str, refused: &[Refusal]) {
        for r in refused {
            self.metrics.inc(
                crate::metrics::NOTIFICATIONS_FAILED,
                &[("channel", channel.as_str()), ("kind", "permanent")],
            );
            tracing::error!(channel = channel.as_str(), key, recipient = %r.address, error = %r.error, "a recipient was refused for good; the others get the message");
        }
    }

    /// Writes a send's outcome to its row, or keeps it in memory until the
    /// store takes it.
    async fn record(&self, id: i64, channel: Channel, outcome: Outcome) {
        let writing = outcome.clone();
        let written = self
            .store
            .call(move |s| match &writing {
                Outcome::Sent => s.mark_sent(id),
                Outcome::Retry {
                    next_attempt_at,
                    error,
                    progress,
                } => s.mark_retry(id, *next_attempt_at, error, progress),
                Outcome::Failed { error } => s.mark_failed(id, error),
            })
            .await;
        match written {
            Ok(()) => self.memory.recorded(id),
            Err(e) => {
                self.store_failed("record_delivery", &e);
                self.memory.remember_outcome(id, channel, outcome);
            }
        }
    }

    /// Retries writing the outcomes the store refused earlier.
    async fn record_remembered(&self, channel: Channel) {
        for (id, outcome) in self.memory.unrecorded(channel) {
            self.record(id, channel, outcome).await;
            if self.memory.knows(id) {
                return; // still failing: try again on the next pass
            }
        }
    }

    fn store_failed(&self, op: &'static str, e: &crate::state::StoreError) {
        self.metrics
            .inc(crate::metrics::STORE_ERRORS, &[("op", op)]);
        self.health
            .fail(Component::Store, crate::notify::error_chain(e));
    }
}

#[cfg(test)]
mod tests;
