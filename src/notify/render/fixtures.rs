//! Hand-built advisories for the rendering tests: one rollout breaching its
//! error-rate check, the shape every channel must describe.

use std::collections::BTreeMap;

use crate::config::OnFail;
use crate::decide::{Expansion, Verdict};
use crate::domain::{Bound, CheckResult, CheckStatus, SeriesValue, Threshold, Unit};
use crate::notify::{Advisory, AdvisoryKind, IncidentView, NextLevel};
use crate::roster::Person;

pub fn person(name: &str, slack: &str) -> Person {
    Person {
        name: name.into(),
        slack: Some(slack.into()),
        email: Some(format!("{name}@example.com")),
    }
}

pub fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn series(region: &str, value: f64, breaching: bool) -> SeriesValue {
    SeriesValue {
        labels: BTreeMap::from([("region".to_string(), region.to_string())]),
        value,
        breaching,
    }
}

pub fn error_rate() -> CheckResult {
    CheckResult {
        evidence: None,
        name: "error_rate".into(),
        status: CheckStatus::Failing,
        value: Some(0.0042),
        value_text: "0.42%".into(),
        threshold: Threshold {
            bound: Bound::Below,
            value: 0.001,
            unit: Unit::Percent,
        },
        on_fail: OnFail::Rollback,
        series: vec![
            series("eu-west", 0.0042, true),
            series("us-east", 0.0005, false),
        ],
        series_total: 2,
        breaching_total: 1,
        local_failure: false,
        breach_started_at: Some(ts("2025-10-22T12:03:00Z")),
        for_seconds: 120,
        error: None,
        description: Some("Share of canary requests answered 5xx".into()),
        runbook_url: Some("https://wiki.example.com/runbooks/canary-errors".into()),
        query: "sum(rate(http_requests_total{code=~\"5..\"}[5m]))".into(),
    }
}

pub fn latency() -> CheckResult {
    CheckResult {
        evidence: None,
        name: "latency_p95".into(),
        status: CheckStatus::Passing,
        value: Some(1.2),
        value_text: "1.2s".into(),
        threshold: Threshold {
            bound: Bound::Below,
            value: 2.0,
            unit: Unit::Seconds,
        },
        on_fail: OnFail::Rollback,
        series: vec![],
        series_total: 0,
        breaching_total: 0,
        local_failure: false,
        breach_started_at: None,
        for_seconds: 0,
        error: None,
        description: None,
        runbook_url: None,
        query: "histogram_quantile(0.95, x)".into(),
    }
}

pub fn satisfaction(value: f64, status: CheckStatus) -> CheckResult {
    CheckResult {
        evidence: None,
        name: "satisfaction".into(),
        status,
        value: Some(value),
        value_text: crate::domain::format::format_in_unit(value, crate::config::Unit::Percent),
        threshold: Threshold {
            bound: Bound::Above,
            value: 0.95,
            unit: Unit::Percent,
        },
        on_fail: OnFail::Hold,
        series: vec![],
        series_total: 0,
        breaching_total: 0,
        local_failure: false,
        breach_started_at: None,
        for_seconds: 0,
        error: None,
        description: None,
        runbook_url: None,
        query: "sat".into(),
    }
}

pub fn rollback_advisory() -> Advisory {
    Advisory {
        kind: AdvisoryKind::Opened,
        at: ts("2025-10-22T12:15:00Z"),
        rollout: "checkout-api".into(),
        stage_index: 0,
        traffic: "5%".into(),
        verdict: Verdict::Rollback,
        reason: "error_rate 0.42% > 0.1% (on_fail: rollback)".into(),
        ready_to_expand: None,
        checks: vec![error_rate(), latency()],
        approver: "lubit".into(),
        incident: Some(IncidentView {
            id: 42,
            opened_at: ts("2025-10-22T12:03:00Z"),
            slot: Some("business-hours".into()),
            level: 0,
            paged: vec![person("sena", "U0SENA")],
            next: Some(NextLevel {
                level: 1,
                after_seconds: 30 * 60,
                people: vec![person("copilot", "U0COPILOT")],
            }),
            acknowledged_by: None,
        }),
        prometheus_url: "http://prometheus:9090".into(),
        notice: None,
    }
}

pub fn hold_no_data_advisory() -> Advisory {
    let mut a = rollback_advisory();
    a.verdict = Verdict::Hold;
    a.reason = "satisfaction has no data".into();
    let mut sat = satisfaction(0.0, CheckStatus::NoData);
    sat.value = None;
    sat.value_text = "no data".into();
    a.checks = vec![sat, latency()];
    a
}

pub fn ready_advisory() -> Advisory {
    let mut a = rollback_advisory();
    a.kind = AdvisoryKind::ReadyToExpand;
    a.verdict = Verdict::Continue;
    a.reason = "ready to expand to 10%, needs approval from lubit".into();
    a.checks = vec![latency()];
    a.incident = None;
    a.ready_to_expand = Some(Expansion {
        next_index: 1,
        next_traffic: "10%".into(),
        approver: "lubit".into(),
        stage_started_at: Some("2026-11-29T04:00:00.250Z".parse().unwrap()),
    });
    a
}

