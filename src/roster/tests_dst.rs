//! America/New_York across its 2026 transitions, asserted on exact UTC
//! instants on both sides of each boundary.
//!
//! - Spring forward, Sun 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z);
//!   local 02:00–02:59 never happens.
//! - Fall back, Sun 2026-11-01: 02:00 EDT goes back to 01:00 EST (06:00Z);
//!   local 01:00–01:59 happens twice (05:00Z–06:00Z EDT, 06:00Z–07:00Z EST).

use super::tests_build::{person, roster, slot, Swap};
use super::tests_on_call::{at, slot_at};
use super::*;

fn new_york_with(slots: Vec<Slot>, overrides: &[Swap]) -> Roster {
    let people = [
        person("ana", Some("U0ANA"), None),
        person("bo", Some("U0BO"), None),
    ];
    roster("America/New_York", &people, slots, overrides)
}

fn new_york(slots: Vec<Slot>) -> Roster {
    new_york_with(slots, &[])
}

/// Day 02:30 → 23:00 and night 23:00 → 02:30: the shift change sits inside
/// the hour spring-forward skips.
fn shift_change_at_0230() -> Roster {
    new_york(vec![
        slot("day", &[], "02:30", "23:00", &[(0, &["ana"])]),
        slot("night", &[], "23:00", "02:30", &[(0, &["bo"])]),
    ])
}

/// Day 01:30 → 23:00 and night 23:00 → 01:30: the shift change sits inside
/// the hour fall-back repeats.
fn shift_change_at_0130() -> Roster {
    new_york(vec![
        slot("day", &[], "01:30", "23:00", &[(0, &["ana"])]),
        slot("night", &[], "23:00", "01:30", &[(0, &["bo"])]),
    ])
}

#[test]
fn spring_forward_boundary_in_the_gap_moves_to_the_first_instant_after_it() {
    let r = shift_change_at_0230();
    // Night began Sat 23:00 EST = 04:00Z.
    assert_eq!(slot_at(&r, "2026-03-08T03:59:59Z").as_deref(), Some("day"));
    assert_eq!(
        slot_at(&r, "2026-03-08T04:00:00Z").as_deref(),
        Some("night")
    );
    // 01:59:59 EST, the last instant before the jump: still night.
    assert_eq!(
        slot_at(&r, "2026-03-08T06:59:59Z").as_deref(),
        Some("night")
    );
    // 03:00 EDT, the first instant after: day (not at 03:30 EDT, which is
    // where jiff's `compatible` would put a 02:30 that does not exist).
    assert_eq!(slot_at(&r, "2026-03-08T07:00:00Z").as_deref(), Some("day"));
    assert_eq!(slot_at(&r, "2026-03-08T07:29:59Z").as_deref(), Some("day"));
    // Day ends 23:00 EDT = 03:00Z next day.
    assert_eq!(slot_at(&r, "2026-03-09T02:59:59Z").as_deref(), Some("day"));
    assert_eq!(
        slot_at(&r, "2026-03-09T03:00:00Z").as_deref(),
        Some("night")
    );
}

#[test]
fn the_day_after_spring_forward_uses_the_new_offset() {
    let r = shift_change_at_0230();
    // Mon 2026-03-09 02:30 EDT = 06:30Z.
    assert_eq!(
        slot_at(&r, "2026-03-09T06:29:59Z").as_deref(),
        Some("night")
    );
    assert_eq!(slot_at(&r, "2026-03-09T06:30:00Z").as_deref(), Some("day"));
    // The day before: Sat 2026-03-07 02:30 EST = 07:30Z.
    assert_eq!(
        slot_at(&r, "2026-03-07T07:29:59Z").as_deref(),
        Some("night")
    );
    assert_eq!(slot_at(&r, "2026-03-07T07:30:00Z").as_deref(), Some("day"));
}

#[test]
fn a_slot_entirely_inside_the_skipped_hour_does_not_hold_that_day() {
    let r = new_york(vec![slot("blink", &[], "02:10", "02:50", &[(0, &["ana"])])]);
    for instant in [
        "2026-03-08T06:59:59Z",
        "2026-03-08T07:00:00Z",
        "2026-03-08T07:20:00Z",
    ] {
        assert_eq!(slot_at(&r, instant), None, "{instant}");
    }
    // Other days it does: Sat 02:10 EST = 07:10Z, Mon 02:10 EDT = 06:10Z.
    assert_eq!(
        slot_at(&r, "2026-03-07T07:10:00Z").as_deref(),
        Some("blink")
    );
    assert_eq!(
        slot_at(&r, "2026-03-09T06:10:00Z").as_deref(),
        Some("blink")
    );
}

