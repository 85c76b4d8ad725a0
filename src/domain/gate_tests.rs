//! The gate judgement: only `continue` with the GO that opened the current
//! stage passes; every missing piece waits; rollback passes the rollback hook.

use jiff::Timestamp;

use super::*;
use crate::domain::{Advice, Expansion, Outcome, Via};

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn stage(index: usize, started: i64) -> StagePosition {
    StagePosition {
        index,
        started_at: at(started),
    }
}

fn evaluated(s: StagePosition, verdict: Verdict) -> Evaluated {
    Evaluated {
        stage: s,
        advised: Decision {
            verdict,
            reason: format!("checks say {}", verdict.as_str()),
            ready_to_expand: (verdict == Verdict::Continue).then(|| Expansion {
                next_index: s.index + 1,
                next_traffic: "50%".into(),
                approver: "lubit".into(),
                stage_started_at: None,
            }),
        },
    }
}

fn decision(choice: Choice, from: usize, to: usize, when: i64) -> DecisionRecord {
    DecisionRecord {
        id: 1,
        at: at(when),
        rollout: "checkout-api".into(),
        from_stage: from,
        from_traffic: "5%".into(),
        to_stage: to,
        to_traffic: "25%".into(),
        stage_named: from,
        decision: choice,
        by: "lubit".into(),
        token: None,
        slack_user: None,
        via: Via::Api,
        comment: None,
        override_advice: false,
        against_advice: false,
        outcome: Outcome::Accepted,
        advice: Advice {
            verdict: Some(Verdict::Continue),
            reason: String::new(),
            ready: true,
            checks: vec![],
            bake_elapsed_seconds: 0,
            incidents_during_stage: 0,
            rules_hash: "h".into(),
        },
    }
}

fn judge_with(
    current: StagePosition,
    latest: Option<&Evaluated>,
    hold: Option<&Hold>,
    last: Option<&DecisionRecord>,
) -> GateView {
    judge_expecting(current, latest, hold, last, None)
}

fn judge_expecting(
    current: StagePosition,
    latest: Option<&Evaluated>,
    hold: Option<&Hold>,
    last: Option<&DecisionRecord>,
    expected_stage: Option<usize>,
) -> GateView {
    judge(&GateInput {
        rollout: "checkout-api",
        stage: current,
        traffic: "25%".into(),
        latest,
        hold,
        last_accepted: last,
        expected_stage,
    })
}

#[test]
fn continue_with_the_go_that_opened_the_stage_passes() {
    let current = stage(1, 100);
    let go = decision(Choice::Go, 0, 1, 100);
    let view = judge_with(
        current,
        Some(&evaluated(current, Verdict::Continue)),
        None,
        Some(&go),
    );
    assert_eq!(view.pass(), GatePass::Pass, "{view:?}");
    assert!(view.approved);
    assert_eq!(view.verdict, Some(Verdict::Continue));
    assert_eq!((view.stage, view.traffic.as_str()), (1, "25%"));
}

#[test]
fn continue_without_a_go_waits() {
    let current = stage(0, 0);
    let view = judge_with(
        current,
        Some(&evaluated(current, Verdict::Continue)),
        None,
        None,
    );
    assert_eq!(view.pass(), GatePass::Wait);
    assert!(!view.approved);
    assert!(
        view.reason.contains("waiting for the approver"),
        "{}",
        view.reason
    );
}

#[test]
fn a_go_into_another_stage_or_an_earlier_visit_is_not_this_stages_go() {
    let current = stage(1, 500);
    let latest = evaluated(current, Verdict::Continue);
    // The GO opened stage 1 at 100; `sena stage` reset it at 500.
    let earlier_visit = decision(Choice::Go, 0, 1, 100);
    let view = judge_with(current, Some(&latest), None, Some(&earlier_visit));
    assert_eq!(view.pass(), GatePass::Wait);
    let other_stage = decision(Choice::Go, 1, 2, 500);
    let view = judge_with(current, Some(&latest), None, Some(&other_stage));
    assert_eq!(view.pass(), GatePass::Wait);
}