pub fn resolved_advisory() -> Advisory {
    let mut a = rollback_advisory();
    a.kind = AdvisoryKind::Resolved;
    a.verdict = Verdict::Continue;
    a.at = ts("2025-10-22T12:48:00Z");
    a.reason = "every check passing".into();
    let mut ok = error_rate();
    ok.status = CheckStatus::Passing;
    ok.value = Some(0.0003);
    ok.value_text = "0.03%".into();
    ok.breach_started_at = None;
    ok.series.iter_mut().for_each(|s| s.breaching = false);
    a.checks = vec![ok, latency()];
    if let Some(i) = a.incident.as_mut() {
        i.next = None;
        i.acknowledged_by = Some("sena".into());
    }
    a
}

/// A count-based error-rate check (`bad:`/`total:`), judged on its counts.
pub fn count_error_rate(finding: crate::domain::evidence::Finding) -> CheckResult {
    use crate::domain::evidence::{Evidence, Finding};
    let status = match finding {
        Finding::Exceeds | Finding::WorseThanBaseline | Finding::Shared => CheckStatus::Failing,
        Finding::Within => CheckStatus::Passing,
        Finding::Insufficient => CheckStatus::Insufficient,
    };
    let evidence = Evidence::example(finding);
    let mut c = error_rate();
    c.status = status;
    c.value = Some(evidence.value);
    c.value_text = evidence.summary(&c.threshold);
    c.series = vec![];
    c.series_total = 1;
    c.breaching_total = usize::from(status == CheckStatus::Failing);
    if status != CheckStatus::Failing {
        c.breach_started_at = None;
    }
    c.evidence = Some(evidence);
    c
}

/// Failing on its own: 1.2% of the last stretch's requests were bad.
pub fn count_exceeds() -> CheckResult {
    use crate::domain::evidence::{Finding, RecentCounts};
    let mut c = count_error_rate(Finding::Exceeds);
    if let Some(e) = c.evidence.as_mut() {
        e.part = 90.0;
        e.total = 20_000.0;
        e.value = 90.0 / 20_000.0;
        e.lower = 0.0036;
        e.upper = 0.0055;
        e.recent = Some(RecentCounts {
            since: ts("2025-10-22T12:05:00Z"),
            part: 24.0,
            total: 2_000.0,
        });
    }
    if let Some(e) = &c.evidence {
        c.value = Some(e.value);
        c.value_text = e.summary(&c.threshold);
    }
    c
}

/// Failing, but the baseline fails as much: a shared failure.
pub fn count_shared() -> CheckResult {
    use crate::domain::evidence::{BaselineEvidence, Finding};
    let mut c = count_error_rate(Finding::Shared);
    if let Some(e) = c.evidence.as_mut() {
        e.part = 230.0;
        e.total = 20_000.0;
        e.value = 230.0 / 20_000.0;
        e.lower = 0.0101;
        e.upper = 0.013;
        e.baseline = Some(BaselineEvidence {
            part: 600.0,
            total: 57_000.0,
            value: 600.0 / 57_000.0,
            max_ratio: 2.0,
            exceeds_limit: true,
        });
    }
    if let Some(e) = &c.evidence {
        c.value = Some(e.value);
        c.value_text = e.summary(&c.threshold);
    }
    c
}

/// Too few requests to say: 0 bad of 37.
pub fn count_insufficient() -> CheckResult {
    use crate::domain::evidence::Finding;
    let mut c = count_error_rate(Finding::Insufficient);
    if let Some(e) = c.evidence.as_mut() {
        e.part = 0.0;
        e.total = 37.0;
        e.value = 0.0;
        e.lower = 0.0;
        e.upper = 0.077;
        e.total_needed = Some(3_771.0);
        e.ready_in_seconds = Some(3_734);
    }
    if let Some(e) = &c.evidence {
        c.value = Some(e.value);
        c.value_text = e.summary(&c.threshold);
    }
    c
}

/// A rollback decided by a count check, beside a healthy count check and
/// one without enough evidence yet.
pub fn count_rollback_advisory() -> Advisory {
    let mut a = rollback_advisory();
    let mut healthy = count_error_rate(crate::domain::evidence::Finding::Within);
    healthy.name = "error_rate_eu".into();
    let mut short = count_insufficient();
    short.name = "error_rate_new_region".into();
    a.reason = "roll back: error_rate 1.2% since 2025-10-22 12:05 UTC (limit < 0.1%)".into();
    a.checks = vec![count_exceeds(), short, healthy];
    a
}

/// A hold because the stable track fails as well.
pub fn count_shared_hold_advisory() -> Advisory {
    let mut a = rollback_advisory();
    a.verdict = Verdict::Hold;
    a.reason =
        "hold: error_rate …; hold, do not roll the canary back: the stable track is failing too"
            .into();
    a.checks = vec![count_shared(), latency()];
    a
}
