//! `Roster::on_call` in a zone without DST (Asia/Seoul, UTC+9 all year):
//! slot edges, midnight wrap, `24:00`, overrides, overlaps. Every instant is
//! written in UTC so the test says exactly which moment it means.

use super::tests_build::{contract, person, roster, slot, Swap};
use super::*;

pub(super) fn at(utc: &str) -> jiff::Timestamp {
    utc.parse().expect("an RFC 3339 instant")
}

/// The slot at `utc` and the names per level, or `None` in a gap.
pub(super) fn paged(roster: &Roster, utc: &str) -> Option<(String, Vec<Vec<String>>)> {
    roster.on_call(at(utc)).map(|on_call| {
        let levels = on_call
            .levels
            .iter()
            .map(|l| l.people.iter().map(|p| p.name.clone()).collect())
            .collect();
        (on_call.slot, levels)
    })
}

pub(super) fn slot_at(roster: &Roster, utc: &str) -> Option<String> {
    paged(roster, utc).map(|(slot, _)| slot)
}

fn level0(roster: &Roster, utc: &str) -> Vec<String> {
    paged(roster, utc).expect("a slot holds").1[0].clone()
}

fn seoul(slots: Vec<Slot>, overrides: &[Swap]) -> Roster {
    let people = [
        person("sena", Some("U0SENA"), None),
        person("copilot", Some("U0COPILOT"), None),
        person("lubit", None, Some("lubit@example.com")),
    ];
    roster("Asia/Seoul", &people, slots, overrides)
}

const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri"];

fn business(days: &[&str]) -> Vec<Slot> {
    vec![slot(
        "business-hours",
        days,
        "09:00",
        "18:00",
        &[(0, &["sena"]), (10, &["copilot"])],
    )]
}

#[test]
fn business_hours_hold_from_inclusive_to_exclusive() {
    let r = seoul(business(WEEKDAYS), &[]);
    // Tue 2025-10-21, 09:00 KST = 00:00Z.
    assert_eq!(slot_at(&r, "2025-10-20T23:59:59Z"), None);
    assert_eq!(
        slot_at(&r, "2025-10-21T00:00:00Z").as_deref(),
        Some("business-hours")
    );
    assert_eq!(
        slot_at(&r, "2025-10-21T08:59:59Z").as_deref(),
        Some("business-hours")
    );
    assert_eq!(slot_at(&r, "2025-10-21T09:00:00Z"), None);
    // Sat 2025-10-25 12:00 KST: not a listed day.
    assert_eq!(slot_at(&r, "2025-10-25T03:00:00Z"), None);
}

#[test]
fn chain_carries_delays_and_contacts() {
    let r = seoul(business(WEEKDAYS), &[]);
    let on_call = r.on_call(at("2025-10-21T01:00:00Z")).expect("in slot");
    assert_eq!(on_call.levels.len(), 2);
    assert_eq!(on_call.levels[0].after, std::time::Duration::ZERO);
    assert_eq!(on_call.levels[1].after, std::time::Duration::from_secs(600));
    assert_eq!(
        on_call.levels[1].people[0].slack.as_deref(),
        Some("U0COPILOT")
    );
}

#[test]
fn wrapping_slot_belongs_to_the_day_it_starts() {
    let r = seoul(
        vec![slot(
            "weekend-night",
            &["fri"],
            "18:00",
            "09:00",
            &[(0, &["lubit"])],
        )],
        &[],
    );
    // Fri 2025-10-24 18:00 KST = 09:00Z starts it.
    assert_eq!(slot_at(&r, "2025-10-24T08:59:59Z"), None);
    assert_eq!(
        slot_at(&r, "2025-10-24T09:00:00Z").as_deref(),
        Some("weekend-night")
    );
    // Sat 03:00 KST, past midnight, still Friday's slot.
    assert_eq!(
        slot_at(&r, "2025-10-24T18:00:00Z").as_deref(),
        Some("weekend-night")
    );
    assert_eq!(
        slot_at(&r, "2025-10-24T23:59:59Z").as_deref(),
        Some("weekend-night")
    );
    // Sat 09:00 KST ends it; Sat 18:00 does not start another (sat not listed).
    assert_eq!(slot_at(&r, "2025-10-25T00:00:00Z"), None);
    assert_eq!(slot_at(&r, "2025-10-25T09:00:00Z"), None);
    // Fri 03:00 KST would be Thursday's night: thu not listed.
    assert_eq!(slot_at(&r, "2025-10-23T18:00:00Z"), None);
}

#[test]
fn until_24_00_runs_to_midnight() {
    let r = seoul(
        vec![
            slot("late", &["mon"], "18:00", "24:00", &[(0, &["sena"])]),
            slot("always", &["wed"], "00:00", "24:00", &[(0, &["copilot"])]),
        ],
        &[],
    );
    // Mon 2025-10-20 23:59:59 KST = 14:59:59Z; Tue 00:00 KST = 15:00Z.
    assert_eq!(slot_at(&r, "2025-10-20T14:59:59Z").as_deref(), Some("late"));
    assert_eq!(slot_at(&r, "2025-10-20T15:00:00Z"), None);
    // Wed 2025-10-22 00:00–24:00 KST = Tue 15:00Z – Wed 15:00Z.
    assert_eq!(slot_at(&r, "2025-10-21T14:59:59Z"), None);
    assert_eq!(
        slot_at(&r, "2025-10-21T15:00:00Z").as_deref(),
        Some("always")
    );
    assert_eq!(
        slot_at(&r, "2025-10-22T14:59:59Z").as_deref(),
        Some("always")
    );
    assert_eq!(slot_at(&r, "2025-10-22T15:00:00Z"), None);
}

