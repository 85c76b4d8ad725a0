//! Rosters for the tests of this module, built through `Roster::new` as the
//! config reader builds them: the on-call rules are tested here on typed
//! values, without YAML (reading and its diagnostics are tested in
//! `config::roster`).

use std::time::Duration;

use jiff::tz::TimeZone;

use super::{parse_day, Days, LevelSpec, Override, Person, Roster, Slot, WallTime};

/// A person with a Slack member ID and/or an email address.
pub(crate) fn person(name: &str, slack: Option<&str>, email: Option<&str>) -> Person {
    Person {
        name: name.to_string(),
        slack: slack.map(str::to_string),
        email: email.map(str::to_string),
    }
}

/// A slot starting on `days` (`[]`: every day), `from`–`to` local, and its
/// chain as (minutes after the incident opened, people) per level.
pub(crate) fn slot(
    name: &str,
    days: &[&str],
    from: &str,
    to: &str,
    levels: &[(u64, &[&str])],
) -> Slot {
    let days = if days.is_empty() {
        Days::EVERY_DAY
    } else {
        days.iter().fold(Days::NONE, |set, day| {
            set.with(parse_day(day).expect("a day name"))
        })
    };
    Slot {
        name: name.to_string(),
        days,
        from: WallTime::parse(from, false).expect("a time of day"),
        to: WallTime::parse(to, true).expect("a time of day"),
        levels: levels
            .iter()
            .map(|(minutes, people)| LevelSpec {
                after: Duration::from_secs(minutes * 60),
                people: people.iter().map(|p| p.to_string()).collect(),
            })
            .collect(),
    }
}

/// An override as written: local `from`/`to`, an optional slot, swaps.
pub(crate) struct Swap {
    pub from: &'static str,
    pub to: &'static str,
    pub slot: Option<&'static str>,
    pub replace: &'static [(&'static str, &'static str)],
}

/// The roster, or a panic naming why it is not one.
pub(crate) fn roster(zone: &str, people: &[Person], slots: Vec<Slot>, swaps: &[Swap]) -> Roster {
    let tz = TimeZone::get(zone).expect("an IANA zone");
    let overrides = swaps
        .iter()
        .map(|s| {
            let local = |t: &str| t.parse().expect("a local date-time");
            let replace = s
                .replace
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            let slot = s.slot.map(str::to_string);
            Override::new(&tz, local(s.from), local(s.to), slot, replace).expect("on the calendar")
        })
        .collect();
    match Roster::new(tz, zone, people.to_vec(), slots, overrides) {
        Ok(roster) => roster,
        Err(e) => panic!("not a roster: {e}"),
    }
}

/// The roster of `tests/fixtures/roster/roster.yaml`, the contract's:
/// business hours on weekdays in Seoul with a one-day swap. The config's
/// tests check that the file loads to a roster that prints the same week.
pub(crate) fn contract() -> Roster {
    roster(
        "Asia/Seoul",
        &[
            person("sena", Some("U0SENA"), Some("sena@example.com")),
            person("copilot", Some("U0COPILOT"), Some("copilot@example.com")),
            person("lubit", Some("U0LUBIT"), Some("lubit@example.com")),
        ],
        vec![slot(
            "business-hours",
            &["mon", "tue", "wed", "thu", "fri"],
            "09:00",
            "18:00",
            &[(0, &["sena"]), (10, &["copilot"]), (30, &["lubit"])],
        )],
        &[Swap {
            from: "2025-10-22T12:00",
            to: "2025-10-23T12:00",
            slot: Some("business-hours"),
            replace: &[("sena", "copilot")],
        }],
    )
}

#[test]
fn the_constructor_refuses_what_on_call_could_not_answer() {
    let sena = [person("sena", Some("U0SENA"), None)];
    let tz = TimeZone::get("Asia/Seoul").unwrap();
    let build = |people: &[Person], slots: Vec<Slot>| {
        Roster::new(tz.clone(), "Asia/Seoul", people.to_vec(), slots, Vec::new())
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let all_day = |levels: &[(u64, &[&str])]| slot("all-day", &[], "00:00", "24:00", levels);
    assert_eq!(build(&sena, vec![all_day(&[(0, &["sena"])])]), Ok(()));
    assert_eq!(
        build(&sena, vec![all_day(&[(0, &["sean"])])]),
        Err("slot `all-day` notifies `sean`, who is not in `people`".into())
    );
    assert_eq!(
        build(&sena, vec![all_day(&[(0, &["sena"]), (0, &["sena"])])]),
        Err("slot `all-day`: level 1 is paged after 0s, not later than the level before".into())
    );
    assert_eq!(
        build(
            &sena,
            vec![slot("x", &[], "09:00", "09:00", &[(0, &["sena"])])]
        ),
        Err("slot `x` is empty: it starts and ends at the same time".into())
    );
    assert_eq!(
        build(&[person("ghost", None, None)], Vec::new()),
        Err(
            "person `ghost` has neither a Slack ID nor an email address, so cannot be paged".into()
        )
    );
    let swap = Override::new(
        &tz,
        "2025-10-22T12:00".parse().unwrap(),
        "2025-10-23T12:00".parse().unwrap(),
        Some("night".into()),
        vec![("sena".into(), "sena".into())],
    )
    .unwrap();
    let with_swap = Roster::new(
        tz.clone(),
        "Asia/Seoul",
        sena.to_vec(),
        vec![all_day(&[(0, &["sena"])])],
        vec![swap],
    );
    assert_eq!(
        with_swap.map(|_| ()).map_err(|e| e.to_string()),
        Err("an override names slot `night`, which is not defined".into())
    );
}
