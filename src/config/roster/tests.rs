//! Every roster fixture and the exact diagnostics it must produce, as
//! `sena check` prints them. One table, so a new error class is one row
//! and one file in `tests/fixtures/roster/`.

use std::path::{Path, PathBuf};

use super::{load_file, load_str};
use crate::config::Diagnostics;
use crate::roster::Roster;

const DIR: &str = "tests/fixtures/roster";

fn load_fixture(name: &str) -> (PathBuf, Result<(Roster, Diagnostics), Diagnostics>) {
    // Diagnostics are labelled with the repo-relative path, as a user
    // running `sena check` from the repository would see them.
    let label = Path::new(DIR).join(name);
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(&label);
    let text = std::fs::read_to_string(&full).expect("fixture exists");
    (label.clone(), load_str(&text, &label))
}

/// (fixture, loads?, every diagnostic in order as printed).
const TABLE: &[(&str, bool, &[&str])] = &[
    (
        "roster.yaml",
        true,
        &["roster.yaml:9:1: warning: coverage gap: nobody is paged mon 18:00–24:00, tue 00:00–09:00, tue 18:00–24:00, wed 00:00–09:00, wed 18:00–24:00, thu 00:00–09:00, thu 18:00–24:00, fri 00:00–09:00, fri 18:00–24:00, sat 00:00–24:00, sun 00:00–24:00, mon 00:00–09:00 (Asia/Seoul)"],
    ),
    (
        "timezone-bad.yaml",
        false,
        &["timezone-bad.yaml:1:11: unknown time zone `Asia/Seol`; write an IANA name such as `Asia/Seoul` or `America/New_York`"],
    ),
    (
        "notify-person-bad.yaml",
        false,
        &[
            "notify-person-bad.yaml:10:24: `sean` is not in `people` (known: lubit, sena)",
            "notify-person-bad.yaml:12:18: `lubbit` is not in `people` (known: lubit, sena)",
        ],
    ),
    (
        "replace-person-bad.yaml",
        false,
        &[
            "replace-person-bad.yaml:12:74: `copilot` is not in `people` (known: lubit, sena)",
            "replace-person-bad.yaml:16:7: `senna` is not in `people` (known: lubit, sena)",
        ],
    ),
    (
        "day-bad.yaml",
        false,
        &["day-bad.yaml:6:17: `tues` is not a day; write mon, tue, wed, thu, fri, sat or sun"],
    ),
    (
        "time-bad.yaml",
        false,
        &[
            "time-bad.yaml:6:11: `25:00` is not a time of day; write HH:MM from 00:00 to 23:59 (24:00 only for `to`)",
            "time-bad.yaml:12:9: `9:5` is not a time of day; write HH:MM from 00:00 to 23:59 (24:00 only for `to`)",
            "time-bad.yaml:16:11: `from` cannot be 24:00; a slot that starts at midnight starts at 00:00",
        ],
    ),
    (
        "empty-slot-bad.yaml",
        false,
        &["empty-slot-bad.yaml:7:9: slot `round-the-clock` is empty: `from` and `to` are both 09:00; for all day write from: \"00:00\", to: \"24:00\""],
    ),
    (
        "after-order-bad.yaml",
        false,
        &[
            "after-order-bad.yaml:14:16: `after: 10m` must be later than the previous level's 30m",
            "after-order-bad.yaml:21:16: level 0 is paged at once; remove `after: 5m` (delays start at level 1)",
            "after-order-bad.yaml:23:9: level 1 needs `after:`, how long without acknowledgement before it is paged",
        ],
    ),
    (
        "duration-bad.yaml",
        false,
        &["duration-bad.yaml:11:16: `ten minutes` is not a duration; write it like `10m`, `30m` or `1h30m`"],
    ),
    (
        "duplicate-slot-bad.yaml",
        false,
        &["duplicate-slot-bad.yaml:10:11: duplicate slot name `day`; the first is at line 5"],
    ),
    (
        "override-slot-bad.yaml",
        false,
        &["override-slot-bad.yaml:12:63: override names slot `business-hours`, which is not defined (slots: all-day)"],
    ),
    (
        "override-order-bad.yaml",
        false,
        &[
            "override-order-bad.yaml:13:9: override ends (2025-10-22T12:00) before or when it starts (2025-10-23T12:00)",
            "override-order-bad.yaml:16:9: override ends (2025-10-24T12:00) before or when it starts (2025-10-24T12:00)",
        ],
    ),
    (
        "override-time-bad.yaml",
        false,
        &[
            "override-time-bad.yaml:12:11: `2025-10-22T12:00+09:00` carries a zone or offset; write the local time in Asia/Seoul, like `2025-10-22T12:00`",
            "override-time-bad.yaml:13:9: `next tuesday` is not a local date and time; write it like `2025-10-22T12:00` (in Asia/Seoul)",
        ],
    ),
    (
        "unknown-key-bad.yaml",
        false,
        &[
            "unknown-key-bad.yaml:5:5: missing required key `to`",
            "unknown-key-bad.yaml:7:5: unknown key `until` (valid: name, days, from, to, escalation)",
        ],
    ),
    (
        "syntax-bad.yaml",
        false,
        &["syntax-bad.yaml:4:6: while parsing a flow mapping, did not find expected ',' or '}'"],
    ),
    (
        "contact-bad.yaml",
        false,
        &[
            "contact-bad.yaml:4:3: person `ghost` has neither `slack` nor `email`; add at least one so they can be paged",
            "contact-bad.yaml:5:18: `typo.example.com` is not an email address",
        ],
    ),
    (
        "slack-id-bad.yaml",
        false,
        &[
            "slack-id-bad.yaml:6:21: `@lubit` is not a Slack member ID; use the U… ID from the person's Slack profile (⋮ → Copy member ID)",
            "slack-id-bad.yaml:7:21: `slack` is empty; use the U… ID from the person's Slack profile (⋮ → Copy member ID), or remove the key",
            "slack-id-bad.yaml:8:22: `<!channel>` is not a Slack member ID; use the U… ID from the person's Slack profile (⋮ → Copy member ID)",
            "slack-id-bad.yaml:9:21: `u0copilot` is not a Slack member ID: member IDs are upper case, did you mean `U0COPILOT`?",
        ],
    ),
    (
        "slack-duplicate-bad.yaml",
        false,
        &["slack-duplicate-bad.yaml:6:19: `U0LUBIT` is already lubit's Slack member ID (line 5); one Slack member is one person, or a button press could act as either"],
    ),
    (
        "duplicate-key-bad.yaml",
        false,
        &["duplicate-key-bad.yaml:4:3: duplicate mapping key `sena` is not allowed here"],
    ),
    (
        "many-bad.yaml",
        false,
        &[
            "many-bad.yaml:3:11: unknown time zone `Asia/Seol`; write an IANA name such as `Asia/Seoul` or `America/New_York`",
            "many-bad.yaml:5:26: unknown key `emial`, did you mean `email`?",
            "many-bad.yaml:6:19: `lubit` is not a Slack member ID; use the U… ID from the person's Slack profile (⋮ → Copy member ID)",
            "many-bad.yaml:9:11: `days` must be a list, found text",
            "many-bad.yaml:10:11: `9:60` is not a time of day; write HH:MM from 00:00 to 23:59 (24:00 only for `to`)",
            "many-bad.yaml:15:18: `lubbit` is not in `people` (known: lubit, sena)",
        ],
    ),
    (
        "gap-warn.yaml",
        true,
        &["gap-warn.yaml:7:1: warning: coverage gap: nobody is paged fri 18:00–24:00, sat 00:00–24:00, sun 00:00–24:00, mon 00:00–09:00 (Asia/Seoul)"],
    ),
    (
        "override-noop-warn.yaml",
        true,
        &["override-noop-warn.yaml:14:83: warning: override replaces `lubit`, who is not paged in slot `all-day`; it changes nothing"],
    ),
    (
        "overlap-warn.yaml",
        true,
        &["overlap-warn.yaml:5:1: warning: overlapping slots: `day` and `night` both hold mon 08:00–09:00, mon 19:00–20:00, tue 08:00–09:00, tue 19:00–20:00, wed 08:00–09:00, wed 19:00–20:00, thu 08:00–09:00, thu 19:00–20:00, fri 08:00–09:00, fri 19:00–20:00, sat 08:00–09:00, sat 19:00–20:00, sun 08:00–09:00, sun 19:00–20:00 (Asia/Seoul); `day` is paged, the first in the file wins"],
    ),
];

