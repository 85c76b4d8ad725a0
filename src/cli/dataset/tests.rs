//! The verb against a real store in a temporary directory: decisions,
//! journal records and incidents written through the store, then exported
//! and read back as a spreadsheet or a script would.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::Value;

use super::*;
use crate::domain::{
    Advice, CheckEvidence, CheckStatus, Choice, Incident, Outcome, Refused, Threshold, Verdict, Via,
};
use crate::domain::{Bound, Unit};
use crate::state::{DecisionCommit, EvaluationCommit};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn decision(
    rollout: &str,
    at: &str,
    choice: Choice,
    from: usize,
    outcome: Outcome,
) -> DecisionRecord {
    let to = if choice == Choice::Go { from + 1 } else { from };
    DecisionRecord {
        id: 0,
        at: ts(at),
        rollout: rollout.into(),
        from_stage: from,
        from_traffic: format!("{}%", 5 * (from + 1)),
        to_stage: to,
        to_traffic: format!("{}%", 5 * (to + 1)),
        stage_named: from,
        decision: choice,
        by: "lubit".into(),
        token: None,
        slack_user: None,
        via: Via::Api,
        comment: Some("=1+1, \"ship\" it".into()),
        override_advice: false,
        against_advice: false,
        outcome,
        advice: Advice {
            verdict: Some(Verdict::Continue),
            reason: "all checks pass".into(),
            ready: true,
            checks: vec![CheckEvidence {
                name: format!("{rollout}_errors"),
                status: CheckStatus::Passing,
                value: Some(f64::NAN),
                value_text: "NaN".into(),
                threshold: Threshold {
                    bound: Bound::Below,
                    value: 0.01,
                    unit: Unit::Percent,
                },
                evidence: None,
            }],
            bake_elapsed_seconds: 600,
            incidents_during_stage: 0,
            rules_hash: "abc".into(),
        },
    }
}

fn accept(store: &Store, r: &DecisionRecord) {
    let version = store.decision_state(&r.rollout).unwrap().version;
    store
        .commit_decision(&DecisionCommit {
            expected_version: version,
            record: r,
            stage: None,
            hold: None,
            outbox: &[],
        })
        .unwrap();
}

fn journal(store: &Store, rollout: &str, at: &str, stage: usize, verdict: &str) {
    let record = format!(
        r#"{{"at":"{at}","rollout":"{rollout}","stage":{stage},"traffic":"10%","verdict":"{verdict}","reason":"r","checks":[]}}"#
    );
    store.append_journal_for_tests(rollout, ts(at), &record);
}

fn incident(store: &Store, rollout: &str, at: &str) {
    let version = store.rollout_state(rollout).unwrap().version;
    let incident = Incident {
        id: store.next_incident_id(0).unwrap(),
        rollout: rollout.into(),
        opened_at: ts(at),
        verdict: Verdict::Rollback,
        slot: None,
        slot_since: ts(at),
        level: 0,
        acked_by: None,
        acked_at: None,
        calm_since: None,
        resolved_at: None,
        thread: None,
    };
    store
        .commit_evaluation(&EvaluationCommit {
            rollout,
            expected_version: version,
            at: ts(at),
            journal: None,
            breaches: None,
            memory: None,
            incident: Some(&incident),
            outbox: &[],
            stage: None,
        })
        .unwrap();
}

/// checkout-api: GO 0→1, then stage 1 rolls back 10 minutes later.
/// payments: GO 0→1, GO 1→2 an hour later, then a refused GO.
fn seeded(dir: &Path) -> Store {
    let store = Store::open(dir).unwrap();
    let ok = || Outcome::Accepted;
    // A rollback before the GO, and one of another stage, must not count.
    journal(
        &store,
        "checkout-api",
        "2026-01-02T02:00:00Z",
        1,
        "rollback",
    );
    accept(
        &store,
        &decision("checkout-api", "2026-01-02T03:00:00Z", Choice::Go, 0, ok()),
    );
    journal(
        &store,
        "checkout-api",
        "2026-01-02T03:05:00Z",
        0,
        "rollback",
    );
    journal(&store, "checkout-api", "2026-01-02T03:06:00Z", 1, "hold");
    journal(
        &store,
        "checkout-api",
        "2026-01-02T03:10:00Z",
        1,
        "rollback",
    );
    journal(
        &store,
        "checkout-api",
        "2026-01-02T03:11:00Z",
        1,
        "rollback",
    );
    incident(&store, "checkout-api", "2026-01-02T03:10:00Z");
    accept(
        &store,
        &decision("payments", "2026-01-02T03:00:00Z", Choice::Go, 0, ok()),
    );
    journal(&store, "payments", "2026-01-02T03:30:00Z", 1, "continue");
    accept(
        &store,
        &decision("payments", "2026-01-02T04:00:00Z", Choice::Go, 1, ok()),
    );
    // A rollback of stage 1 after it was approved onward is stage 2's past.
    journal(&store, "payments", "2026-01-02T04:01:00Z", 1, "rollback");
    let refused = Outcome::Refused {
        refused: Refused::NotReady,
        why: "stage 2 has not baked".into(),
    };
    let r = decision("payments", "2026-01-02T04:02:00Z", Choice::Go, 2, refused);
    store.append_refusal(&r).unwrap();
    store
}

