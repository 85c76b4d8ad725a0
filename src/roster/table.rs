//! The concrete week behind `sena roster --week`: seven local days from a
//! given instant, cut wherever the answer to "who is paged?" changes —
//! slot boundaries and override windows — with real dates, so DST and
//! overrides show as they will happen.

use jiff::civil::Date;
use jiff::Timestamp;

use super::slots::resolve_local;
use super::{OnCall, Roster};

/// One stretch of the week during which the same slot and chain hold.
#[derive(Clone, Debug, PartialEq)]
pub struct WeekRow {
    pub start: Timestamp,
    pub end: Timestamp,
    /// `None`: a coverage gap, nobody is paged.
    pub on_call: Option<OnCall>,
    /// The overrides in force during the row (their `Display`), file order.
    pub overrides: Vec<String>,
}

impl Roster {
    /// The first local day of the week table for `at`.
    pub fn week_start(&self, at: Timestamp) -> Date {
        self.timezone.to_datetime(at).date()
    }

    /// Rows covering the seven local days starting at `at`'s local midnight.
    pub fn week(&self, at: Timestamp) -> Vec<WeekRow> {
        let first = self.week_start(at);
        let mut days: Vec<Date> = vec![first];
        for _ in 0..7 {
            match days.last().and_then(|d| d.tomorrow().ok()) {
                Some(next) => days.push(next),
                None => break,
            }
        }
        let midnight = |d: &Date| resolve_local(&self.timezone, d.at(0, 0, 0, 0));
        let (Some(window_start), Some(window_end)) =
            (midnight(&days[0]), days.last().and_then(midnight))
        else {
            return Vec::new();
        };

        // Every instant where the answer may change; between two of them it
        // cannot, so asking at the start of each stretch is enough.
        let mut cuts = vec![window_start, window_end];
        let starts = first.yesterday().into_iter().chain(days.iter().copied());
        for day in starts {
            for slot in &self.slots {
                if let Some((start, end)) = slot.occurrence(&self.timezone, day) {
                    cuts.extend([start, end]);
                }
            }
        }
        cuts.extend(self.overrides.iter().flat_map(|o| [o.from, o.to]));
        cuts.retain(|&t| window_start <= t && t <= window_end);
        cuts.sort_unstable();
        cuts.dedup();

        let mut rows: Vec<WeekRow> = Vec::new();
        for pair in cuts.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let on_call = self.on_call(start);
            let overrides = on_call.as_ref().map_or_else(Vec::new, |c| {
                self.overrides_at(start, &c.slot)
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            });
            match rows.last_mut() {
                Some(last) if last.on_call == on_call && last.overrides == overrides => {
                    last.end = end;
                }
                _ => rows.push(WeekRow {
                    start,
                    end,
                    on_call,
                    overrides,
                }),
            }
        }
        rows
    }
}
