//! How a configured duration reads back to a person (`30s`, `1h30m`, `5d`).
//! A leaf with no crate imports, so the pure modules that print durations
//! (`roster`'s chains, `decide`'s reasons) and the config reader that quotes
//! them in errors share one spelling without depending on each other.

use std::time::Duration;

/// A configured duration, exactly and compactly, as authors write them:
/// `250ms`, `30s`, `1h30m`, `24h`, `5d` (days only from two days up, so a
/// one-day bake reads `24h`).
pub fn format_duration(d: Duration) -> String {
    let total = d.as_secs();
    let millis = d.subsec_millis();
    if total == 0 {
        return if millis == 0 {
            "0s".into()
        } else {
            format!("{millis}ms")
        };
    }
    let days = if total >= 2 * 86_400 {
        total / 86_400
    } else {
        0
    };
    let rest = total - days * 86_400;
    [
        (days, "d"),
        (rest / 3600, "h"),
        (rest % 3600 / 60, "m"),
        (rest % 60, "s"),
        (u64::from(millis), "ms"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, unit)| format!("{n}{unit}"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        let cases = [
            (30, "30s"),
            (120, "2m"),
            (5400, "1h30m"),
            (86_400, "24h"),
            (5 * 86_400, "5d"),
            (0, "0s"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_duration(Duration::from_secs(secs)), text);
        }
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }
}
