//! Reading `overrides:`: swaps and holidays as local date-times in the
//! roster's zone, the slot they touch and who replaces whom. Part of the
//! roster reader, split out to keep each file to one idea.

use std::collections::BTreeMap;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::super::raw::{Node, Value};
use super::super::reader::{list, scalar, Fields, FileDiags};
use super::{known, Text};
use crate::roster::{Override, Person, Slot};

const OVERRIDE_KEYS: &[&str] = &["from", "to", "slot", "replace"];

/// Every override that could be read, in file order (they apply in it).
/// `zone` is `None` when the roster's time zone was unreadable (reported).
pub(super) fn overrides(
    d: &mut FileDiags,
    f: &Fields,
    zone: Option<&(TimeZone, String)>,
    people: &BTreeMap<String, Person>,
    slots: &[Slot],
) -> Vec<Override> {
    let Some(items) = f.get("overrides").and_then(|n| list(d, "overrides", n)) else {
        return Vec::new();
    };
    let (tz, zone_name) = match zone {
        Some((tz, name)) => (tz.clone(), name.as_str()),
        // Keep checking the rest; this roster is discarded anyway.
        None => (TimeZone::UTC, "the roster's `timezone`"),
    };
    items
        .iter()
        .filter_map(|item| override_(d, item, (&tz, zone_name), people, slots))
        .collect()
}

fn override_(
    d: &mut FileDiags,
    node: &Node,
    (tz, zone_name): (&TimeZone, &str),
    people: &BTreeMap<String, Person>,
    slots: &[Slot],
) -> Option<Override> {
    let o = Fields::read(d, node, "an override", OVERRIDE_KEYS)?;
    let from = local_datetime(d, &o, "from", zone_name);
    let to = local_datetime(d, &o, "to", zone_name);
    let slot = o.get("slot").and_then(|n| scalar(d, "slot", n));
    let mut slot_ok = true;
    if let Some(slot) = &slot {
        if !slots.iter().any(|s| s.name == slot.value.trim()) {
            let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
            let message = format!(
                "override names slot `{}`, which is not defined (slots: {})",
                slot.value,
                names.join(", ")
            );
            d.error(&slot.referenced, message);
            slot_ok = false;
        }
    }
    let slot_name = slot.as_ref().map(|s| s.value.trim());
    let mut replace = Vec::new();
    for (replaced, replacement) in replacements(d, &o) {
        // `&`, not `&&`: both names are checked and reported.
        let known = known(d, &replaced, people) & known(d, &replacement, people);
        if known {
            replace.push((replaced.value.clone(), replacement.value.clone()));
        }
        let paged = slots
            .iter()
            .filter(|s| slot_name.is_none_or(|n| n == s.name))
            .flat_map(|s| &s.levels)
            .any(|l| l.people.contains(&replaced.value));
        if known && slot_ok && !paged {
            let scope = slot_name.map_or("any slot".to_string(), |n| format!("slot `{n}`"));
            let message = format!(
                "override replaces `{}`, who is not paged in {scope}; it changes nothing",
                replaced.value
            );
            d.warning(&replaced.referenced, message);
        }
    }
    let ((from_local, from_text), (to_local, to_text)) = (from?, to?);
    if to_local <= from_local {
        let message = format!(
            "override ends ({}) before or when it starts ({})",
            to_text.value.trim(),
            from_text.value.trim()
        );
        d.error(&to_text.referenced, message);
        return None;
    }
    let slot = slot_name.map(str::to_string);
    let built = Override::new(tz, from_local, to_local, slot, replace);
    if built.is_none() {
        let message = format!("this override cannot be placed on the calendar of {zone_name}");
        d.error(&from_text.referenced, message);
    }
    built
}

/// `replace:` as (replaced, replacement) pairs, each name where it is
/// written: the replaced person at the key, the replacement at the value.
fn replacements(d: &mut FileDiags, o: &Fields) -> Vec<(Text, Text)> {
    const HOW: &str = "write it like `{ sena: copilot }`";
    let Some(key) = o.key("replace") else {
        o.required(d, "replace");
        return Vec::new();
    };
    let node = o.get("replace");
    let entries: &[_] = match node.map(|n| &n.value) {
        // `replace:` with nothing under it: the same advice as `{}`.
        None => &[],
        Some(Value::Map(entries)) => entries,
        Some(other) => {
            let message = format!("`replace` must be a mapping, {HOW}; found {}", other.kind());
            d.error(&node.map_or(key.referenced, |n| n.referenced), message);
            return Vec::new();
        }
    };
    if entries.is_empty() {
        let at = node.map_or(key.referenced, |n| n.referenced);
        d.error(&at, format!("`replace` is empty; {HOW}"));
    }
    entries
        .iter()
        .filter_map(|(replaced, value)| {
            let replacement = scalar(d, &replaced.value, value)?;
            Some((replaced.clone(), replacement))
        })
        .collect()
}

/// Override times are wall-clock times in the roster's zone; an offset
/// or `Z` would contradict it, so it is refused rather than ignored.
fn local_datetime(
    d: &mut FileDiags,
    o: &Fields,
    key: &str,
    zone_name: &str,
) -> Option<(DateTime, Text)> {
    let text = o.required(d, key).and_then(|n| scalar(d, key, n))?;
    let t = text.value.trim();
    let time_part = t.get(10..).unwrap_or("");
    if time_part.contains(['+', '-', 'Z', 'z', '[']) {
        let message = format!(
            "`{t}` carries a zone or offset; write the local time in {zone_name}, like `2025-10-22T12:00`"
        );
        d.error(&text.referenced, message);
        return None;
    }
    match t.parse::<DateTime>() {
        Ok(dt) => Some((dt, text)),
        Err(_) => {
            let message = format!(
                "`{t}` is not a local date and time; write it like `2025-10-22T12:00` (in {zone_name})"
            );
            d.error(&text.referenced, message);
            None
        }
    }
}
