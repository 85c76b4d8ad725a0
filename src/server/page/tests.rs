//! The renderers as pure functions: hostile text escaped, non-finite
//! values written as NaN/+Inf without a panic, empty inputs, the
//! loopback rule, and the redirect and origin guards.

use std::time::Duration;

use jiff::Timestamp;

use super::chart::check_chart;
use super::html::Html;
use super::overview::{self, Filter};
use super::rollout::{self, RolloutData};
use super::view::{Board, BoardRollout, CheckInfo, JournalPoint, JournalValue};
use crate::domain::{Bound, CheckStatus, OnFail, Threshold, Unit, Verdict};
use crate::report::{CheckReport, RolloutReport, StageReport};

const HOSTILE: &str = "<script>alert(\"x\")</script>'&";

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn threshold() -> Threshold {
    Threshold {
        bound: Bound::Below,
        value: 0.001,
        unit: Unit::Percent,
    }
}

fn check(name: &str, status: CheckStatus, value: f64) -> CheckReport {
    CheckReport {
        name: name.into(),
        status,
        value: Some(value).filter(|v| v.is_finite()),
        value_text: threshold().format_value(value),
        threshold: threshold().to_string(),
        bound: "below".into(),
        threshold_value: 0.001,
        on_fail: OnFail::Rollback,
        for_duration: "0s".into(),
        breach_started_at: Some(at(10)),
        error: None,
        series: Vec::new(),
        series_total: 1,
        evidence: None,
    }
}

fn rollout(name: &str, verdict: Verdict, checks: Vec<CheckReport>) -> BoardRollout {
    BoardRollout {
        name: name.into(),
        ladder: vec!["5%".into(), "10%".into(), "50%".into(), "100%".into()],
        bake: Some(Duration::from_secs(24 * 3600)),
        interval: Duration::from_secs(30),
        approver: "lubit".into(),
        checks: checks
            .iter()
            .map(|c| CheckInfo {
                name: c.name.clone(),
                query: format!("rate(x{{app=\"{name}\"}}[5m])"),
                threshold: threshold(),
                description: Some(HOSTILE.into()),
                runbook_url: Some("javascript:alert(1)".into()),
            })
            .collect(),
        report: Some(RolloutReport {
            name: name.into(),
            stage: StageReport {
                index: 1,
                traffic: "10%".into(),
                started_at: at(0),
                of: 4,
            },
            verdict,
            reason: HOSTILE.into(),
            ready_to_expand: None,
            approver: "lubit".into(),
            evaluated_at: at(18 * 3600),
            checks,
        }),
    }
}

fn board(rollouts: Vec<BoardRollout>) -> Board {
    Board {
        now: at(18 * 3600),
        prometheus_url: "http://127.0.0.1:9090".into(),
        not_ready: Vec::new(),
        rollouts,
    }
}

fn no_raw_hostile_text(html: &str) {
    assert!(!html.contains("<script>alert"), "unescaped: {html}");
    assert!(!html.contains("javascript:"), "script link: {html}");
}

#[test]
fn the_overview_escapes_reasons_and_orders_by_need() {
    let b = board(vec![
        rollout(
            "calm",
            Verdict::Continue,
            vec![check("errors", CheckStatus::Passing, 0.0)],
        ),
        rollout(
            "broken",
            Verdict::Rollback,
            vec![check("errors", CheckStatus::Failing, 0.0042)],
        ),
    ]);
    let html = super::render_overview(&b);
    no_raw_hostile_text(&html);
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;"));
    let broken = html.find("data-rollout=\"broken\"").unwrap();
    let calm = html.find("data-rollout=\"calm\"").unwrap();
    assert!(broken < calm, "the rollback comes first");
    assert!(html.contains("ROLL BACK") && html.contains("CONTINUE"));
    assert!(html.contains("baked 18h of 24h, ready in 6h"), "{html}");
    assert!(html.contains("errors: 0.42% (healthy &lt; 0.1%)"));
    assert!(html.contains("aria-current=\"step\">10%</li>"));

    let only = overview::live(&b, Filter::Only(Verdict::Continue)).into_string();
    assert!(only.contains("data-rollout=\"calm\"") && !only.contains("data-rollout=\"broken\""));
    let attention = overview::live(&b, Filter::parse(Some("attention"))).into_string();
    assert!(!attention.contains("data-rollout=\"calm\""));
    assert_eq!(Filter::parse(Some("nonsense")), Filter::All);
}

