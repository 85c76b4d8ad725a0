//! The roster's typical week in local wall-clock time: when nobody would be
//! paged (coverage gaps) and when two slots claim the same hour (overlaps).
//!
//! This is a property of the file, not of any date, so it ignores DST and
//! overrides: a 09:00–18:00 slot covers nine wall-clock hours even on the
//! day the clocks change.

use std::fmt;

use super::slots::{Slot, DAY_MINUTES, DAY_NAMES};

/// Minutes in a week.
pub const WEEK_MINUTES: u32 = 7 * DAY_MINUTES as u32;

/// A stretch of the typical week in local time; may wrap from Sunday into
/// Monday.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeekSpan {
    /// Minutes since Monday 00:00.
    pub start: u32,
    /// Length in minutes, 1..=WEEK_MINUTES.
    pub minutes: u32,
}

impl WeekSpan {
    /// The span cut at local midnights: `(day index, from, to)` in minutes of
    /// that day, `to` up to 1440 (printed `24:00`).
    pub fn by_day(&self) -> Vec<(usize, u32, u32)> {
        let mut pieces = Vec::new();
        let (mut at, end) = (self.start, self.start + self.minutes);
        while at < end {
            let day_start = at / DAY_MINUTES as u32 * DAY_MINUTES as u32;
            let piece_end = end.min(day_start + DAY_MINUTES as u32);
            let day = (day_start / DAY_MINUTES as u32) as usize % 7;
            pieces.push((day, at - day_start, piece_end - day_start));
            at = piece_end;
        }
        pieces
    }
}

/// `sat 00:00–24:00, sun 00:00–09:00`: one piece per day, so the reader
/// never has to work out which day a wrapped time falls on.
impl fmt::Display for WeekSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minutes >= WEEK_MINUTES {
            return f.write_str("at any hour of the week");
        }
        for (i, (day, from, to)) in self.by_day().into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {}–{}", DAY_NAMES[day], hhmm(from), hhmm(to))?;
        }
        Ok(())
    }
}

pub fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Hours of the typical week when no slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    pub span: WeekSpan,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.span.fmt(f)
    }
}

/// Two slots holding at the same hours. `on_call` returns `winner`, the one
/// written first in the file; `loser` is never paged during `spans`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap {
    pub winner: String,
    pub loser: String,
    pub spans: Vec<WeekSpan>,
}

impl Overlap {
    pub fn message(&self, zone: &str) -> String {
        let hours: Vec<String> = self.spans.iter().map(ToString::to_string).collect();
        format!(
            "overlapping slots: `{}` and `{}` both hold {} ({zone}); `{}` is paged, the first in the file wins",
            self.winner,
            self.loser,
            hours.join(", "),
            self.winner
        )
    }
}

/// `[start, end)` minutes of the week a slot holds, split where it runs
/// past Sunday midnight into Monday.
fn week_intervals(slot: &Slot) -> Vec<(u32, u32)> {
    let (from, to) = (slot.from.minutes() as u32, slot.to.minutes() as u32);
    let day = DAY_MINUTES as u32;
    let mut intervals = Vec::new();
    for index in (0..7).filter(|&i| slot.days.contains(i)) {
        let start = index as u32 * day + from;
        let end = if slot.wraps_midnight() {
            (index as u32 + 1) * day + to
        } else {
            index as u32 * day + to
        };
        if end > WEEK_MINUTES {
            intervals.push((start, WEEK_MINUTES));
            intervals.push((0, end - WEEK_MINUTES));
        } else {
            intervals.push((start, end));
        }
    }
    intervals
}

/// The week cut at every slot boundary: `(start, end, holders)` where
/// `holders` are slot indices in file order.
fn segments(slots: &[Slot]) -> Vec<(u32, u32, Vec<usize>)> {
    let per_slot: Vec<Vec<(u32, u32)>> = slots.iter().map(week_intervals).collect();
    let mut cuts: Vec<u32> = vec![0, WEEK_MINUTES];
    cuts.extend(per_slot.iter().flatten().flat_map(|&(s, e)| [s, e]));
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| {
            let holders = (0..slots.len())
                .filter(|&i| per_slot[i].iter().any(|&(s, e)| s <= w[0] && w[0] < e))
                .collect();
            (w[0], w[1], holders)
        })
        .collect()
}

/// Joins touching `[start, end)` intervals (sorted) into spans, including
/// one that runs from Sunday evening across into Monday morning.
fn merge(intervals: &[(u32, u32)]) -> Vec<WeekSpan> {
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for &(s, e) in intervals {
        match merged.last_mut() {
            Some(last) if last.1 == s => last.1 = e,
            _ => merged.push((s, e)),
        }
    }
    if merged.len() > 1 && merged[0].0 == 0 && merged[merged.len() - 1].1 == WEEK_MINUTES {
        let first = merged.remove(0);
        let last = merged.last_mut().expect("more than one span");
        last.1 = WEEK_MINUTES + first.1;
    }
    merged
        .into_iter()
        .map(|(s, e)| WeekSpan {
            start: s,
            minutes: e - s,
        })
        .collect()
}

pub fn coverage_gaps(slots: &[Slot]) -> Vec<Gap> {
    let empty: Vec<(u32, u32)> = segments(slots)
        .into_iter()
        .filter(|(_, _, holders)| holders.is_empty())
        .map(|(s, e, _)| (s, e))
        .collect();
    merge(&empty).into_iter().map(|span| Gap { span }).collect()
}

pub fn overlaps(slots: &[Slot]) -> Vec<Overlap> {
    let segments = segments(slots);
    let mut found = Vec::new();
    for winner in 0..slots.len() {
        for loser in winner + 1..slots.len() {
            let shared: Vec<(u32, u32)> = segments
                .iter()
                .filter(|(_, _, h)| h.contains(&winner) && h.contains(&loser))
                .map(|&(s, e, _)| (s, e))
                .collect();
            if !shared.is_empty() {
                found.push(Overlap {
                    winner: slots[winner].name.clone(),
                    loser: slots[loser].name.clone(),
                    spans: merge(&shared),
                });
            }
        }
    }
    found
}
