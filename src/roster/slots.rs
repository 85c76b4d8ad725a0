//! The building blocks of a roster once loaded: wall-clock times, day sets,
//! slots and overrides, and how a local wall-clock time becomes an instant.
//!
//! Slots are turned into *occurrences* — `[start, end)` intervals of real
//! instants, one per day the slot starts on — rather than tested against the
//! local clock reading of `at`. On a fall-back day the local reading 01:15
//! happens twice; only instants can tell the first from the second, and the
//! roster's rule ("a doubled wall time means its first occurrence") is a rule
//! about instants.

use std::fmt;
use std::time::Duration;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;

/// Minutes in a day; also the value of `24:00`.
pub const DAY_MINUTES: u16 = 24 * 60;

/// Day names as written in roster files and printed back, Monday first.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A local wall-clock time of day, `00:00` to `24:00` inclusive, in minutes.
/// `24:00` exists only as a slot's end ("until midnight").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WallTime(u16);

impl WallTime {
    pub const MIDNIGHT: WallTime = WallTime(0);
    pub const END_OF_DAY: WallTime = WallTime(DAY_MINUTES);

    /// Parses `HH:MM` (one-digit hours accepted); `24:00` only with `allow_24`.
    pub fn parse(text: &str, allow_24: bool) -> Result<WallTime, String> {
        let t = text.trim();
        let bad = || {
            format!(
                "`{t}` is not a time of day; write HH:MM from 00:00 to 23:59 (24:00 only for `to`)"
            )
        };
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
            return Err(bad());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h == 24 && m == 0 {
            return if allow_24 {
                Ok(WallTime::END_OF_DAY)
            } else {
                Err("`from` cannot be 24:00; a slot that starts at midnight starts at 00:00".into())
            };
        }
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(WallTime(h * 60 + m))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }

    /// The civil datetime of this wall time on `date`; `24:00` is the next
    /// day's midnight.
    fn on(self, date: Date) -> Option<DateTime> {
        if self == WallTime::END_OF_DAY {
            return Some(date.tomorrow().ok()?.at(0, 0, 0, 0));
        }
        Some(date.at((self.0 / 60) as i8, (self.0 % 60) as i8, 0, 0))
    }
}

impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Monday-first index 0..=6 of a weekday.
pub fn day_index(day: Weekday) -> usize {
    day.to_monday_zero_offset() as usize
}

/// Parses `mon` … `sun` (or the full English name, any case) to 0..=6.
pub fn parse_day(text: &str) -> Result<usize, String> {
    let t = text.trim().to_ascii_lowercase();
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    (0..7)
        .find(|&i| t == DAY_NAMES[i] || t == FULL[i])
        .ok_or_else(|| {
            format!(
                "`{}` is not a day; write mon, tue, wed, thu, fri, sat or sun",
                text.trim()
            )
        })
}

/// The days of the week a slot starts on, as a bit set (bit 0 = Monday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days(u8);

impl Days {
    pub const EVERY_DAY: Days = Days(0b111_1111);
    pub const NONE: Days = Days(0);

    pub fn with(self, index: usize) -> Days {
        Days(self.0 | (1 << index))
    }

    pub fn contains(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }
}

/// One escalation level as written: who, and how long after the incident
/// opened they are paged. Names are checked against `people` at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelSpec {
    pub after: Duration,
    pub people: Vec<String>,
}

/// A named, recurring window of local wall-clock time with its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    /// The days the slot *starts* on (matters for slots that wrap midnight).
    pub days: Days,
    pub from: WallTime,
    /// Never equal to `from` (rejected at load); `to < from` wraps midnight.
    pub to: WallTime,
    pub levels: Vec<LevelSpec>,
}

impl Slot {
    pub fn wraps_midnight(&self) -> bool {
        self.to < self.from
    }

    /// The instants `[start, end)` of this slot's occurrence that starts on
    /// local `date`, or `None` when the slot does not start that day (or is
    /// swallowed whole by a DST gap).
    pub fn occurrence(&self, tz: &TimeZone, date: Date) -> Option<(Timestamp, Timestamp)> {
        if !self.days.contains(day_index(date.weekday())) {
            return None;
        }
        let end_date = if self.wraps_midnight() {
            date.tomorrow().ok()?
        } else {
            date
        };
        let start = resolve_local(tz, self.from.on(date)?)?;
        let end = resolve_local(tz, self.to.on(end_date)?)?;
        (start < end).then_some((start, end))
    }
}

/// A swap or holiday: within `[from, to)`, people are replaced in one slot
/// (or every slot when `slot` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub from_local: DateTime,
    pub to_local: DateTime,
    pub from: Timestamp,
    pub to: Timestamp,
    pub slot: Option<String>,
    /// `(replaced, replacement)` pairs in file order.
    pub replace: Vec<(String, String)>,
}

impl Override {
    pub fn is_active(&self, at: Timestamp, slot: &str) -> bool {
        self.from <= at && at < self.to && self.slot.as_deref().is_none_or(|s| s == slot)
    }

    pub fn replacement_of<'a>(&'a self, name: &'a str) -> &'a str {
        self.replace
            .iter()
            .find(|(replaced, _)| replaced == name)
            .map_or(name, |(_, replacement)| replacement)
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let swaps: Vec<String> = self
            .replace
            .iter()
            .map(|(a, b)| format!("{a} → {b}"))
            .collect();
        write!(
            f,
            "override {} – {}",
            self.from_local.strftime("%Y-%m-%dT%H:%M"),
            self.to_local.strftime("%Y-%m-%dT%H:%M"),
        )?;
        if let Some(slot) = &self.slot {
            write!(f, " in {slot}")?;
        }
        write!(f, ": {}", swaps.join(", "))
    }
}

/// The instant a local wall-clock time denotes, by the roster's DST rule:
/// a time skipped by spring-forward means the first instant after the gap
/// (the transition itself, so a slot starting at 02:30 starts at 03:00 new
/// time, not 03:30 as jiff's `compatible` would have it); a time that occurs
/// twice on fall-back means its first occurrence (as `compatible`).
pub fn resolve_local(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the post-gap offset the wall time lands before the
            // transition; the next transition from there is the gap's end.
            let before_gap = after.to_timestamp(dt).ok()?;
            let transition = tz.following(before_gap).next()?;
            Some(transition.timestamp())
        }
        _ => ambiguous.compatible().ok(),
    }
}
