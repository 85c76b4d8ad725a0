//! Coverage gaps and overlaps of the typical week, and the exact text of
//! `sena roster` (one instant, and `--week`).

use super::tests_build::{contract, person, roster, slot};
use super::tests_on_call::at;
use super::*;

const DAY: u32 = 24 * 60;

fn seoul(slots: Vec<Slot>) -> Roster {
    let people = [
        person("sena", Some("U0SENA"), None),
        person("lubit", Some("U0LUBIT"), None),
    ];
    roster("Asia/Seoul", &people, slots, &[])
}

#[test]
fn gaps_are_merged_and_wrap_from_sunday_into_monday() {
    let r = seoul(vec![
        slot(
            "weekdays",
            &["mon", "tue", "wed", "thu", "fri"],
            "09:00",
            "18:00",
            &[(0, &["sena"])],
        ),
        slot(
            "weeknights",
            &["mon", "tue", "wed", "thu"],
            "18:00",
            "09:00",
            &[(0, &["lubit"])],
        ),
    ]);
    // Only Fri 18:00 → Mon 09:00, as one gap.
    let gaps = r.coverage_gaps();
    assert_eq!(
        gaps,
        [Gap {
            span: WeekSpan {
                start: 4 * DAY + 18 * 60,
                minutes: 2 * DAY + 6 * 60 + 9 * 60,
            }
        }]
    );
    assert_eq!(
        gaps[0].to_string(),
        "fri 18:00–24:00, sat 00:00–24:00, sun 00:00–24:00, mon 00:00–09:00"
    );
}

#[test]
fn full_coverage_has_no_gaps_and_no_slots_is_one_big_gap() {
    let r = seoul(vec![slot(
        "always",
        &[],
        "00:00",
        "24:00",
        &[(0, &["sena"])],
    )]);
    assert!(r.coverage_gaps().is_empty());
    let none = seoul(Vec::new());
    let gaps = none.coverage_gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].to_string(), "at any hour of the week");
}

#[test]
fn overlaps_name_both_slots_and_the_shared_hours() {
    let r = seoul(vec![
        slot("day", &["mon"], "08:00", "20:00", &[(0, &["sena"])]),
        slot(
            "night",
            &["sun", "mon"],
            "19:00",
            "09:00",
            &[(0, &["lubit"])],
        ),
    ]);
    let overlaps = r.overlaps();
    assert_eq!(overlaps.len(), 1);
    assert_eq!(
        (overlaps[0].winner.as_str(), overlaps[0].loser.as_str()),
        ("day", "night")
    );
    // Sunday's night runs into Monday 08:00–09:00; Monday's starts 19:00.
    let hours: Vec<String> = overlaps[0].spans.iter().map(ToString::to_string).collect();
    assert_eq!(hours, ["mon 08:00–09:00", "mon 19:00–20:00"]);
    assert!(r.overlaps()[0]
        .message("Asia/Seoul")
        .contains("`day` is paged"));
}

fn print_at(roster: &Roster, utc: &str) -> String {
    let mut out = Vec::new();
    write_at(roster, at(utc), &mut out).expect("writes");
    String::from_utf8(out).expect("utf-8")
}

fn print_week(roster: &Roster, utc: &str) -> String {
    let mut out = Vec::new();
    write_week(roster, at(utc), &mut out).expect("writes");
    String::from_utf8(out).expect("utf-8")
}

fn fixture() -> Roster {
    contract()
}

#[test]
fn at_an_instant_prints_the_chain_and_active_overrides() {
    let r = fixture();
    assert_eq!(
        print_at(&r, "2025-10-21T05:00:00Z"),
        "At 2025-10-21T14:00:00+09:00[Asia/Seoul]: slot business-hours
  level 0 (at once): sena <@U0SENA> sena@example.com
  level 1 (after 10m): copilot <@U0COPILOT> copilot@example.com
  level 2 (after 30m): lubit <@U0LUBIT> lubit@example.com
"
    );
    assert_eq!(
        print_at(&r, "2025-10-22T05:00:00Z"),
        "At 2025-10-22T14:00:00+09:00[Asia/Seoul]: slot business-hours
  level 0 (at once): copilot <@U0COPILOT> copilot@example.com
  level 1 (after 10m): copilot <@U0COPILOT> copilot@example.com
  level 2 (after 30m): lubit <@U0LUBIT> lubit@example.com
  override 2025-10-22T12:00 – 2025-10-23T12:00 in business-hours: sena → copilot
"
    );
}

#[test]
fn at_an_instant_in_a_gap_says_so() {
    assert_eq!(
        print_at(&fixture(), "2025-10-25T03:00:00Z"),
        "At 2025-10-25T12:00:00+09:00[Asia/Seoul]: nobody is on call (coverage gap)\n"
    );
}

#[test]
fn week_table_applies_the_overrides_of_that_week() {
    // From Mon 2025-10-20 10:00 KST: the table starts at that day's midnight.
    let printed = print_week(&fixture(), "2025-10-20T01:00:00Z");
    let chain = "sena → copilot (10m) → lubit (30m)";
    let swapped = "copilot → copilot (10m) → lubit (30m)  [override 2025-10-22T12:00 – 2025-10-23T12:00 in business-hours: sena → copilot]";
    let expected = format!(
        "Week 2025-10-20 to 2025-10-26 (Asia/Seoul)
mon 00:00–09:00      (gap: nobody paged)
mon 09:00–18:00      business-hours  {chain}
mon 18:00–tue 09:00  (gap: nobody paged)
tue 09:00–18:00      business-hours  {chain}
tue 18:00–wed 09:00  (gap: nobody paged)
wed 09:00–12:00      business-hours  {chain}
wed 12:00–18:00      business-hours  {swapped}
wed 18:00–thu 09:00  (gap: nobody paged)
thu 09:00–12:00      business-hours  {swapped}
thu 12:00–18:00      business-hours  {chain}
thu 18:00–fri 09:00  (gap: nobody paged)
fri 09:00–18:00      business-hours  {chain}
fri 18:00–sun 24:00  (gap: nobody paged)
"
    );
    assert_eq!(printed, expected);
}

#[test]
fn week_table_shows_dst_days_as_they_happen() {
    let r = roster(
        "America/New_York",
        &[
            person("ana", Some("U0ANA"), None),
            person("bo", Some("U0BO"), None),
        ],
        vec![
            slot("day", &[], "02:30", "23:00", &[(0, &["ana"])]),
            slot("night", &[], "23:00", "02:30", &[(0, &["bo"])]),
        ],
        &[],
    );
    // Sun 2026-03-08 12:00 EDT. The night shift ends at 03:00, the first
    // instant after the skipped hour.
    let printed = print_week(&r, "2026-03-08T16:00:00Z");
    let lines: Vec<&str> = printed.lines().take(4).collect();
    assert_eq!(
        lines,
        [
            "Week 2026-03-08 to 2026-03-14 (America/New_York)",
            "sun 00:00–03:00      night  bo",
            "sun 03:00–23:00      day    ana",
            "sun 23:00–mon 02:30  night  bo",
        ]
    );
}
