//! Scalar notations rule authors write: `0.1%`, `2s`, `250ms`, `0.95`, `95%`.

use crate::domain::Unit;
use std::time::Duration;

/// Parses a threshold value. Percentages become fractions (`0.1%` → 0.001),
/// durations become seconds (`2s` → 2.0, `250ms` → 0.25). A limit must be a
/// finite number that reads as written: NaN and infinity compare as neither
/// healthy nor breaching, and `1e-400` would silently become 0.
pub fn parse_threshold_value(text: &str) -> Result<(f64, Unit), String> {
    let t = text.trim();
    if is_special_float(t.strip_suffix('%').unwrap_or(t).trim()) {
        return Err(format!(
            "`{t}` is not a finite number, so no value can be compared with it; write a limit like `0.95`, `0.1%` or `2s`"
        ));
    }
    if let Some(number) = t.strip_suffix('%') {
        let v: f64 = number.trim().parse().map_err(|_| {
            format!("`{t}` is not a percentage; write a number before `%`, like `0.1%`")
        })?;
        return representable(v / 100.0, number, t).map(|v| (v, Unit::Percent));
    }
    if let Ok(v) = t.parse::<f64>() {
        return representable(v, t, t).map(|v| (v, Unit::Plain));
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok((d.as_secs_f64(), Unit::Seconds)),
        Err(_) => Err(format!(
            "`{t}` is not a threshold; write a number (`0.95`), a percentage (`95%`) or a duration (`2s`, `250ms`)"
        )),
    }
}

/// NaN and infinity as YAML and Rust spell them (`.nan`, `-.inf`, `inf`).
fn is_special_float(t: &str) -> bool {
    let unsigned = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
    matches!(
        unsigned.as_str(),
        "nan" | ".nan" | "inf" | ".inf" | "infinity"
    )
}

/// `v`, parsed from `number` (written as `t`), if it is the number written:
/// not overflowed to infinity, not underflowed to zero.
fn representable(v: f64, number: &str, t: &str) -> Result<f64, String> {
    if !v.is_finite() {
        return Err(format!(
            "`{t}` is too large to be a limit: it reads as infinity; write a finite number"
        ));
    }
    let mantissa = number.split(['e', 'E']).next().unwrap_or("");
    if v == 0.0 && mantissa.chars().any(|c| ('1'..='9').contains(&c)) {
        return Err(format!(
            "`{t}` is too small to be a limit: it reads as 0, so the check would compare against 0; write `0` if that is what you mean"
        ));
    }
    Ok(v)
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

#[cfg(test)]
mod tests {
    use super::*;
    // Parsing here and printing in `domain::format` must agree: tested together.
    use crate::domain::format::{format_bytes, format_elapsed, format_in_unit, trim_float};

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
    fn limits_that_cannot_be_compared_are_errors() {
        for t in [
            ".nan", "NaN", ".inf", "-.inf", "+inf", "Infinity", ".nan%", "1e400", "-1e400",
            "1e400%",
        ] {
            assert!(parse_threshold_value(t).is_err(), "{t}");
        }
        let tiny = parse_threshold_value("1e-400").unwrap_err();
        assert!(tiny.contains("reads as 0"), "{tiny}");
        assert!(parse_threshold_value("1e-322%").is_err());
        assert_eq!(parse_threshold_value("0").unwrap(), (0.0, Unit::Plain));
        assert_eq!(parse_threshold_value("0e10").unwrap(), (0.0, Unit::Plain));
        assert_eq!(parse_threshold_value("-0.0%").unwrap().0, 0.0);
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
    fn elapsed_times_read_as_said() {
        assert_eq!(format_elapsed(45), "45s");
        assert_eq!(format_elapsed(130), "2m 10s");
        assert_eq!(format_elapsed(3900), "1h 5m");
        assert_eq!(format_elapsed(2 * 86_400 + 3 * 3600 + 59), "2d 3h");
    }
}