#[test]
fn an_overview_of_nothing_says_so() {
    let html = super::render_overview(&board(Vec::new()));
    assert!(html.contains("id=\"no-rollouts\""));
    assert!(html.contains("data-state=\"live\""));
}

#[test]
fn stale_and_blind_are_said_in_words() {
    let mut b = board(vec![rollout(
        "dark",
        Verdict::Hold,
        vec![check("errors", CheckStatus::NoData, f64::NAN)],
    )]);
    b.now = at(18 * 3600 + 61); // two 30 s intervals and a second
    let html = overview::live(&b, Filter::All).into_string();
    assert!(html.contains("data-state=\"blind\""), "{html}");
    assert!(html.contains("No data for dark"));
    assert!(html.contains("Stale: the last evaluation of dark"));
    b.not_ready = vec!["Prometheus has not answered yet".into()];
    let html = overview::live(&b, Filter::All).into_string();
    assert!(html.contains("Sena is blind: Prometheus has not answered yet"));
}

#[test]
fn the_rollout_page_writes_non_finite_values_as_prometheus_does() {
    let r = rollout(
        "odd",
        Verdict::Hold,
        vec![
            check("nan", CheckStatus::NoData, f64::NAN),
            check("inf", CheckStatus::Failing, f64::INFINITY),
            check("neg", CheckStatus::Passing, f64::NEG_INFINITY),
        ],
    );
    let journal: Vec<JournalPoint> = (0..5)
        .map(|i| JournalPoint {
            at: at(i * 60),
            verdict: if i < 3 {
                Verdict::Continue
            } else {
                Verdict::Hold
            },
            checks: vec![JournalValue {
                name: "inf".into(),
                status: CheckStatus::Failing,
                value: [Some(0.0), None, Some(f64::MAX), Some(0.002), Some(f64::NAN)][i as usize],
                evidence: None,
            }],
        })
        .collect();
    let b = board(vec![r]);
    let data = RolloutData {
        board: &b,
        rollout: &b.rollouts[0],
        journal: &journal,
        incidents: &[],
        decisions: &[],
    };
    let html = rollout::body(&data, None).into_string();
    no_raw_hostile_text(&html);
    for text in [">NaN<", ">+Inf<", ">-Inf<"] {
        assert!(html.contains(text), "{text} missing: {html}");
    }
    assert!(!html.contains("inf\"") || html.contains("data-check=\"inf\""));
    assert!(html.contains("class=\"breach\""), "a breach is shaded");
    assert!(html.contains("class=\"threshold\""));
    assert!(html.contains("id=\"verdict-band\""));
    assert!(html.contains("g0.expr=rate%28x%7Bapp%3D%22odd%22%7D%5B5m%5D%29"));
    assert!(!html.contains("NaN\""), "no NaN coordinates");
    // Read-only without a session: no forms.
    assert!(!html.contains("<form"));
}

#[test]
fn charts_of_nothing_or_only_garbage_say_so() {
    for points in [
        vec![],
        vec![
            (at(0), None),
            (at(1), Some(f64::NAN)),
            (at(2), Some(f64::INFINITY)),
        ],
    ] {
        let mut h = Html::default();
        check_chart(&mut h, "c", &points, &[], &threshold(), at(0), at(10));
        assert!(h.into_string().contains("No values recorded"));
    }
    // A NaN limit and one value: a line, no threshold, no panic.
    let mut h = Html::default();
    let odd = Threshold {
        value: f64::NAN,
        ..threshold()
    };
    check_chart(&mut h, "c", &[(at(0), Some(1.0))], &[], &odd, at(0), at(0));
    let svg = h.into_string();
    assert!(
        svg.contains("<path") && !svg.contains("class=\"threshold\""),
        "{svg}"
    );
}

