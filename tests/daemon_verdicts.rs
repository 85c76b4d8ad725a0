//! The daemon's verdicts end to end: the real `sena run` against the real
//! Prometheus scraping the test app, one app (= rollout name) per test, as
//! issue 3 asks: healthy → continue; error spike → pending then rollback
//! after `for`; latency above 2 s → rollback; satisfaction below 95 % →
//! hold; no canary traffic → hold and never continue; `sena eval` exit codes;
//! `sena journal` covers the evaluations that happened.

mod common;

use std::time::Duration;

use serde_json::Value;

use common::rules;
use common::sena::{find_check, now_ms, sena_cmd, timestamp_ms, Sena};
use common::{shared, ConfigBuilder};

/// Long enough for Prometheus to see a change (≤ 2 s), the `for` of the
/// rules below, and a few 1 s evaluations, with room for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(45);

fn checks(rollout: &Value) -> Vec<Value> {
    rollout["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {rollout:#}"))
        .clone()
}

fn check(rollout: &Value, name: &str) -> Value {
    find_check(rollout, name).unwrap_or_else(|| panic!("no check {name} in {rollout:#}"))
}

#[test]
fn healthy_canary_continues_with_every_check_passing() {
    let app = "v-healthy";
    shared().app_ready(app);
    let cfg = ConfigBuilder::new().rollout(app, &rules::mission()).write();
    let sena = Sena::start(cfg.path());

    let rollout = sena.wait_for_verdict(app, "continue", DEADLINE);
    assert_eq!(rollout["stage"]["index"], 0, "{rollout:#}");
    assert!(rollout["stage"]["traffic"].is_number() || rollout["stage"]["traffic"].is_string());
    let mut names: Vec<String> = checks(&rollout)
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["error_rate", "latency_p95", "satisfaction"]);
    for c in checks(&rollout) {
        assert_eq!(c["status"], "passing", "{c:#}");
        assert!(c["value"].is_number(), "a passing check has a value: {c:#}");
        assert!(!c["threshold"].is_null(), "{c:#}");
        assert!(
            c["series"].as_array().is_some_and(|s| !s.is_empty()),
            "{c:#}"
        );
    }
    assert_eq!(check(&rollout, "error_rate")["value"].as_f64(), Some(0.0));
    let p95 = check(&rollout, "latency_p95")["value"].as_f64().unwrap();
    assert!(p95 > 0.05 && p95 <= 0.1, "p95 {p95}");
    let satisfied = check(&rollout, "satisfaction")["value"].as_f64().unwrap();
    assert!((satisfied - 0.99).abs() < 1e-6, "satisfaction {satisfied}");

    // And it stays so: three more evaluations, all continue.
    let evaluations = |sena: &Sena| sena.metric("sena_evaluations_total", &[("rollout", app)]);
    let before = evaluations(&sena).expect("sena_evaluations_total{rollout}");
    let mut seen = 0;
    sena.observe_evaluations(app, DEADLINE, |r| {
        assert_eq!(r["verdict"], "continue", "{r:#}");
        seen += 1;
        seen == 3
    });

    // /metrics follows: evaluations counted, the verdict gauge at 0
    // (continue), a recent last good evaluation, durations observed.
    let after = evaluations(&sena).unwrap();
    assert!(after >= before + 2.0, "evaluations {before} → {after}");
    assert_eq!(sena.metric("sena_verdict", &[("rollout", app)]), Some(0.0));
    let last_ok = sena
        .metric(
            "sena_last_successful_evaluation_timestamp_seconds",
            &[("rollout", app)],
        )
        .expect("sena_last_successful_evaluation_timestamp_seconds{rollout}");
    let age = now_ms() as f64 / 1000.0 - last_ok;
    assert!(
        (0.0..10.0).contains(&age),
        "last good evaluation {age}s ago"
    );
    let durations = sena.metric(
        "sena_evaluation_duration_seconds_count",
        &[("rollout", app)],
    );
    assert!(durations.is_some_and(|n| n >= 3.0), "{}", sena.metrics());
}

