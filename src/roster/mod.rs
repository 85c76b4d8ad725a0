//! Who is on call at an instant, and who is next.
//!
//! A roster file names people, recurring *slots* of local wall-clock time
//! (each with an escalation chain), and *overrides* (holidays, swaps) that
//! replace people for a fixed local interval. `Roster::new` builds one that
//! cannot be invalid; `Roster::on_call(at)` answers who is paged for an
//! incident opened at `at`. Everything here is a pure function of the roster
//! and the instant passed in — no clock is read, no file is parsed.
//!
//! Reading the YAML (with every mistake at its `FILE:LINE:COLUMN`) is the
//! config reader's job (`config::roster`): it checks what it reads at its
//! position and then calls the constructors here. So the dependency runs
//! one way, config → roster, and this module knows nothing of YAML.
//!
//! # Semantics
//! - **Slot times are local wall-clock times** in the roster's `timezone`.
//!   `from` is inclusive, `to` exclusive; `to: "24:00"` means until midnight.
//!   A slot with `to < from` wraps midnight, and its `days` name the day it
//!   *starts* (`days: [fri]`, 18:00 → 09:00 covers Saturday 03:00).
//! - **Overlaps: the first slot in the file wins.** When two slots hold at
//!   the same instant, `on_call` returns the one written first; loading warns
//!   about every overlapping pair and the hours they share.
//! - **DST.** On spring-forward a slot boundary inside the skipped hour
//!   takes effect at the first instant after the gap (a slot from 02:30 on
//!   2026-03-08 in America/New_York starts at 03:00 EDT). On fall-back a
//!   wall time that occurs twice is taken at its first occurrence (jiff's
//!   `compatible`): a slot ending at 01:30 ends at 01:30 EDT and does not
//!   come back for the repeated 01:00–01:30 EST; a slot starting at 01:30
//!   holds through it. So each occurrence of a slot is a single interval of
//!   instants, and consecutive slots that share a boundary never leave a
//!   hole or a double page across a transition. A slot whose whole span
//!   falls in a skipped hour does not hold that day.
//! - **Overrides** are `[from, to)` in local time (resolved by the same DST
//!   rule). While one is active, `replace` maps person → person in every
//!   level of its `slot` (every slot when `slot` is omitted). Several active
//!   overrides apply in file order, each to the result of the ones before,
//!   so "sena → copilot" then "copilot → lubit" pages lubit. A person
//!   replaced into a level they are already in is listed once.
//! - **Coverage gaps and overlaps** are judged on a typical week of wall
//!   clock time, without DST or overrides (see `gaps`).

mod build;
mod gaps;
mod report;
mod slots;
mod table;

#[cfg(test)]
pub(crate) mod tests_build;
#[cfg(test)]
mod tests_deps;
#[cfg(test)]
mod tests_dst;
#[cfg(test)]
mod tests_on_call;
#[cfg(test)]
mod tests_week;

use std::collections::BTreeMap;
use std::time::Duration;

pub use build::RosterError;
pub use gaps::{Gap, Overlap, WeekSpan};
pub use report::{write_at, write_week};
pub use slots::{parse_day, resolve_local, Days, LevelSpec, Override, Slot, WallTime, DAY_NAMES};
pub use table::WeekRow;

pub use crate::domain::Person;

/// A loaded roster. Built only by `Roster::new`, so every name in a chain
/// or override is a known person and every slot is well-formed.
#[derive(Clone, Debug)]
pub struct Roster {
    pub timezone: jiff::tz::TimeZone,
    pub people: BTreeMap<String, Person>,
    timezone_name: String,
    slots: Vec<slots::Slot>,
    overrides: Vec<Override>,
}

/// The slot that holds at an instant, with its escalation chain resolved to
/// people (overrides applied).
#[derive(Clone, Debug, PartialEq)]
pub struct OnCall {
    pub slot: String,
    pub levels: Vec<Level>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    /// Since the incident opened (level 0: zero).
    pub after: Duration,
    pub people: Vec<Person>,
}

impl Roster {
    /// The slot holding at `at` and its chain with active overrides applied;
    /// `None` in a coverage gap. When slots overlap, the first in the file.
    pub fn on_call(&self, at: jiff::Timestamp) -> Option<OnCall> {
        let slot = self.holding(at)?;
        Some(self.chain(slot, at))
    }

    pub fn person(&self, name: &str) -> Option<&Person> {
        self.people.get(name)
    }

    /// Hours of a typical local week when no slot holds, adjacent hours
    /// merged (a gap may run from Sunday into Monday).
    pub fn coverage_gaps(&self) -> Vec<Gap> {
        gaps::coverage_gaps(&self.slots)
    }

    /// Every pair of slots that hold at the same hours of a typical week.
    pub fn overlaps(&self) -> Vec<Overlap> {
        gaps::overlaps(&self.slots)
    }

    /// The IANA name as written in the file (`Asia/Seoul`).
    pub fn timezone_name(&self) -> &str {
        &self.timezone_name
    }

    /// Overrides in force at `at` for the slot named `slot`, in file order.
    pub fn overrides_at(&self, at: jiff::Timestamp, slot: &str) -> Vec<&Override> {
        self.overrides
            .iter()
            .filter(|o| o.is_active(at, slot))
            .collect()
    }

    /// The first slot (in file order) with an occurrence holding at `at`.
    /// An occurrence that holds starts on `at`'s local day or, for a slot
    /// that wraps midnight or ends at 24:00, the day before.
    fn holding(&self, at: jiff::Timestamp) -> Option<&slots::Slot> {
        let today = self.timezone.to_datetime(at).date();
        let days = [today.yesterday().ok(), Some(today)];
        self.slots.iter().find_map(|slot| {
            days.iter().flatten().find_map(|&day| {
                slot.occurrence(&self.timezone, day)
                    .filter(|&(start, end)| start <= at && at < end)
                    .map(|_| slot)
            })
        })
    }

    fn chain(&self, slot: &slots::Slot, at: jiff::Timestamp) -> OnCall {
        let active = self.overrides_at(at, &slot.name);
        let levels = slot
            .levels
            .iter()
            .map(|level| {
                let mut people: Vec<Person> = Vec::new();
                for name in &level.people {
                    let name = active
                        .iter()
                        .fold(name.as_str(), |name, o| o.replacement_of(name));
                    let person = self
                        .people
                        .get(name)
                        .expect("names are checked against `people` by `Roster::new`");
                    if !people.contains(person) {
                        people.push(person.clone());
                    }
                }
                Level {
                    after: level.after,
                    people,
                }
            })
            .collect();
        OnCall {
            slot: slot.name.clone(),
            levels,
        }
    }
}

pub use crate::domain::format::format_duration;
