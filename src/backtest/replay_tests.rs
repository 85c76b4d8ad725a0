//! Replays of hand-written series: the exact instants a breach is
//! confirmed, pages go out (and to whom, escalating when nobody
//! acknowledges), incidents resolve and stages become ready.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::backtest::diff::compare;
use crate::backtest::events::PageKind;
use crate::backtest::history::History;
use crate::config::Config;
use crate::datasource::RangeSeries;
use crate::domain::{CheckStatus, Verdict};

/// 2026-11-02T00:00:00Z, a Monday.
const T0: i64 = 1_793_577_600;

fn config(rules: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), rules).unwrap();
    let yaml = "prometheus: {url: http://127.0.0.1:9}\n\
rollouts:\n  - name: web\n    approver: lubit\n    stages: [{traffic: 5%, bake: 10m}, {traffic: 50%, bake: 10m}, {traffic: 100%}]\n    rules: [rules.yaml]\n\
roster:\n  timezone: UTC\n  people:\n    sena: {slack: U1}\n    mira: {slack: U2}\n    lubit: {slack: U3, email: lubit@example.com}\n  slots:\n    - name: all\n      from: \"00:00\"\n      to: \"24:00\"\n      escalation:\n        - notify: [sena]\n        - {after: 2m, notify: [mira]}\n\
slack: {webhook_url: http://127.0.0.1:9/hook}\n";
    let path = dir.path().join("sena.yaml");
    let loaded = crate::config::load_str(yaml, &path).unwrap_or_else(|d| panic!("{d}"));
    (dir, loaded.config)
}

const ERRORS: &str = "checks:\n  - name: errors\n    query: errors\n    below: 0.1\n    for: 1m\n    on_fail: rollback\n";

/// `errors` at every step of the window: 0, except 1 in `[bad_from, bad_to)`
/// (seconds after T0); no point at all in `[gap_from, gap_to)`.
fn history(step: i64, steps: i64, bad: (i64, i64), gap: (i64, i64)) -> History {
    let points = (0..steps)
        .map(|k| k * step)
        .filter(|s| !(gap.0..gap.1).contains(s))
        .map(|s| {
            (
                T0 + s,
                if (bad.0..bad.1).contains(&s) {
                    1.0
                } else {
                    0.0
                },
            )
        })
        .collect();
    errors(points)
}

/// The history of the one query, `errors`, as one series.
fn errors(points: Vec<(i64, f64)>) -> History {
    History::from_series(HashMap::from([(
        "errors".to_string(),
        vec![RangeSeries {
            labels: BTreeMap::new(),
            points,
        }],
    )]))
}

fn window(seconds: i64) -> Window {
    let ts = |s| Timestamp::from_second(s).unwrap();
    Window::new(ts(T0), ts(T0 + seconds), Duration::from_secs(30)).unwrap()
}

fn start(assume_go: bool) -> Start {
    Start {
        stage: StagePosition {
            index: 0,
            started_at: Timestamp::from_second(T0).unwrap(),
        },
        assume_go,
    }
}

fn run(config: &Config, h: &History, w: Window, s: Start) -> RolloutTimeline {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(replay(h, config, &config.rollouts[0], w, s))
}

/// `(seconds after T0, short text)` of every event.
fn events(t: &RolloutTimeline) -> Vec<(i64, String)> {
    t.events
        .iter()
        .map(|e| {
            (
                e.at.as_second() - T0,
                super::super::render_text::short(&e.what),
            )
        })
        .collect()
}

#[test]
fn a_breach_pages_escalates_resolves_and_then_the_stage_is_ready() {
    let (_dir, config) = config(ERRORS);
    let h = history(30, 61, (300, 600), (-1, -1));
    let t = run(&config, &h, window(1800), start(false));
    let s = |x: &str| x.to_string();
    assert_eq!(
        events(&t),
        vec![
            (0, s("errors passing 0")),
            (0, s("verdict continue")),
            (300, s("errors pending 1")),
            // `for: 1m` after the first breaching instant.
            (360, s("errors failing 1")),
            (360, s("verdict rollback")),
            // Level 0 and, on a rollback, the approver.
            (360, s("page opened rollback L0 → sena, lubit")),
            // Nobody acknowledged within 2m: level 1.
            (480, s("page escalated rollback L1 → mira")),
            (600, s("errors passing 0")),
            (600, s("verdict continue")),
            // Baked 10m with every check passing, but the incident is
            // still open: ready is decided, the message waits.
            (600, s("ready: stage 0 may expand to 50%")),
            // resolve_after (5m) back at continue.
            (900, s("page resolved continue L1 → sena, mira, lubit")),
            (900, s("page ready_to_expand continue → lubit")),
        ]
    );
    assert_eq!(
        t.first_failing("errors").map(|a| a.as_second() - T0),
        Some(360)
    );
    assert_eq!(t.first_ready(0).map(|a| a.as_second() - T0), Some(600));
    assert_eq!(t.verdicts.len(), 61);
    assert_eq!(t.checks[0].statuses[12], CheckStatus::Failing);
    // The incident is numbered from 1; the page says on which channel.
    let page = t
        .events
        .iter()
        .find(|e| matches!(e.what, What::Page { .. }))
        .unwrap();
    let What::Page {
        incident, channels, ..
    } = &page.what
    else {
        unreachable!()
    };
    assert_eq!(*incident, Some(1));
    assert_eq!(channels, &vec![crate::domain::Channel::Slack]);
}

