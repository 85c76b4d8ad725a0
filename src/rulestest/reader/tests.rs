use std::path::PathBuf;

use super::*;
use crate::domain::evidence::Finding;
use crate::domain::{CheckStatus, Verdict};
use crate::rulestest::model::{Counted, ExpectedEvidence};
use crate::rulestest::notation::Point;

/// A test file placed (virtually) beside `rules/canary.yaml`.
fn beside_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/virtual_test.yaml")
}

fn errors(src: &str) -> Vec<String> {
    let path = beside_rules();
    let prefix = format!("{}:", path.display());
    read_str(src, &path)
        .expect_err("the file should not load")
        .0
        .iter()
        .map(|d| d.to_string().replace(&prefix, ""))
        .collect()
}

#[test]
fn reads_a_test_with_its_rollout_built_from_the_rules() {
    let src = r#"
rule_files: [canary.yaml]
evaluation_interval: 1m
stages: [{ traffic: 5%, bake: 1h }, { traffic: 100% }]
approver: lubit
tests:
  - name: healthy
    rollout: checkout-api
    stage: 0
    stage_entered_at: 10m
    input_series:
      - series: 'http_requests_total{app="checkout-api",track="canary",code="200"}'
        values: '0+100x3 _ stale'
    expect:
      - at: 2m
        verdict: continue
        checks: { error_rate: passing, satisfaction: no_data }
        ready: false
  - name: other
    interval: 15s
    rollout: web
    stages: [{ traffic: 100% }]
    expect:
      - { at: 0s, reason_contains: "last stage" }
"#;
    let file = read_str(src, &beside_rules()).unwrap();
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    let [first, second] = &file.tests[..] else {
        panic!("two tests expected")
    };
    assert_eq!(first.name, "healthy");
    assert_eq!(first.interval, Duration::from_secs(60));
    assert_eq!(first.rollout.interval, Duration::from_secs(60));
    assert_eq!(first.rollout.approver, "lubit");
    assert_eq!(first.rollout.stages.len(), 2);
    assert_eq!(first.stage_entered_at, Duration::from_secs(600));
    let names: Vec<&str> = first
        .rollout
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["error_rate", "p95_latency", "satisfaction"]);
    assert!(first.rollout.checks[0]
        .query
        .contains(r#"app="checkout-api""#));
    assert_eq!(first.rollout.checks[0].defined_at, "canary.yaml:49");
    assert_eq!(first.series[0].labels["code"], "200");
    assert_eq!(
        first.series[0].points,
        [
            Point::Value(0.0),
            Point::Value(100.0),
            Point::Value(200.0),
            Point::Value(300.0),
            Point::Missing,
            Point::Stale
        ]
    );
    let e = &first.expect[0];
    assert_eq!(e.at, Duration::from_secs(120));
    assert_eq!(e.verdict, Some(Verdict::Continue));
    assert_eq!(
        e.checks,
        [
            ("error_rate".to_string(), CheckStatus::Passing),
            ("satisfaction".to_string(), CheckStatus::NoData)
        ]
    );
    assert_eq!(e.ready, Some(false));
    assert_eq!((e.line, e.column), (15, 9));
    assert_eq!(second.interval, Duration::from_secs(15));
    assert_eq!(second.rollout.stages.len(), 1);
    assert!(second.rollout.checks[0].query.contains(r#"app="web""#));
}

#[test]
fn every_mistake_is_reported_at_its_place() {
    let src = r#"rule_files: [canary.yaml, missing.yaml]
evaluation_intreval: 30s
tests:
  - name: t
    rollout: checkout api
    stage: 3
    input_series:
      - series: 'm{a=1}'
        values: '0+1x'
      - serie: up
        values: '1'
    expect:
      - at: 1m
        verdict: rolback
        checks: { eror_rate: failing, p95_latency: broken }
      - at: 2m
      - at: 40d
        ready: true
"#;
    assert_eq!(
        errors(src),
        [
            "1:27: rules file `missing.yaml` does not exist (looked for RULES/missing.yaml; paths are relative to the test file)",
            "2:1: unknown key `evaluation_intreval`, did you mean `evaluation_interval`?",
            "5:14: rollout name `checkout api` may only use letters, digits, `_`, `.` and `-`, as in sena.yaml",
            "6:12: stage 3 does not exist: the rollout has 1 stage (0-based, as `sena stage` counts); add `stages:`",
            "8:17: `series`: expected a quoted label value at character 5",
            "9:17: `values`: `0+1x`: `x` must be followed by a whole number of steps, like `x10`",
            "10:9: unknown key `serie`, did you mean `series`?",
            "10:9: missing required key `series`",
            "14:18: unknown verdict value `rolback`, did you mean `rollback`?",
            "15:19: unknown check `eror_rate`, did you mean `error_rate`?",
            "15:52: unknown check status `broken` (valid: passing, pending, failing, no_data, error, insufficient)",
            "16:9: this expectation checks nothing; add `verdict`, `checks`, `reason_contains` or `ready`",
            "17:13: `at` is past 31d, the longest a test may span",
        ]
        .map(|l| l.replace(
            "RULES",
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").display().to_string()
        ))
    );
}

#[test]
fn a_file_that_is_not_a_test_file_says_so() {
    assert_eq!(
        errors("# nothing yet\n"),
        ["1:1: the test file is empty; it needs `rule_files:` and `tests:`"]
    );
    assert_eq!(
        errors("rule_files: canary.yaml\ntests: []\n"),
        ["2:8: `tests` is empty; add at least one test"]
    );
    assert_eq!(
        errors("tests: [{name: a, rollout: b, expect: [{at: 1m, verdict: hold}]}]\n"),
        ["1:1: missing required key `rule_files`"]
    );
    let e = errors("rule_files: [canary.yaml]\ntests:\n  - name: a\n    rollout: b\n    expect: [{at: 1m, verdict: hold}]\n  - name: a\n    rollout: c\n    expect: [{at: 1m, verdict: hold}]\n");
    assert_eq!(e, ["6:5: duplicate test name `a`; first on line 3"]);
}

#[test]
fn huge_series_are_refused_with_a_reason() {
    let src = "rule_files: [canary.yaml]\ntests:\n  - name: a\n    rollout: b\n    interval: 1h\n    input_series:\n      - { series: up, values: '0x999' }\n      - { series: down, values: '0x9999999999' }\n    expect: [{at: 1m, verdict: hold}]\n";
    let e = errors(src);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("7:31: `values`: 1000 samples 1h apart reach past 31d"),
        "{e:?}"
    );
    assert!(e[1].contains("expands to 10000000000 samples"), "{e:?}");
}

#[test]
fn intervals_are_whole_milliseconds_and_rules_must_have_checks() {
    let src = "rule_files: [canary.yaml]\ntests:\n  - name: a\n    rollout: b\n    interval: 1500us\n    expect: [{at: 1m, verdict: hold}]\n";
    assert_eq!(
        errors(src),
        ["5:15: `interval` must be a whole number of milliseconds, like `15s` or `250ms`"]
    );
    let dir = std::env::temp_dir().join(format!("sena-rulestest-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("none.yaml"), "checks: []\n").unwrap();
    let path = dir.join("t.yaml");
    let e = read_str(
        "rule_files: [none.yaml]\ntests: [{name: a, rollout: b, expect: [{at: 1m, verdict: hold}]}]\n",
        &path,
    )
    .expect_err("no checks");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(e.0.len(), 1, "{e}");
    assert!(
        e.0[0].to_string().ends_with(":1:13: the rules files define no checks; with nothing to watch Sena would only ever say hold"),
        "{e}"
    );
}

/// A test file beside a rules file with one count check and one plain one.
fn with_count_rules(test: &str) -> Result<TestFile, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("counts.yaml"),
        "checks:\n  - name: errors\n    bad: sum(increase(bad[{{ window }}]))\n    total: sum(increase(total[{{ window }}]))\n    below: 0.1%\n  - name: latency\n    query: p95\n    below: 1s\n",
    )
    .unwrap();
    let path = dir.path().join("t.yaml");
    let prefix = format!("{}:", path.display());
    read_str(
        &format!(
            "rule_files: [counts.yaml]\ntests:\n  - name: a\n    rollout: web\n    expect:\n{test}"
        ),
        &path,
    )
    .map_err(|e| {
        e.0.iter()
            .map(|d| d.to_string().replace(&prefix, ""))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[test]
fn a_count_check_may_be_expected_insufficient_with_its_finding_and_counts() {
    let file = with_count_rules(
        "      - at: 10m\n        checks: { errors: insufficient, latency: passing }\n      - at: 20m\n        checks:\n          errors: { status: failing, finding: exceeds, bad: 30, total: '3_000' }\n      - at: 30m\n        checks: { errors: { good: 2990 } }\n",
    )
    .unwrap();
    let e = &file.tests[0].expect;
    assert_eq!(
        e[0].checks,
        [
            ("errors".to_string(), CheckStatus::Insufficient),
            ("latency".to_string(), CheckStatus::Passing)
        ]
    );
    assert!(e[0].evidence.is_empty());
    assert_eq!(e[1].checks, [("errors".to_string(), CheckStatus::Failing)]);
    assert_eq!(
        e[1].evidence,
        [ExpectedEvidence {
            check: "errors".into(),
            finding: Some(Finding::Exceeds),
            counts: vec![(Counted::Bad, 30.0), (Counted::Total, 3_000.0)],
        }]
    );
    assert!(e[2].checks.is_empty());
    assert_eq!(e[2].evidence[0].counts, [(Counted::Good, 2_990.0)]);
}

#[test]
fn counts_are_expected_of_count_checks_only_and_written_right() {
    let e = with_count_rules(
        "      - at: 10m\n        checks:\n          latency: { status: passing, bad: 3 }\n          errors: { finding: exceed, total: -4, bda: 1 }\n      - at: 20m\n        checks: { errors: {} }\n",
    )
    .unwrap_err();
    assert_eq!(
        e.split('\n').collect::<Vec<_>>(),
        [
            "8:39: `bad` is for count checks (`bad:`/`good:` and `total:`); `latency` is a plain check: expect only its `status`",
            "9:30: unknown finding value `exceed`, did you mean `exceeds`?",
            "9:45: `total` must be a count of requests since the stage began, like 3000",
            "9:49: unknown key `bda`, did you mean `bad`?",
            "11:27: this expects nothing of `errors`; add `status`, `finding`, `bad`, `good` or `total`",
        ]
    );
}