#[test]
fn fall_back_boundary_in_the_repeated_hour_is_its_first_occurrence() {
    let r = shift_change_at_0130();
    // Night began Sat 23:00 EDT = 03:00Z; ends at the first 01:30 (EDT, 05:30Z).
    assert_eq!(slot_at(&r, "2026-11-01T02:59:59Z").as_deref(), Some("day"));
    assert_eq!(
        slot_at(&r, "2026-11-01T03:00:00Z").as_deref(),
        Some("night")
    );
    assert_eq!(
        slot_at(&r, "2026-11-01T05:29:59Z").as_deref(),
        Some("night")
    );
    assert_eq!(slot_at(&r, "2026-11-01T05:30:00Z").as_deref(), Some("day"));
    // 06:00Z is 01:00 EST: the clock reads before 01:30 again, but the
    // night shift is over and does not come back (a wall-clock check would
    // wrongly page it here).
    assert_eq!(slot_at(&r, "2026-11-01T06:00:00Z").as_deref(), Some("day"));
    assert_eq!(slot_at(&r, "2026-11-01T06:15:00Z").as_deref(), Some("day"));
    assert_eq!(slot_at(&r, "2026-11-01T06:30:00Z").as_deref(), Some("day"));
    // Day ends 23:00 EST = 04:00Z next day.
    assert_eq!(slot_at(&r, "2026-11-02T03:59:59Z").as_deref(), Some("day"));
    assert_eq!(
        slot_at(&r, "2026-11-02T04:00:00Z").as_deref(),
        Some("night")
    );
}

#[test]
fn a_slot_ending_in_the_repeated_hour_does_not_hold_again() {
    let r = new_york(vec![slot(
        "evening",
        &[],
        "20:00",
        "01:30",
        &[(0, &["bo"])],
    )]);
    // 01:15 EDT (05:15Z) is inside; 01:15 EST (06:15Z) is after the end.
    assert_eq!(
        slot_at(&r, "2026-11-01T05:15:00Z").as_deref(),
        Some("evening")
    );
    assert_eq!(
        slot_at(&r, "2026-11-01T05:29:59Z").as_deref(),
        Some("evening")
    );
    assert_eq!(slot_at(&r, "2026-11-01T05:30:00Z"), None);
    assert_eq!(slot_at(&r, "2026-11-01T06:15:00Z"), None);
    // The next evening starts 20:00 EST = 01:00Z on 11-02.
    assert_eq!(slot_at(&r, "2026-11-02T00:59:59Z"), None);
    assert_eq!(
        slot_at(&r, "2026-11-02T01:00:00Z").as_deref(),
        Some("evening")
    );
}

#[test]
fn a_slot_starting_in_the_repeated_hour_starts_at_its_first_occurrence() {
    let r = new_york(vec![slot("early", &[], "01:30", "06:00", &[(0, &["ana"])])]);
    assert_eq!(slot_at(&r, "2026-11-01T05:29:59Z"), None);
    assert_eq!(
        slot_at(&r, "2026-11-01T05:30:00Z").as_deref(),
        Some("early")
    );
    // Holds through the repeated hour; ends 06:00 EST = 11:00Z.
    assert_eq!(
        slot_at(&r, "2026-11-01T06:15:00Z").as_deref(),
        Some("early")
    );
    assert_eq!(
        slot_at(&r, "2026-11-01T10:59:59Z").as_deref(),
        Some("early")
    );
    assert_eq!(slot_at(&r, "2026-11-01T11:00:00Z"), None);
}

#[test]
fn override_times_follow_the_same_dst_rule() {
    let r = new_york_with(
        vec![slot("all", &[], "00:00", "24:00", &[(0, &["ana"])])],
        &[
            // 02:30 does not exist on 2026-03-08: the override starts at 03:00 EDT.
            Swap {
                from: "2026-03-08T02:30",
                to: "2026-03-08T04:00",
                slot: None,
                replace: &[("ana", "bo")],
            },
            // 01:30 happens twice on 2026-11-01: the first one (EDT) is meant.
            Swap {
                from: "2026-11-01T01:30",
                to: "2026-11-01T03:00",
                slot: None,
                replace: &[("ana", "bo")],
            },
        ],
    );
    let level0 = |utc: &str| {
        let on_call = r.on_call(at(utc)).expect("always covered");
        on_call.levels[0].people[0].name.clone()
    };
    assert_eq!(level0("2026-03-08T06:59:59Z"), "ana");
    assert_eq!(level0("2026-03-08T07:00:00Z"), "bo");
    assert_eq!(level0("2026-03-08T07:59:59Z"), "bo");
    assert_eq!(level0("2026-03-08T08:00:00Z"), "ana");
    assert_eq!(level0("2026-11-01T05:29:59Z"), "ana");
    assert_eq!(level0("2026-11-01T05:30:00Z"), "bo");
    // 03:00 EST = 08:00Z.
    assert_eq!(level0("2026-11-01T07:59:59Z"), "bo");
    assert_eq!(level0("2026-11-01T08:00:00Z"), "ana");
}

#[test]
fn typical_week_coverage_ignores_dst() {
    // Consecutive slots sharing a boundary leave no gap on any day.
    assert!(shift_change_at_0230().coverage_gaps().is_empty());
    assert!(shift_change_at_0130().overlaps().is_empty());
}