#[test]
fn the_on_call_page_without_a_roster_and_in_a_gap() {
    let html = super::oncall::body(None).into_string();
    assert!(html.contains("No roster is configured"));
    let view = super::view::OnCallView {
        timezone: "UTC".into(),
        gaps: vec!["sat 00:00–24:00".into()],
        ..Default::default()
    };
    let html = super::oncall::body(Some(&view)).into_string();
    assert!(html.contains("Nobody is on call now"));
    assert!(html.contains("Nobody paged sat 00:00–24:00"));
}

#[test]
fn without_tokens_only_loopback_may_view() {
    let local = "127.0.0.1:5000".parse().ok();
    let mapped = "[::ffff:127.0.0.1]:5000".parse().ok();
    let remote = "192.0.2.7:5000".parse().ok();
    assert!(super::may_view(false, local));
    assert!(super::may_view(false, mapped));
    assert!(!super::may_view(false, remote));
    assert!(!super::may_view(false, None));
    assert!(super::may_view(true, remote));
}

#[test]
fn redirects_stay_on_this_site() {
    use super::login::local_path;
    assert_eq!(local_path(Some("/rollouts/a")), "/rollouts/a");
    for bad in [
        "//evil.example",
        "https://evil.example",
        "/\\evil",
        "",
        "x",
        "/a\r\nSet-Cookie: x",
    ] {
        assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
    }
    assert_eq!(local_path(None), "/");
}

#[test]
fn forms_from_other_sites_are_refused() {
    use axum::http::HeaderMap;
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    };
    assert!(super::same_origin(&headers(&[("host", "127.0.0.1:9464")])));
    assert!(super::same_origin(&headers(&[
        ("host", "127.0.0.1:9464"),
        ("origin", "http://127.0.0.1:9464")
    ])));
    assert!(!super::same_origin(&headers(&[
        ("host", "127.0.0.1:9464"),
        ("origin", "http://evil.example")
    ])));
    assert!(!super::same_origin(&headers(&[(
        "sec-fetch-site",
        "cross-site"
    )])));
}

#[test]
fn the_sign_in_form_never_holds_a_token() {
    let html =
        super::login::form("/rollouts/a", Some("That token is not valid."), true).into_string();
    assert!(html.contains("type=\"password\""));
    assert!(html.contains("<label for=\"token\">"));
    assert!(html.contains("That token is not valid."));
    assert!(!html.contains("value=\"lubit"));
}

fn signed_in(name: &str) -> super::session::Session {
    super::session::Session {
        identity: crate::domain::Identity {
            principal: crate::domain::Principal::Person(name.into()),
            can: crate::domain::Capabilities::all(),
        },
        token: crate::domain::TokenDigest::of(name),
        csrf: "c".repeat(64),
        expires: at(99_999),
        flash: None,
    }
}

#[test]
fn a_signed_in_page_offers_go_only_on_a_ready_stage_and_every_form_carries_csrf() {
    let mut r = rollout(
        "ready",
        Verdict::Continue,
        vec![check("errors", CheckStatus::Passing, 0.0)],
    );
    let b = board(vec![r.clone()]);
    let data = |b: &Board| {
        rollout::body(
            &RolloutData {
                board: b,
                rollout: &b.rollouts[0],
                journal: &[],
                incidents: &[],
                decisions: &[],
            },
            Some(&signed_in("lubit")),
        )
        .into_string()
    };
    let html = data(&b);
    assert!(!html.contains("id=\"go\""), "not ready: no GO");
    assert!(html.contains("id=\"go-unavailable\""));
    assert!(html.contains("id=\"no-go\"") && html.contains("required"));
    r.report.as_mut().unwrap().ready_to_expand = Some(crate::domain::Expansion {
        next_index: 2,
        next_traffic: "50%".into(),
        approver: "lubit".into(),
        stage_started_at: None,
    });
    let html = data(&board(vec![r.clone()]));
    assert!(
        html.contains("<button id=\"go\" class=\"go\" type=\"submit\">GO: expand to 50%</button>")
    );
    assert!(html.contains("name=\"stage\" value=\"1\""));
    let forms = html.matches("<form").count();
    let csrf = html
        .matches(&format!("name=\"csrf\" value=\"{}\"", "c".repeat(64)))
        .count();
    assert_eq!(forms, 2);
    assert_eq!(forms, csrf, "every form carries the CSRF token");
    // The last stage: nothing to decide.
    r.report.as_mut().unwrap().stage.index = 3;
    assert!(!data(&board(vec![r])).contains("<form"));
}

