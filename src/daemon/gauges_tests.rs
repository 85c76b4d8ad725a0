//! The gauges one evaluation leaves on `/metrics`, read back from the
//! exposition text as a scrape would see them.

use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::config::{FlaggerCanary, OnFail, Percent, Stage};
use crate::domain::{Bound, CheckStatus, Expansion, Threshold, Unit, Verdict};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn rollout() -> Rollout {
    Rollout {
        name: "checkout-api".into(),
        approver: "lubit".into(),
        deputies: Vec::new(),
        flagger: FlaggerCanary {
            name: "checkout-api".into(),
            namespace: None,
        },
        stages: vec![
            Stage {
                min_bake: None,
                traffic: Percent(5.0),
                bake: Some(Duration::from_secs(3600)),
            },
            Stage {
                min_bake: None,
                traffic: Percent(100.0),
                bake: None,
            },
        ],
        checks: Vec::new(),
        interval: Duration::from_secs(30),
    }
}

fn result(name: &str, status: CheckStatus, value: Option<f64>, limit: f64) -> CheckResult {
    CheckResult {
        evidence: None,
        name: name.into(),
        status,
        value,
        value_text: String::new(),
        threshold: Threshold {
            bound: Bound::Below,
            value: limit,
            unit: Unit::Percent,
        },
        on_fail: OnFail::Rollback,
        series: Vec::new(),
        series_total: 0,
        breaching_total: 0,
        local_failure: false,
        breach_started_at: None,
        for_seconds: 0,
        error: None,
        description: None,
        runbook_url: None,
        query: String::new(),
    }
}

fn decision(ready: bool) -> Decision {
    Decision {
        verdict: Verdict::Continue,
        reason: String::new(),
        ready_to_expand: ready.then(|| Expansion {
            next_index: 1,
            next_traffic: "100%".into(),
            approver: "lubit".into(),
            stage_started_at: None,
        }),
    }
}

fn line(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .map(|l| l[series.len() + 1..].to_string())
}

#[test]
fn an_evaluation_publishes_each_check_and_the_rollouts_position() {
    let m = Metrics::new();
    let started = ts("2026-11-29T00:00:00Z");
    let checks = [
        result("error_rate", CheckStatus::Failing, Some(0.02), 0.001),
        result("latency", CheckStatus::NoData, None, 2.0),
        result("saturation", CheckStatus::Pending, Some(f64::INFINITY), 0.9),
    ];
    let stage = StagePosition {
        index: 0,
        started_at: started,
    };
    let now = ts("2026-11-29T00:20:00Z");
    publish(&m, &rollout(), stage, &decision(false), &checks, now);
    let text = m.render();
    let get = |s: &str| line(&text, s).unwrap_or_else(|| panic!("{s} missing in\n{text}"));
    let r = "rollout=\"checkout-api\"";
    assert_eq!(
        get(&format!("sena_check_value{{{r},check=\"error_rate\"}}")),
        "0.02"
    );
    assert_eq!(
        get(&format!("sena_check_value{{{r},check=\"latency\"}}")),
        "NaN"
    );
    assert_eq!(
        get(&format!("sena_check_value{{{r},check=\"saturation\"}}")),
        "+Inf"
    );
    assert_eq!(
        get(&format!("sena_check_threshold{{{r},check=\"error_rate\"}}")),
        "0.001"
    );
    assert_eq!(
        get(&format!("sena_check_status{{{r},check=\"error_rate\"}}")),
        "2"
    );
    assert_eq!(
        get(&format!("sena_check_status{{{r},check=\"latency\"}}")),
        "3"
    );
    assert_eq!(
        get(&format!("sena_check_status{{{r},check=\"saturation\"}}")),
        "1"
    );
    assert_eq!(get(&format!("sena_rollout_stage{{{r}}}")), "0");
    assert_eq!(get(&format!("sena_rollout_traffic_ratio{{{r}}}")), "0.05");
    assert_eq!(
        get(&format!("sena_rollout_bake_remaining_seconds{{{r}}}")),
        "2400"
    );
    assert_eq!(get(&format!("sena_approval_pending{{{r}}}")), "0");
}

#[test]
fn every_status_has_its_documented_number() {
    let expected = [
        (CheckStatus::Passing, 0),
        (CheckStatus::Pending, 1),
        (CheckStatus::Failing, 2),
        (CheckStatus::NoData, 3),
        (CheckStatus::Error, 4),
        (CheckStatus::Insufficient, 5),
    ];
    for (status, n) in expected {
        assert_eq!(status.gauge(), n, "{status:?}");
    }
}

