//! Evaluating with a failing state store (disk full, I/O errors). Sena keeps
//! judging and paging: what an evaluation decided but could not commit is
//! kept here, in memory, and the next evaluation starts from it, so an
//! incident is opened and paged once (from memory, saying the store is
//! failing), escalates on time, and reaches the store whole with the first
//! commit that works again.

use crate::domain::Channel;
use jiff::Timestamp;

use super::engine::Shared;
use crate::decide::StagePosition;
use crate::deliver::memory::MemoryItem;
use crate::health::Component;
use crate::notify::Delivery;
use crate::state::{Incident, RolloutMemory, RolloutState, StoreError};

/// A rollout's state that lives only in memory until the store accepts it.
#[derive(Clone, Debug)]
pub struct Unsaved {
    pub stage: StagePosition,
    /// The stage is Sena's own default (never stored), so it must be written.
    pub stage_unsaved: bool,
    pub memory: RolloutMemory,
    /// The incident as last decided, open or just resolved.
    pub incident: Option<Incident>,
    /// The stored version the kept state was computed from.
    pub version: i64,
}

impl Unsaved {
    /// The state the next transition starts from.
    pub fn state(&self) -> RolloutState {
        RolloutState {
            memory: Some(self.memory.clone()),
            incident: self.incident.clone().filter(|i| i.resolved_at.is_none()),
            hold: None,
            version: self.version,
        }
    }
}

impl Shared {
    pub(super) fn unsaved_state(&self, rollout: &str) -> Option<Unsaved> {
        self.unsaved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(rollout)
            .cloned()
    }

    pub(super) fn keep_unsaved(&self, rollout: &str, state: Unsaved) {
        self.unsaved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rollout.to_string(), state);
    }

    /// A commit of `rollout` went through: its memory-only state is stored.
    pub(super) fn committed(&self, rollout: &str) {
        let mut unsaved = self.unsaved.lock().unwrap_or_else(|p| p.into_inner());
        unsaved.remove(rollout);
        // Only the evaluation commit, the biggest write, says the store is
        // well again: a nearly full disk may still take a small update.
        self.health.recover(Component::Store);
    }

    /// The stored stage (recording stage 0 from `now` the first time), or,
    /// when the store cannot, stage 0 from `now` kept in memory. The flag
    /// says the stage is not stored.
    pub(super) async fn stage_or_default(
        &self,
        rollout: &str,
        now: Timestamp,
    ) -> (StagePosition, bool) {
        let name = rollout.to_string();
        let read = self
            .store
            .call(move |s| Ok(stage_or_stored(s, &name, now)))
            .await;
        self.stage_from(read, now)
    }

    /// The stage (as [`Shared::stage_or_default`]) and what was last said,
    /// the open incident and their version, in one call to the store; a
    /// state that cannot be read is empty (the evaluation then pages as if
    /// new, which is loud but never silent).
    pub(super) async fn stage_and_state(
        &self,
        rollout: &str,
        now: Timestamp,
    ) -> ((StagePosition, bool), RolloutState) {
        let name = rollout.to_string();
        let read = self
            .store
            .call(move |s| Ok((stage_or_stored(s, &name, now), s.rollout_state(&name))))
            .await;
        let (stage_read, state) = match read {
            Ok((stage_read, state)) => (Ok(stage_read), state),
            Err(e) => (Err(e), Err(StoreError::Stopped)),
        };
        let stage = self.stage_from(stage_read, now);
        let state = state.unwrap_or_else(|e| {
            self.store_failed("read_state", &e);
            RolloutState::default()
        });
        (stage, state)
    }

    /// The stage a read found, or stage 0 from `now` kept in memory (the
    /// flag says it is not stored); a failure is counted once here.
    fn stage_from(
        &self,
        read: Result<(Option<StagePosition>, Option<StoreError>), StoreError>,
        now: Timestamp,
    ) -> (StagePosition, bool) {
        let (stage, failed) = read.unwrap_or_else(|e| (None, Some(e)));
        if let Some(e) = failed {
            self.store_failed("read_stage", &e);
        }
        match stage {
            Some(stage) => (stage, false),
            None => (
                StagePosition {
                    index: 0,
                    started_at: now,
                },
                true,
            ),
        }
    }

    /// An id for an incident about to open: reserved in the store, or, when
    /// the store cannot write, handed out from memory above every id the
    /// store knows and every id this process handed out before.
    pub(super) async fn reserve_incident_id(&self) -> i64 {
        let floor = self.incident_id_floor.clone();
        let reserved = self
            .store
            .call(move |s| {
                // One reservation at a time (the store's thread, and the
                // floor's lock for callers on other threads): a reservation
                // that succeeds while another falls back to memory must not
                // hand out the same id.
                let mut floor = floor.lock().unwrap_or_else(|p| p.into_inner());
                Ok(match s.next_incident_id(*floor) {
                    // Remembered too: on a full disk the counter's commit can
                    // fail after RETURNING already answered, so the store may
                    // not know this id was handed out.
                    Ok(id) => {
                        *floor = (*floor).max(id);
                        (id, None)
                    }
                    Err(e) => {
                        let known = s.peek_incident_id().unwrap_or(0);
                        *floor = (*floor).max(known).saturating_add(1);
                        (*floor, Some(e))
                    }
                })
            })
            .await;
        match reserved {
            Ok((id, failed)) => {
                if let Some(e) = failed {
                    self.store_failed("reserve_incident_id", &e);
                }
                id
            }
            Err(e) => {
                // The store's thread is gone: still never reuse an id.
                self.store_failed("reserve_incident_id", &e);
                let mut floor = self
                    .incident_id_floor
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                *floor = floor.saturating_add(1);
                *floor
            }
        }
    }

    /// Hands an evaluation's deliveries to the dispatcher in memory, each
    /// saying that the store is failing, because the store did not take them.
    pub(super) fn page_from_memory(&self, outbox: Vec<(Channel, Delivery)>, e: &StoreError) {
        if outbox.is_empty() {
            return;
        }
        let why = crate::notify::error_chain(e);
        let notice = format!(
            "Sena's state store is failing ({why}): this message was sent from memory and is not recorded; until the store recovers a restart of Sena may repeat it."
        );
        for (channel, mut delivery) in outbox {
            tracing::warn!(channel = channel.as_str(), key = %delivery.dedup_key, rollout = %delivery.advisory.rollout, "state store failing: sending from memory");
            delivery.advisory.notice = Some(notice.clone());
            self.delivery_memory.push(
                channel,
                MemoryItem {
                    delivery,
                    attempts: 0,
                    progress: Default::default(),
                },
            );
        }
        self.outbox_wake.notify_waiters();
    }
}

/// On the store's thread: the stored stage (recorded from `now` the first
/// time), or, when that write fails, whatever stage is stored, with the error.
fn stage_or_stored(
    s: &crate::state::Store,
    rollout: &str,
    now: Timestamp,
) -> (Option<StagePosition>, Option<StoreError>) {
    match s.stage_or_start(rollout, now) {
        Ok(stage) => (Some(stage), None),
        Err(e) => (s.stage(rollout).ok().flatten(), Some(e)),
    }
}
