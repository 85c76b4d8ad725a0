//! What `sena roster` prints: the chain at one instant, or the week as a
//! table. Kept beside the roster (not in `cli/`) so the unit tests here
//! pin the exact text; the CLI verb only picks which one to call.

use std::io::{self, Write};

use jiff::Timestamp;

use super::slots::DAY_NAMES;
use super::{format_duration, Level, OnCall, Person, Roster, WeekRow};

/// `At 2025-10-22T14:00:00+09:00[Asia/Seoul]: slot business-hours` and one
/// line per escalation level, then the overrides in force.
pub fn write_at(roster: &Roster, at: Timestamp, out: &mut dyn Write) -> io::Result<()> {
    let local = at.to_zoned_datetime(roster.timezone.clone());
    let Some(on_call) = roster.on_call(at) else {
        return writeln!(out, "At {local}: nobody is on call (coverage gap)");
    };
    writeln!(out, "At {local}: slot {}", on_call.slot)?;
    for (index, level) in on_call.levels.iter().enumerate() {
        let when = if index == 0 && level.after.is_zero() {
            "at once".to_string()
        } else {
            format!("after {}", format_duration(level.after))
        };
        let people: Vec<String> = level.people.iter().map(contact).collect();
        writeln!(out, "  level {index} ({when}): {}", people.join(", "))?;
    }
    for o in roster.overrides_at(at, &on_call.slot) {
        writeln!(out, "  {o}")?;
    }
    Ok(())
}

/// The seven local days from `at`'s day: one row per stretch with the same
/// slot and chain, gaps included.
pub fn write_week(roster: &Roster, at: Timestamp, out: &mut dyn Write) -> io::Result<()> {
    let rows = roster.week(at);
    let first = roster.week_start(at);
    let last = (1..7).try_fold(first, |d, _| d.tomorrow()).unwrap_or(first);
    writeln!(
        out,
        "Week {} to {} ({})",
        first,
        last,
        roster.timezone_name()
    )?;
    let labels: Vec<String> = rows.iter().map(|r| span_label(roster, r)).collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let slot_width = rows
        .iter()
        .filter_map(|r| r.on_call.as_ref())
        .map(|c| c.slot.chars().count())
        .max()
        .unwrap_or(0);
    for (row, label) in rows.iter().zip(&labels) {
        let pad = " ".repeat(label_width - label.chars().count());
        match &row.on_call {
            None => writeln!(out, "{label}{pad}  (gap: nobody paged)")?,
            Some(on_call) => {
                let slot_pad = " ".repeat(slot_width - on_call.slot.chars().count());
                let mut line = format!(
                    "{label}{pad}  {}{slot_pad}  {}",
                    on_call.slot,
                    chain(on_call)
                );
                if !row.overrides.is_empty() {
                    line.push_str(&format!("  [{}]", row.overrides.join("; ")));
                }
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

/// `sena <@U0SENA> sena@example.com`: the Slack mention as Slack needs it.
fn contact(person: &Person) -> String {
    let mut text = person.name.clone();
    if let Some(slack) = &person.slack {
        text.push_str(&format!(" <@{slack}>"));
    }
    if let Some(email) = &person.email {
        text.push_str(&format!(" {email}"));
    }
    text
}

/// `sena → copilot (10m) → lubit (30m)`.
pub fn chain(on_call: &OnCall) -> String {
    let level = |level: &Level| {
        let names: Vec<&str> = level.people.iter().map(|p| p.name.as_str()).collect();
        if level.after.is_zero() {
            names.join(", ")
        } else {
            format!("{} ({})", names.join(", "), format_duration(level.after))
        }
    };
    on_call
        .levels
        .iter()
        .map(level)
        .collect::<Vec<_>>()
        .join(" → ")
}

/// `mon 09:00–18:00`, `fri 18:00–24:00`, or `fri 18:00–sat 09:00` when a
/// stretch crosses midnight. An end at midnight is written as the previous
/// day's `24:00`, so the last row of the week ends on its last day.
fn span_label(roster: &Roster, row: &WeekRow) -> String {
    let start = roster.timezone.to_datetime(row.start);
    let end = roster.timezone.to_datetime(row.end);
    let day = |date: jiff::civil::Date| DAY_NAMES[super::slots::day_index(date.weekday())];
    let (end_day, end_time) = match end.date().yesterday() {
        Ok(previous) if end.time() == jiff::civil::Time::midnight() => (previous, "24:00".into()),
        _ => (end.date(), end.strftime("%H:%M").to_string()),
    };
    let start_text = format!("{} {}", day(start.date()), start.strftime("%H:%M"));
    if end_day == start.date() {
        format!("{start_text}–{end_time}")
    } else {
        format!("{start_text}–{} {end_time}", day(end_day))
    }
}
