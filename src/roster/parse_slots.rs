//! Checks of `slots:`: names, days, HH:MM times and escalation chains.
//! Part of the `parse` checker, split out to keep each file to one idea.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::parse::{pos, Checker};
use super::raw::{RawLevel, RawSlot, Text};
use super::slots::{parse_day, Days, LevelSpec, Slot, WallTime};
use super::Person;

impl Checker<'_> {
    pub(super) fn slots(
        &mut self,
        raw: Vec<RawSlot>,
        people: &BTreeMap<String, Person>,
    ) -> Vec<Slot> {
        let mut first_line: HashMap<String, u64> = HashMap::new();
        let mut slots = Vec::new();
        for slot in raw {
            let name = slot.name.value.trim().to_string();
            if name.is_empty() {
                self.error(&slot.name, "a slot needs a name");
            } else if let Some(line) = first_line.get(&name) {
                let message = format!("duplicate slot name `{name}`; the first is at line {line}");
                self.error(&slot.name, message);
            } else {
                first_line.insert(name.clone(), pos(&slot.name).0);
            }
            let days = self.days(slot.days.as_ref());
            let from = WallTime::parse(&slot.from.value, false);
            let to = WallTime::parse(&slot.to.value, true);
            if let Err(message) = &from {
                self.error(&slot.from, message.clone());
            }
            if let Err(message) = &to {
                self.error(&slot.to, message.clone());
            }
            if let (Ok(f), Ok(t)) = (&from, &to) {
                if f == t {
                    let message = format!(
                        "slot `{name}` is empty: `from` and `to` are both {f}; for all day write from: \"00:00\", to: \"24:00\""
                    );
                    self.error(&slot.to, message);
                }
            }
            let levels = self.levels(&name, &slot.escalation, people);
            slots.push(Slot {
                name,
                days,
                from: from.unwrap_or(WallTime::MIDNIGHT),
                to: to.unwrap_or(WallTime::END_OF_DAY),
                levels,
            });
        }
        slots
    }

    fn days(&mut self, raw: Option<&Spanned<Vec<Text>>>) -> Days {
        let Some(list) = raw else {
            return Days::EVERY_DAY;
        };
        if list.value.is_empty() {
            self.error(list, "`days` is empty; omit it to mean every day");
        }
        let mut days = Days::NONE;
        for day in &list.value {
            match parse_day(&day.value) {
                Ok(index) => days = days.with(index),
                Err(message) => self.error(day, message),
            }
        }
        days
    }

    fn levels(
        &mut self,
        slot: &str,
        raw: &Spanned<Vec<Spanned<RawLevel>>>,
        people: &BTreeMap<String, Person>,
    ) -> Vec<LevelSpec> {
        if raw.value.is_empty() {
            let message =
                format!("slot `{slot}` pages nobody; add at least one level under `escalation`");
            self.error(raw, message);
        }
        let mut levels: Vec<LevelSpec> = Vec::new();
        for (index, level) in raw.value.iter().enumerate() {
            let after = self.after(index, level, levels.last().map(|l| l.after));
            if level.value.notify.value.is_empty() {
                self.error(
                    &level.value.notify,
                    format!("level {index} notifies nobody"),
                );
            }
            let mut names: Vec<String> = Vec::new();
            for name in &level.value.notify.value {
                if self.known(name, people) && !names.contains(&name.value) {
                    names.push(name.value.clone());
                }
            }
            levels.push(LevelSpec {
                after: after.unwrap_or(levels.last().map_or(Duration::ZERO, |l| l.after)),
                people: names,
            });
        }
        levels
    }

    /// A level's delay: level 0 is paged at once, each later level strictly
    /// after the one before (otherwise two levels would fire together and
    /// the chain would not mean what its order says).
    fn after(
        &mut self,
        index: usize,
        level: &Spanned<RawLevel>,
        previous: Option<Duration>,
    ) -> Option<Duration> {
        let Some(text) = &level.value.after else {
            if index > 0 {
                let message = format!(
                    "level {index} needs `after:`, how long without acknowledgement before it is paged"
                );
                self.error(level, message);
                return None;
            }
            return Some(Duration::ZERO);
        };
        let Some(after) = parse_duration(&text.value) else {
            let message = format!(
                "`{}` is not a duration; write it like `10m`, `30m` or `1h30m`",
                text.value.trim()
            );
            self.error(text, message);
            return None;
        };
        match previous {
            None if !after.is_zero() => {
                let message = format!(
                    "level 0 is paged at once; remove `after: {}` (delays start at level 1)",
                    text.value.trim()
                );
                self.error(text, message);
                None
            }
            Some(previous) if after <= previous => {
                let message = format!(
                    "`after: {}` must be later than the previous level's {}",
                    text.value.trim(),
                    super::format_duration(previous)
                );
                self.error(text, message);
                None
            }
            _ => Some(after),
        }
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