#[test]
fn override_replaces_only_inside_its_window() {
    // The contract's fixture: sena → copilot from Wed 12:00 to Thu 12:00 KST.
    let r = contract();
    assert_eq!(level0(&r, "2025-10-22T02:59:59Z"), ["sena"]);
    assert_eq!(level0(&r, "2025-10-22T03:00:00Z"), ["copilot"]);
    // Thu 11:59:59 KST still replaced, 12:00 KST back to sena.
    assert_eq!(level0(&r, "2025-10-23T02:59:59Z"), ["copilot"]);
    assert_eq!(level0(&r, "2025-10-23T03:00:00Z"), ["sena"]);
    // Level 1 was already copilot: replaced people are not doubled.
    let (_, levels) = paged(&r, "2025-10-22T05:00:00Z").expect("in slot");
    assert_eq!(levels, [vec!["copilot"], vec!["copilot"], vec!["lubit"]]);
    assert_eq!(
        r.overrides_at(at("2025-10-22T05:00:00Z"), "business-hours")
            .len(),
        1
    );
    assert!(r
        .overrides_at(at("2025-10-21T05:00:00Z"), "business-hours")
        .is_empty());
}

fn day_and_night() -> Vec<Slot> {
    vec![
        slot("day", &[], "09:00", "18:00", &[(0, &["sena"])]),
        slot(
            "night",
            &[],
            "18:00",
            "09:00",
            &[(0, &["sena"]), (15, &["lubit"])],
        ),
    ]
}

#[test]
fn override_with_a_slot_touches_only_that_slot() {
    let r = seoul(
        day_and_night(),
        &[Swap {
            from: "2025-10-22T00:00",
            to: "2025-10-23T00:00",
            slot: Some("day"),
            replace: &[("sena", "copilot")],
        }],
    );
    // Wed 10:00 KST (day) replaced; Wed 20:00 KST (night) untouched.
    assert_eq!(level0(&r, "2025-10-22T01:00:00Z"), ["copilot"]);
    assert_eq!(level0(&r, "2025-10-22T11:00:00Z"), ["sena"]);
}

#[test]
fn override_without_a_slot_touches_every_slot() {
    let r = seoul(
        day_and_night(),
        &[Swap {
            from: "2025-10-22T00:00",
            to: "2025-10-23T00:00",
            slot: None,
            replace: &[("sena", "copilot")],
        }],
    );
    assert_eq!(level0(&r, "2025-10-22T01:00:00Z"), ["copilot"]);
    assert_eq!(level0(&r, "2025-10-22T11:00:00Z"), ["copilot"]);
    // Thu 10:00 KST: the window is over.
    assert_eq!(level0(&r, "2025-10-23T01:00:00Z"), ["sena"]);
}

#[test]
fn overlapping_overrides_apply_in_file_order() {
    let r = seoul(
        day_and_night(),
        &[
            Swap {
                from: "2025-10-22T00:00",
                to: "2025-10-23T00:00",
                slot: None,
                replace: &[("sena", "copilot")],
            },
            Swap {
                from: "2025-10-22T12:00",
                to: "2025-10-22T13:00",
                slot: None,
                replace: &[("copilot", "lubit")],
            },
        ],
    );
    assert_eq!(level0(&r, "2025-10-22T02:00:00Z"), ["copilot"]);
    // 12:30 KST: copilot is covering for sena and is away too.
    assert_eq!(level0(&r, "2025-10-22T03:30:00Z"), ["lubit"]);
}

#[test]
fn first_slot_in_the_file_wins_an_overlap() {
    let r = seoul(
        vec![
            slot("primary", &[], "08:00", "20:00", &[(0, &["sena"])]),
            slot("backup", &[], "00:00", "24:00", &[(0, &["lubit"])]),
        ],
        &[],
    );
    // 12:00 KST both hold: primary; 22:00 KST only backup.
    assert_eq!(
        slot_at(&r, "2025-10-22T03:00:00Z").as_deref(),
        Some("primary")
    );
    assert_eq!(
        slot_at(&r, "2025-10-22T13:00:00Z").as_deref(),
        Some("backup")
    );
}

#[test]
fn the_same_local_hours_hold_all_year_in_seoul() {
    // Seoul has no DST: 09:00 KST is 00:00Z on New York's transition days too.
    let r = seoul(business(&["sun", "mon"]), &[]);
    for day in ["2026-03-08", "2026-03-09", "2026-11-01", "2026-11-02"] {
        let yesterday_end = format!("{}T23:59:59Z", previous(day));
        assert_eq!(slot_at(&r, &yesterday_end), None, "{day}");
        let start = format!("{day}T00:00:00Z");
        assert_eq!(
            slot_at(&r, &start).as_deref(),
            Some("business-hours"),
            "{day}"
        );
        let end = format!("{day}T09:00:00Z");
        assert_eq!(slot_at(&r, &end), None, "{day}");
    }
}

fn previous(day: &str) -> String {
    let date: jiff::civil::Date = day.parse().expect("a date");
    date.yesterday().expect("not the first day").to_string()
}