fn export_text(store: &Store, format: DatasetFormat, rollout: Option<&str>) -> String {
    let q = Query {
        since: None,
        rollout: rollout.map(String::from),
        format,
    };
    let mut out = Vec::new();
    export(store, &q, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn jsonl(store: &Store) -> Vec<Value> {
    export_text(store, DatasetFormat::Jsonl, None)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn outcomes_come_from_the_journal_after_each_decision() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path());
    let rows = jsonl(&store);
    assert_eq!(rows.len(), 4);
    let by_id = |id: i64| rows.iter().find(|r| r["decision_id"] == id).unwrap();
    let checkout = by_id(1);
    assert_eq!(checkout["outcome"], "rollback");
    assert_eq!(checkout["outcome_after_seconds"], 600);
    assert_eq!(checkout["outcome_at"], "2026-01-02T03:10:00Z");
    assert_eq!(checkout["incidents_after"], 1);
    assert_eq!(checkout["checks"]["checkout-api_errors"]["value"], "NaN");
    let first_payments = by_id(2);
    assert_eq!(first_payments["outcome"], "approved_onward");
    assert_eq!(first_payments["outcome_after_seconds"], 3600);
    assert_eq!(first_payments["next_go_id"], 3);
    assert_eq!(by_id(3)["outcome"], "open");
    let refused = by_id(4);
    assert_eq!(refused["result"], "refused");
    assert_eq!(refused["refused"], "not_ready");
    assert_eq!(refused["refused_why"], "stage 2 has not baked");
    assert_eq!(refused["outcome"], "");
    assert_eq!(first_payments["result"], "accepted");
}

#[test]
fn csv_has_a_column_per_check_of_the_selected_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path());
    let all = export_text(&store, DatasetFormat::Csv, None);
    let header = all.split("\r\n").next().unwrap();
    assert!(
        header.contains("check.checkout-api_errors.value"),
        "{header}"
    );
    assert!(
        header.contains("check.payments_errors.threshold"),
        "{header}"
    );
    // Header + 4 rows, each ending in CRLF; the comment's comma and quotes
    // are quoted, its `=` defused.
    assert_eq!(all.matches("\r\n").count(), 5);
    assert!(all.contains(",\"'=1+1, \"\"ship\"\" it\","), "{all}");
    let payments = export_text(&store, DatasetFormat::Csv, Some("payments"));
    assert!(!payments.contains("checkout-api"), "{payments}");
    assert_eq!(payments.matches("\r\n").count(), 4);
}

#[test]
fn an_empty_store_writes_a_header_and_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let csv = export_text(&store, DatasetFormat::Csv, None);
    assert_eq!(csv.matches("\r\n").count(), 1);
    assert!(csv.starts_with("decision_id,at,rollout,"));
    assert_eq!(export_text(&store, DatasetFormat::Jsonl, None), "");
}