#[test]
fn a_gap_holds_and_pages_only_after_blind_after() {
    let (_dir, config) = config(ERRORS);
    // No point from 60 s to 300 s: blind for 4 minutes.
    let h = history(30, 21, (-1, -1), (60, 300));
    let t = run(&config, &h, window(600), start(false));
    let ev = events(&t);
    assert!(ev.contains(&(60, "verdict hold".into())), "{ev:?}");
    // blind_after defaults to 2m: the first page is at 180 s, not 60 s.
    let pages: Vec<_> = t.pages().map(|(at, _)| at.as_second() - T0).collect();
    assert_eq!(pages.first(), Some(&180), "{ev:?}");
    assert!(t.verdicts[2..10].iter().all(|v| *v == Verdict::Hold));
}

#[test]
fn assume_go_walks_every_stage() {
    let (_dir, config) = config(ERRORS);
    let h = history(30, 61, (-1, -1), (-1, -1));
    let t = run(&config, &h, window(1800), start(true));
    assert_eq!(t.first_ready(0).map(|a| a.as_second() - T0), Some(600));
    // Stage 1 entered at 600 s bakes 10m.
    assert_eq!(t.first_ready(1).map(|a| a.as_second() - T0), Some(1200));
    let stages: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match &e.what {
            What::Stage { stage, .. } => Some(*stage),
            _ => None,
        })
        .collect();
    assert_eq!(stages, vec![1, 2]);
    let ready_pages = t
        .pages()
        .filter(|(_, w)| {
            matches!(
                w,
                What::Page {
                    page: PageKind::ReadyToExpand,
                    ..
                }
            )
        })
        .count();
    assert_eq!(ready_pages, 2);
}

#[test]
fn a_stricter_candidate_pages_earlier() {
    let (_dir, config) = config(ERRORS);
    let h = history(30, 61, (300, 600), (-1, -1));
    let current = run(&config, &h, window(1800), start(false));
    let (_dir2, strict) = config_with_for_zero();
    let candidate = run(&strict, &h, window(1800), start(false));
    let d = compare(&current, &candidate);
    assert_eq!(d.breach[0].failing.shift_seconds, Some(-60));
    assert_eq!(d.breach[0].failing.describe(), "1m earlier");
    // Opened and escalated a minute earlier; resolved and ready unchanged.
    let added: Vec<_> = d
        .pages_added
        .iter()
        .map(|p| (p.at.as_second() - T0, p.page))
        .collect();
    let removed: Vec<_> = d
        .pages_removed
        .iter()
        .map(|p| (p.at.as_second() - T0, p.page))
        .collect();
    assert_eq!(
        added,
        vec![(300, PageKind::Opened), (420, PageKind::Escalated)]
    );
    assert_eq!(
        removed,
        vec![(360, PageKind::Opened), (480, PageKind::Escalated)]
    );
    assert_eq!(d.ready[0].ready.shift_seconds, Some(0));
}

fn config_with_for_zero() -> (tempfile::TempDir, Config) {
    config(&ERRORS.replace("    for: 1m\n", ""))
}

/// `errors` with the given value at each step (30 s apart from T0).
fn values(vs: &[f64]) -> History {
    errors(
        vs.iter()
            .enumerate()
            .map(|(k, v)| (T0 + 30 * k as i64, *v))
            .collect(),
    )
}

#[test]
fn nan_in_the_history_holds_and_inf_on_the_breaching_side_is_a_breach() {
    let (_dir, config) = config(ERRORS);
    // 0, then NaN (a canary with no traffic: 0/0), then 0, then +Inf.
    let mut vs = vec![0.0; 4];
    vs.extend([f64::NAN; 6]);
    vs.extend([0.0; 4]);
    vs.extend([f64::INFINITY; 6]);
    let t = run(&config, &values(&vs), window(30 * 19), start(false));
    let ev = events(&t);
    // Blind is never continue: every NaN step holds.
    assert!(
        t.verdicts[4..10].iter().all(|v| *v == Verdict::Hold),
        "{ev:?}"
    );
    assert!(ev.contains(&(120, "verdict hold".into())), "{ev:?}");
    assert!(ev.contains(&(300, "verdict continue".into())), "{ev:?}");
    // +Inf is above `below: 0.1`: pending at once, failing after `for: 1m`.
    assert_eq!(t.verdicts[14], Verdict::Continue, "{ev:?}");
    assert_eq!(t.verdicts[16], Verdict::Rollback, "{ev:?}");
    assert!(ev.contains(&(480, "verdict rollback".into())), "{ev:?}");
}

const COUNTS: &str = "checks:\n  - name: errors\n    bad: sum(increase(bad{app=\"{{ rollout }}\"}[{{ window }}]))\n    total: sum(increase(total{app=\"{{ rollout }}\"}[{{ window }}]))\n    below: 0.1%\n    on_fail: rollback\n";

