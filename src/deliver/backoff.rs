//! Backoff per channel, not per message. After an outage a channel must
//! deliver in the order its messages were queued; with a timer per message
//! the youngest (fewest failures, shortest wait) went out first. So the
//! channel keeps one count of consecutive transient failures and one time
//! before which it sends nothing; its oldest message is what it tries when
//! that time comes. Tokio's clock, so tests run many retries in paused time.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

/// Retry schedule: 1s, 2s, 4s … capped at 5 minutes, ±20% jitter so many
/// channels (and many Senas) do not hammer a recovering server in lockstep.
pub fn backoff(attempts: u32) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1u32 << attempts.min(9))
        .min(Duration::from_secs(300));
    let jitter = (RandomState::new().build_hasher().finish() % 4001) as f64 / 10_000.0 - 0.2;
    base.mul_f64(1.0 + jitter)
}

/// One channel's state between sends.
#[derive(Debug, Default)]
pub(super) struct ChannelBackoff {
    /// Transient failures since the channel last delivered.
    failures: u32,
    /// Nothing is sent on the channel before this.
    until: Option<Instant>,
}

impl ChannelBackoff {
    /// A transient failure: the channel waits what the server asked for
    /// (`Retry-After`), else the schedule for its failures so far. Returns
    /// the wait.
    pub(super) fn failed(&mut self, retry_after: Option<Duration>) -> Duration {
        let wait = retry_after.unwrap_or_else(|| backoff(self.failures));
        self.failures = self.failures.saturating_add(1);
        let now = Instant::now();
        // A server may ask for any wait; past what the clock can hold,
        // the longest wait of the schedule.
        self.until = Some(
            now.checked_add(wait)
                .unwrap_or_else(|| now + Duration::from_secs(300)),
        );
        wait
    }

    /// The channel delivered: it is healthy, the schedule starts over.
    pub(super) fn delivered(&mut self) {
        *self = ChannelBackoff::default();
    }

    /// How long the channel still waits, if it does.
    pub(super) fn remaining(&self) -> Option<Duration> {
        let left = self.until?.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then_some(left)
    }

    pub(super) fn failures(&self) -> u32 {
        self.failures
    }
}
