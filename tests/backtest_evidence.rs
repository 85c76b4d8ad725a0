//! Issue 15's "done when", end to end: a week of a healthy low-traffic
//! canary replayed with `sena backtest` against a real Prometheus
//! (backfilled with promtool) pages nobody with the count form of the
//! error-rate check, where the old ratio rule pages again and again; and a
//! canary that turns bad after three days is rolled back within the hour.
//!
//! The history is generated here, seeded: `http_requests_total` counters
//! of the canary (`code="200"` and `code="500"`) scraped every 15 s, with
//! on average 1 request a second (Poisson per scrape) and each request bad
//! with the true error rate (Bernoulli per request).
//!
//! Two weeks in one Prometheus, a day apart: week A (healthy: 0.05%, half
//! the 0.1% limit) and week B (0.05% for 3 days, then 1%, ten times the
//! limit). Each is replayed at the daemon's own 30 s step (20,160
//! evaluations a week); the whole test takes under a minute in a debug
//! build.

mod common;

use std::fs;

use common::backfill::{self, OpenMetrics};
use common::sena::sena_cmd;
use serde_json::Value;

/// 2026-11-02T00:00:00Z, a Monday: the start of week A.
const WEEK_A: i64 = 1_793_577_600;
/// A day after week A ends.
const WEEK_B: i64 = WEEK_A + 8 * DAY;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const SCRAPE: i64 = 15;
/// The limit both rules state: 0.1%.
const LIMIT: f64 = 0.001;
/// When week B's canary turns bad.
const REGRESSION: i64 = WEEK_B + 3 * DAY;

const COUNT_RULES: &str = r#"checks:
  - name: error_rate
    bad: sum(increase(http_requests_total{app="{{ rollout }}",track="canary",code=~"5.."}[{{ window }}]))
    total: sum(increase(http_requests_total{app="{{ rollout }}",track="canary"}[{{ window }}]))
    below: 0.1%
    on_fail: rollback
"#;

/// The rule the issue measured: a 5-minute ratio against the same limit.
const RATIO_RULES: &str = r#"checks:
  - name: error_rate
    query: sum(rate(http_requests_total{app="{{ rollout }}",track="canary",code=~"5.."}[5m])) / sum(rate(http_requests_total{app="{{ rollout }}",track="canary"}[5m]))
    below: 0.1%
    for: 2m
    on_fail: rollback
"#;

/// splitmix64: small, seeded, the same numbers on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Poisson with the given (small) mean, by Knuth's product of uniforms.
    fn poisson(&mut self, mean: f64) -> u64 {
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = self.uniform();
        while p > limit {
            k += 1;
            p *= self.uniform();
        }
        k
    }
}

/// One canary's counters from `start` − 1h (so the first evaluation has
/// data) to `start` + a week; `error_rate(t)` is the true rate at `t`.
fn canary(seed: u64, start: i64, error_rate: impl Fn(i64) -> f64) -> Canary {
    let mut rng = Rng(seed);
    let (mut ok, mut bad) = (0u64, 0u64);
    let (mut ok_points, mut bad_points) = (Vec::new(), Vec::new());
    let mut bad_in_week = 0;
    let mut t = start - 3_600;
    while t <= start + WEEK {
        ok_points.push((t, ok as f64));
        bad_points.push((t, bad as f64));
        // The requests until the next scrape.
        let p = error_rate(t);
        for _ in 0..rng.poisson(SCRAPE as f64) {
            if rng.uniform() < p {
                bad += 1;
                if t >= start {
                    bad_in_week += 1;
                }
            } else {
                ok += 1;
            }
        }
        t += SCRAPE;
    }
    Canary {
        ok: ok_points,
        bad: bad_points,
        bad_in_week,
    }
}

/// A canary's two counters and the bad requests from its week's start.
struct Canary {
    ok: Vec<(i64, f64)>,
    bad: Vec<(i64, f64)>,
    bad_in_week: u64,
}

struct Weeks {
    history: OpenMetrics,
    bad_a: u64,
    bad_b_before: u64,
}

