use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::config::{Bound, Check, NoData, OnFail, Percent, Rollout, Stage, Threshold, Unit};
use crate::datasource::{DatasourceError, Sample};
use crate::eval::judge::{judge, observe};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn check(name: &str, bound: Bound, value: f64, on_fail: OnFail, for_s: u64) -> Check {
    Check {
        counts: None,
        name: name.into(),
        query: format!("{name}_query"),
        threshold: Threshold {
            bound,
            value,
            unit: Unit::Percent,
        },
        for_duration: Duration::from_secs(for_s),
        on_fail,
        no_data: NoData::Hold,
        description: None,
        runbook_url: None,
        max_series: 1000,
        defined_at: "rules/canary.yaml:1".into(),
    }
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
                bake: Some(Duration::from_secs(24 * 3600)),
            },
            Stage {
                min_bake: None,
                traffic: Percent(10.0),
                bake: Some(Duration::from_secs(5 * 86400)),
            },
            Stage {
                min_bake: None,
                traffic: Percent(100.0),
                bake: None,
            },
        ],
        checks: vec![
            check("error_rate", Bound::Below, 0.001, OnFail::Rollback, 120),
            check("satisfaction", Bound::Above, 0.95, OnFail::Hold, 0),
        ],
        interval: Duration::from_secs(30),
    }
}

fn sample(v: f64) -> Vec<Sample> {
    vec![Sample {
        labels: Default::default(),
        value: v,
    }]
}

/// Judges every check of `rollout()` from one answer each.
fn results(
    answers: Vec<Result<Vec<Sample>, DatasourceError>>,
    breach_start: Option<Timestamp>,
    now: Timestamp,
) -> Vec<crate::eval::CheckResult> {
    rollout()
        .checks
        .iter()
        .zip(answers)
        .map(|(c, a)| judge(c, observe(c, a), breach_start, now).0)
        .collect()
}

const T0: &str = "2025-10-22T14:00:00Z";

fn at_stage0() -> StagePosition {
    StagePosition {
        index: 0,
        started_at: ts(T0),
    }
}

#[test]
fn healthy_but_unbaked_continues_without_expansion() {
    let now = ts("2025-10-22T16:00:00Z");
    let r = results(vec![Ok(sample(0.0)), Ok(sample(0.99))], None, now);
    let d = decide(&rollout(), at_stage0(), &r, now);
    assert_eq!(d.verdict, Verdict::Continue);
    assert!(d.ready_to_expand.is_none());
    assert!(d.reason.contains("baked 2h of 24h"), "{}", d.reason);
}

#[test]
fn baked_and_clean_is_ready_to_expand_with_approver() {
    let now = ts("2025-10-23T14:00:01Z");
    let r = results(vec![Ok(sample(0.0)), Ok(sample(0.99))], None, now);
    let d = decide(&rollout(), at_stage0(), &r, now);
    assert_eq!(d.verdict, Verdict::Continue);
    assert_eq!(
        d.reason,
        "ready to expand to 10%, needs approval from lubit"
    );
    assert_eq!(d.ready_to_expand.unwrap().next_index, 1);
}

#[test]
fn young_breach_is_pending_and_blocks_expansion() {
    let now = ts("2025-10-24T00:00:00Z");
    let r = results(
        vec![Ok(sample(0.0042)), Ok(sample(0.99))],
        Some(ts("2025-10-23T23:59:30Z")),
        now,
    );
    assert_eq!(r[0].status, crate::eval::CheckStatus::Pending);
    let d = decide(&rollout(), at_stage0(), &r, now);
    assert_eq!(d.verdict, Verdict::Continue);
    assert!(d.ready_to_expand.is_none());
    assert!(d.reason.contains("30s of 2m"), "{}", d.reason);
}

