//! Charts drawn on the server as inline SVG: a check's values over the
//! current stage with its threshold as a dashed line and the breaching
//! stretches shaded, and the verdict timeline as a coloured band with a
//! title per stretch. No script and no library; missing values (no data,
//! NaN, ±Inf) leave gaps, never a panic or a line to infinity.

use jiff::Timestamp;

use super::html::Html;
use crate::domain::{Threshold, Verdict};

const WIDTH: f64 = 400.0;
const HEIGHT: f64 = 120.0;
const PAD: f64 = 6.0;

/// One value of a check at an instant; `None` when there was none.
pub type Point = (Timestamp, Option<f64>);

/// x of `at` within `[start, end]`, in plot coordinates.
fn x_of(at: Timestamp, start: Timestamp, end: Timestamp) -> f64 {
    let span = (end.as_millisecond() - start.as_millisecond()).max(1) as f64;
    let offset = (at.as_millisecond() - start.as_millisecond()) as f64;
    PAD + (offset / span).clamp(0.0, 1.0) * (WIDTH - 2.0 * PAD)
}

/// Two decimals are plenty for a 400-unit drawing.
fn n(v: f64) -> String {
    format!("{v:.2}")
}

/// The values of one check from `start` to `end` (the stage so far).
pub fn check_chart(
    h: &mut Html,
    check: &str,
    points: &[Point],
    threshold: &Threshold,
    start: Timestamp,
    end: Timestamp,
) {
    let finite: Vec<f64> = points
        .iter()
        .filter_map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .collect();
    if finite.is_empty() {
        h.raw("<p class=\"muted chart-empty\" data-check=\"")
            .text(check)
            .raw("\">No values recorded in this stage yet.</p>");
        return;
    }
    let limit = Some(threshold.value).filter(|v| v.is_finite());
    let (mut lo, mut hi) = finite
        .iter()
        .chain(limit.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let spread = hi - lo;
    let margin = if spread > 0.0 && spread.is_finite() {
        spread * 0.1
    } else {
        lo.abs().max(1.0) * 0.1
    };
    lo -= margin;
    hi += margin;
    if !(hi - lo).is_finite() || hi <= lo {
        // Values near f64::MAX: draw flat rather than divide by infinity.
        (lo, hi) = (-1.0, 1.0);
    }
    let y_of = |v: f64| {
        let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        HEIGHT - PAD - t * (HEIGHT - 2.0 * PAD)
    };
    let last = finite.last().copied().unwrap_or(f64::NAN);
    h.raw("<svg class=\"chart\" data-check=\"")
        .text(check)
        .raw("\" viewBox=\"0 0 400 120\" role=\"img\" aria-label=\"")
        .text(check)
        .raw(": ")
        .display(points.len())
        .raw(" values in this stage, last ")
        .text(&threshold.format_value(last))
        .raw(", healthy ")
        .display(threshold)
        .raw("\">");
    // Breaches first, so the line is drawn over them: from each breaching
    // value to the next value's instant (or the end).
    for (i, (at, value)) in points.iter().enumerate() {
        let breaching = value.is_some_and(|v| v.is_finite() && threshold.is_breached_by(v));
        if !breaching {
            continue;
        }
        let next = points.get(i + 1).map_or(end, |(t, _)| *t);
        let (x0, x1) = (x_of(*at, start, end), x_of(next, start, end));
        h.raw("<rect class=\"breach\" x=\"")
            .text(&n(x0))
            .raw("\" y=\"0\" width=\"")
            .text(&n((x1 - x0).max(1.0)))
            .raw("\" height=\"120\"/>");
    }
    if let Some(limit) = limit {
        let y = n(y_of(limit));
        h.raw("<line class=\"threshold\" x1=\"0\" x2=\"400\" y1=\"")
            .text(&y)
            .raw("\" y2=\"")
            .text(&y)
            .raw("\"/>");
    }
    // One path; a missing value lifts the pen, so a gap shows as a gap.
    let mut d = String::new();
    let mut pen_down = false;
    for (at, value) in points {
        match value.filter(|v| v.is_finite()) {
            Some(v) => {
                d.push(if pen_down { 'L' } else { 'M' });
                d.push_str(&n(x_of(*at, start, end)));
                d.push(' ');
                d.push_str(&n(y_of(v)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    h.raw("<path class=\"line\" d=\"")
        .text(&d)
        .raw("\"/></svg>");
}

/// The verdict over the stage as a band of stretches, each with a title
/// saying what and when (the colour is not the only carrier).
pub fn verdict_band(
    h: &mut Html,
    points: &[(Timestamp, Verdict)],
    start: Timestamp,
    end: Timestamp,
) {
    if points.is_empty() {
        h.raw(
            "<p class=\"muted\" id=\"verdict-band\">No evaluations recorded in this stage yet.</p>",
        );
        return;
    }
    h.raw("<svg class=\"band\" id=\"verdict-band\" viewBox=\"0 0 400 20\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"Verdicts over this stage\">");
    let mut i = 0;
    while i < points.len() {
        let (from, verdict) = points[i];
        let mut j = i + 1;
        while j < points.len() && points[j].1 == verdict {
            j += 1;
        }
        let to = points.get(j).map_or(end, |(t, _)| *t);
        let (x0, x1) = (x_of(from, start, end), x_of(to, start, end));
        h.raw("<rect class=\"")
            .raw(verdict.as_str())
            .raw("\" x=\"")
            .text(&n(x0))
            .raw("\" y=\"0\" width=\"")
            .text(&n((x1 - x0).max(1.0)))
            .raw("\" height=\"20\"><title>")
            .raw(verdict.as_str())
            .raw(" from ")
            .text(&from.strftime("%H:%M:%S").to_string())
            .raw(" to ")
            .text(&to.strftime("%H:%M:%S").to_string())
            .raw(" UTC</title></rect>");
        i = j;
    }
    h.raw("</svg>");
}
