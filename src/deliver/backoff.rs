//! Backoff per channel, not per message. After an outage a channel must
//! deliver in the order its messages were queued; with a timer per message
//! the youngest (fewest failures, shortest wait) went out first. So the
//! channel keeps one count of consecutive transient failures and one time
//! before which it sends nothing; its oldest message is what it tries when
//! that time comes. Tokio's clock, so tests run many retries in paused time.
//!
//! A server's `Retry-After` is honoured only between [`MIN_WAIT`] and
//! [`MAX_WAIT`]: a proxy answering `Retry-After: 86400` muted Slack for a
//! day, and `Retry-After: 0` made 75 attempts in 3.3 s. Neither is what a
//! pager should do, so the ask is clamped and the clamp logged.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

/// The shortest wait after a failure: the schedule's first step.
pub const MIN_WAIT: Duration = Duration::from_secs(1);
/// The longest: the schedule's cap, and the most a `Retry-After` gets.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// Retry schedule: 1s, 2s, 4s … capped at 5 minutes, ±20% jitter so many
/// channels (and many Senas) do not hammer a recovering server in lockstep.
pub fn backoff(attempts: u32) -> Duration {
    let base = MIN_WAIT
        .saturating_mul(1u32 << attempts.min(9))
        .min(MAX_WAIT);
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

/// The wait after a transient failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Wait {
    /// How long the channel sends nothing.
    pub(super) wait: Duration,
    /// The server's `Retry-After`, when it was outside `MIN_WAIT..=MAX_WAIT`
    /// and so not what the channel waits.
    pub(super) clamped_from: Option<Duration>,
}

/// A server's `Retry-After`, within `MIN_WAIT..=MAX_WAIT`.
pub(super) fn honour_retry_after(asked: Duration) -> Wait {
    let wait = asked.clamp(MIN_WAIT, MAX_WAIT);
    Wait {
        wait,
        clamped_from: (wait != asked).then_some(asked),
    }
}

impl ChannelBackoff {
    /// A transient failure: the channel waits what the server asked for
    /// (`Retry-After`, clamped), else the schedule for its failures so far.
    pub(super) fn failed(&mut self, retry_after: Option<Duration>) -> Wait {
        let wait = match retry_after {
            Some(asked) => honour_retry_after(asked),
            None => Wait {
                wait: backoff(self.failures),
                clamped_from: None,
            },
        };
        self.failures = self.failures.saturating_add(1);
        self.until = Some(Instant::now() + wait.wait);
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
