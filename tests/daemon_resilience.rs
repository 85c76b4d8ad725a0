//! The daemon when things go wrong, end to end: Prometheus stopped mid-run
//! (its own Prometheus, never the shared one), `sena` killed -9 mid-breach
//! and restarted, a broken rules file on SIGHUP, SIGTERM.

mod common;

use std::time::Duration;

use common::prometheus::Prometheus;
use common::rules;
use common::sena::{find_check, timestamp_ms, Sena};
use common::{shared, ConfigBuilder};

const DEADLINE: Duration = Duration::from_secs(45);

#[test]
fn prometheus_outage_holds_with_a_reason_then_recovers() {
    let app = "r-outage";
    shared().app.app(app);
    let prometheus = Prometheus::spawn(&shared().app);
    prometheus.wait_for_app(app, DEADLINE);
    let cfg = ConfigBuilder::new()
        .prometheus_url(&prometheus.url())
        .prometheus_timeout("2s")
        .rollout(app, &rules::mission())
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    prometheus.stop();
    let stopped_at = common::sena::now_ms() as f64 / 1000.0;
    let held = sena.wait_for_verdict(app, "hold", DEADLINE);
    let reason = held["reason"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        reason.contains("prometheus") || reason.contains("error"),
        "the reason should say Prometheus failed: {held:#}"
    );
    let checks = held["checks"].as_array().expect("checks");
    assert!(
        checks.iter().any(|c| c["status"] == "error"),
        "a check whose query failed has status error: {held:#}"
    );
    // Blind stays hold: a few more evaluations while Prometheus is down.
    let mut seen = 0;
    sena.observe_evaluations(app, DEADLINE, |r| {
        assert_eq!(r["verdict"], "hold", "while Prometheus is down: {r:#}");
        seen += 1;
        seen == 3
    });
    let query_errors: f64 = sena
        .metrics()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("query_error"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(query_errors > 0.0, "query errors are counted in /metrics");
    assert_eq!(sena.metric("sena_verdict", &[("rollout", app)]), Some(1.0));
    // The last good evaluation is from before the outage.
    let last_ok = sena
        .metric(
            "sena_last_successful_evaluation_timestamp_seconds",
            &[("rollout", app)],
        )
        .expect("sena_last_successful_evaluation_timestamp_seconds{rollout}");
    assert!(
        last_ok <= stopped_at,
        "last good evaluation {last_ok} after the stop at {stopped_at}"
    );

    prometheus.start();
    sena.wait_for_verdict(app, "continue", Duration::from_secs(60));
}

#[test]
fn restart_mid_breach_keeps_the_breach_start() {
    let app = "r-restart";
    let handle = shared().app_ready(app);
    let for_ms = 10_000;
    let cfg = ConfigBuilder::new()
        .rollout(app, &rules::file(&[rules::error_rate("10s")]))
        .write();
    let mut sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);

    handle.set_error_ratio(0.05);
    let pending = sena.wait_for_check_status(app, "error_rate", "pending", DEADLINE);
    let breach_started_at = pending["breach_started_at"].clone();
    let breach_ms = timestamp_ms(&breach_started_at);

    sena.kill9();
    let sena = Sena::start(cfg.path());
    let after = sena.wait_for_rollout(app, "to evaluate error_rate again", DEADLINE, |r| {
        find_check(r, "error_rate")
            .is_some_and(|c| c["status"] == "pending" || c["status"] == "failing")
    });
    // The same instant; the store keeps milliseconds.
    assert_eq!(
        timestamp_ms(&find_check(&after, "error_rate").unwrap()["breach_started_at"]),
        breach_ms,
        "the breach start survives kill -9: {after:#}"
    );
    let rolled_back = sena.wait_for_verdict(app, "rollback", DEADLINE);
    let c = find_check(&rolled_back, "error_rate").unwrap();
    assert_eq!(timestamp_ms(&c["breach_started_at"]), breach_ms);
    // The rollback comes `for` after the original breach, not after the restart.
    let at_ms = timestamp_ms(&rolled_back["at"]);
    assert!(at_ms - breach_ms >= for_ms, "{rolled_back:#}");
}

