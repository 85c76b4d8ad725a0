//! The compact text timeline: one line per event, instants in the roster's
//! zone; with a candidate, the two timelines side by side and what changed.

use std::io::{self, Write};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::diff::{PageKey, RolloutDiff};
use super::events::{RolloutTimeline, What};
use super::Backtest;
use crate::domain::{Channel, CheckStatus};

/// `2026-11-01 09:00:00 +09:00`
pub fn instant(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// One event in a few words (`page opened rollback → sena, lubit`).
pub fn short(what: &What) -> String {
    match what {
        What::Verdict { verdict, .. } => format!("verdict {}", verdict.as_str()),
        What::Check {
            check,
            status,
            value_text,
            ..
        } => match value_text.strip_prefix("insufficient evidence") {
            // A count check's text already says it: no "insufficient insufficient".
            Some(rest) if *status == CheckStatus::Insufficient => {
                format!("{check} insufficient evidence{rest}")
            }
            _ => format!("{check} {} {value_text}", status.as_str()),
        },
        What::Page {
            page,
            verdict,
            level,
            to,
            ..
        } => {
            let level = level.map(|l| format!(" L{l}")).unwrap_or_default();
            let to = if to.is_empty() {
                "nobody".to_string()
            } else {
                to.join(", ")
            };
            format!("page {} {}{level} → {to}", page.as_str(), verdict.as_str())
        }
        What::Ready {
            stage,
            next_traffic,
            ..
        } => format!("ready: stage {stage} may expand to {next_traffic}"),
        What::Stage { stage, traffic } => format!("GO assumed: stage {stage} ({traffic})"),
    }
}

/// One event in full, for a single timeline.
fn long(what: &What) -> String {
    match what {
        What::Verdict { verdict, reason } => format!("verdict {}: {reason}", verdict.as_str()),
        What::Page {
            incident, channels, ..
        } => {
            let incident = incident
                .map(|i| format!(" [incident {i}]"))
                .unwrap_or_default();
            let via: Vec<&str> = channels.iter().map(|c| channel_name(*c)).collect();
            format!("{}{incident} via {}", short(what), via.join(", "))
        }
        _ => short(what),
    }
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Console => "console",
        Channel::Slack => "slack",
        Channel::Email => "email",
    }
}

pub fn write(b: &Backtest, tz: &TimeZone, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "sena backtest {} → {}, step {}s ({})",
        instant(b.from, tz),
        instant(b.to, tz),
        b.step_seconds,
        b.timezone
    )?;
    match (&b.runs[..], &b.diff) {
        ([current, candidate], Some(diffs)) => {
            let file = candidate.rules_file.as_deref().unwrap_or("candidate");
            for ((a, c), d) in current.rollouts.iter().zip(&candidate.rollouts).zip(diffs) {
                side_by_side(a, c, file, tz, out)?;
                write_diff(d, file, tz, out)?;
            }
        }
        (runs, _) => {
            for t in runs.iter().flat_map(|r| &r.rollouts) {
                single(t, tz, out)?;
            }
        }
    }
    Ok(())
}

fn header(t: &RolloutTimeline, tz: &TimeZone, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "\n{}: stage {} entered {}",
        t.rollout,
        t.stage,
        instant(t.stage_entered_at, tz)
    )
}

fn single(t: &RolloutTimeline, tz: &TimeZone, out: &mut dyn Write) -> io::Result<()> {
    header(t, tz, out)?;
    for e in &t.events {
        writeln!(out, "  {}  {}", instant(e.at, tz), long(&e.what))?;
    }
    let pages = t.pages().count();
    let mut summary = vec![format!("{pages} page{}", if pages == 1 { "" } else { "s" })];
    for c in &t.checks {
        if let Some(at) = t.first_failing(&c.check) {
            summary.push(format!("{} first failing {}", c.check, instant(at, tz)));
        }
    }
    for s in t.ready_stages() {
        if let Some(at) = t.first_ready(s) {
            summary.push(format!("stage {s} first ready {}", instant(at, tz)));
        }
    }
    writeln!(out, "  summary: {}", summary.join("; "))
}

const COLUMN: usize = 56;

fn side_by_side(
    a: &RolloutTimeline,
    b: &RolloutTimeline,
    file: &str,
    tz: &TimeZone,
    out: &mut dyn Write,
) -> io::Result<()> {
    header(a, tz, out)?;
    let gutter = " ".repeat(instant(a.stage_entered_at, tz).chars().count());
    writeln!(out, "  {gutter}  {:<COLUMN$} | {file}", "current rules")?;
    let mut instants: Vec<Timestamp> = a.events.iter().chain(&b.events).map(|e| e.at).collect();
    instants.sort();
    instants.dedup();
    let (mut i, mut j) = (0, 0);
    for at in instants {
        let mut left = Vec::new();
        while i < a.events.len() && a.events[i].at == at {
            left.push(short(&a.events[i].what));
            i += 1;
        }
        let mut right = Vec::new();
        while j < b.events.len() && b.events[j].at == at {
            right.push(short(&b.events[j].what));
            j += 1;
        }
        let stamp = instant(at, tz);
        for k in 0..left.len().max(right.len()) {
            let l = left.get(k).map(String::as_str).unwrap_or("");
            let r = right.get(k).map(String::as_str).unwrap_or("");
            let when = if k == 0 {
                stamp.as_str()
            } else {
                gutter.as_str()
            };
            let line = format!("  {when}  {:<COLUMN$} | {r}", fit(l));
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

/// Cuts a cell to the column, on a character boundary.
fn fit(s: &str) -> String {
    if s.chars().count() <= COLUMN {
        s.to_string()
    } else {
        let cut: String = s.chars().take(COLUMN - 1).collect();
        format!("{cut}…")
    }
}

fn write_diff(d: &RolloutDiff, file: &str, tz: &TimeZone, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "  {file} against the current rules: {} pages instead of {}",
        d.pages_candidate, d.pages_current
    )?;
    let page = |p: &PageKey| {
        let level = p.level.map(|l| format!(" L{l}")).unwrap_or_default();
        format!(
            "{} {} {}{level} → {}",
            instant(p.at, tz),
            p.page.as_str(),
            p.verdict.as_str(),
            p.to.join(", ")
        )
    };
    for p in &d.pages_added {
        writeln!(out, "    + page {}", page(p))?;
    }
    for p in &d.pages_removed {
        writeln!(out, "    - page {}", page(p))?;
    }
    for c in &d.breach {
        if c.failing.current.is_some() || c.failing.candidate.is_some() {
            writeln!(out, "    {} failing: {}", c.check, c.failing.describe())?;
        }
    }
    for s in &d.ready {
        writeln!(out, "    stage {} ready: {}", s.stage, s.ready.describe())?;
    }
    Ok(())
}