#[test]
fn error_spike_is_pending_then_rolls_back_after_for() {
    let app = "v-errors";
    let handle = shared().app_ready(app);
    let for_ms = 5_000;
    let rules = rules::file(&[rules::error_rate("5s"), rules::satisfaction("5s")]);
    let cfg = ConfigBuilder::new().rollout(app, &rules).write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    handle.set_error_ratio(0.05);
    let pending = sena.wait_for_rollout(app, "to have error_rate pending", DEADLINE, |r| {
        find_check(r, "error_rate").is_some_and(|c| c["status"] == "pending")
    });
    // A pending check alone does not change the verdict.
    assert_ne!(pending["verdict"], "rollback", "{pending:#}");
    let breach_started_at = check(&pending, "error_rate")["breach_started_at"].clone();
    let breach_ms = timestamp_ms(&breach_started_at);

    let rolled_back = sena.wait_for_verdict(app, "rollback", DEADLINE);
    let error_rate = check(&rolled_back, "error_rate");
    assert_eq!(error_rate["status"], "failing", "{rolled_back:#}");
    assert_eq!(timestamp_ms(&error_rate["breach_started_at"]), breach_ms);
    assert_eq!(error_rate["on_fail"], "rollback");
    let value = error_rate["value"].as_f64().expect("a failing value");
    assert!(value > 0.001, "value {value}");
    let reason = rolled_back["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("error_rate"), "reason {reason:?}");
    // Not before `for` has passed since the breach started.
    let at_ms = timestamp_ms(&rolled_back["at"]);
    assert!(
        at_ms - breach_ms >= for_ms,
        "rollback at {} only {} ms after the breach started at {}",
        rolled_back["at"],
        at_ms - breach_ms,
        breach_started_at
    );
    // The other check is untouched.
    assert_eq!(check(&rolled_back, "satisfaction")["status"], "passing");
}

#[test]
fn latency_above_two_seconds_rolls_back() {
    let app = "v-latency";
    let handle = shared().app_ready(app);
    let rules = rules::file(&[rules::error_rate("2s"), rules::latency_p95("2s")]);
    let cfg = ConfigBuilder::new().rollout(app, &rules).write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    // Every request at 2.2 s: p95 interpolates to 2.475 s in the (2, 2.5] bucket.
    handle.set_latency(2.2);
    let rolled_back = sena.wait_for_verdict(app, "rollback", DEADLINE);
    let latency = check(&rolled_back, "latency_p95");
    assert_eq!(latency["status"], "failing", "{rolled_back:#}");
    let value = latency["value"].as_f64().expect("a failing value");
    assert!(value > 2.0 && value <= 2.5, "p95 {value}");
    assert_eq!(check(&rolled_back, "error_rate")["status"], "passing");
    let reason = rolled_back["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("latency_p95"), "reason {reason:?}");
    assert_eq!(sena.metric("sena_verdict", &[("rollout", app)]), Some(2.0));
}

#[test]
fn satisfaction_below_95_percent_holds() {
    let app = "v-satisfaction";
    let handle = shared().app_ready(app);
    let cfg = ConfigBuilder::new().rollout(app, &rules::mission()).write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    handle.set_satisfaction(0.9);
    let held = sena.wait_for_verdict(app, "hold", DEADLINE);
    let satisfaction = check(&held, "satisfaction");
    assert_eq!(satisfaction["status"], "failing", "{held:#}");
    assert_eq!(satisfaction["on_fail"], "hold");
    let value = satisfaction["value"].as_f64().expect("a failing value");
    assert!(value < 0.95, "satisfaction {value}");
    let reason = held["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("satisfaction"), "reason {reason:?}");
    assert_eq!(sena.metric("sena_verdict", &[("rollout", app)]), Some(1.0));
    // An on_fail: hold check never escalates to rollback.
    let mut seen = 0;
    sena.observe_evaluations(app, DEADLINE, |r| {
        assert_eq!(r["verdict"], "hold", "{r:#}");
        seen += 1;
        seen == 3
    });
}

#[test]
fn canary_without_traffic_holds_and_never_continues() {
    let app = "v-idle";
    let handle = shared().app_ready(app);
    let cfg = ConfigBuilder::new().rollout(app, &rules::mission()).write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    handle.set_traffic(0.0);
    // The moment Prometheus itself sees no canary traffic (rate 0 → every
    // ratio NaN). Any evaluation after it (plus 1 s for a query started just
    // before `at`) must not say continue.
    let prometheus = &shared().prometheus;
    let rate = format!("sum(rate(http_requests_total{{app=\"{app}\",track=\"canary\"}}[10s]))");
    let idle_since_ms = common::wait_until(
        "Prometheus to see no canary traffic",
        DEADLINE,
        || {
            let before = now_ms();
            (prometheus.query_value(&rate) == Some(0.0)).then_some(before)
        },
        || format!("{:?}", prometheus.query_value(&rate)),
    );
    let mut holds_after_idle = 0;
    sena.observe_evaluations(app, DEADLINE, |r| {
        if timestamp_ms(&r["at"]) <= idle_since_ms + 1_000 {
            return false;
        }
        assert_ne!(
            r["verdict"], "continue",
            "continue while the canary has no traffic: {r:#}"
        );
        for c in checks(r) {
            assert_ne!(c["status"], "passing", "a blind check passed: {c:#}");
        }
        if r["verdict"] == "hold" {
            holds_after_idle += 1;
        }
        holds_after_idle == 5
    });

    // Traffic returns: so does continue.
    handle.set_healthy();
    sena.wait_for_verdict(app, "continue", DEADLINE);
}

#[test]
fn canary_series_gone_holds_with_no_data() {
    let app = "v-gone";
    let handle = shared().app_ready(app);
    let cfg = ConfigBuilder::new().rollout(app, &rules::mission()).write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    // The canary's series disappear: once their last samples leave the
    // rules' 10s rate window, every query returns an empty result.
    handle.set_exposed(false);
    let prometheus = &shared().prometheus;
    let series = format!("count(rate(http_requests_total{{app=\"{app}\",track=\"canary\"}}[10s]))");
    let gone_since_ms = common::wait_until(
        "the canary rates to be empty",
        DEADLINE,
        || {
            let before = now_ms();
            prometheus.query_value(&series).is_none().then_some(before)
        },
        || format!("{:?}", prometheus.query_value(&series)),
    );
    let mut holds = 0;
    sena.observe_evaluations(app, DEADLINE, |r| {
        if timestamp_ms(&r["at"]) <= gone_since_ms + 1_000 {
            return false;
        }
        assert_ne!(r["verdict"], "continue", "continue on empty results: {r:#}");
        for c in checks(r) {
            assert_eq!(c["status"], "no_data", "an empty result is no_data: {c:#}");
        }
        if r["verdict"] == "hold" {
            let reason = r["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("error_rate"),
                "the reason names the blind checks: {r:#}"
            );
            holds += 1;
        }
        holds == 3
    });

    handle.set_exposed(true);
    sena.wait_for_verdict(app, "continue", DEADLINE);
}

/// `sena eval --config F --format json`: (exit code, parsed output).
fn eval(config: &std::path::Path) -> (i32, Value) {
    let out = sena_cmd(&[
        "eval",
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "sena eval printed no JSON ({e}); exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), json)
}

/// Polls `sena eval` until it answers `code` with the first rollout's check
/// `check` in `status` (so a blind `hold` right after the app appears does
/// not pass for a failing one); every answer on the way must have an exit
/// code matching its own worst verdict.
fn eval_until(config: &std::path::Path, code: i32, check: &str, status: &str) -> Value {
    let last = std::cell::RefCell::new(String::new());
    common::wait_until(
        &format!("sena eval to exit {code}"),
        DEADLINE,
        || {
            let (got, json) = eval(config);
            let verdicts: Vec<&str> = json["rollouts"]
                .as_array()
                .expect("rollouts")
                .iter()
                .map(|r| r["verdict"].as_str().expect("verdict"))
                .collect();
            let worst = if verdicts.contains(&"rollback") {
                4
            } else if verdicts.contains(&"hold") {
                3
            } else {
                0
            };
            assert_eq!(got, worst, "exit code vs verdicts {verdicts:?}: {json:#}");
            *last.borrow_mut() = format!("exit {got}: {json:#}");
            let check_status = find_check(&json["rollouts"][0], check)
                .map(|c| c["status"].clone())
                .unwrap_or_default();
            (got == code && check_status == status).then_some(json)
        },
        || last.borrow().clone(),
    )
}

#[test]
fn eval_exit_codes_match_the_verdicts() {
    let ok = "v-eval-ok";
    let rollback = "v-eval-rollback";
    let hold = "v-eval-hold";
    shared().app_ready(ok);
    shared().app_ready(rollback).set_error_ratio(0.05);
    shared().app_ready(hold).set_satisfaction(0.9);

    let healthy = ConfigBuilder::new().rollout(ok, &rules::mission()).write();
    let json = eval_until(healthy.path(), 0, "satisfaction", "passing");
    assert_eq!(json["rollouts"][0]["name"], ok);
    assert_eq!(json["rollouts"][0]["verdict"], "continue");
    assert!(json["at"].is_string(), "{json:#}");

    let holding = ConfigBuilder::new()
        .rollout(hold, &rules::mission())
        .write();
    let json = eval_until(holding.path(), 3, "satisfaction", "failing");
    assert_eq!(json["rollouts"][0]["verdict"], "hold");
    let c = find_check(&json["rollouts"][0], "satisfaction").unwrap();
    assert!(c["value"].as_f64().is_some_and(|v| v < 0.95), "{json:#}");

    let rolling_back = ConfigBuilder::new()
        .rollout(rollback, &rules::mission())
        .write();
    let json = eval_until(rolling_back.path(), 4, "error_rate", "failing");
    assert_eq!(json["rollouts"][0]["verdict"], "rollback");
    let c = find_check(&json["rollouts"][0], "error_rate").unwrap();
    assert!(c["value"].as_f64().is_some_and(|v| v > 0.001), "{json:#}");

    // Worst over rollouts.
    let all = ConfigBuilder::new()
        .rollout(ok, &rules::mission())
        .rollout(hold, &rules::mission())
        .rollout(rollback, &rules::mission())
        .write();
    let (code, json) = eval(all.path());
    assert_eq!(code, 4, "{json:#}");
    let verdicts: Vec<&str> = json["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["continue", "hold", "rollback"], "{json:#}");

    // No Prometheus at all: an error, exit 1 or a blind hold (3), never 0.
    let unreachable = ConfigBuilder::new()
        .prometheus_url(&format!("http://127.0.0.1:{}", common::free_port()))
        .prometheus_timeout("2s")
        .rollout(ok, &rules::mission())
        .write();
    let out = sena_cmd(&["eval", "--config", unreachable.path().to_str().unwrap()]);
    let code = out.status.code();
    assert!(
        matches!(code, Some(1) | Some(3)),
        "eval without Prometheus exited {code:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn journal_prints_the_evaluations_that_happened() {
    let app = "v-journal";
    let other = "v-journal-other";
    let handle = shared().app_ready(app);
    shared().app_ready(other);
    let cfg = ConfigBuilder::new()
        .rollout(app, &rules::file(&[rules::error_rate("0s")]))
        .rollout(other, &rules::file(&[rules::error_rate("0s")]))
        .write();
    let mut sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    // Record a few evaluations each way: continue, then rollback.
    let mut seen: Vec<(i64, String)> = Vec::new();
    sena.observe_evaluations(app, DEADLINE, |r| {
        seen.push((
            timestamp_ms(&r["at"]),
            r["verdict"].as_str().unwrap().into(),
        ));
        seen.len() == 3
    });
    handle.set_error_ratio(0.05);
    sena.wait_for_verdict(app, "rollback", DEADLINE);
    let mut rollbacks = 0;
    sena.observe_evaluations(app, DEADLINE, |r| {
        seen.push((
            timestamp_ms(&r["at"]),
            r["verdict"].as_str().unwrap().into(),
        ));
        rollbacks += 1;
        rollbacks == 3
    });
    assert!(sena.terminate().success(), "{}", sena.logs());

    let config = cfg.path().to_str().unwrap();
    let out = sena_cmd(&["journal", "--config", config, "--rollout", app]);
    assert!(
        out.status.success(),
        "sena journal failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for record in &records {
        assert_eq!(record["rollout"], app, "--rollout filters: {record}");
        assert!(record["checks"].is_array(), "{record}");
        assert!(record["verdict"].is_string(), "{record}");
        timestamp_ms(&record["at"]);
    }
    // Every evaluation the status showed is in the journal, with its verdict.
    for (at_ms, verdict) in &seen {
        let found = records.iter().any(|r| {
            (timestamp_ms(&r["at"]) - at_ms).abs() < 1_000 && r["verdict"] == verdict.as_str()
        });
        assert!(
            found,
            "no journal record for the {verdict} evaluation at {at_ms} ms; journal:\n{records:#?}"
        );
    }
    let failing = records
        .iter()
        .flat_map(|r| r["checks"].as_array().cloned().unwrap_or_default())
        .any(|c| c["status"] == "failing" && c["value"].as_f64().is_some_and(|v| v > 0.001));
    assert!(failing, "the journal keeps each check's value and status");

    // Without --rollout, both rollouts are there.
    let out = sena_cmd(&["journal", "--config", config, "--since", "1h"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(other),
        "no {other} in the journal:\n{stdout}"
    );
    assert!(stdout.lines().count() > records.len());
}

#[test]
fn the_worst_series_decides_and_is_named_by_its_labels() {
    let app = "v-regions";
    let handle = shared().app.app(app);
    handle.set_regions(&["eu", "us"]);
    shared().prometheus.wait_for_app(app, DEADLINE);
    let rules = "checks:
  - name: error_rate
    query: |
      sum by (region) (rate(http_requests_total{app=\"{{ rollout }}\",track=\"canary\",code=~\"5..\"}[10s]))
      / sum by (region) (rate(http_requests_total{app=\"{{ rollout }}\",track=\"canary\"}[10s]))
    below: 0.1%
    on_fail: rollback
";
    let cfg = ConfigBuilder::new().rollout(app, rules).write();
    let sena = Sena::start(cfg.path());
    let healthy = sena.wait_for_verdict(app, "continue", DEADLINE);
    let series = check(&healthy, "error_rate")["series"].clone();
    assert_eq!(series.as_array().map(Vec::len), Some(2), "{healthy:#}");

    handle.region("us").set_error_ratio(0.05);
    let rolled_back = sena.wait_for_verdict(app, "rollback", DEADLINE);
    let error_rate = check(&rolled_back, "error_rate");
    let series = error_rate["series"].as_array().expect("series");
    let value_of = |region: &str| {
        series
            .iter()
            .find(|s| s["labels"]["region"] == region)
            .and_then(|s| s["value"].as_f64())
            .unwrap_or_else(|| panic!("no series for region {region}: {error_rate:#}"))
    };
    assert!(value_of("us") > 0.001, "{error_rate:#}");
    assert_eq!(value_of("eu"), 0.0, "{error_rate:#}");
    // The check's value is the worst series'.
    assert_eq!(error_rate["value"].as_f64(), Some(value_of("us")));
}
