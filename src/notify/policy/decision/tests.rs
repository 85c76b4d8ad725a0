//! The decision transition by hand: every rule that refuses or accepts a
//! GO / NO-GO, with a manual `now`.

use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::config::{Percent, Stage};
use crate::domain::{Verdict, Via};

fn rollout() -> Rollout {
    let stage = |p: f64| Stage {
        min_bake: None,
        traffic: Percent(p),
        bake: Some(Duration::from_secs(60)),
    };
    Rollout {
        name: "checkout-api".into(),
        approver: "lubit".into(),
        deputies: vec!["maestro".into()],
        flagger: crate::config::FlaggerCanary {
            name: "checkout-api".into(),
            namespace: None,
        },
        stages: vec![stage(5.0), stage(10.0), stage(100.0)],
        checks: vec![],
        interval: Duration::from_secs(30),
    }
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn advice(verdict: Verdict, ready: bool) -> Advice {
    Advice {
        verdict: Some(verdict),
        reason: if ready {
            "ready".into()
        } else {
            "hold: error_rate 2% > 1%".into()
        },
        ready,
        checks: vec![],
        bake_elapsed_seconds: 120,
        incidents_during_stage: 0,
        rules_hash: "abc".into(),
    }
}

fn go(by: &str, stage: usize) -> DecisionRequest {
    DecisionRequest {
        choice: Choice::Go,
        stage,
        stage_started_at: None,
        comment: None,
        override_advice: false,
        by: Principal::Person(by.into()),
        token: None,
        slack_user: None,
        via: Via::Api,
    }
}

struct Case {
    rollout: Rollout,
    stage: StagePosition,
    advice: Advice,
    last: Option<DecisionRecord>,
    can_decide: bool,
}

impl Case {
    fn ready() -> Case {
        Case {
            rollout: rollout(),
            stage: StagePosition {
                index: 0,
                started_at: at(0),
            },
            advice: advice(Verdict::Continue, true),
            last: None,
            can_decide: true,
        }
    }
    fn run(&self, req: &DecisionRequest, now: Timestamp) -> DecisionOutput {
        decide_stage(&DecisionInput {
            rollout: &self.rollout,
            stage: self.stage,
            hold: None,
            last_accepted: self.last.as_ref(),
            advice: &self.advice,
            checks: &[],
            request: req,
            can_decide: self.can_decide,
            roster: None,
            now,
            prometheus_url: "http://p",
        })
    }
}

fn refused(out: DecisionOutput) -> (Refused, String, DecisionRecord) {
    match out {
        DecisionOutput::Refused(rec) => match rec.outcome.clone() {
            Outcome::Refused { refused, why } => (refused, why, rec),
            Outcome::Accepted => panic!("refused record marked accepted"),
        },
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn go_when_ready_moves_to_the_next_stage_and_restarts_the_bake() {
    let out = Case::ready().run(&go("lubit", 0), at(300));
    let DecisionOutput::Decided {
        record,
        stage,
        hold,
        outgoing,
    } = out
    else {
        panic!("not decided: {out:?}");
    };
    assert_eq!(
        stage,
        Some(StagePosition {
            index: 1,
            started_at: at(300)
        })
    );
    assert_eq!(hold, HoldChange::Clear);
    assert_eq!((record.from_stage, record.to_stage), (0, 1));
    assert_eq!(record.to_traffic, "10%");
    assert!(!record.against_advice);
    assert_eq!(record.advice.rules_hash, "abc");
    assert_eq!(outgoing[0].advisory.reason, "GO by lubit → now at 10%");
    assert_eq!(outgoing[0].advisory.kind, AdvisoryKind::Decided);
}

#[test]
fn a_deputy_may_decide_and_anyone_else_is_refused_by_name() {
    let case = Case::ready();
    assert!(matches!(
        case.run(&go("maestro", 0), at(1)),
        DecisionOutput::Decided { .. }
    ));
    let (refusal, why, rec) = refused(case.run(&go("mallory", 0), at(1)));
    assert_eq!(refusal, Refused::NotAllowed);
    assert_eq!(why, "only lubit or maestro can approve checkout-api");
    assert_eq!(rec.by, "mallory");
    // A machine token named like the approver is not the approver.
    let mut machine = go("lubit", 0);
    machine.by = Principal::Machine("lubit".into());
    assert_eq!(refused(case.run(&machine, at(1))).0, Refused::NotAllowed);
}

#[test]
fn the_approver_without_the_decide_capability_is_refused() {
    let mut case = Case::ready();
    case.can_decide = false;
    assert_eq!(
        refused(case.run(&go("lubit", 0), at(1))).0,
        Refused::NotAllowed
    );
}

#[test]
fn a_decision_on_a_stage_already_left_is_stale_even_with_an_override() {
    let mut case = Case::ready();
    case.stage.index = 1;
    let (refusal, why, rec) = refused(case.run(&go("lubit", 0), at(1)));
    assert_eq!(refusal, Refused::Stale);
    assert!(why.contains("is at stage 1 (10%), not stage 0"), "{why}");
    assert_eq!((rec.from_stage, rec.to_stage), (1, 1));
    let mut forced = go("lubit", 0);
    forced.override_advice = true;
    forced.comment = Some("I know".into());
    assert_eq!(refused(case.run(&forced, at(1))).0, Refused::Stale);
}

#[test]
fn a_button_from_an_earlier_time_at_the_same_stage_is_not_the_current_request() {
    // The request was posted while stage 0 ran from at(0); the rollout
    // then left stage 0 and came back at at(500).
    let mut case = Case::ready();
    case.stage.started_at = at(500);
    let mut from_old_message = go("lubit", 0);
    from_old_message.stage_started_at = Some(at(0));
    let (refusal, why, _) = refused(case.run(&from_old_message, at(600)));
    assert_eq!(refusal, Refused::Stale);
    assert!(why.contains("this request is no longer current"), "{why}");
    let mut current = go("lubit", 0);
    current.stage_started_at = Some(at(500));
    assert!(matches!(
        case.run(&current, at(600)),
        DecisionOutput::Decided { .. }
    ));
}

#[test]
fn go_while_not_ready_is_refused_with_sena_s_reason() {
    let mut case = Case::ready();
    case.advice = advice(Verdict::Hold, false);
    let (refusal, why, _) = refused(case.run(&go("lubit", 0), at(1)));
    assert_eq!(refusal, Refused::NotReady);
    assert!(why.contains("error_rate 2% > 1%"), "{why}");
    // Continue but still baking (or a check pending) is not ready either.
    case.advice = advice(Verdict::Continue, false);
    assert_eq!(
        refused(case.run(&go("lubit", 0), at(1))).0,
        Refused::NotReady
    );
}

#[test]
fn an_override_with_a_comment_goes_against_the_advice_and_says_so() {
    let mut case = Case::ready();
    case.advice = advice(Verdict::Hold, false);
    let mut forced = go("lubit", 0);
    forced.override_advice = true;
    forced.comment = Some("   ".into());
    assert_eq!(refused(case.run(&forced, at(1))).0, Refused::Invalid);
    forced.comment = Some("known flaky probe".into());
    let DecisionOutput::Decided {
        record, outgoing, ..
    } = case.run(&forced, at(1))
    else {
        panic!("override refused");
    };
    assert!(record.against_advice && record.override_advice);
    assert_eq!(record.advice.verdict, Some(Verdict::Hold));
    assert_eq!(
        outgoing[0].advisory.reason,
        "GO by lubit → now at 10% (against Sena's advice): known flaky probe"
    );
}

#[test]
fn no_go_needs_a_comment_and_then_holds_with_the_reason() {
    let case = Case::ready();
    let mut no = go("lubit", 0);
    no.choice = Choice::NoGo;
    assert_eq!(refused(case.run(&no, at(1))).0, Refused::Invalid);
    no.comment = Some("latency looks odd".into());
    let DecisionOutput::Decided {
        stage,
        hold,
        outgoing,
        record,
    } = case.run(&no, at(5))
    else {
        panic!("NO-GO refused");
    };
    assert_eq!(stage, None);
    let HoldChange::Set(h) = hold else {
        panic!("no hold")
    };
    assert_eq!(h.reason(), "NO-GO by lubit: latency looks odd");
    assert_eq!(outgoing[0].advisory.verdict, Verdict::Hold);
    assert_eq!((record.from_stage, record.to_stage), (0, 0));
    let held = crate::domain::approval::with_hold(
        crate::domain::Decision {
            verdict: Verdict::Continue,
            reason: "ready".into(),
            ready_to_expand: None,
        },
        Some(&h),
    );
    assert_eq!(
        (held.verdict, held.reason.as_str()),
        (Verdict::Hold, "NO-GO by lubit: latency looks odd")
    );
}

#[test]
fn the_same_decision_twice_decides_once_and_returns_the_first_record() {
    let mut case = Case::ready();
    let DecisionOutput::Decided {
        mut record, stage, ..
    } = case.run(&go("lubit", 0), at(10))
    else {
        panic!("first GO refused");
    };
    record.id = 7;
    case.stage = stage.unwrap();
    case.last = Some(record);
    match case.run(&go("lubit", 0), at(11)) {
        DecisionOutput::Duplicate(first) => assert_eq!(first.id, 7),
        other => panic!("second GO not a duplicate: {other:?}"),
    }
    // Another person's GO on the old stage is stale, not a duplicate.
    assert_eq!(
        refused(case.run(&go("maestro", 0), at(11))).0,
        Refused::Stale
    );
    // After the stage was set by hand since, the same words decide anew.
    case.stage = StagePosition {
        index: 0,
        started_at: at(20),
    };
    assert!(matches!(
        case.run(&go("lubit", 0), at(21)),
        DecisionOutput::Decided { .. }
    ));
}

#[test]
fn go_at_the_last_stage_is_refused() {
    let mut case = Case::ready();
    case.stage.index = 2;
    assert_eq!(
        refused(case.run(&go("lubit", 2), at(1))).0,
        Refused::NotReady
    );
}
