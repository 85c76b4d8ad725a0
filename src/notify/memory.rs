//! What the dispatcher must remember when the state store cannot: the
//! outcome of a send it could not record, and deliveries that could not be
//! queued in the store at all. Lives as long as the process (across config
//! reloads), so "sent" means sent once by this process whatever the store
//! says: a message whose send succeeded is never sent again because the disk
//! was full when its row was to be removed.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use jiff::Timestamp;

use super::Delivery;

/// A send's outcome waiting to be written to its outbox row.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Sent,
    Retry {
        next_attempt_at: Timestamp,
        error: String,
    },
    Failed {
        error: String,
    },
}

/// A delivery queued in memory because the store refused it.
#[derive(Clone, Debug)]
pub struct MemoryItem {
    pub delivery: Delivery,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
}

/// Bound on deliveries held in memory per channel: a store that stays full
/// for days must not grow the process without limit. Past it the oldest are
/// dropped, each with an ERROR line (they were already said to be at risk).
pub const MAX_IN_MEMORY: usize = 10_000;

#[derive(Default)]
pub struct DeliveryMemory {
    /// Outbox row id → (channel, outcome not yet recorded).
    unrecorded: Mutex<HashMap<i64, (String, Outcome)>>,
    /// Channel → deliveries the store could not take, oldest first.
    queued: Mutex<HashMap<String, VecDeque<MemoryItem>>>,
}

impl DeliveryMemory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn remember_outcome(&self, id: i64, channel: &str, outcome: Outcome) {
        self.unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (channel.to_string(), outcome));
    }

    /// Whether row `id` already has an outcome this process knows of.
    pub fn knows(&self, id: i64) -> bool {
        self.unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&id)
    }

    /// Outcomes of `channel` still to be written, oldest row first.
    pub fn unrecorded(&self, channel: &str) -> Vec<(i64, Outcome)> {
        let map = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(i64, Outcome)> = map
            .iter()
            .filter(|(_, (c, _))| c == channel)
            .map(|(id, (_, o))| (*id, o.clone()))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// The store has the outcome of `id` now.
    pub fn recorded(&self, id: i64) {
        self.unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    pub fn unrecorded_count(&self) -> usize {
        self.unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Queues a delivery in memory; returns how many old ones were dropped
    /// to stay within [`MAX_IN_MEMORY`].
    pub fn push(&self, channel: &str, item: MemoryItem) -> usize {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        let queue = queued.entry(channel.to_string()).or_default();
        // The same key twice (a fallback of a fallback, a retried push) is
        // one message, as in the store's outbox.
        if queue
            .iter()
            .any(|q| q.delivery.dedup_key == item.delivery.dedup_key)
        {
            return 0;
        }
        queue.push_back(item);
        let mut dropped = 0;
        while queue.len() > MAX_IN_MEMORY {
            if let Some(old) = queue.pop_front() {
                tracing::error!(key = %old.delivery.dedup_key, rollout = %old.delivery.advisory.rollout, "dropping a notification held in memory: too many waiting while the state store fails");
                dropped += 1;
            }
        }
        dropped
    }

    /// Takes the in-memory deliveries of `channel` due at `now`, in order.
    pub fn take_due(&self, channel: &str, now: Timestamp) -> Vec<MemoryItem> {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        let Some(queue) = queued.get_mut(channel) else {
            return Vec::new();
        };
        let (due, waiting): (VecDeque<_>, VecDeque<_>) =
            queue.drain(..).partition(|i| i.next_attempt_at <= now);
        *queue = waiting;
        due.into()
    }

    /// When the next in-memory delivery of `channel` is due, if any waits.
    pub fn next_due_at(&self, channel: &str) -> Option<Timestamp> {
        let queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        queued.get(channel)?.iter().map(|i| i.next_attempt_at).min()
    }

    pub fn queued_count(&self) -> usize {
        let queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        queued.values().map(VecDeque::len).sum()
    }
}
