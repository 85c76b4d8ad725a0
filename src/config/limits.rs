//! Values that parse but cannot mean anything. `interval: 1ns` is a valid
//! duration and `below: -1` a valid number, yet the first floods Prometheus
//! and the second never passes. Parsing says whether a value is *written*
//! right; this module says whether it can *work*, so `sena check` catches
//! it at the line instead of the rollout finding out.
//!
//! Errors for what Sena cannot honour as written (an interval under a
//! second, a `for` longer than any rollout, a limit that is not a finite
//! number); warnings for limits that are fine numbers but can never pass or
//! never fail for the values their notation implies, since only the query
//! knows its range for sure.

use std::time::Duration;

use serde_saphyr::Spanned;

use super::reader::{Fields, FileDiags};
use super::{Bound, Threshold, Unit};
use crate::domain::format::format_duration;

/// Faster than once a second is a query flood, not closer watching.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Slower than daily is not watching a rollout; also keeps every timer far
/// inside what the runtime can schedule.
pub const MAX_INTERVAL: Duration = Duration::from_secs(86_400);
/// No canary stage lasts longer; beyond it a breach could never count.
pub const MAX_FOR: Duration = Duration::from_secs(30 * 86_400);

/// An evaluation interval within `MIN_INTERVAL..=MAX_INTERVAL`; `default`
/// when absent or out of range (after the error is reported).
pub(crate) fn interval(d: &mut FileDiags, f: &Fields, default: Duration) -> Duration {
    let value = f.duration(d, "interval", default);
    let Some(node) = f.get("interval") else {
        return value;
    };
    let written = node.value.scalar_text().unwrap_or_default();
    let written = written.trim();
    if value < MIN_INTERVAL {
        d.error(
            &node.referenced,
            format!(
                "`interval: {written}` is under 1s; each interval sends one query per check to Prometheus, so write at least `1s` (the default is `30s`)"
            ),
        );
        return default;
    }
    if value > MAX_INTERVAL {
        d.error(
            &node.referenced,
            format!(
                "`interval: {written}` is over {}; a rollout checked less than daily is not being watched",
                format_duration(MAX_INTERVAL)
            ),
        );
        return default;
    }
    value
}

/// A check's `for`, at most `MAX_FOR`.
pub(crate) fn for_duration(d: &mut FileDiags, f: &Fields) -> Duration {
    let value = f.duration(d, "for", Duration::ZERO);
    match f.get("for") {
        Some(node) if value > MAX_FOR => {
            let written = node.value.scalar_text().unwrap_or_default();
            d.error(
                &node.referenced,
                format!(
                    "`for: {}` is over {}; a breach would have to outlast any rollout before the check failed, so it never would",
                    written.trim(),
                    format_duration(MAX_FOR)
                ),
            );
            Duration::ZERO
        }
        _ => value,
    }
}

/// What a threshold's notation says about the values it is compared with.
struct Range {
    /// The lowest value the notation allows.
    min: f64,
    /// The highest, when there is one.
    max: Option<f64>,
    /// Why, as the message says it.
    floor_why: &'static str,
    ceiling_why: &'static str,
}

fn range(unit: Unit) -> Range {
    match unit {
        Unit::Percent => Range {
            min: 0.0,
            max: Some(1.0),
            floor_why: "a ratio written as a percentage is never under 0%",
            ceiling_why: "a ratio written as a percentage is never over 100%",
        },
        Unit::Seconds => Range {
            min: 0.0,
            max: None,
            floor_why: "a duration is never under 0s",
            ceiling_why: "",
        },
        Unit::Plain => Range {
            min: 0.0,
            max: None,
            floor_why: "rates, ratios, counts and latencies are never negative (if this query can be, ignore this warning)",
            ceiling_why: "",
        },
    }
}

/// Warns when `threshold` can never pass or never fail for the values its
/// notation implies. `written` is the limit as the author wrote it.
pub(crate) fn threshold_warnings(d: &mut FileDiags, t: &Threshold, written: &Spanned<String>) {
    let r = range(t.unit);
    let (key, healthy) = match t.bound {
        Bound::Below => ("below", "under"),
        Bound::Above => ("above", "over"),
    };
    let limit = written.value.trim();
    let never_pass = |why: &str| {
        format!(
            "`{key}: {limit}` can never pass: the check is healthy only while the value is {healthy} {limit}, and {why}, so it always breaches; check the sign, the unit and whether you meant `{}`",
            if key == "below" { "above" } else { "below" }
        )
    };
    let never_fail = |why: &str| {
        format!(
            "`{key}: {limit}` can never fail: {why}, so every value is {healthy} {limit} and the check always says continue; check the sign and the unit"
        )
    };
    let message = match t.bound {
        Bound::Below if t.value <= r.min => Some(never_pass(r.floor_why)),
        Bound::Below if r.max.is_some_and(|max| t.value > max) => Some(never_fail(r.ceiling_why)),
        Bound::Above if r.max.is_some_and(|max| t.value >= max) => Some(never_pass(r.ceiling_why)),
        Bound::Above if t.value < r.min => Some(never_fail(r.floor_why)),
        _ => None,
    };
    if let Some(message) = message {
        d.warning(&written.referenced, message);
    }
}
