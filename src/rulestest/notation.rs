//! promtool's expanding notation for input series, so a test file written
//! for `promtool test rules` reads the same here: `0+10x5` is the six values
//! 0, 10, … 50, one per `interval`. Items, separated by spaces:
//!
//! | item        | values                                                |
//! |-------------|-------------------------------------------------------|
//! | `7`, `-1.5e3`, `NaN`, `+Inf` | one value                            |
//! | `a+bxN`     | N+1 values from `a`, rising by `b` (`a-bxN` falling)  |
//! | `axN`       | `a` N+1 times                                         |
//! | `_`         | no sample at this step                                |
//! | `_xN`       | no sample for N steps                                 |
//! | `stale`, `stalexN` | a staleness marker (see [`Point::Stale`])      |
//!
//! The counts are promtool's own (`axN` and `a+bxN` give N+1 values, `_xN`
//! gives N), so a series copied from a promtool test lines up sample for
//! sample. A test author can write `0+1x1000000000` by mistake; the
//! expansion is bounded by a sample budget checked before anything is
//! allocated, and a count that does not fit in 64 bits is an error too.

/// One step of an input series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Point {
    Value(f64),
    /// `_`: no sample at this step.
    Missing,
    /// `stale`: promtool writes a staleness marker here, which ends the
    /// series at once. OpenMetrics text (what `promtool tsdb
    /// create-blocks-from openmetrics` reads) has no way to write one, so
    /// it is written as a gap: Prometheus then still answers the last
    /// sample for up to its 5-minute lookback.
    Stale,
}

/// The most samples one test may hold over all its input series: about
/// 17 days of 15-second samples for 10 series, and 16 MB of memory.
pub const MAX_SAMPLES: usize = 1_000_000;

/// Expands `text` into one point per step. `budget` is how many samples the
/// test may still add; an expansion past it is an error naming the item.
pub fn expand(text: &str, budget: usize) -> Result<Vec<Point>, String> {
    let mut points = Vec::new();
    for item in text.split_whitespace() {
        let (point, step, times) = item_parts(item)?;
        // promtool: `_xN` is N gaps, every other repetition N+1 values.
        let count = match (point, times) {
            (_, None) => 1,
            (Point::Missing, Some(n)) => n,
            (_, Some(n)) => n.checked_add(1).ok_or_else(|| too_many(item))?,
        };
        let left = budget.saturating_sub(points.len());
        if usize::try_from(count).map_or(true, |c| c > left) {
            return Err(format!(
                "`{item}` expands to {count} samples, past the {MAX_SAMPLES} a test may hold in all its series; shorten the series or widen `interval`"
            ));
        }
        let count = count as usize; // fits: checked against the budget above
        match (point, step) {
            (Point::Value(start), Some(step)) => {
                points.extend((0..count).map(|i| Point::Value(start + step * i as f64)));
            }
            _ => points.extend(std::iter::repeat_n(point, count)),
        }
    }
    Ok(points)
}

fn too_many(item: &str) -> String {
    format!("`{item}`: the repeat count is too large")
}

/// An item's first value, its step (`+b` / `-b`) and its repeat count (`xN`).
fn item_parts(item: &str) -> Result<(Point, Option<f64>, Option<u64>), String> {
    let (head, rest) = if let Some(rest) = item.strip_prefix('_') {
        (Point::Missing, rest)
    } else if let Some(rest) = item.strip_prefix("stale") {
        (Point::Stale, rest)
    } else {
        let (value, rest) = number(item).ok_or_else(|| {
            format!("`{item}` is not a value; write a number (`1.5`, `2e3`, `NaN`, `+Inf`), `a+bxN`, `axN`, `_`, `_xN` or `stale`")
        })?;
        (Point::Value(value), rest)
    };
    let (step, rest) = match rest.chars().next() {
        Some('+' | '-') => {
            if !matches!(head, Point::Value(_)) {
                return Err(format!(
                    "`{item}`: only a number can have a step (`0+10x5`)"
                ));
            }
            let (step, rest) = number(rest)
                .ok_or_else(|| format!("`{item}`: the step after `+`/`-` must be a number"))?;
            if !step.is_finite() {
                return Err(format!("`{item}`: the step must be a finite number"));
            }
            if !rest.starts_with('x') {
                return Err(format!(
                    "`{item}`: a step needs a repeat count, like `{item}x10`"
                ));
            }
            (Some(step), rest)
        }
        _ => (None, rest),
    };
    let times = match rest.strip_prefix('x') {
        None if rest.is_empty() => None,
        None => return Err(format!("`{item}`: unexpected `{rest}`")),
        Some(digits) => {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "`{item}`: `x` must be followed by a whole number of steps, like `x10`"
                ));
            }
            Some(digits.parse::<u64>().map_err(|_| too_many(item))?)
        }
    };
    Ok((head, step, times))
}

/// A number at the start of `s` (sign, digits, fraction, exponent, or
/// `Inf` / `NaN` in any case) and what follows it.
fn number(s: &str) -> Option<(f64, &str)> {
    let bytes = s.as_bytes();
    let mut end = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let word = s.get(end..end + 3).map(str::to_ascii_lowercase);
    let special = matches!(word.as_deref(), Some("inf" | "nan"));
    if special {
        end += 3;
    } else {
        let digits_from = end;
        while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
            end += 1;
        }
        if !s[digits_from..end].bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut exp = end + 1;
            if matches!(bytes.get(exp), Some(b'+' | b'-')) {
                exp += 1;
            }
            let exp_digits = exp;
            while exp < bytes.len() && bytes[exp].is_ascii_digit() {
                exp += 1;
            }
            if exp > exp_digits {
                end = exp;
            }
        }
    }
    let value = s[..end].parse::<f64>().ok()?;
    // `1e400` reads as infinity: almost surely a typo, not a wish for +Inf.
    if !special && !value.is_finite() {
        return None;
    }
    Some((value, &s[end..]))
}

#[cfg(test)]
#[path = "notation_tests.rs"]
mod tests;
