//! The one spelling of values for people: a number in its check's unit
//! (`0.42%`, `2.3s`, `NaN`), a configured duration (`30s`, `1h30m`, `5d`),
//! an elapsed time (`1h 5m`), a byte size (`16 MiB`), HTML-escaped text.
//! Every renderer, the reasons, the CLI and the config diagnostics print through here.

use std::time::Duration;

use super::threshold::Unit;

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

/// A series' labels as PromQL writes them, `{region="eu"}`, or `(no labels)`.
pub fn labels_or_none(labels: &std::collections::BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "(no labels)".into();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// `0.0042` in percent notation → `0.42%`; seconds → `2.31s`.
pub fn format_in_unit(value: f64, unit: Unit) -> String {
    if let Some(text) = super::float::non_finite_text(value) {
        return text.to_string();
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

/// An error and its causes on one line (`a: b: c`), skipping a cause its
/// parent already quotes; for log lines and the outbox's `last_error`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text.replace(['\r', '\n'], " ")
}

/// The innermost cause of an error: what a person can act on when the
/// outer layers only say "error sending request".
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Escapes text for HTML element content and double- or single-quoted
/// attribute values: the one escaping function of every HTML Sena writes
/// (the email body, the dashboard, `sena backtest --format html`). A
/// character `printable` refuses (ESC, NUL, a bidi override) becomes
/// U+FFFD.
pub fn escape_html_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Refused at every door (`printable`); an older record may
            // still hold one.
            c if super::printable::never_printed(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// [`escape_html_into`] a new string.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_html_into(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_replaces_what_no_door_accepts() {
        assert_eq!(
            escape_html("<a>\u{1b}[2J\0\u{202e}\r\n\tok"),
            "&lt;a&gt;\u{fffd}[2J\u{fffd}\u{fffd}\r\n\tok"
        );
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
}