#[test]
fn a_no_go_hold_waits_even_after_a_go() {
    let current = stage(1, 100);
    let go = decision(Choice::Go, 0, 1, 100);
    let hold = Hold {
        stage: 1,
        by: "lubit".into(),
        comment: "latency looks odd".into(),
        at: at(200),
    };
    let view = judge_with(
        current,
        Some(&evaluated(current, Verdict::Continue)),
        Some(&hold),
        Some(&go),
    );
    assert_eq!(view.pass(), GatePass::Wait);
    assert_eq!(view.verdict, Some(Verdict::Hold));
    assert!(!view.approved);
    assert_eq!(view.reason, "NO-GO by lubit: latency looks odd");
    // The NO-GO record itself is never a GO.
    let no_go = decision(Choice::NoGo, 1, 1, 200);
    let view = judge_with(
        current,
        Some(&evaluated(current, Verdict::Continue)),
        None,
        Some(&no_go),
    );
    assert_eq!(view.pass(), GatePass::Wait);
}

#[test]
fn rollback_passes_only_the_rollback_gate() {
    let current = stage(1, 100);
    let go = decision(Choice::Go, 0, 1, 100);
    let view = judge_with(
        current,
        Some(&evaluated(current, Verdict::Rollback)),
        None,
        Some(&go),
    );
    assert_eq!(view.pass(), GatePass::Rollback);
    assert_eq!(view.verdict, Some(Verdict::Rollback));
    assert_eq!(view.reason, "checks say rollback");
}

#[test]
fn hold_waits_with_the_checks_reason() {
    let current = stage(1, 100);
    let go = decision(Choice::Go, 0, 1, 100);
    let view = judge_with(
        current,
        Some(&evaluated(current, Verdict::Hold)),
        None,
        Some(&go),
    );
    assert_eq!(view.pass(), GatePass::Wait);
    assert_eq!(view.reason, "checks say hold");
}

#[test]
fn no_evaluation_of_the_current_stage_waits() {
    let current = stage(1, 100);
    let go = decision(Choice::Go, 0, 1, 100);
    for latest in [None, Some(evaluated(stage(0, 0), Verdict::Continue))] {
        let view = judge_with(current, latest.as_ref(), None, Some(&go));
        assert_eq!(view.pass(), GatePass::Wait, "{latest:?}");
        assert_eq!(view.verdict, None);
        assert!(
            view.reason.contains("not been evaluated"),
            "{}",
            view.reason
        );
    }
}

#[test]
fn an_asker_naming_its_stage_is_answered_for_that_stage() {
    // Stage 0, no GO: moving traffic into stage 0 needs none, into stage 1
    // waits for the GO.
    let zero = stage(0, 0);
    let latest = evaluated(zero, Verdict::Continue);
    let view = judge_expecting(zero, Some(&latest), None, None, Some(0));
    assert_eq!(view.pass(), GatePass::Pass, "{view:?}");
    assert!(
        view.reason.contains("stage 0 needs no GO"),
        "{}",
        view.reason
    );
    let view = judge_expecting(zero, Some(&latest), None, None, Some(1));
    assert_eq!(view.pass(), GatePass::Wait, "{view:?}");
    assert!(
        view.reason
            .contains("waiting for the approver's GO into stage 1"),
        "{}",
        view.reason
    );

    // After the GO into stage 1: the step into stage 1 passes, the next
    // step (into stage 2) waits instead of riding on the same GO, and a
    // step that asks about stage 0 again passes (it was passed long ago).
    let one = stage(1, 100);
    let go = decision(Choice::Go, 0, 1, 100);
    let latest = evaluated(one, Verdict::Continue);
    for (expected, pass) in [
        (Some(1), GatePass::Pass),
        (Some(2), GatePass::Wait),
        (Some(0), GatePass::Pass),
        (None, GatePass::Pass),
    ] {
        let view = judge_expecting(one, Some(&latest), None, Some(&go), expected);
        assert_eq!(view.pass(), pass, "expecting {expected:?}: {view:?}");
    }

    // Stage 1 reached by `sena stage`, not by a GO: the step into it waits.
    let view = judge_expecting(one, Some(&latest), None, None, Some(1));
    assert_eq!(view.pass(), GatePass::Wait, "{view:?}");

    // A NO-GO or a rollback wins whatever the asker names.
    let hold = Hold {
        stage: 1,
        by: "lubit".into(),
        comment: "latency looks odd".into(),
        at: at(200),
    };
    let view = judge_expecting(one, Some(&latest), Some(&hold), Some(&go), Some(0));
    assert_eq!(view.pass(), GatePass::Wait, "{view:?}");
    let failing = evaluated(one, Verdict::Rollback);
    let view = judge_expecting(one, Some(&failing), None, Some(&go), Some(1));
    assert_eq!(view.pass(), GatePass::Rollback, "{view:?}");
}
