//! Reading `slots:`: names, days, HH:MM times and escalation chains, each
//! mistake at its own position. Part of the roster reader, split out to keep
//! each file to one idea.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::super::raw::Node;
use super::super::reader::{list, scalar, Fields, FileDiags};
use super::{known, Text};
use crate::roster::{format_duration, parse_day, Days, LevelSpec, Person, Slot, WallTime};

const SLOT_KEYS: &[&str] = &["name", "days", "from", "to", "escalation"];
const LEVEL_KEYS: &[&str] = &["after", "notify"];

/// Every slot that could be read, in file order (the first wins an overlap).
/// A value in error is replaced by a stand-in so later checks still run;
/// the roster is not built then.
pub(super) fn slots(d: &mut FileDiags, f: &Fields, people: &BTreeMap<String, Person>) -> Vec<Slot> {
    let Some(items) = f.required(d, "slots").and_then(|n| list(d, "slots", n)) else {
        return Vec::new();
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut slots = Vec::new();
    for item in items {
        let Some(s) = Fields::read(d, item, "a slot", SLOT_KEYS) else {
            continue;
        };
        let written = s.required(d, "name").and_then(|n| scalar(d, "name", n));
        let name = written.as_ref().map_or("", |n| n.value.trim()).to_string();
        if let Some(written) = &written {
            if name.is_empty() {
                d.error(&written.referenced, "a slot needs a name");
            } else if let Some(line) = first_line.get(&name) {
                let message = format!("duplicate slot name `{name}`; the first is at line {line}");
                d.error(&written.referenced, message);
            } else {
                first_line.insert(name.clone(), written.referenced.line());
            }
        }
        let days = days(d, s.get("days"));
        let from = wall_time(d, &s, "from");
        let to = wall_time(d, &s, "to");
        if let (Some((f, _)), Some((t, at))) = (&from, &to) {
            if f == t {
                let message = format!(
                    "slot `{name}` is empty: `from` and `to` are both {f}; for all day write from: \"00:00\", to: \"24:00\""
                );
                d.error(&at.referenced, message);
            }
        }
        let levels = s
            .required(d, "escalation")
            .map(|n| levels(d, &name, n, people))
            .unwrap_or_default();
        slots.push(Slot {
            name,
            days,
            from: from.map_or(WallTime::MIDNIGHT, |(t, _)| t),
            to: to.map_or(WallTime::END_OF_DAY, |(t, _)| t),
            levels,
        });
    }
    slots
}

/// `from` or `to` as a wall-clock time, with where it is written; `None`
/// after an error (already reported).
fn wall_time(d: &mut FileDiags, s: &Fields, key: &str) -> Option<(WallTime, Text)> {
    let text = s.required(d, key).and_then(|n| scalar(d, key, n))?;
    match WallTime::parse(&text.value, key == "to") {
        Ok(time) => Some((time, text)),
        Err(message) => {
            d.error(&text.referenced, message);
            None
        }
    }
}

fn days(d: &mut FileDiags, node: Option<&Node>) -> Days {
    let Some(node) = node else {
        return Days::EVERY_DAY;
    };
    let Some(items) = list(d, "days", node) else {
        return Days::EVERY_DAY;
    };
    if items.is_empty() {
        d.error(
            &node.referenced,
            "`days` is empty; omit it to mean every day",
        );
    }
    let mut days = Days::NONE;
    for item in items {
        let Some(day) = scalar(d, "days", item) else {
            continue;
        };
        match parse_day(&day.value) {
            Ok(index) => days = days.with(index),
            Err(message) => d.error(&day.referenced, message),
        }
    }
    days
}

fn levels(
    d: &mut FileDiags,
    slot: &str,
    node: &Node,
    people: &BTreeMap<String, Person>,
) -> Vec<LevelSpec> {
    let Some(items) = list(d, "escalation", node) else {
        return Vec::new();
    };
    if items.is_empty() {
        let message =
            format!("slot `{slot}` pages nobody; add at least one level under `escalation`");
        d.error(&node.referenced, message);
    }
    let mut levels: Vec<LevelSpec> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let what = format!("escalation level {index}");
        let Some(level) = Fields::read(d, item, &what, LEVEL_KEYS) else {
            continue;
        };
        let previous = levels.last().map(|l| l.after);
        let after = after(d, index, &level, previous);
        let mut names: Vec<String> = Vec::new();
        let notify = level.required(d, "notify");
        let written = notify.and_then(|n| list(d, "notify", n)).unwrap_or(&[]);
        if let (Some(notify), true) = (notify, written.is_empty()) {
            d.error(&notify.referenced, format!("level {index} notifies nobody"));
        }
        for name in written {
            let Some(name) = scalar(d, "notify", name) else {
                continue;
            };
            if known(d, &name, people) && !names.contains(&name.value) {
                names.push(name.value.clone());
            }
        }
        levels.push(LevelSpec {
            after: after.unwrap_or(previous.unwrap_or(Duration::ZERO)),
            people: names,
        });
    }
    levels
}

/// A level's delay: level 0 is paged at once, each later level strictly
/// after the one before (otherwise two levels would fire together and
/// the chain would not mean what its order says).
fn after(
    d: &mut FileDiags,
    index: usize,
    level: &Fields,
    previous: Option<Duration>,
) -> Option<Duration> {
    let Some(node) = level.get("after") else {
        if index > 0 {
            let message = format!(
                "level {index} needs `after:`, how long without acknowledgement before it is paged"
            );
            d.error(&level.at, message);
            return None;
        }
        return Some(Duration::ZERO);
    };
    let text = scalar(d, "after", node)?;
    let Some(after) = parse_duration(&text.value) else {
        let message = format!(
            "`{}` is not a duration; write it like `10m`, `30m` or `1h30m`",
            text.value.trim()
        );
        d.error(&text.referenced, message);
        return None;
    };
    match previous {
        None if !after.is_zero() => {
            let message = format!(
                "level 0 is paged at once; remove `after: {}` (delays start at level 1)",
                text.value.trim()
            );
            d.error(&text.referenced, message);
            None
        }
        Some(previous) if after <= previous => {
            let message = format!(
                "`after: {}` must be later than the previous level's {}",
                text.value.trim(),
                format_duration(previous)
            );
            d.error(&text.referenced, message);
            None
        }
        _ => Some(after),
    }
}

/// humantime durations (`10m`, `1h30m`); a bare `0` means at once.
fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t == "0" {
        return Some(Duration::ZERO);
    }
    humantime::parse_duration(t).ok()
}
