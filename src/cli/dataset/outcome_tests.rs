//! The outcome of each kind of decision, from hand-made lookups.

use jiff::Timestamp;

use super::*;
use crate::domain::{Advice, Refused, Via};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(crate) fn record(decision: Choice, outcome: Outcome) -> DecisionRecord {
    DecisionRecord {
        id: 1,
        at: ts("2026-01-02T03:00:00Z"),
        rollout: "checkout-api".into(),
        from_stage: 0,
        from_traffic: "5%".into(),
        to_stage: if decision == Choice::Go { 1 } else { 0 },
        to_traffic: "25%".into(),
        stage_named: 0,
        decision,
        by: "lubit".into(),
        token: None,
        slack_user: None,
        via: Via::Api,
        comment: None,
        override_advice: false,
        against_advice: false,
        outcome,
        advice: Advice {
            verdict: None,
            reason: String::new(),
            ready: true,
            checks: vec![],
            bake_elapsed_seconds: 0,
            incidents_during_stage: 0,
            rules_hash: "h".into(),
        },
    }
}

fn next(at: &str) -> NextGo {
    NextGo {
        id: 7,
        at: ts(at),
        from_stage: 1,
    }
}

#[test]
fn a_go_followed_by_a_rollback_is_rollback_with_its_delay() {
    let r = record(Choice::Go, Outcome::Accepted);
    assert_eq!(watched_stage(&r), Some(1));
    let a = after(&r, None, Some(ts("2026-01-02T03:10:00Z")), 1);
    assert_eq!(a.kind, AfterKind::Rollback);
    assert_eq!(a.after_seconds, Some(600));
    assert_eq!(a.incidents_after, Some(1));
    // A rollback found before the next GO wins over the GO.
    let a = after(
        &r,
        Some(&next("2026-01-02T04:00:00Z")),
        Some(ts("2026-01-02T03:01:00Z")),
        0,
    );
    assert_eq!(
        (a.kind, a.after_seconds, a.next_go_id),
        (AfterKind::Rollback, Some(60), Some(7))
    );
}

#[test]
fn a_go_approved_onward_or_not_yet() {
    let r = record(Choice::Go, Outcome::Accepted);
    let a = after(&r, Some(&next("2026-01-02T05:00:00Z")), None, 0);
    assert_eq!(a.kind, AfterKind::ApprovedOnward);
    assert_eq!(a.kind.as_str(), "approved_onward");
    assert_eq!(a.after_seconds, Some(7200));
    let a = after(&r, None, None, 0);
    assert_eq!(
        (a.kind, a.at, a.after_seconds),
        (AfterKind::Open, None, None)
    );
}

#[test]
fn a_no_go_is_released_held_or_rolled_back() {
    let r = record(Choice::NoGo, Outcome::Accepted);
    assert_eq!(watched_stage(&r), Some(0));
    let a = after(&r, Some(&next("2026-01-02T03:30:00Z")), None, 0);
    assert_eq!((a.kind, a.after_seconds), (AfterKind::Released, Some(1800)));
    assert_eq!(after(&r, None, None, 0).kind, AfterKind::Held);
    let a = after(&r, None, Some(ts("2026-01-02T03:00:30Z")), 2);
    assert_eq!((a.kind, a.after_seconds), (AfterKind::Rollback, Some(30)));
}

#[test]
fn a_refusal_has_no_outcome_and_needs_no_lookup() {
    let r = record(
        Choice::Go,
        Outcome::Refused {
            refused: Refused::NotReady,
            why: "not ready".into(),
        },
    );
    assert_eq!(watched_stage(&r), None);
    let a = after(&r, Some(&next("2026-01-02T05:00:00Z")), None, 3);
    assert_eq!(a.kind, AfterKind::NotApplicable);
    assert_eq!((a.at, a.next_go_id, a.incidents_after), (None, None, None));
}

#[test]
fn an_outcome_before_the_decision_is_a_negative_delay_not_a_panic() {
    let r = record(Choice::Go, Outcome::Accepted);
    let a = after(&r, None, Some(ts("2026-01-02T02:59:00Z")), 0);
    assert_eq!(a.after_seconds, Some(-60));
}
