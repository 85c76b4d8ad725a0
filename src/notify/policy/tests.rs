//! The incident lifecycle driven by hand: a manual "now", no sleeping.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::config::{NotifyConfig, Percent, Stage};
use crate::domain::Expansion;

const ROSTER: &str = r#"
timezone: Asia/Seoul
people:
  sena:    { slack: U0SENA,    email: sena@example.com }
  copilot: { slack: U0COPILOT, email: copilot@example.com }
  lubit:   { slack: U0LUBIT,   email: lubit@example.com }
  night:   { slack: U0NIGHT,   email: night@example.com }
slots:
  - name: day
    from: "09:00"
    to: "18:00"
    escalation:
      - notify: [sena]
      - after: 10m
        notify: [copilot]
      - after: 30m
        notify: [lubit]
  - name: night
    from: "18:00"
    to: "09:00"
    escalation:
      - notify: [night]
      - after: 10m
        notify: [copilot]
"#;

fn roster() -> Roster {
    crate::config::roster::load_str(ROSTER, Path::new("roster.yaml"))
        .unwrap()
        .0
}

fn rollout() -> Rollout {
    Rollout {
        name: "checkout-api".into(),
        approver: "lubit".into(),
        deputies: Vec::new(),
        flagger: crate::config::FlaggerCanary {
            name: "checkout-api".into(),
            namespace: None,
        },
        stages: vec![
            Stage {
                min_bake: None,
                traffic: Percent(5.0),
                bake: Some(Duration::from_secs(86400)),
            },
            Stage {
                min_bake: None,
                traffic: Percent(100.0),
                bake: None,
            },
        ],
        checks: vec![],
        interval: Duration::from_secs(30),
    }
}

fn notify() -> NotifyConfig {
    NotifyConfig {
        repeat: Duration::from_secs(3600),
        resolve_after: Duration::from_secs(300),
        blind_after: Duration::ZERO,
        stuck_after: Duration::from_secs(600),
    }
}

fn decision(verdict: Verdict) -> Decision {
    Decision {
        verdict,
        reason: format!("{verdict:?} because"),
        ready_to_expand: None,
    }
}

/// Local Seoul wall time → instant (Seoul is UTC+9, no DST).
fn seoul(hh_mm: &str) -> Timestamp {
    format!("2025-10-22T{hh_mm}:00+09:00").parse().unwrap()
}

/// Drives the policy like the engine does, carrying memory and incident.
struct Driver {
    rollout: Rollout,
    roster: Roster,
    notify: NotifyConfig,
    memory: Option<RolloutMemory>,
    incident: Option<Incident>,
    /// The checks behind the next decisions.
    checks: Vec<CheckResult>,
}

impl Driver {
    fn new() -> Self {
        Driver {
            rollout: rollout(),
            roster: roster(),
            notify: notify(),
            memory: None,
            incident: None,
            checks: Vec::new(),
        }
    }

    fn step(&mut self, now: Timestamp, d: Decision) -> Vec<Outgoing> {
        let out = apply(&PolicyInput {
            rollout: &self.rollout,
            stage_index: 0,
            decision: &d,
            checks: &self.checks,
            now,
            memory: self.memory.as_ref(),
            incident: self.incident.as_ref(),
            roster: Some(&self.roster),
            notify: &self.notify,
            decided_hold: false,
            next_incident_id: 7,
            prometheus_url: "http://prom",
        });
        self.memory = Some(out.memory);
        self.incident = out.incident.filter(|i| i.resolved_at.is_none());
        out.outgoing
    }
}

fn names(o: &Outgoing) -> Vec<&str> {
    o.recipients.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn continue_says_nothing() {
    let mut d = Driver::new();
    assert!(d
        .step(seoul("10:00"), decision(Verdict::Continue))
        .is_empty());
    assert!(d.incident.is_none());
}

#[test]
fn hold_pages_level_zero_of_the_slot_only() {
    let mut d = Driver::new();
    let out = d.step(seoul("10:00"), decision(Verdict::Hold));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].advisory.kind, AdvisoryKind::Opened);
    assert_eq!(names(&out[0]), ["sena"]);
    let view = out[0].advisory.incident.as_ref().unwrap();
    assert_eq!(view.id, 7);
    assert_eq!(view.slot.as_deref(), Some("day"));
    let next = view.next.as_ref().unwrap();
    assert_eq!(
        (next.level, next.after_seconds, next.people[0].name.as_str()),
        (1, 600, "copilot")
    );
}

#[test]
fn rollback_pages_the_approver_at_once() {
    let mut d = Driver::new();
    let out = d.step(seoul("10:00"), decision(Verdict::Rollback));
    assert_eq!(names(&out[0]), ["sena", "lubit"]);
}