fn weeks() -> Weeks {
    let a = canary(15, WEEK_A, |_| LIMIT / 2.0);
    let b = canary(16, WEEK_B, |t| {
        if t >= REGRESSION {
            LIMIT * 10.0
        } else {
            LIMIT / 2.0
        }
    });
    let bad_b_before = b
        .bad
        .iter()
        .take_while(|(t, _)| *t <= REGRESSION)
        .last()
        .map(|(_, v)| *v as u64)
        .unwrap_or(0);
    let join = |a: Vec<(i64, f64)>, b: Vec<(i64, f64)>| a.into_iter().chain(b).collect();
    let history = OpenMetrics::new()
        .gauge(
            "http_requests_total",
            "app=\"web\",track=\"canary\",code=\"200\"",
            join(a.ok, b.ok),
        )
        .gauge(
            "http_requests_total",
            "app=\"web\",track=\"canary\",code=\"500\"",
            join(a.bad, b.bad),
        );
    Weeks {
        history,
        bad_a: a.bad_in_week,
        bad_b_before,
    }
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(prometheus_url: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("counts.yaml"), COUNT_RULES).unwrap();
        fs::write(dir.path().join("ratio.yaml"), RATIO_RULES).unwrap();
        fs::write(
            dir.path().join("sena.yaml"),
            format!(
                "prometheus: {{url: \"{prometheus_url}\"}}\n\
state: {{path: state}}\n\
slack: {{webhook_url: \"http://127.0.0.1:9/hook\"}}\n\
rollouts:\n  - name: web\n    approver: lubit\n    stages: [{{traffic: 5%, bake: 1h}}, {{traffic: 100%}}]\n    rules: [counts.yaml]\n\
roster:\n  timezone: UTC\n  people:\n    sena: {{slack: U0SENA}}\n    lubit: {{slack: U0LUBIT}}\n  slots:\n    - name: all-day\n      from: \"00:00\"\n      to: \"24:00\"\n      escalation:\n        - notify: [sena]\n"
            ),
        )
        .unwrap();
        Setup { dir }
    }

    /// `sena backtest` from `from` to `to` (unix seconds) at the daemon's
    /// 30 s step, with `extra` arguments; its stdout, asserting it succeeded.
    fn run(&self, from: i64, to: i64, extra: &[&str]) -> String {
        let config = self.dir.path().join("sena.yaml");
        let (from, to) = (instant(from), instant(to));
        let mut args = vec![
            "backtest",
            "--config",
            config.to_str().unwrap(),
            "--from",
            &from,
            "--to",
            &to,
            "--step",
            "30s",
        ];
        args.extend_from_slice(extra);
        let out = sena_cmd(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `sena backtest` over the week from `start`, as JSON.
    fn backtest(&self, start: i64, extra: &[&str]) -> Value {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&self.run(start, start + WEEK, &args)).expect("JSON output parses")
    }

    fn ratio_rules(&self) -> String {
        self.dir
            .path()
            .join("ratio.yaml")
            .to_str()
            .unwrap()
            .to_string()
    }
}

/// Prometheus's answer to `promql` at `at`: the first sample's value.
fn prometheus_value(url: &str, promql: &str, at: i64) -> f64 {
    let response = common::http::get(&format!(
        "{url}/api/v1/query?query={}&time={at}",
        common::http::encode(promql)
    ))
    .unwrap();
    let json = response.json();
    json["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("{promql}: {json}"))
        .parse()
        .unwrap()
}

fn instant(s: i64) -> String {
    jiff::Timestamp::from_second(s).unwrap().to_string()
}

fn second(at: &Value) -> i64 {
    at.as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second()
}

fn events<'a>(timeline: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(move |e| e["kind"] == kind)
}

/// The instants of the pages that ask for a rollback (opened, reminded or
/// escalated while the verdict is rollback).
fn rollback_pages(timeline: &Value) -> Vec<i64> {
    events(timeline, "page")
        .filter(|e| e["verdict"] == "rollback")
        .map(|e| second(&e["at"]))
        .collect()
}

/// Incidents opened on a rollback: how many times someone was woken.
fn rollback_incidents(timeline: &Value) -> usize {
    events(timeline, "page")
        .filter(|e| e["verdict"] == "rollback" && e["page"] == "opened")
        .count()
}