#[test]
fn breach_older_than_for_rolls_back_with_value_and_limit() {
    let now = ts("2025-10-24T00:00:00Z");
    let r = results(
        vec![Ok(sample(0.0042)), Ok(sample(0.99))],
        Some(ts("2025-10-23T23:57:00Z")),
        now,
    );
    let d = decide(&rollout(), at_stage0(), &r, now);
    assert_eq!(d.verdict, Verdict::Rollback);
    assert!(
        d.reason.contains("error_rate 0.42% (limit < 0.1%)"),
        "{}",
        d.reason
    );
    assert!(d.reason.contains("breaching for 3m"), "{}", d.reason);
}

#[test]
fn satisfaction_below_limit_holds() {
    let now = ts(T0);
    let r = results(vec![Ok(sample(0.0)), Ok(sample(0.90))], None, now);
    let d = decide(&rollout(), at_stage0(), &r, now);
    assert_eq!(d.verdict, Verdict::Hold);
    assert!(d.reason.contains("satisfaction 90%"), "{}", d.reason);
}

#[test]
fn blind_never_continues() {
    let now = ts(T0);
    for answer in [
        Ok(vec![]),
        Ok(sample(f64::NAN)),
        Ok(sample(f64::INFINITY)), // satisfaction > 95%: +Inf is not a breach, but not trusted either
        Ok(sample(f64::NEG_INFINITY)), // -Inf on `above` is a breach: hold via on_fail hold
        Err(DatasourceError::Unreachable("connection refused".into())),
        Err(DatasourceError::Timeout(Duration::from_secs(10))),
    ] {
        let r = results(vec![Ok(sample(0.0)), answer.clone()], None, now);
        let d = decide(&rollout(), at_stage0(), &r, now);
        assert_eq!(d.verdict, Verdict::Hold, "{answer:?} gave {d:?}");
    }
}

#[test]
fn worst_series_decides_and_reason_names_its_labels() {
    let now = ts(T0);
    let mut eu = std::collections::BTreeMap::new();
    eu.insert("region".to_string(), "eu".to_string());
    let mut us = std::collections::BTreeMap::new();
    us.insert("region".to_string(), "us".to_string());
    let answer = Ok(vec![
        Sample {
            labels: us,
            value: 0.99,
        },
        Sample {
            labels: eu,
            value: 0.80,
        },
    ]);
    let r = results(vec![Ok(sample(0.0)), answer], None, now);
    assert_eq!(r[1].value, Some(0.80));
    let d = decide(&rollout(), at_stage0(), &r, now);
    assert_eq!(d.verdict, Verdict::Hold);
    assert!(d.reason.contains("region=\"eu\""), "{}", d.reason);
    assert!(!d.reason.contains("region=\"us\""), "{}", d.reason);
}

#[test]
fn last_stage_never_offers_expansion() {
    let now = ts("2026-01-01T00:00:00Z");
    let r = results(vec![Ok(sample(0.0)), Ok(sample(0.99))], None, now);
    let pos = StagePosition {
        index: 2,
        started_at: ts(T0),
    };
    let d = decide(&rollout(), pos, &r, now);
    assert_eq!(d.verdict, Verdict::Continue);
    assert!(d.ready_to_expand.is_none());
    assert!(d.reason.contains("last stage"));
}

#[test]
fn error_during_breach_keeps_breach_start() {
    let c = check("error_rate", Bound::Below, 0.001, OnFail::Rollback, 120);
    let start = ts("2025-10-22T13:59:00Z");
    let (r, kept) = judge(
        &c,
        observe(&c, Err(DatasourceError::Unreachable("down".into()))),
        Some(start),
        ts(T0),
    );
    assert_eq!(r.status, crate::eval::CheckStatus::Error);
    assert_eq!(kept, Some(start));
    let (r, cleared) = judge(&c, observe(&c, Ok(sample(0.0))), Some(start), ts(T0));
    assert_eq!(r.status, crate::eval::CheckStatus::Passing);
    assert_eq!(cleared, None);
}

