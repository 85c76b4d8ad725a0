use std::path::Path;

use super::*;
use crate::config::{Bound, OnFail, Threshold, Unit};
use crate::domain::Expansion;
use crate::rulestest::report;

fn check(name: &str, status: CheckStatus, value_text: &str) -> CheckResult {
    CheckResult {
        evidence: None,
        name: name.into(),
        status,
        value: None,
        value_text: value_text.into(),
        threshold: Threshold {
            bound: Bound::Below,
            value: 0.001,
            unit: Unit::Percent,
        },
        on_fail: OnFail::Rollback,
        series: Vec::new(),
        series_total: 1,
        breaching_total: 0,
        local_failure: false,
        breach_started_at: None,
        for_seconds: 120,
        error: None,
        description: None,
        runbook_url: None,
        query: "q".into(),
    }
}

fn expectation() -> Expectation {
    Expectation {
        at: Duration::from_secs(540),
        line: 31,
        column: 9,
        verdict: None,
        checks: Vec::new(),
        reason_contains: None,
        ready: None,
    }
}

fn decision(verdict: Verdict, reason: &str, ready: bool) -> Decision {
    Decision {
        verdict,
        reason: reason.into(),
        ready_to_expand: ready.then(|| Expansion {
            next_index: 1,
            next_traffic: "100%".into(),
            approver: "lubit".into(),
        }),
    }
}

#[test]
fn a_matching_answer_has_no_mismatch() {
    let e = Expectation {
        verdict: Some(Verdict::Continue),
        checks: vec![("error_rate".into(), CheckStatus::Pending)],
        reason_contains: Some("not ready".into()),
        ready: Some(false),
        ..expectation()
    };
    let checks = [check("error_rate", CheckStatus::Pending, "2%")];
    let d = decision(
        Verdict::Continue,
        "within limits for now, but not ready to expand",
        false,
    );
    assert_eq!(compare(&e, &d, &checks), []);
}

#[test]
fn every_difference_is_listed() {
    let e = Expectation {
        verdict: Some(Verdict::Hold),
        checks: vec![
            ("error_rate".into(), CheckStatus::Failing),
            ("latency".into(), CheckStatus::Passing),
        ],
        reason_contains: Some("hold".into()),
        ready: Some(true),
        ..expectation()
    };
    let checks = [
        check("error_rate", CheckStatus::Pending, "2%"),
        check("latency", CheckStatus::Passing, "1s"),
    ];
    let d = decision(Verdict::Continue, "within limits for now", false);
    assert_eq!(
        compare(&e, &d, &checks),
        [
            Mismatch::Verdict {
                expected: Verdict::Hold,
                actual: Verdict::Continue
            },
            Mismatch::Check {
                name: "error_rate".into(),
                expected: CheckStatus::Failing,
                actual: CheckStatus::Pending
            },
            Mismatch::Reason {
                expected_to_contain: "hold".into()
            },
            Mismatch::Ready {
                expected: true,
                actual: false
            },
        ]
    );
}

#[test]
fn unexpected_fields_are_not_judged() {
    // Only what the expectation names is compared: a rollback with a
    // failing check passes an expectation that asks only for readiness.
    let e = Expectation {
        ready: Some(false),
        ..expectation()
    };
    let checks = [check("error_rate", CheckStatus::Failing, "2%")];
    let d = decision(Verdict::Rollback, "roll back: error_rate", false);
    assert_eq!(compare(&e, &d, &checks), []);
}

#[test]
fn the_report_puts_expected_beside_actual() {
    let e = Expectation {
        verdict: Some(Verdict::Rollback),
        checks: vec![("error_rate".into(), CheckStatus::Failing)],
        ..expectation()
    };
    let checks = vec![
        check("error_rate", CheckStatus::Pending, "2%"),
        check(
            "satisfaction",
            CheckStatus::NoData,
            "no data (query returned no series)",
        ),
    ];
    let d = decision(Verdict::Hold, "hold: satisfaction: no data", false);
    let mismatches = compare(&e, &d, &checks);
    let outcome = TestOutcome {
        name: "burst".into(),
        line: 20,
        instants: vec![Instant {
            at: e.at,
            line: e.line,
            column: e.column,
            decision: d,
            checks,
            mismatches,
        }],
    };
    assert!(!outcome.passed());
    let mut out = Vec::new();
    report::write_outcome(&mut out, Path::new("t.yaml"), &outcome).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "  FAIL  burst (t.yaml:20)\n\
        \x20       at 9m (t.yaml:31:9):\n\
        \x20         verdict  expected rollback, got hold\n\
        \x20         reason   hold: satisfaction: no data\n\
        \x20         check    error_rate    pending  2%                                  limit < 0.1%   expected failing\n\
        \x20         check    satisfaction  no_data  no data (query returned no series)  limit < 0.1%\n"
    );
    assert_eq!(
        report::summary(2, 1, 0, 1.234),
        "3 tests: 2 passed, 1 failed (1.23 s)"
    );
    assert_eq!(
        report::summary(0, 0, 1, 0.5),
        "1 test: 0 passed, 0 failed, 1 could not run (0.50 s)"
    );
}

#[test]
fn control_characters_are_escaped_in_the_report() {
    assert_eq!(report::printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
}
