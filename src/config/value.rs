//! Scalar notations rule authors write: `0.1%`, `2s`, `250ms`, `0.95`, `95%`.

use super::model::Unit;
use std::time::Duration;

/// Parses a threshold value. Percentages become fractions (`0.1%` → 0.001),
/// durations become seconds (`2s` → 2.0, `250ms` → 0.25).
pub fn parse_threshold_value(text: &str) -> Result<(f64, Unit), String> {
    let t = text.trim();
    if let Some(number) = t.strip_suffix('%') {
        let v: f64 = number.trim().parse().map_err(|_| {
            format!("`{t}` is not a percentage; write a number before `%`, like `0.1%`")
        })?;
        return finite(v / 100.0, t).map(|v| (v, Unit::Percent));
    }
    if let Ok(v) = t.parse::<f64>() {
        return finite(v, t).map(|v| (v, Unit::Plain));
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok((d.as_secs_f64(), Unit::Seconds)),
        Err(_) => Err(format!(
            "`{t}` is not a threshold; write a number (`0.95`), a percentage (`95%`) or a duration (`2s`, `250ms`)"
        )),
    }
}

fn finite(v: f64, t: &str) -> Result<f64, String> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("`{t}` is not a finite number"))
    }
}

/// Parses a traffic share `5%` (or a bare `5`).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let number = t.strip_suffix('%').unwrap_or(t).trim();
    match number.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        Ok(_) => Err(format!("traffic `{t}` must be between 0% and 100%")),
        Err(_) => Err(format!(
            "traffic `{t}` is not a percentage; write it like `5%`"
        )),
    }
}

/// Parses a humantime duration (`30s`, `5m`, `1h30m`, `5d`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!(
            "`{}` is not a duration ({e}); write it like `30s`, `5m` or `1h30m`",
            text.trim()
        )
    })
}

/// Parses a size in bytes: a plain integer (`16777216`) or a number with a
/// unit, binary (`KiB`, `MiB`, `GiB`) or decimal (`kB`/`KB`, `MB`, `GB`), as
/// `16MiB` or `16 MiB`. At least one byte; never more than u64 holds.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (t[..split].replace('_', ""), t[split..].trim());
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => {
            return Err(format!(
                "`{t}` is not a size; write bytes (`16777216`) or a number with KiB, MiB, GiB, kB, MB or GB, like `16MiB`"
            ))
        }
    };
    let bytes = if number.contains('.') {
        number
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| n * scale as f64)
            .filter(|b| *b < u64::MAX as f64)
            .map(|b| b as u64)
    } else {
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
    };
    match bytes {
        Some(0) => Err(format!("`{t}` must be at least 1 byte")),
        Some(b) => Ok(b),
        None if number.is_empty() => Err(format!(
            "`{t}` is not a size; write bytes (`16777216`) or a number with a unit, like `16MiB`"
        )),
        None => Err(format!("`{t}` is too large a size")),
    }
}

/// A byte count as it was most likely written: `16 MiB`, `2 GiB`, else
/// exactly, `100000 bytes` (a rounded figure would not match the config).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (scale, unit) in UNITS {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{} {unit}", bytes / scale);
        }
    }
    format!("{bytes} bytes")
}

/// `0.0042` in percent notation → `0.42%`; seconds → `2.31s`.
pub fn format_in_unit(value: f64, unit: Unit) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    match unit {
        Unit::Plain => trim_float(value),
        Unit::Percent => format!("{}%", trim_float(value * 100.0)),
        Unit::Seconds => format!("{}s", trim_float(value)),
    }
}

/// Up to four significant decimals, no trailing zeros: 0.1, 2.3457, 95.
pub fn trim_float(v: f64) -> String {
    let s = if v != 0.0 && v.abs() < 0.001 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    };
    if s.contains('e') {
        return s;
    }
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

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

/// An elapsed time, approximately, at most two units, as a person says it:
/// `45s`, `12m`, `1h 5m`, `2d 3h`.
pub fn format_elapsed(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) if sec == 0 || m >= 10 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_notations() {
        assert_eq!(
            parse_threshold_value("0.1%").unwrap(),
            (0.001, Unit::Percent)
        );
        assert_eq!(parse_threshold_value("2s").unwrap(), (2.0, Unit::Seconds));
        assert_eq!(
            parse_threshold_value("250ms").unwrap(),
            (0.25, Unit::Seconds)
        );
        assert_eq!(parse_threshold_value("0.95").unwrap(), (0.95, Unit::Plain));
        assert_eq!(parse_threshold_value("95%").unwrap().0, 0.95);
        assert!(parse_threshold_value("fast").is_err());
        assert!(parse_threshold_value("x%").is_err());
        assert!(parse_threshold_value("inf").is_err());
    }

    #[test]
    fn formatting_keeps_the_authors_unit() {
        assert_eq!(format_in_unit(0.0042, Unit::Percent), "0.42%");
        assert_eq!(format_in_unit(2.5, Unit::Seconds), "2.5s");
        assert_eq!(format_in_unit(0.95, Unit::Plain), "0.95");
        assert_eq!(trim_float(100.0), "100");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_byte_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_byte_size("16 MiB").unwrap(), 16 << 20);
        assert_eq!(parse_byte_size("1_000").unwrap(), 1000);
        assert_eq!(parse_byte_size("2kB").unwrap(), 2000);
        assert_eq!(parse_byte_size("1.5GiB").unwrap(), 3 << 29);
        for bad in [
            "0",
            "16 parsecs",
            "MiB",
            "-1",
            "99999999999999999999",
            "1e3",
            "NaN",
        ] {
            assert!(parse_byte_size(bad).is_err(), "{bad}");
        }
        assert_eq!(format_bytes(16 << 20), "16 MiB");
        assert_eq!(format_bytes(3 << 29), "1536 MiB");
        assert_eq!(format_bytes(100_000), "100000 bytes");
        assert_eq!(format_bytes(512), "512 bytes");
    }

    #[test]
    fn percent_bounds() {
        assert_eq!(parse_percent("5%").unwrap(), 5.0);
        assert!(parse_percent("150%").is_err());
        assert!(parse_percent("five").is_err());
    }

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

    #[test]
    fn elapsed_times_read_as_said() {
        assert_eq!(format_elapsed(45), "45s");
        assert_eq!(format_elapsed(130), "2m 10s");
        assert_eq!(format_elapsed(3900), "1h 5m");
        assert_eq!(format_elapsed(2 * 86_400 + 3 * 3600 + 59), "2d 3h");
    }
}