#[test]
fn every_fixture_gives_its_exact_diagnostics() {
    let mut failures = Vec::new();
    for &(name, loads, expected) in TABLE {
        let (label, result) = load_fixture(name);
        let (loaded, diagnostics) = match result {
            Ok((_, d)) => (true, d),
            Err(d) => (false, d),
        };
        let actual: Vec<String> = diagnostics.0.iter().map(ToString::to_string).collect();
        let expected: Vec<String> = expected.iter().map(|e| format!("{}/{e}", DIR)).collect();
        if loaded != loads || actual != expected {
            failures.push(format!(
                "{}: loads={loaded} (want {loads})\n  got:\n    {}\n  want:\n    {}",
                label.display(),
                actual.join("\n    "),
                expected.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_fixture_file_is_in_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = TABLE.iter().map(|(n, _, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

#[test]
fn good_fixture_means_what_it_says() {
    let (_, result) = load_fixture("roster.yaml");
    let (roster, _) = result.expect("loads");
    assert_eq!(roster.timezone_name(), "Asia/Seoul");
    assert_eq!(
        roster.person("copilot").and_then(|p| p.slack.as_deref()),
        Some("U0COPILOT")
    );
    // Tue 2025-10-21 10:00 KST, no override yet.
    let on_call = roster
        .on_call("2025-10-21T01:00:00Z".parse().unwrap())
        .expect("business hours");
    assert_eq!(on_call.slot, "business-hours");
    let chain: Vec<(u64, Vec<&str>)> = on_call
        .levels
        .iter()
        .map(|l| {
            let names = l.people.iter().map(|p| p.name.as_str()).collect();
            (l.after.as_secs(), names)
        })
        .collect();
    assert_eq!(
        chain,
        vec![
            (0, vec!["sena"]),
            (600, vec!["copilot"]),
            (1800, vec!["lubit"])
        ]
    );
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let errors = load_file(Path::new("/nonexistent/roster.yaml")).expect_err("missing");
    assert!(errors
        .to_string()
        .starts_with("/nonexistent/roster.yaml:1:1: cannot read the roster file:"));
}

/// The roster module tests the contract's roster built in code; this keeps
/// that copy and the fixture file the same roster.
#[test]
fn the_fixture_file_is_the_roster_the_roster_tests_build() {
    let (_, result) = load_fixture("roster.yaml");
    let (from_file, _) = result.expect("loads");
    let in_code = crate::roster::tests_build::contract();
    let week = |roster: &Roster| {
        let mut out = Vec::new();
        crate::roster::write_week(roster, "2025-10-20T01:00:00Z".parse().unwrap(), &mut out)
            .expect("writes");
        String::from_utf8(out).expect("utf-8")
    };
    assert_eq!(week(&from_file), week(&in_code));
    assert_eq!(from_file.people, in_code.people);
    assert_eq!(from_file.timezone_name(), in_code.timezone_name());
}