fn check_statuses(timeline: &Value) -> Vec<(i64, String, String)> {
    events(timeline, "check")
        .map(|e| {
            (
                second(&e["at"]),
                e["status"].as_str().unwrap().to_string(),
                e["value_text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_healthy_low_traffic_week_pages_nobody_with_counts_and_a_regression_is_rolled_back_within_the_hour(
) {
    let w = weeks();
    // The generated history is what it says: about 302 bad requests in
    // a week of ~604,800 at 0.05%, and week B as healthy before its turn.
    assert!((200..420).contains(&w.bad_a), "{} bad in week A", w.bad_a);
    assert!(
        w.bad_b_before < 260,
        "{} bad before the regression",
        w.bad_b_before
    );
    let prometheus = backfill::start(&w.history);
    let s = Setup::new(&prometheus.url());

    // (a) The healthy week: the count rules (current) and the old ratio
    // rule (candidate) replayed over the same history.
    let a = s.backtest(WEEK_A, &["--rules", &s.ratio_rules()]);
    assert_eq!(a["runs"][0]["rules"], "current");
    assert_eq!(a["runs"][1]["rules"], "candidate");
    let counts = &a["runs"][0]["rollouts"][0];
    let ratio = &a["runs"][1]["rollouts"][0];
    let statuses = check_statuses(counts);
    assert_eq!(
        rollback_pages(counts),
        Vec::<i64>::new(),
        "the count check paged a healthy canary: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|(_, s, _)| s != "failing" && s != "pending"),
        "{statuses:?}"
    );
    // It starts with too few requests to say, in words with the counts,
    // and is confidently within the limit well before the week is out.
    let (first_at, first_status, first_text) = &statuses[0];
    assert_eq!((*first_at, first_status.as_str()), (WEEK_A, "insufficient"));
    assert!(
        first_text.starts_with("insufficient evidence: ") && first_text.contains(" bad of "),
        "{first_text}"
    );
    let within = statuses
        .iter()
        .find(|(_, s, _)| s == "passing")
        .unwrap_or_else(|| panic!("never confidently within: {statuses:?}"));
    assert!(within.0 < WEEK_A + 2 * DAY, "{statuses:?}");
    assert!(
        within.2.contains(" bad of ") && within.2.contains("at most"),
        "{within:?}"
    );
    // The ratio rule, on the same history, wakes someone again and again
    // (the issue measured 242 times in such a week).
    let woken = rollback_incidents(ratio);
    assert!(
        woken > 20,
        "the ratio rule opened {woken} rollback incidents"
    );
    let diff = &a["diff"][0];
    assert_eq!(
        diff["pages_current"].as_u64().unwrap() as usize,
        events(counts, "page").count()
    );
    assert!(diff["pages_candidate"].as_u64().unwrap() as usize >= woken);
    eprintln!(
        "week A: {} bad requests; count rules {} pages, ratio rule {} pages ({woken} rollback incidents)",
        w.bad_a,
        events(counts, "page").count(),
        events(ratio, "page").count()
    );

    // (b) Healthy for three days, then ten times the limit: a rollback
    // page within the hour, none before.
    let b = s.backtest(WEEK_B, &[]);
    let counts = &b["runs"][0]["rollouts"][0];
    let statuses = check_statuses(counts);
    let pages = rollback_pages(counts);
    let first = *pages
        .first()
        .unwrap_or_else(|| panic!("no rollback page: {statuses:?}"));
    assert!(
        first >= REGRESSION,
        "a rollback page {}s before the regression: {statuses:?}",
        REGRESSION - first
    );
    assert!(
        first <= REGRESSION + 3_600,
        "the rollback page came {}s after the regression: {statuses:?}",
        first - REGRESSION
    );
    let failing = statuses
        .iter()
        .find(|(_, s, _)| s == "failing")
        .expect("the check failed");
    assert!(
        failing.0 >= REGRESSION && failing.0 <= first,
        "{statuses:?}"
    );
    assert!(failing.2.contains(" bad of "), "{failing:?}");
    // The same hours as people read them, the stage entered three days
    // before: its counts since then, the detector's recent window, the page.
    let hours = |format: &str| {
        s.run(
            REGRESSION - 7_200,
            REGRESSION + 7_200,
            &["--stage-since", &instant(WEEK_B), "--format", format],
        )
    };
    let text = hours("text");
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.contains(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in\n{text}"))
            .to_string()
    };
    let passing = line("error_rate passing ");
    assert!(
        passing.contains(" requests; at most ") && passing.contains(" at 95%)"),
        "{passing}"
    );
    // The history's stage count (5-minute buckets summed) against what
    // Prometheus's own increase() over the stage says at that instant.
    let counted = |what: &str| -> f64 {
        let words: Vec<&str> = passing.split(' ').collect();
        let i = words.iter().position(|w| *w == what).unwrap();
        words[i - 1]
            .trim_start_matches('(')
            .replace(',', "")
            .parse()
            .unwrap()
    };
    let at = REGRESSION - 7_200;
    let total = prometheus_value(
        &prometheus.url(),
        &format!(
            "sum(increase(http_requests_total{{app=\"web\",track=\"canary\"}}[{}s]))",
            at - WEEK_B
        ),
        at,
    );
    let replayed = counted("requests;");
    eprintln!(
        "stage count at {}: replayed {replayed}, Prometheus {total}",
        instant(at)
    );
    assert!(
        (replayed - total).abs() <= total * 0.001,
        "the replay counted {replayed} requests, Prometheus {total}: {passing}"
    );
    let failing_line = line("error_rate failing ");
    assert!(
        failing_line.contains(" since 2026-11-13 ") && failing_line.contains(" bad of "),
        "{failing_line}"
    );
    line("page opened rollback L0 → sena, lubit");
    let html = hours("html");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("page opened rollback L0 → sena, lubit"));
    eprintln!(
        "week B: rolled back {} minutes after the regression: {}",
        (first - REGRESSION) / 60,
        failing.2
    );
}