/// A rules file that parses as YAML but is invalid: `below` and `above`
/// both set, and an `on_fail` that does not exist.
const BROKEN_RULES: &str = "checks:
  - name: error_rate_v2
    query: sum(rate(http_requests_total{app=\"{{ rollout }}\"}[10s]))
    below: 0.1%
    above: 5%
    on_fail: panic
";

#[test]
fn sighup_with_a_broken_rules_file_keeps_the_old_rules() {
    let app = "r-reload";
    shared().app_ready(app);
    let cfg = ConfigBuilder::new().rollout(app, &rules::mission()).write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);
    assert_eq!(
        sena.metric("sena_config_last_reload_successful", &[]),
        Some(1.0),
        "{}",
        sena.metrics()
    );

    cfg.write_rules(app, BROKEN_RULES);
    sena.sighup();
    common::wait_until(
        "sena_config_last_reload_successful 0",
        DEADLINE,
        || (sena.metric("sena_config_last_reload_successful", &[]) == Some(0.0)).then_some(()),
        || sena.metrics(),
    );
    // The error names the file, line and column.
    let rules_path = cfg.rules_path(app).display().to_string();
    common::wait_until(
        "the reload error in the log",
        DEADLINE,
        || {
            let logs = sena.logs();
            logs.lines()
                .any(|l| {
                    l.contains(&format!("{rules_path}:")) || l.contains(&format!("{app}.yaml:"))
                })
                .then_some(())
        },
        || sena.logs_tail(),
    );
    // The old rules keep evaluating: new evaluations, the old checks.
    let mut seen = 0;
    sena.observe_evaluations(app, DEADLINE, |r| {
        let mut names: Vec<&str> = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["error_rate", "latency_p95", "satisfaction"],
            "{r:#}"
        );
        assert_eq!(r["verdict"], "continue", "{r:#}");
        seen += 1;
        seen == 3
    });

    // Fixed, through the HTTP reload this time: the new rules take over.
    cfg.write_rules(app, &rules::file(&[rules::error_rate("0s")]));
    let (status, body) = sena.post("/-/reload");
    assert!(
        (200..300).contains(&status),
        "POST /-/reload: {status} {body}"
    );
    common::wait_until(
        "sena_config_last_reload_successful 1",
        DEADLINE,
        || (sena.metric("sena_config_last_reload_successful", &[]) == Some(1.0)).then_some(()),
        || sena.metrics(),
    );
    sena.wait_for_rollout(app, "to evaluate only the new rules", DEADLINE, |r| {
        r["checks"]
            .as_array()
            .is_some_and(|c| c.len() == 1 && c[0]["name"] == "error_rate")
    });

    // And SIGHUP picks up a fix too: back to the three checks.
    cfg.write_rules(app, BROKEN_RULES);
    sena.sighup();
    common::wait_until(
        "a second failed reload",
        DEADLINE,
        || (sena.metric("sena_config_last_reload_successful", &[]) == Some(0.0)).then_some(()),
        || sena.metrics(),
    );
    cfg.write_rules(app, &rules::mission());
    sena.sighup();
    sena.wait_for_rollout(app, "to evaluate the three checks again", DEADLINE, |r| {
        r["checks"].as_array().is_some_and(|c| c.len() == 3)
    });
    assert_eq!(
        sena.metric("sena_config_last_reload_successful", &[]),
        Some(1.0)
    );
}

#[test]
fn sigterm_exits_cleanly() {
    let app = "r-sigterm";
    shared().app_ready(app);
    let cfg = ConfigBuilder::new().rollout(app, &rules::mission()).write();
    let mut sena = Sena::start(cfg.path());
    sena.wait_for_verdict(app, "continue", DEADLINE);
    let status = sena.terminate();
    assert!(status.success(), "exit {status}; logs:\n{}", sena.logs());
}