#[test]
fn escalating_a_rollback_does_not_page_the_approver_again() {
    let mut d = Driver::new();
    d.step(seoul("10:00"), decision(Verdict::Rollback));
    let out = d.step(seoul("10:10"), decision(Verdict::Rollback));
    assert_eq!(names(&out[0]), ["copilot"]);
}

#[test]
fn unacknowledged_incident_escalates_level_by_level() {
    let mut d = Driver::new();
    d.step(seoul("10:00"), decision(Verdict::Hold));
    assert!(d.step(seoul("10:09"), decision(Verdict::Hold)).is_empty());
    let out = d.step(seoul("10:10"), decision(Verdict::Hold));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].advisory.kind, AdvisoryKind::Escalated);
    assert_eq!(names(&out[0]), ["copilot"]);
    assert!(d.step(seoul("10:20"), decision(Verdict::Hold)).is_empty());
    let out = d.step(seoul("10:31"), decision(Verdict::Hold));
    assert_eq!(names(&out[0]), ["lubit"]);
    assert_eq!(d.incident.as_ref().unwrap().level, 2);
}

#[test]
fn a_late_evaluation_pages_every_level_it_skipped_at_once() {
    let mut d = Driver::new();
    d.step(seoul("10:00"), decision(Verdict::Hold));
    let out = d.step(seoul("10:45"), decision(Verdict::Hold));
    assert_eq!(names(&out[0]), ["copilot", "lubit"]);
}

#[test]
fn acknowledged_incident_stops_escalating() {
    let mut d = Driver::new();
    d.step(seoul("10:00"), decision(Verdict::Hold));
    let inc = d.incident.as_mut().unwrap();
    inc.acked_by = Some("sena".into());
    inc.acked_at = Some(seoul("10:05"));
    for t in ["10:10", "10:30", "10:59"] {
        assert!(d.step(seoul(t), decision(Verdict::Hold)).is_empty(), "{t}");
    }
    // ...but a reminder still comes after `repeat`.
    let out = d.step(seoul("11:00"), decision(Verdict::Hold));
    assert_eq!(out[0].advisory.kind, AdvisoryKind::Reminder);
}

#[test]
fn verdict_change_inside_an_incident_is_one_message_to_everyone_paged() {
    let mut d = Driver::new();
    d.step(seoul("10:00"), decision(Verdict::Hold));
    d.step(seoul("10:10"), decision(Verdict::Hold));
    let out = d.step(seoul("10:12"), decision(Verdict::Rollback));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].advisory.verdict, Verdict::Rollback);
    assert_eq!(names(&out[0]), ["sena", "copilot", "lubit"]);
}

#[test]
fn flapping_does_not_page_again_and_resolution_waits_for_calm() {
    let mut d = Driver::new();
    d.step(seoul("10:00"), decision(Verdict::Hold));
    assert!(d
        .step(seoul("10:01"), decision(Verdict::Continue))
        .is_empty());
    assert!(
        d.step(seoul("10:03"), decision(Verdict::Hold)).is_empty(),
        "breach inside the calm window re-pages"
    );
    assert!(d
        .step(seoul("10:04"), decision(Verdict::Continue))
        .is_empty());
    assert!(d.incident.is_some());
    let out = d.step(seoul("10:09"), decision(Verdict::Continue));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].advisory.kind, AdvisoryKind::Resolved);
    assert!(names(&out[0]).contains(&"sena") && names(&out[0]).contains(&"lubit"));
    assert!(d.incident.is_none());
}

#[test]
fn crossing_into_another_slot_hands_over_to_its_level_zero() {
    let mut d = Driver::new();
    d.step(seoul("17:55"), decision(Verdict::Hold));
    let out = d.step(seoul("18:00"), decision(Verdict::Hold));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].advisory.kind, AdvisoryKind::Escalated);
    assert_eq!(names(&out[0]), ["night"]);
    let inc = d.incident.as_ref().unwrap();
    assert_eq!((inc.slot.as_deref(), inc.level), (Some("night"), 0));
    // The new slot's chain counts from the hand-over, not from opening.
    assert!(d.step(seoul("18:09"), decision(Verdict::Hold)).is_empty());
    let out = d.step(seoul("18:10"), decision(Verdict::Hold));
    assert_eq!(names(&out[0]), ["copilot"]);
}

#[test]
fn ready_to_expand_is_announced_once_per_stage_to_the_approver() {
    let mut d = Driver::new();
    let mut ready = decision(Verdict::Continue);
    ready.ready_to_expand = Some(Expansion {
        next_index: 1,
        next_traffic: "100%".into(),
        approver: "lubit".into(),
        stage_started_at: None,
    });
    let out = d.step(seoul("10:00"), ready.clone());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].advisory.kind, AdvisoryKind::ReadyToExpand);
    assert_eq!(names(&out[0]), ["lubit"]);
    assert!(d.step(seoul("10:01"), ready).is_empty());
}

