//! One self-contained HTML page: per rollout and check an inline SVG chart
//! of the check's value over time with its threshold line and the verdict
//! band under it, then the events. Inline CSS, no script, nothing fetched
//! from anywhere; every text that came from a config, a rules file or
//! Prometheus (names, labels, reasons) is escaped.

use std::fmt::Write as _;

use jiff::tz::TimeZone;

use super::events::{CheckTrace, RolloutTimeline, What};
use super::render_text::{instant, short};
use super::Backtest;
use crate::domain::format::escape_html as escape;
use crate::domain::{Bound, Verdict};

const WIDTH: f64 = 900.0;
const PLOT: f64 = 140.0;
const BAND: f64 = 10.0;
/// Points drawn per chart at most: a 7-day range at 30 s is 20,160 steps;
/// each of these buckets draws its lowest and highest value.
const BUCKETS: usize = 600;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.3em}h2{font-size:1.15em;margin-top:2em}h3{font-size:1em;margin:1.2em 0 .3em}\
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;vertical-align:top}\
tr:nth-child(even){background:#f4f4f4}.muted{color:#777}\
svg{display:block;border:1px solid #ddd;background:#fff}\
.c{fill:#2e7d32}.h{fill:#f9a825}.r{fill:#c62828}.v{fill:none;stroke:#1565c0;stroke-width:1.2}\
.a{font-size:10px;fill:#777}.t{stroke:#c62828;stroke-dasharray:5 4;stroke-width:1}.add{color:#2e7d32}.rem{color:#c62828}";

pub fn render(b: &Backtest, tz: &TimeZone) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sena backtest</title><style>{STYLE}</style></head><body>\n<h1>sena backtest {} → {}, step {}s ({})</h1>\n",
        escape(&instant(b.from, tz)),
        escape(&instant(b.to, tz)),
        b.step_seconds,
        escape(&b.timezone)
    );
    for run in &b.runs {
        let title = match &run.rules_file {
            Some(f) => format!("Candidate rules: {f}"),
            None => "Current rules".to_string(),
        };
        let _ = writeln!(h, "<h2>{}</h2>", escape(&title));
        for t in &run.rollouts {
            rollout(&mut h, t, tz);
        }
    }
    if let Some(diffs) = &b.diff {
        let _ = writeln!(h, "<h2>Candidate against current</h2>");
        for d in diffs {
            let _ = writeln!(
                h,
                "<h3>{}: {} pages instead of {}</h3><ul>",
                escape(&d.rollout),
                d.pages_candidate,
                d.pages_current
            );
            for (class, sign, pages) in
                [("add", "+", &d.pages_added), ("rem", "−", &d.pages_removed)]
            {
                for p in pages {
                    let _ = writeln!(
                        h,
                        "<li class=\"{class}\">{sign} page {} {} {} → {}</li>",
                        escape(&instant(p.at, tz)),
                        p.page.as_str(),
                        p.verdict.as_str(),
                        escape(&p.to.join(", "))
                    );
                }
            }
            for c in &d.breach {
                let _ = writeln!(
                    h,
                    "<li>{} failing: {}</li>",
                    escape(&c.check),
                    escape(&c.failing.describe())
                );
            }
            for s in &d.ready {
                let _ = writeln!(
                    h,
                    "<li>stage {} ready: {}</li>",
                    s.stage,
                    escape(&s.ready.describe())
                );
            }
            let _ = writeln!(h, "</ul>");
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn rollout(h: &mut String, t: &RolloutTimeline, tz: &TimeZone) {
    let _ = writeln!(
        h,
        "<h3>{} <span class=\"muted\">stage {} entered {}</span></h3>",
        escape(&t.rollout),
        t.stage,
        escape(&instant(t.stage_entered_at, tz))
    );
    for c in &t.checks {
        let _ = writeln!(
            h,
            "<p>{} <span class=\"muted\">{}</span></p>",
            escape(&c.check),
            escape(&c.threshold.to_string())
        );
        chart(h, c, &t.verdicts);
    }
    let _ = writeln!(h, "<table><tr><th>instant</th><th>event</th></tr>");
    for e in &t.events {
        let text = match &e.what {
            What::Verdict { verdict, reason } => format!("verdict {}: {reason}", verdict.as_str()),
            w => short(w),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&instant(e.at, tz)),
            escape(&text)
        );
    }
    let _ = writeln!(h, "</table>");
}

/// The value line (lowest and highest per bucket, gaps where blind), the
/// threshold as a dashed line, and the verdict band along the bottom.
fn chart(h: &mut String, c: &CheckTrace, verdicts: &[Verdict]) {
    let n = c.values.len().max(1);
    let finite = c.values.iter().flatten().copied().filter(|v| v.is_finite());
    let (mut lo, mut hi) = finite.fold((c.threshold.value, c.threshold.value), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        // A flat line: give it some room so it is drawn mid-chart.
        lo -= 1.0_f64.max(lo.abs() * 0.1);
        hi += 1.0_f64.max(hi.abs() * 0.1);
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let x = |i: usize| i as f64 * WIDTH / n as f64;
    let y = |v: f64| PLOT - (v.clamp(lo, hi) - lo) / (hi - lo) * PLOT;
    let _ = write!(
        h,
        "<svg width=\"{WIDTH}\" height=\"{}\" viewBox=\"0 0 {WIDTH} {}\" role=\"img\" aria-label=\"{}\">",
        PLOT + BAND,
        PLOT + BAND,
        escape(&c.check)
    );
    // Verdict band: one rectangle per run of the same verdict.
    let mut i = 0;
    while i < verdicts.len() {
        let v = verdicts[i];
        let mut j = i;
        while j < verdicts.len() && verdicts[j] == v {
            j += 1;
        }
        let (class, least) = match v {
            Verdict::Continue => ("c", 0.5),
            // A short hold or rollback in a long range stays visible.
            Verdict::Hold => ("h", 2.0),
            Verdict::Rollback => ("r", 2.0),
        };
        let _ = write!(
            h,
            "<rect class=\"{class}\" x=\"{:.1}\" y=\"{PLOT}\" width=\"{:.1}\" height=\"{BAND}\"><title>{}</title></rect>",
            x(i),
            (x(j) - x(i)).max(least),
            v.as_str()
        );
        i = j;
    }
    // The value scale, in the threshold's own unit (`0.42%`, `2.31s`).
    let _ = write!(
        h,
        "<text class=\"a\" x=\"4\" y=\"12\">{}</text><text class=\"a\" x=\"4\" y=\"{}\">{}</text>",
        escape(&c.threshold.format_value(hi)),
        PLOT - 4.0,
        escape(&c.threshold.format_value(lo))
    );
    let ty = y(c.threshold.value);
    let _ = write!(
        h,
        "<line class=\"t\" x1=\"0\" x2=\"{WIDTH}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\"/>"
    );
    // Values: per bucket its extremes, in time order; a bucket with no
    // finite value breaks the line.
    let per = n.div_ceil(BUCKETS).max(1);
    let mut line: Vec<String> = Vec::new();
    let flush = |h: &mut String, line: &mut Vec<String>| {
        if !line.is_empty() {
            let _ = write!(h, "<polyline class=\"v\" points=\"{}\"/>", line.join(" "));
            line.clear();
        }
    };
    for start in (0..c.values.len()).step_by(per) {
        let end = (start + per).min(c.values.len());
        let bucket: Vec<(usize, f64)> = (start..end)
            .filter_map(|k| c.values[k].filter(|v| v.is_finite()).map(|v| (k, v)))
            .collect();
        if bucket.is_empty() {
            flush(h, &mut line);
            continue;
        }
        let low = bucket
            .iter()
            .copied()
            .fold(bucket[0], |a, b| if b.1 < a.1 { b } else { a });
        let high = bucket
            .iter()
            .copied()
            .fold(bucket[0], |a, b| if b.1 > a.1 { b } else { a });
        let (first, second) = if low.0 <= high.0 {
            (low, high)
        } else {
            (high, low)
        };
        for (k, v) in [first, second] {
            line.push(format!("{:.1},{:.1}", x(k), y(v)));
        }
    }
    flush(h, &mut line);
    let healthy = match c.threshold.bound {
        Bound::Below => "healthy below the dashed line",
        Bound::Above => "healthy above the dashed line",
    };
    let _ = writeln!(h, "<title>{} ({healthy})</title></svg>", escape(&c.check));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
