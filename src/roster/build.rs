//! The one door into a `Roster`: `Roster::new` takes typed people, slots and
//! overrides and refuses any combination `on_call` could not answer for (a
//! name nobody defined, an empty slot, a chain whose levels fire out of
//! order). It says *what* is wrong; *where* it is written is the reader's
//! business, so the config reader checks the same rules first, at their
//! positions, and reaches this error only through a bug of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::slots::{resolve_local, Override, Slot};
use super::{format_duration, Person, Roster};

/// Why a set of people, slots and overrides is not a roster.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("person `{0}` is defined twice")]
    DuplicatePerson(String),
    #[error("person `{0}` has neither a Slack ID nor an email address, so cannot be paged")]
    Unreachable(String),
    #[error("duplicate slot name `{0}`")]
    DuplicateSlot(String),
    #[error("slot `{0}` is empty: it starts and ends at the same time")]
    EmptySlot(String),
    #[error("slot `{0}` pages nobody")]
    NoEscalation(String),
    #[error("slot `{slot}`: level {level} notifies nobody")]
    EmptyLevel { slot: String, level: usize },
    #[error(
        "slot `{slot}`: level {level} is paged after {after}, not later than the level before"
    )]
    LevelOrder {
        slot: String,
        level: usize,
        after: String,
    },
    #[error("slot `{slot}` notifies `{name}`, who is not in `people`")]
    UnknownPersonInSlot { slot: String, name: String },
    #[error("an override replaces `{0}`, who is not in `people`")]
    UnknownPersonInOverride(String),
    #[error("an override names slot `{0}`, which is not defined")]
    UnknownSlot(String),
    #[error("an override ends ({to}) before or when it starts ({from})")]
    EmptyOverride { from: String, to: String },
}

impl Roster {
    /// A roster in `timezone` (`timezone_name` as the author wrote it, for
    /// messages), or the first reason it cannot be one. Slots and overrides
    /// keep their order: the first slot wins an overlap, overrides apply in
    /// order.
    pub fn new(
        timezone: TimeZone,
        timezone_name: impl Into<String>,
        people: Vec<Person>,
        slots: Vec<Slot>,
        overrides: Vec<Override>,
    ) -> Result<Roster, RosterError> {
        let mut by_name = BTreeMap::new();
        for person in people {
            if person.slack.is_none() && person.email.is_none() {
                return Err(RosterError::Unreachable(person.name));
            }
            if let Some(twice) = by_name.insert(person.name.clone(), person) {
                return Err(RosterError::DuplicatePerson(twice.name));
            }
        }
        for (index, slot) in slots.iter().enumerate() {
            if slots[..index].iter().any(|s| s.name == slot.name) {
                return Err(RosterError::DuplicateSlot(slot.name.clone()));
            }
            check_slot(slot, &by_name)?;
        }
        for o in &overrides {
            check_override(o, &by_name, &slots)?;
        }
        Ok(Roster {
            timezone,
            timezone_name: timezone_name.into(),
            people: by_name,
            slots,
            overrides,
        })
    }
}

fn check_slot(slot: &Slot, people: &BTreeMap<String, Person>) -> Result<(), RosterError> {
    let name = || slot.name.clone();
    if slot.from == slot.to {
        return Err(RosterError::EmptySlot(name()));
    }
    if slot.levels.is_empty() {
        return Err(RosterError::NoEscalation(name()));
    }
    let mut previous: Option<Duration> = None;
    for (level, spec) in slot.levels.iter().enumerate() {
        // Level 0 is paged at once; each later level strictly after the one
        // before, or two levels would fire together.
        let in_order = match previous {
            None => spec.after.is_zero(),
            Some(before) => spec.after > before,
        };
        if !in_order {
            return Err(RosterError::LevelOrder {
                slot: name(),
                level,
                after: format_duration(spec.after),
            });
        }
        previous = Some(spec.after);
        if spec.people.is_empty() {
            return Err(RosterError::EmptyLevel {
                slot: name(),
                level,
            });
        }
        if let Some(unknown) = spec.people.iter().find(|p| !people.contains_key(*p)) {
            return Err(RosterError::UnknownPersonInSlot {
                slot: name(),
                name: unknown.clone(),
            });
        }
    }
    Ok(())
}

fn check_override(
    o: &Override,
    people: &BTreeMap<String, Person>,
    slots: &[Slot],
) -> Result<(), RosterError> {
    if let Some(slot) = &o.slot {
        if !slots.iter().any(|s| &s.name == slot) {
            return Err(RosterError::UnknownSlot(slot.clone()));
        }
    }
    let names = o.replace.iter().flat_map(|(a, b)| [a, b]);
    if let Some(unknown) = names.into_iter().find(|n| !people.contains_key(*n)) {
        return Err(RosterError::UnknownPersonInOverride(unknown.clone()));
    }
    // Compared as written: an override wholly inside a skipped hour is
    // well-formed, it just never holds (like a slot there).
    if o.to_local <= o.from_local {
        return Err(RosterError::EmptyOverride {
            from: o.from_local.to_string(),
            to: o.to_local.to_string(),
        });
    }
    Ok(())
}

impl Override {
    /// An override of local `[from_local, to_local)` in `tz`, each end taken
    /// by the roster's DST rule (`resolve_local`); `None` when a local time
    /// has no instant at all (outside jiff's range).
    pub fn new(
        tz: &TimeZone,
        from_local: DateTime,
        to_local: DateTime,
        slot: Option<String>,
        replace: Vec<(String, String)>,
    ) -> Option<Override> {
        Some(Override {
            from_local,
            to_local,
            from: resolve_local(tz, from_local)?,
            to: resolve_local(tz, to_local)?,
            slot,
            replace,
        })
    }
}
