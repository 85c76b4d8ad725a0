//! Duration arithmetic that cannot panic.
//!
//! Durations reach Sena from YAML (`for`, `bake`, `after`, `repeat`,
//! `journal_retention`), from a Slack `Retry-After` header and from the
//! clock. The standard operators panic on overflow (`Duration * 3`,
//! `Timestamp + SignedDuration`, `Instant + Duration`), and `as` casts wrap
//! silently, so one typo (`for: 2562047788015215h`) or one hostile header
//! could take the daemon down or turn "wait a very long time" into "wait
//! zero". Every sum, product and conversion of a duration outside pure
//! formatting goes through here and saturates at the end of the range: a
//! very long wait stays a very long wait.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// `d` as a signed duration, `SignedDuration::MAX` when it does not fit.
pub fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// The instant `d` after `t`, or the last representable instant.
pub fn after(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(signed(d)).unwrap_or(Timestamp::MAX)
}

/// The instant `d` before `t`, or the first representable instant.
pub fn before(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_sub(signed(d)).unwrap_or(Timestamp::MIN)
}

/// Time from `since` to `now`; zero when `since` is later (a clock step
/// back must not read as a huge positive age).
pub fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

/// Whole seconds as `i64`, `i64::MAX` beyond it (an `as` cast would wrap
/// to a negative number).
pub fn whole_seconds(d: Duration) -> i64 {
    seconds(d.as_secs())
}

/// A `u64` count of seconds as `i64`, `i64::MAX` beyond it.
pub fn seconds(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// `d * factor`, `Duration::MAX` on overflow.
pub fn times(d: Duration, factor: u32) -> Duration {
    d.saturating_mul(factor)
}

/// The monotonic instant `d` after `t`, capped about thirty years out
/// (tokio's own "far future"), which no timer in Sena outlives.
pub fn instant_after(t: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    t.checked_add(d.min(FAR))
        .or_else(|| t.checked_add(FAR))
        .unwrap_or(t)
}

#[cfg(test)]
#[path = "saturating_tests.rs"]
mod tests;