/// 1 request a second in 5-minute buckets from a day before T0 to
/// `hours` after it; from `bad_from` seconds after T0, 10% of them bad.
fn counted(hours: i64, bad_from: i64) -> History {
    counted_on(History::default(), "web", hours, bad_from)
}

/// [`counted`] for `app`, added to `base`.
fn counted_on(base: History, app: &str, hours: i64, bad_from: i64) -> History {
    let (first, last) = (T0 - 86_400, T0 + hours * 3_600);
    let ends = || (first..=last).step_by(300);
    let series = |points: Vec<(i64, f64)>| {
        vec![RangeSeries {
            labels: BTreeMap::new(),
            points,
        }]
    };
    let bad = ends()
        .map(|t| (t, if t - T0 > bad_from { 30.0 } else { 0.0 }))
        .collect();
    let total = ends().map(|t| (t, 300.0)).collect();
    base.with_buckets(
        &format!("sum(increase(bad{{app=\"{app}\"}}[{{{{ window }}}}]))"),
        first,
        last,
        series(bad),
    )
    .with_buckets(
        &format!("sum(increase(total{{app=\"{app}\"}}[{{{{ window }}}}]))"),
        first,
        last,
        series(total),
    )
}

#[test]
fn a_count_check_is_replayed_from_its_buckets_insufficient_then_within_then_failing() {
    let (_dir, config) = config(COUNTS);
    let regression = 6 * 3_600;
    let h = counted(8, regression);
    let t = run(&config, &h, window(8 * 3_600), start(false));
    let ev = events(&t);
    // At first too few requests to say either way, said with the counts.
    assert_eq!(t.checks[0].statuses[0], CheckStatus::Insufficient, "{ev:?}");
    let (at, first) = &ev[0];
    assert_eq!(*at, 0);
    assert!(
        first.starts_with("errors insufficient evidence: 0 bad of 300 requests, needs about"),
        "{first}"
    );
    // Then confidently within, long before the regression.
    let within = ev
        .iter()
        .find(|(_, e)| e.starts_with("errors passing"))
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert!(within.0 < regression, "{ev:?}");
    assert!(within.1.contains("bad of"), "{within:?}");
    // No rollback before the regression, one within half an hour after it.
    let rollbacks: Vec<i64> = t
        .pages()
        .filter(|(_, w)| {
            matches!(
                w,
                What::Page {
                    page: PageKind::Opened,
                    verdict: Verdict::Rollback,
                    ..
                }
            )
        })
        .map(|(at, _)| at.as_second() - T0)
        .collect();
    assert!(!rollbacks.is_empty(), "{ev:?}");
    assert!(rollbacks[0] > regression, "{ev:?}");
    assert!(rollbacks[0] <= regression + 1_800, "{ev:?}");
    let failing = t.first_failing("errors").unwrap().as_second() - T0;
    assert!(failing > regression && failing <= rollbacks[0], "{ev:?}");
    // The value traced is the stage's share; the evidence is in the text.
    assert!(t.checks[0].values.iter().all(|v| v.is_some()));
}

#[test]
fn count_rules_as_a_candidate_are_compared_with_plain_rules() {
    let (_dir, plain) = config(ERRORS);
    let (_dir2, counts) = config(COUNTS);
    // The plain check's `errors`: 0.1 from an hour in, per step.
    let plain_errors = errors(
        (0..=240)
            .map(|k| (T0 + 30 * k, if 30 * k > 3_600 { 0.1 } else { 0.0 }))
            .collect(),
    );
    let h = counted_on(plain_errors, "web", 2, 3_600);
    let current = run(&plain, &h, window(7_200), start(false));
    let candidate = run(&counts, &h, window(7_200), start(false));
    let d = compare(&current, &candidate);
    // 0.1 is not below 0.1: the plain check fails; so does the count check.
    assert!(current.first_failing("errors").is_some());
    assert!(
        candidate.first_failing("errors").is_some(),
        "{:?}",
        events(&candidate)
    );
    assert_eq!(d.breach[0].check, "errors");
    assert!(d.breach[0].failing.shift_seconds.is_some());
}

#[test]
fn a_failure_the_baseline_shares_holds_and_never_rolls_back() {
    let rules = COUNTS.replace(
        "    on_fail: rollback\n",
        "    on_fail: rollback\n    vs:\n      labels: { app: stable }\n",
    );
    let (_dir, config) = config(&rules);
    // Canary and baseline both at 10% bad after two hours: a shared failure.
    let h = counted_on(counted(4, 2 * 3_600), "stable", 4, 2 * 3_600);
    let t = run(&config, &h, window(4 * 3_600), start(false));
    let ev = events(&t);
    assert!(t.first_failing("errors").is_some(), "{ev:?}");
    assert!(!t.verdicts.contains(&Verdict::Rollback), "{ev:?}");
    assert!(t.verdicts.contains(&Verdict::Hold), "{ev:?}");
    assert!(
        ev.iter()
            .any(|(_, e)| e.contains("the baseline is past the limit too")),
        "{ev:?}"
    );
}