/// A count check's result as `eval::counts` would give it.
fn counted(
    name: &str,
    status: CheckStatus,
    finding: crate::domain::evidence::Finding,
) -> CheckResult {
    use crate::domain::evidence::{BaselineEvidence, Evidence, Finding};
    let now = ts("2025-10-23T14:00:01Z");
    let mut r = results(vec![Ok(sample(0.0)), Ok(sample(0.99))], None, now).remove(0);
    r.name = name.into();
    r.status = status;
    r.evidence = Some(Evidence {
        baseline: (finding == Finding::Shared).then_some(BaselineEvidence {
            part: 600.0,
            total: 57_000.0,
            value: 0.0105,
            max_ratio: 2.0,
            exceeds_limit: true,
        }),
        ..Evidence::example(finding)
    });
    r
}

#[test]
fn insufficient_evidence_continues_but_is_never_ready() {
    use crate::domain::evidence::Finding;
    let now = ts("2025-10-23T14:00:01Z");
    let mut checks = vec![counted(
        "error_rate",
        CheckStatus::Insufficient,
        Finding::Insufficient,
    )];
    checks[0].value_text = "insufficient evidence: 0 bad of 37 requests".into();
    let d = decide(&rollout(), at_stage0(), &checks, now);
    assert_eq!(d.verdict, Verdict::Continue);
    assert!(d.ready_to_expand.is_none());
    assert!(
        d.reason
            .contains("not ready to expand: error_rate: insufficient evidence"),
        "{}",
        d.reason
    );
}

#[test]
fn a_failure_the_stable_track_shares_holds_instead_of_rolling_back() {
    use crate::domain::evidence::Finding;
    let now = ts("2025-10-23T14:00:01Z");
    let shared = counted("error_rate", CheckStatus::Failing, Finding::Shared);
    assert!(shared.is_shared_failure());
    let d = decide(&rollout(), at_stage0(), &[shared], now);
    assert_eq!(d.verdict, Verdict::Hold, "{}", d.reason);
    assert!(
        d.reason.contains("the stable track is failing too"),
        "{}",
        d.reason
    );
    // The canary's own failure still rolls back.
    let own = counted("error_rate", CheckStatus::Failing, Finding::Exceeds);
    assert_eq!(
        decide(&rollout(), at_stage0(), &[own], now).verdict,
        Verdict::Rollback
    );
}

#[test]
fn ready_says_how_confident_in_the_approvers_words() {
    use crate::domain::evidence::Finding;
    let now = ts("2025-10-23T14:00:01Z");
    let within = counted("error_rate", CheckStatus::Passing, Finding::Within);
    let d = decide(&rollout(), at_stage0(), &[within], now);
    assert!(d.ready_to_expand.is_some());
    assert_eq!(
        d.reason,
        "ready to expand to 10%: 95% confident error_rate is below 0.1% (41 bad of 86,412 requests, at most 0.062%), needs approval from lubit"
    );
}

#[test]
fn min_bake_lets_evidence_end_the_bake_only_when_every_check_has_some() {
    use crate::domain::evidence::Finding;
    let mut r = rollout();
    r.stages[0].min_bake = Some(Duration::from_secs(6 * 3600));
    let now = ts("2025-10-22T21:00:00Z"); // 7 h into a 24 h bake
    let within = counted("error_rate", CheckStatus::Passing, Finding::Within);
    let d = decide(&r, at_stage0(), std::slice::from_ref(&within), now);
    assert!(d.ready_to_expand.is_some(), "{}", d.reason);
    // Before min_bake: not yet, and the reason says when evidence may end it.
    let early = ts("2025-10-22T19:00:00Z");
    let d = decide(&r, at_stage0(), std::slice::from_ref(&within), early);
    assert!(d.ready_to_expand.is_none());
    assert!(
        d.reason.contains("evidence may end it from 6h"),
        "{}",
        d.reason
    );
    // A plain check beside it: the full bake applies.
    let plain = results(vec![Ok(sample(0.0)), Ok(sample(0.99))], None, now).remove(1);
    let d = decide(&r, at_stage0(), &[within, plain], now);
    assert!(d.ready_to_expand.is_none(), "{}", d.reason);
}
