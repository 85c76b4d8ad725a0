use std::path::Path;

use super::*;
use crate::config::{Bound, OnFail, Threshold, Unit};
use crate::domain::evidence::{Evidence, Finding};
use crate::domain::Expansion;
use crate::domain::Share;
use crate::rulestest::model::{Counted, ExpectedEvidence};
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
        evidence: Vec::new(),
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
            stage_started_at: None,
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

fn counted(name: &str, status: CheckStatus, finding: Finding, bad: f64, total: f64) -> CheckResult {
    let evidence = Evidence {
        share: Share::Bad,
        finding,
        part: bad,
        total,
        window_seconds: 3_600,
        value: bad / total,
        lower: 0.0,
        upper: 0.002,
        confidence: 0.95,
        recent: None,
        total_needed: None,
        ready_in_seconds: None,
        requests_per_second: total / 3_600.0,
        baseline: None,
    };
    let t = check(name, status, "").threshold;
    CheckResult {
        value: Some(evidence.value),
        value_text: evidence.summary(&t),
        evidence: Some(evidence),
        ..check(name, status, "")
    }
}

#[test]
fn count_expectations_compare_the_finding_and_the_counts_approximately() {
    let e = Expectation {
        checks: vec![("error_rate".into(), CheckStatus::Insufficient)],
        evidence: vec![ExpectedEvidence {
            check: "error_rate".into(),
            finding: Some(Finding::Insufficient),
            counts: vec![
                (Counted::Bad, 3.0),
                (Counted::Total, 3_000.0),
                (Counted::Good, 2_997.0),
            ],
        }],
        ..expectation()
    };
    let d = decision(Verdict::Continue, "not ready", false);
    // increase() extrapolates: 2.97 of 2,991.4 are 3 of 3,000.
    let close = [counted(
        "error_rate",
        CheckStatus::Insufficient,
        Finding::Insufficient,
        2.97,
        2_991.4,
    )];
    assert_eq!(compare(&e, &d, &close), []);
    let far = [counted(
        "error_rate",
        CheckStatus::Failing,
        Finding::Exceeds,
        41.0,
        3_000.0,
    )];
    assert_eq!(
        compare(&e, &d, &far),
        [
            Mismatch::Check {
                name: "error_rate".into(),
                expected: CheckStatus::Insufficient,
                actual: CheckStatus::Failing
            },
            Mismatch::Finding {
                name: "error_rate".into(),
                expected: Finding::Insufficient,
                actual: Some(Finding::Exceeds)
            },
            Mismatch::Count {
                name: "error_rate".into(),
                counted: Counted::Bad,
                expected: 3.0,
                actual: Some(41.0)
            },
            Mismatch::Count {
                name: "error_rate".into(),
                counted: Counted::Good,
                expected: 2_997.0,
                actual: Some(2_959.0)
            },
        ]
    );
    // A check with no counts (blind) has no finding to compare.
    let blind = [check("error_rate", CheckStatus::NoData, "no data")];
    let m = compare(&e, &d, &blind);
    assert!(m.contains(&Mismatch::Finding {
        name: "error_rate".into(),
        expected: Finding::Insufficient,
        actual: None
    }));
    let outcome = TestOutcome {
        name: "low traffic".into(),
        line: 3,
        instants: vec![Instant {
            at: e.at,
            line: e.line,
            column: e.column,
            decision: d,
            checks: far.to_vec(),
            mismatches: compare(&e, &d_again(), &far),
        }],
    };
    let mut out = Vec::new();
    report::write_outcome(&mut out, Path::new("t.yaml"), &outcome).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("error_rate  failing  1.3667% (41 bad of 3,000 requests; at least 0% at 95%)  limit < 0.1%   expected insufficient   expected finding insufficient, got exceeds   expected bad 3, got 41   expected good 2,997, got 2,959"),
        "{text}"
    );
}

fn d_again() -> Decision {
    decision(Verdict::Continue, "not ready", false)
}

#[test]
fn control_characters_are_escaped_in_the_report() {
    assert_eq!(report::printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
}