#[test]
fn more_decisions_than_a_page_are_all_exported_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let refused = || Outcome::Refused {
        refused: Refused::Stale,
        why: "x".into(),
    };
    for _ in 0..DECISION_PAGE + 3 {
        let r = decision("a", "2026-01-02T03:00:00Z", Choice::NoGo, 0, refused());
        store.append_refusal(&r).unwrap();
    }
    let ids: Vec<i64> = jsonl(&store)
        .iter()
        .map(|r| r["decision_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (1..=(DECISION_PAGE as i64 + 3)).collect::<Vec<_>>());
}

/// A config whose state directory is `state`, with the fixture rules.
fn config(dir: &Path, state: &Path) -> PathBuf {
    let rules = std::fs::read_to_string("tests/fixtures/config/rules/canary.yaml").unwrap();
    std::fs::write(dir.join("canary.yaml"), rules).unwrap();
    let path = dir.join("sena.yaml");
    let yaml = format!(
        "prometheus:\n  url: http://127.0.0.1:9090\nstate:\n  path: {}\nrollouts:\n  - name: checkout-api\n    approver: lubit\n    stages:\n      - {{ traffic: 100% }}\n    rules: [canary.yaml]\n",
        state.display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn run_verb(
    config: &Path,
    since: &str,
    format: DatasetFormat,
    out: Option<PathBuf>,
) -> (i32, String, String) {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = run(config, since, format, None, out, &mut stdout, &mut stderr);
    (
        code,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn the_verb_writes_out_atomically_and_honours_since() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    drop(seeded(&state));
    let config = config(dir.path(), &state);
    let out = dir.path().join("d.jsonl");
    std::fs::write(&out, "old").unwrap();
    let (code, stdout, stderr) = run_verb(
        &config,
        "2026-01-01T00:00:00Z",
        DatasetFormat::Jsonl,
        Some(out.clone()),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("4 decisions written"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 4);
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    // Only the refusal (04:02) is at or after 04:01.
    let (code, stdout, _) = run_verb(&config, "2026-01-02T04:01:00Z", DatasetFormat::Csv, None);
    assert_eq!(code, 0);
    assert_eq!(stdout.matches("\r\n").count(), 2, "{stdout}");
    let (code, _, stderr) = run_verb(&config, "yesterday-ish", DatasetFormat::Csv, None);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn no_store_is_a_clear_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("missing");
    let config = config(dir.path(), &state);
    let out = dir.path().join("d.csv");
    let (code, stdout, stderr) = run_verb(&config, "90d", DatasetFormat::Csv, Some(out.clone()));
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(stderr.contains("no state store at"), "{stderr}");
    assert!(!state.exists() && !out.exists());
}

#[test]
fn an_unwritable_out_fails_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    drop(seeded(&state));
    let config = config(dir.path(), &state);
    let out = dir.path().join("no-such-dir").join("d.csv");
    let (code, _, stderr) = run_verb(&config, "90d", DatasetFormat::Csv, Some(out));
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot create"), "{stderr}");
}

#[test]
fn a_damaged_record_is_an_error_exit_and_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = seeded(&state);
    store.execute_for_tests("UPDATE decision SET record = '{not json' WHERE id = 3");
    drop(store);
    let config = config(dir.path(), &state);
    let out = dir.path().join("d.csv");
    std::fs::write(&out, "previous").unwrap();
    let since = "2026-01-01T00:00:00Z";
    let (code, _, stderr) = run_verb(&config, since, DatasetFormat::Csv, Some(out.clone()));
    assert_eq!(code, 1);
    assert!(stderr.contains("bad record"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn a_count_checks_evidence_is_stored_with_the_decision_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let judged = crate::notify::render::fixtures::count_exceeds();
    let mut r = decision(
        "checkout-api",
        "2026-01-02T03:00:00Z",
        Choice::NoGo,
        0,
        Outcome::Accepted,
    );
    // No comma in any field: the row is split naively below.
    r.comment = None;
    r.advice.checks.push(CheckEvidence {
        name: "error_count".into(),
        status: judged.status,
        value: judged.value,
        value_text: judged.value_text.clone(),
        threshold: judged.threshold,
        evidence: judged.evidence.clone(),
    });
    accept(&store, &r);
    let csv = export_text(&store, DatasetFormat::Csv, None);
    let mut lines = csv.split("\r\n");
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cell = |name: &str| {
        let i = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} in {header:?}"));
        row[i]
    };
    // The plain check has no evidence columns; the count check's come last.
    assert!(
        !header.contains(&"check.checkout-api_errors.part"),
        "{header:?}"
    );
    assert_eq!(header.last(), Some(&"check.error_count.finding"));
    assert_eq!(cell("check.error_count.value"), "0.0045");
    assert_eq!(cell("check.error_count.part"), "90.0");
    assert_eq!(cell("check.error_count.total"), "20000.0");
    assert_eq!(cell("check.error_count.lower"), "0.0036");
    assert_eq!(cell("check.error_count.upper"), "0.0055");
    assert_eq!(cell("check.error_count.finding"), "exceeds");
    let rows = jsonl(&store);
    assert_eq!(rows[0]["checks"]["error_count"]["finding"], "exceeds");
    assert_eq!(rows[0]["checks"]["error_count"]["total"], 20_000.0);
}
