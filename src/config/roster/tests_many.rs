//! The roster read as part of `sena.yaml`: an inline roster reports at its
//! real positions in the config (read from the config's own tree, nothing
//! cut out or padded), and every mistake of a roster comes out in one run.

use std::path::Path;

use super::load_str;
use crate::config;

/// The diagnostics of a whole `sena.yaml`, as `sena check` prints them;
/// `text` is followed by one rollout whose approver is `approver`.
fn config_lines(text: &str, approver: &str) -> Vec<String> {
    let rules = "tests/fixtures/rules/good.yaml";
    let text = format!(
        "{text}rollouts:\n  - {{ name: web, approver: {approver}, stages: [{{ traffic: 100% }}], rules: [{rules}] }}\n"
    );
    let found = match config::load_str(&text, Path::new("sena.yaml")) {
        Ok(loaded) => loaded.warnings,
        Err(errors) => errors,
    };
    found.0.iter().map(ToString::to_string).collect()
}

#[test]
fn inline_roster_reports_positions_in_the_enclosing_file() {
    let text = "prometheus: { url: http://127.0.0.1:9090 }
roster:
  timezone: Asia/Seoul
  people:
    sena: { slack: U0SENA }
  slots:
    - name: all-day
      from: \"00:00\"
      to: \"24:00\"
      escalation:
        - notify: [sena, sean]
";
    assert_eq!(
        config_lines(text, "sena"),
        ["sena.yaml:11:26: `sean` is not in `people` (known: sena)"]
    );
}

#[test]
fn inline_roster_mistakes_are_all_reported_with_the_configs_own() {
    // Before the roster, between its keys and after it: one run, in order.
    let text = "prometheus: { url: http://127.0.0.1:9090, timout: 5s }
roster: { timezone: Asia/Seol, people: { sena: { slak: U0SENA } },
          slots: [ { name: day, from: \"9\", to: \"18:00\", escalation: [ { notify: [sean] } ] } ] }
";
    assert_eq!(
        config_lines(text, "sena"),
        [
            "sena.yaml:1:43: unknown key `timout`, did you mean `timeout`?",
            "sena.yaml:2:21: unknown time zone `Asia/Seol`; write an IANA name such as `Asia/Seoul` or `America/New_York`",
            "sena.yaml:2:42: person `sena` has neither `slack` nor `email`; add at least one so they can be paged",
            "sena.yaml:2:50: unknown key `slak`, did you mean `slack`?",
            "sena.yaml:3:39: `9` is not a time of day; write HH:MM from 00:00 to 23:59 (24:00 only for `to`)",
            "sena.yaml:3:82: `sean` is not in `people` (known: sena)",
        ]
    );
}

#[test]
fn warnings_point_at_an_indented_slots_key() {
    let text = "prometheus: { url: http://127.0.0.1:9090 }
roster:
  timezone: Asia/Seoul
  people:
    slots: { slack: U0SLOTS }
  slots:
    - name: weekdays
      days: [mon, tue, wed, thu, fri]
      from: \"00:00\"
      to: \"24:00\"
      escalation: [ { notify: [slots] } ]
";
    assert_eq!(
        config_lines(text, "slots"),
        ["sena.yaml:6:3: warning: coverage gap: nobody is paged sat 00:00–24:00, sun 00:00–24:00 (Asia/Seoul)"]
    );
}

#[test]
fn gap_warning_lists_the_hours_at_the_slots_key() {
    let text = "timezone: Asia/Seoul
people:
  sena: { slack: U0SENA }
slots:
  - name: weekdays
    days: [mon, tue, wed, thu, fri]
    from: \"00:00\"
    to: \"24:00\"
    escalation: [ { notify: [sena] } ]
  - name: saturday
    days: [sat]
    from: \"09:00\"
    to: \"24:00\"
    escalation: [ { notify: [sena] } ]
";
    let (_, warnings) = load_str(text, Path::new("roster.yaml")).expect("loads");
    let printed: Vec<String> = warnings.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        ["roster.yaml:4:1: warning: coverage gap: nobody is paged sat 00:00–09:00, sun 00:00–24:00 (Asia/Seoul)"]
    );
    assert!(!warnings.has_errors());
}

#[test]
fn wrong_shapes_are_reported_and_reading_goes_on() {
    let text = "timezone: [Asia/Seoul]
people:
  sena: U0SENA
  lubit: { email: lubit@example.com }
slots:
  - name: day
    from: \"09:00\"
    escalation: { notify: [lubit] }
  - just text
overrides:
  - { from: \"2025-10-22T12:00\", to: \"2025-10-23T12:00\", replace: [lubit] }
";
    let errors = load_str(text, Path::new("roster.yaml")).expect_err("broken");
    let printed: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        [
            "roster.yaml:1:11: `timezone` must be text, found a list",
            "roster.yaml:3:9: person `sena` must be a mapping, found text",
            "roster.yaml:6:5: missing required key `to`",
            "roster.yaml:8:17: `escalation` must be a list, found a mapping",
            "roster.yaml:9:5: a slot must be a mapping, found text",
            "roster.yaml:11:66: `replace` must be a mapping, write it like `{ sena: copilot }`; found a list",
        ]
    );
}
