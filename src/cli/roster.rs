//! `sena roster [--at RFC3339] [--week]`: who is on call at an instant and
//! the escalation chain, or the week ahead as a table. The text is built in
//! `roster::report` (where its tests live); this verb only chooses.

use crate::roster::{self, Roster};

/// Writes the chain holding at `at`, or with `week` the seven local days
/// from `at`'s day, one row per stretch with the same slot and chain.
pub fn run(
    roster: &Roster,
    at: jiff::Timestamp,
    week: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if week {
        roster::write_week(roster, at, out)
    } else {
        roster::write_at(roster, at, out)
    }
}