#[test]
fn the_on_call_page_lists_the_chain_and_the_hand_over() {
    use super::view::{LevelView, OnCallView, SlotView};
    let slot = |name: &str, people: &[&str]| SlotView {
        slot: name.into(),
        levels: vec![
            LevelView {
                after: Duration::ZERO,
                people: people.iter().map(|p| p.to_string()).collect(),
            },
            LevelView {
                after: Duration::from_secs(900),
                people: vec![HOSTILE.into()],
            },
        ],
    };
    let view = OnCallView {
        timezone: "Asia/Seoul".into(),
        now: Some(slot("business-hours", &["sena", "copilot"])),
        next_handover: Some((at(3600), Some(slot("nights", &["lubit"])))),
        gaps: Vec::new(),
        overrides: vec!["override sena → copilot".into()],
    };
    let html = super::oncall::body(Some(&view)).into_string();
    no_raw_hostile_text(&html);
    assert!(html.contains("slot <strong>business-hours</strong>"));
    assert!(html.contains(
        "<tr data-level=\"0\"><th scope=\"row\">0</th><td>at once</td><td>sena, copilot</td></tr>"
    ));
    assert!(html.contains("after 15m"));
    assert!(html.contains("slot nights, level 0: lubit"));
    assert!(html.contains("override sena → copilot"));
    assert!(html.contains("None: some slot holds at every hour"));
}

#[test]
fn a_count_check_shows_its_counts_and_its_interval_as_a_band() {
    use crate::notify::render::fixtures::count_exceeds;
    let judged = count_exceeds();
    let mut c = check("error_rate", CheckStatus::Failing, judged.value.unwrap());
    c.value_text = judged.value_text.clone();
    c.evidence = judged.evidence.clone();
    let r = rollout("counted", Verdict::Rollback, vec![c]);
    let journal: Vec<JournalPoint> = (0..6)
        .map(|i| JournalPoint {
            at: at(i * 60),
            verdict: Verdict::Continue,
            checks: vec![JournalValue {
                name: "error_rate".into(),
                status: CheckStatus::Passing,
                value: Some(0.0004 + i as f64 * 0.0001),
                // A gap at the third evaluation: the band breaks there.
                evidence: judged.evidence.clone().filter(|_| i != 2).map(|mut e| {
                    e.lower = 0.0001 * i as f64;
                    e.upper = 0.0002 + 0.0003 * i as f64;
                    e
                }),
            }],
        })
        .collect();
    let b = board(vec![r]);
    let data = RolloutData {
        board: &b,
        rollout: &b.rollouts[0],
        journal: &journal,
        incidents: &[],
        decisions: &[],
    };
    let html = rollout::body(&data, None).into_string();
    assert!(
        html.contains("<ul class=\"evidence\" data-check=\"error_rate\" data-finding=\"exceeds\"><li>90 bad of 20,000 requests since the stage began · 95% interval 0.36%–0.55%</li><li>recent: 24 bad of 2,000 requests since 2025-10-22 12:05 UTC (1.2%)</li></ul>"),
        "{html}"
    );
    let band = html
        .split("<path class=\"interval\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no band: {html}"));
    let d = band
        .split("d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(d.matches('M').count(), 2, "two runs around the gap: {d}");
    assert_eq!(d.matches('Z').count(), 2, "{d}");
    assert!(!d.contains("NaN"), "{d}");
    assert!(
        band.contains("<title>confidence interval, last 0.05%–0.17%</title>"),
        "{band}"
    );
    let mut h = Html::default();
    super::parts::status_label(&mut h, CheckStatus::Insufficient);
    assert!(h.into_string().contains("insufficient evidence</span>"));
    // The band is drawn before the line, so the line stays on top.
    assert!(html.find("class=\"interval\"").unwrap() < html.find("class=\"line\"").unwrap());
}