#[test]
fn a_no_go_hold_over_clean_checks_pages_nobody() {
    let mut d = Driver::new();
    let held = Decision {
        verdict: Verdict::Hold,
        reason: "NO-GO by lubit: wait".into(),
        ready_to_expand: None,
    };
    let out = apply(&PolicyInput {
        rollout: &d.rollout,
        stage_index: 0,
        decision: &held,
        checks: &[],
        now: seoul("10:00"),
        memory: None,
        incident: None,
        roster: Some(&d.roster),
        notify: &d.notify,
        decided_hold: true,
        next_incident_id: 1,
        prometheus_url: "http://prom",
    });
    assert!(out.outgoing.is_empty() && out.incident.is_none(), "{out:?}");
    // The same hold from the checks pages at once.
    assert_eq!(d.step(seoul("10:00"), held).len(), 1);
}

#[test]
fn ready_to_expand_reaches_the_deputies_and_says_how_to_answer() {
    let mut d = Driver::new();
    d.rollout.deputies = vec!["copilot".into()];
    let mut ready = decision(Verdict::Continue);
    ready.ready_to_expand = Some(Expansion {
        next_index: 1,
        next_traffic: "100%".into(),
        approver: "lubit".into(),
        stage_started_at: None,
    });
    let out = d.step(seoul("10:00"), ready);
    assert_eq!(names(&out[0]), ["lubit", "copilot"]);
    let text = crate::notify::render::text(&out[0].advisory, &[]);
    assert!(
        text.contains("sena approve checkout-api --stage 0")
            && text.contains("sena reject checkout-api --stage 0 --comment WHY")
            && text.contains("POST /api/v1/rollouts/checkout-api/decisions"),
        "{text}"
    );
}

#[test]
fn without_a_roster_an_incident_still_opens_and_speaks() {
    let out = apply(&PolicyInput {
        rollout: &rollout(),
        stage_index: 0,
        decision: &decision(Verdict::Rollback),
        checks: &[],
        now: seoul("10:00"),
        memory: None,
        incident: None,
        roster: None,
        notify: &notify(),
        decided_hold: false,
        next_incident_id: 1,
        prometheus_url: "http://prom",
    });
    assert_eq!(out.outgoing.len(), 1);
    assert!(out.outgoing[0].recipients.is_empty());
    assert!(out.incident.is_some());
}

fn with_blind_after(minutes: u64, status: CheckStatus) -> Driver {
    let mut d = Driver::new();
    d.notify.blind_after = Duration::from_secs(minutes * 60);
    d.checks = vec![crate::notify::render::fixtures::satisfaction(0.99, status)];
    d
}

#[test]
fn a_blind_hold_pages_only_once_it_has_lasted_blind_after() {
    for blind in [CheckStatus::NoData, CheckStatus::Error] {
        let mut d = with_blind_after(2, blind);
        assert!(d.step(seoul("10:00"), decision(Verdict::Hold)).is_empty());
        assert!(d.step(seoul("10:01"), decision(Verdict::Hold)).is_empty());
        assert!(d.incident.is_none(), "no incident inside the grace");
        let out = d.step(seoul("10:02"), decision(Verdict::Hold));
        assert_eq!(out.len(), 1, "{blind:?}: paged once the grace is over");
        assert_eq!(out[0].advisory.kind, AdvisoryKind::Opened);
        assert_eq!(names(&out[0]), ["sena"]);
    }
}

#[test]
fn a_blind_hold_that_clears_inside_the_grace_says_nothing() {
    let mut d = with_blind_after(2, CheckStatus::NoData);
    assert!(d.step(seoul("10:00"), decision(Verdict::Hold)).is_empty());
    d.checks = vec![crate::notify::render::fixtures::satisfaction(
        0.99,
        CheckStatus::Passing,
    )];
    assert!(d
        .step(seoul("10:01"), decision(Verdict::Continue))
        .is_empty());
    d.checks = vec![crate::notify::render::fixtures::satisfaction(
        0.99,
        CheckStatus::NoData,
    )];
    // A new blind spell starts its own grace.
    assert!(d.step(seoul("10:02"), decision(Verdict::Hold)).is_empty());
    assert!(d.step(seoul("10:03"), decision(Verdict::Hold)).is_empty());
    assert_eq!(d.step(seoul("10:04"), decision(Verdict::Hold)).len(), 1);
}

#[test]
fn a_failing_check_pages_at_once_whatever_blind_after() {
    let mut d = with_blind_after(60, CheckStatus::Failing);
    let out = d.step(seoul("10:00"), decision(Verdict::Hold));
    assert_eq!(out.len(), 1);
    let mut d = with_blind_after(60, CheckStatus::NoData);
    assert_eq!(
        d.step(seoul("10:00"), decision(Verdict::Rollback)).len(),
        1,
        "a rollback is never held back"
    );
}
