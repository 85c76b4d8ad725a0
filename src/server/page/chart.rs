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

/// A count check's confidence interval (lower, upper) at an instant, in
/// the value's scale; `None` where there was none.
pub type Interval = (Timestamp, Option<(f64, f64)>);

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

/// The values of one check from `start` to `end` (the stage so far), and
/// for a count check its confidence interval as a shaded band behind the
/// line (`intervals`, empty for a plain check).
pub fn check_chart(
    h: &mut Html,
    check: &str,
    points: &[Point],
    intervals: &[Interval],
    threshold: &Threshold,
    start: Timestamp,
    end: Timestamp,
) {
    let finite: Vec<f64> = points
        .iter()
        .filter_map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .collect();
    let bounds = |(_, b): &Interval| b.filter(|(lo, hi)| lo.is_finite() && hi.is_finite());
    let band_values: Vec<f64> = intervals
        .iter()
        .filter_map(bounds)
        .flat_map(|(lo, hi)| [lo, hi])
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
        .chain(band_values.iter())
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
    // The interval: one closed shape per unbroken run of evaluations with
    // one, the upper ends left to right and the lower ends back.
    let mut runs: Vec<Vec<(f64, f64, f64)>> = Vec::new();
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    for i in intervals {
        match bounds(i) {
            Some((l, u)) => run.push((x_of(i.0, start, end), y_of(l), y_of(u))),
            None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    if !runs.is_empty() {
        let mut d = String::new();
        for run in &runs {
            // A single evaluation still shows, as a sliver.
            let widen = if run.len() == 1 { 1.0 } else { 0.0 };
            for (k, (x, _, yu)) in run.iter().enumerate() {
                d.push(if k == 0 { 'M' } else { 'L' });
                d.push_str(&format!("{} {} ", n(x - widen), n(*yu)));
            }
            for (x, yl, _) in run.iter().rev() {
                d.push('L');
                d.push_str(&format!("{} {} ", n(x + widen), n(*yl)));
            }
            d.push('Z');
        }
        let last = intervals.iter().rev().find_map(bounds);
        h.raw("<path class=\"interval\" data-check=\"")
            .text(check)
            .raw("\" d=\"")
            .text(d.trim_end())
            .raw("\">");
        if let Some((l, u)) = last {
            h.raw("<title>confidence interval, last ")
                .text(&threshold.format_value(l))
                .raw("–")
                .text(&threshold.format_value(u))
                .raw("</title>");
        }
        h.raw("</path>");
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