#[test]
fn a_baked_stage_waits_for_its_approver_and_a_removed_check_disappears() {
    let m = Metrics::new();
    let started = ts("2026-11-29T00:00:00Z");
    let stage = StagePosition {
        index: 0,
        started_at: started,
    };
    let both = [
        result("error_rate", CheckStatus::Passing, Some(0.0), 0.001),
        result("latency", CheckStatus::Passing, Some(0.3), 2.0),
    ];
    publish(&m, &rollout(), stage, &decision(false), &both, started);
    assert!(m.render().contains("check=\"latency\""));

    let later = ts("2026-11-29T02:00:00Z");
    publish(&m, &rollout(), stage, &decision(true), &both[..1], later);
    let text = m.render();
    assert!(!text.contains("check=\"latency\""), "{text}");
    let r = "rollout=\"checkout-api\"";
    assert_eq!(
        line(
            &text,
            &format!("sena_rollout_bake_remaining_seconds{{{r}}}")
        )
        .as_deref(),
        Some("0"),
        "past its bake, never negative"
    );
    assert_eq!(
        line(&text, &format!("sena_approval_pending{{{r}}}")).as_deref(),
        Some("1")
    );

    let last = StagePosition {
        index: 1,
        started_at: later,
    };
    publish(&m, &rollout(), last, &decision(false), &both[..1], later);
    let text = m.render();
    assert_eq!(
        line(&text, &format!("sena_rollout_traffic_ratio{{{r}}}")).as_deref(),
        Some("1")
    );
    assert_eq!(
        line(
            &text,
            &format!("sena_rollout_bake_remaining_seconds{{{r}}}")
        )
        .as_deref(),
        Some("0"),
        "the last stage has no bake"
    );

    m.forget_label("rollout", "checkout-api");
    assert!(
        !m.render().contains("checkout-api"),
        "a removed rollout leaves nothing"
    );
}

#[test]
fn a_count_check_publishes_its_counts_and_interval_until_it_has_none() {
    use crate::domain::evidence::Finding;
    use crate::notify::render::fixtures::{count_error_rate, count_insufficient};
    let m = Metrics::new();
    let stage = StagePosition {
        index: 0,
        started_at: ts("2026-11-29T00:00:00Z"),
    };
    let now = ts("2026-11-29T00:20:00Z");
    let mut within = count_error_rate(Finding::Within);
    within.name = "error_rate".into();
    let mut short = count_insufficient();
    short.name = "new_region".into();
    let plain = result("latency", CheckStatus::Passing, Some(0.3), 2.0);
    let checks = [within.clone(), short, plain];
    publish(&m, &rollout(), stage, &decision(false), &checks, now);
    let text = m.render();
    let get = |s: &str| line(&text, s);
    let r = "rollout=\"checkout-api\"";
    let e = |name: &str, check: &str| get(&format!("{name}{{{r},check=\"{check}\"}}"));
    assert_eq!(
        e("sena_check_evidence_requests", "error_rate").as_deref(),
        Some("86412")
    );
    assert_eq!(
        e("sena_check_evidence_part", "error_rate").as_deref(),
        Some("41")
    );
    assert_eq!(
        e("sena_check_interval_lower", "error_rate").as_deref(),
        Some("0.0002")
    );
    assert_eq!(
        e("sena_check_interval_upper", "error_rate").as_deref(),
        Some("0.00062")
    );
    assert_eq!(
        e("sena_check_evidence_needed", "error_rate"),
        None,
        "within: nothing needed"
    );
    assert_eq!(
        e("sena_check_evidence_needed", "new_region").as_deref(),
        Some("3771")
    );
    assert_eq!(
        e("sena_check_evidence_requests", "new_region").as_deref(),
        Some("37")
    );
    assert_eq!(e("sena_check_status", "new_region").as_deref(), Some("5"));
    assert_eq!(
        e("sena_check_evidence_requests", "latency"),
        None,
        "a plain check has no counts"
    );
    for name in [
        "sena_check_evidence_requests",
        "sena_check_evidence_part",
        "sena_check_interval_lower",
        "sena_check_interval_upper",
        "sena_check_evidence_needed",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has HELP:\n{text}"
        );
        assert!(text.contains(&format!("# TYPE {name} gauge")), "{text}");
    }

    // Blind now: the check keeps its value series (NaN) but loses its
    // evidence series, and so does the check that was insufficient.
    let mut blind = within;
    blind.status = CheckStatus::NoData;
    blind.value = None;
    blind.evidence = None;
    publish(&m, &rollout(), stage, &decision(false), &[blind], now);
    let text = m.render();
    assert!(
        text.contains("sena_check_value{rollout=\"checkout-api\",check=\"error_rate\"} NaN"),
        "{text}"
    );
    for name in [
        "sena_check_evidence_requests",
        "sena_check_interval_upper",
        "sena_check_evidence_needed",
    ] {
        assert!(
            !text.lines().any(|l| l.starts_with(&format!("{name}{{"))),
            "{name} left behind:\n{text}"
        );
    }
}
