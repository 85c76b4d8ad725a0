//! What the dispatcher must remember when the state store cannot: the
//! outcome of a send it could not record, and deliveries that could not be
//! queued in the store at all. Lives as long as the process (across config
//! reloads), so "sent" means sent once by this process whatever the store
//! says: a message whose send succeeded is never sent again because the disk
//! was full when its row was to be removed.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use jiff::Timestamp;

use crate::domain::{Channel, Delivery, RecipientProgress};

/// A send's outcome waiting to be written to its outbox row.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Sent,
    Retry {
        next_attempt_at: Timestamp,
        error: String,
        /// Who already has it: a retry before the store hears must skip them.
        progress: RecipientProgress,
    },
    Failed {
        error: String,
    },
}

/// A delivery queued in memory because the store refused it. It waits
/// for its channel like a stored row does (the channel backs off, not the
/// item), so it carries no time of its own.
#[derive(Clone, Debug)]
pub struct MemoryItem {
    pub delivery: Delivery,
    pub attempts: u32,
    pub progress: RecipientProgress,
}

/// Bound on deliveries held in memory per channel: a store that stays full
/// for days must not grow the process without limit. Past it the oldest are
/// dropped, each with an ERROR line (they were already said to be at risk).
pub const MAX_IN_MEMORY: usize = 10_000;

#[derive(Default)]
pub struct DeliveryMemory {
    /// Outbox row id → (channel, outcome not yet recorded).
    unrecorded: Mutex<HashMap<i64, (Channel, Outcome)>>,
    /// Channel → deliveries the store could not take, oldest first.
    queued: Mutex<HashMap<Channel, VecDeque<MemoryItem>>>,
}

impl DeliveryMemory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn remember_outcome(&self, id: i64, channel: Channel, outcome: Outcome) {
        self.unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (channel, outcome));
    }

    /// Whether row `id` already has an outcome this process knows of.
    pub fn knows(&self, id: i64) -> bool {
        self.unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&id)
    }

    /// The outcome of row `id` the store has not heard yet, if any.
    pub fn outcome(&self, id: i64) -> Option<Outcome> {
        self.unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map(|(_, o)| o.clone())
    }

    /// Outcomes of `channel` still to be written, oldest row first.
    pub fn unrecorded(&self, channel: Channel) -> Vec<(i64, Outcome)> {
        let map = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(i64, Outcome)> = map
            .iter()
            .filter(|(_, (c, _))| *c == channel)
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
    pub fn push(&self, channel: Channel, item: MemoryItem) -> usize {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        let queue = queued.entry(channel).or_default();
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

    /// Takes every in-memory delivery of `channel`, oldest first.
    pub fn take_all(&self, channel: Channel) -> VecDeque<MemoryItem> {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        queued
            .get_mut(&channel)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Puts back, ahead of anything queued since, deliveries taken by
    /// [`take_all`](Self::take_all) and not settled: their channel stopped
    /// answering, and they keep their place in line.
    pub fn put_back(&self, channel: Channel, items: VecDeque<MemoryItem>) {
        if items.is_empty() {
            return;
        }
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        let queue = queued.entry(channel).or_default();
        let newer = std::mem::replace(queue, items);
        queue.extend(newer);
    }

    pub fn queued_count(&self) -> usize {
        let queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        queued.values().map(VecDeque::len).sum()
    }
}
