//! The report's JSON as the journal and the dashboard read it back.
use super::*;
use crate::notify::render::fixtures::{count_exceeds, latency, ts};

#[test]
fn the_journal_keeps_a_count_checks_evidence_for_the_dashboard() {
    let at = ts("2025-10-22T12:15:00Z");
    let checks = [count_exceeds(), latency()];
    let report = RolloutReport {
        name: "checkout-api".into(),
        stage: StageReport {
            index: 0,
            traffic: "5%".into(),
            started_at: at,
            of: 2,
        },
        verdict: Verdict::Rollback,
        reason: "roll back".into(),
        ready_to_expand: None,
        approver: "lubit".into(),
        evaluated_at: at,
        checks: checks.iter().map(CheckReport::from_result).collect(),
    };
    let json = serde_json::to_string(&JournalRecord::new(&report)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["checks"][0]["evidence"]["finding"], "exceeds");
    assert_eq!(v["checks"][0]["evidence"]["total"], 20_000.0);
    assert!(v["checks"][1].get("evidence").is_none(), "{v}");
    // The dashboard reads the same record back, interval included.
    let point: crate::server::page::view::JournalPoint = serde_json::from_str(&json).unwrap();
    let e = point.checks[0].evidence.as_ref().expect("evidence kept");
    assert_eq!((e.lower, e.upper), (0.0036, 0.0055));
    assert!(point.checks[1].evidence.is_none());
    // A record written before counts existed still reads.
    let old: crate::server::page::view::JournalPoint = serde_json::from_str(
        r#"{"at":"2025-10-22T12:15:00Z","verdict":"continue","checks":[{"name":"e","status":"passing","value":0.1}]}"#,
    )
    .unwrap();
    assert!(old.checks[0].evidence.is_none());
}
