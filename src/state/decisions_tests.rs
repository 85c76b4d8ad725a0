//! The decision tables against a real SQLite file; reopening the store
//! stands in for a restart.

use jiff::Timestamp;

use super::*;
use crate::domain::{Advice, Choice, DecisionRecord, Hold, Outcome, Refused, Via};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn record(outcome: Outcome, to_stage: usize) -> DecisionRecord {
    DecisionRecord {
        id: 0,
        at: ts("2026-01-02T03:04:05Z"),
        rollout: "checkout-api".into(),
        from_stage: 0,
        from_traffic: "5%".into(),
        to_stage,
        to_traffic: "10%".into(),
        stage_named: 0,
        decision: Choice::Go,
        by: "lubit".into(),
        token: None,
        slack_user: None,
        via: Via::Api,
        comment: Some("\u{0}<!channel> \u{202E}".into()),
        override_advice: false,
        against_advice: false,
        outcome,
        advice: Advice {
            verdict: None,
            reason: String::new(),
            ready: false,
            checks: vec![],
            bake_elapsed_seconds: 0,
            incidents_during_stage: 0,
            rules_hash: "h".into(),
        },
    }
}

#[test]
fn a_decision_commits_once_per_version_and_its_hold_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let hold = Hold {
        stage: 0,
        by: "lubit".into(),
        comment: "wait".into(),
        at: ts("2026-01-02T03:04:05Z"),
    };
    let accepted = record(Outcome::Accepted, 0);
    let commit = |version| DecisionCommit {
        expected_version: version,
        record: &accepted,
        stage: None,
        hold: Some(Some(&hold)),
        outbox: &[],
    };
    let first = store.commit_decision(&commit(0)).unwrap();
    assert!(first.id > 0);
    // Computed from the same version as the first: refused, nothing written.
    assert!(matches!(
        store.commit_decision(&commit(0)),
        Err(StoreError::Conflict { .. })
    ));
    let refused = record(
        Outcome::Refused {
            refused: Refused::Stale,
            why: "stale".into(),
        },
        0,
    );
    store.append_refusal(&refused).unwrap();
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.rollout_state("checkout-api").unwrap().hold,
        Some(hold)
    );
    let state = store.decision_state("checkout-api").unwrap();
    assert_eq!(state.version, 1);
    assert_eq!(state.last_accepted.as_ref().map(|r| r.id), Some(first.id));
    let all = store.decisions(Some("checkout-api"), None, 100).unwrap();
    assert_eq!(all.len(), 2, "one accepted, one refusal: {all:?}");
    assert_eq!(all[0].comment, accepted.comment, "kept as written");
    assert!(store
        .decisions(Some("other"), None, 100)
        .unwrap()
        .is_empty());
    assert!(store
        .decisions(None, Some(ts("2026-01-03T00:00:00Z")), 100)
        .unwrap()
        .is_empty());

    // `sena stage` ends a NO-GO hold.
    store
        .set_stage("checkout-api", 0, ts("2026-01-02T04:00:00Z"), "ops")
        .unwrap();
    assert_eq!(store.rollout_state("checkout-api").unwrap().hold, None);
}

/// Rows written before `slack_user` existed kept the Slack member ID in
/// `token`; they read as if written today, and an API row keeps its token.
#[test]
fn an_old_slack_row_reads_with_its_member_id_in_slack_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut slack = record(Outcome::Accepted, 1);
    slack.via = Via::Slack;
    slack.slack_user = Some("U0LUBIT".into());
    let stored = store.append_refusal(&slack).unwrap();
    let mut legacy = serde_json::to_value(&stored).unwrap();
    legacy.as_object_mut().unwrap().remove("slack_user");
    legacy["token"] = serde_json::json!("U0LUBIT");
    store
        .conn()
        .execute(
            "UPDATE decision SET record = ?1 WHERE id = ?2",
            params![legacy.to_string(), stored.id],
        )
        .unwrap();
    let mut machine = record(Outcome::Accepted, 1);
    machine.token = Some("deploy-pipeline".into());
    store.append_refusal(&machine).unwrap();

    let all = store.decisions(None, None, 10).unwrap();
    assert_eq!(
        (all[0].token.as_deref(), all[0].slack_user.as_deref()),
        (None, Some("U0LUBIT"))
    );
    assert_eq!(
        (all[1].token.as_deref(), all[1].slack_user.as_deref()),
        (Some("deploy-pipeline"), None)
    );
}
