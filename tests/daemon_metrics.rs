//! The per-check and per-rollout gauges on `/metrics`, scraped from the real
//! daemon over a real Prometheus and the test app: each check's value, limit
//! and status, the stage, traffic, bake left and a waiting GO appear after
//! an evaluation, follow the canary when it breaks, and leave with the check
//! or the rollout a reload removes.

mod common;

use std::time::Duration;

use common::sena::{metric_value, Sena};
use common::{rules, shared, ConfigBuilder, RolloutSpec};

const DEADLINE: Duration = Duration::from_secs(45);

/// A check whose query answers NaN (0/0): the daemon sees a series but no
/// number, so the check is `no_data` and its value NaN.
const BLIND: &str = "  - name: blind\n    query: vector(0) / 0\n    below: 1\n";

/// `sena.yaml` without the rollout `name`'s entry (from its `  - name:`
/// line up to the next rollout or top-level key).
fn without_rollout(yaml: &str, name: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in yaml.lines() {
        if line.starts_with("  - name: ") {
            skipping = line == format!("  - name: {name}");
        } else if !line.starts_with("    ") {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn check_and_rollout_gauges_follow_evaluations_and_leave_with_a_reload() {
    let app = shared().app_ready("m-gauges");
    let ready = "m-ready";
    let cfg = common::people::with_people(ConfigBuilder::new())
        .rollout(
            app.name(),
            &rules::file(&[rules::error_rate("0s"), BLIND.to_string()]),
        )
        .rollout_with(RolloutSpec::new(ready, common::people::PASSING).stages(&[
            ("10%", Some("1s")),
            ("50%", Some("1h")),
            ("100%", None),
        ]))
        .write();
    let sena = Sena::start(cfg.path());
    let name = app.name();
    let series =
        |metric: &str, labels: &[(&str, &str)]| metric_value(&sena.metrics(), metric, labels);

    // A healthy canary: every gauge of both rollouts is there.
    common::wait_until(
        "the ready rollout to wait for its approver",
        DEADLINE,
        || (series("sena_approval_pending", &[("rollout", ready)]) == Some(1.0)).then_some(()),
        || sena.metrics(),
    );
    let error_rate = [("rollout", name), ("check", "error_rate")];
    let blind = [("rollout", name), ("check", "blind")];
    common::wait_until(
        "error_rate passing",
        DEADLINE,
        || (series("sena_check_status", &error_rate) == Some(0.0)).then_some(()),
        || sena.metrics(),
    );
    let text = sena.metrics();
    let value = |metric: &str, labels: &[(&str, &str)]| {
        metric_value(&text, metric, labels)
            .unwrap_or_else(|| panic!("no {metric}{labels:?} in\n{text}"))
    };
    assert_eq!(value("sena_check_value", &error_rate), 0.0);
    assert_eq!(value("sena_check_threshold", &error_rate), 0.001);
    assert!(value("sena_check_value", &blind).is_nan(), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("sena_check_value{")
            && l.contains("check=\"blind\"")
            && l.ends_with(" NaN")),
        "NaN written as Prometheus writes it:\n{text}"
    );
    assert_eq!(value("sena_check_status", &blind), 3.0, "no_data");
    let r = [("rollout", name)];
    assert_eq!(value("sena_rollout_stage", &r), 0.0);
    assert_eq!(value("sena_rollout_traffic_ratio", &r), 0.05);
    let bake_left = value("sena_rollout_bake_remaining_seconds", &r);
    assert!(bake_left > 3000.0 && bake_left <= 3600.0, "{text}");
    assert_eq!(value("sena_approval_pending", &r), 0.0);
    let ready_r = [("rollout", ready)];
    assert_eq!(value("sena_rollout_traffic_ratio", &ready_r), 0.1);
    assert_eq!(value("sena_rollout_bake_remaining_seconds", &ready_r), 0.0);
    assert_eq!(
        value(
            "sena_check_status",
            &[("rollout", ready), ("check", "errors")]
        ),
        0.0
    );

    // The approver's GO: the next evaluation shows the new stage, its
    // traffic and bake, and nobody is waited for any more.
    let url = format!("{}/api/v1/rollouts/{ready}/decisions", sena.base_url());
    let auth = format!("Bearer {}", common::people::LUBIT);
    let go = common::http::request(
        "POST",
        &url,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        br#"{"decision":"go","stage":0}"#,
    )
    .expect("POST a GO");
    assert_eq!(go.status, 200, "GO: {}", go.body);
    common::wait_until(
        "the ready rollout at stage 1",
        DEADLINE,
        || (series("sena_rollout_stage", &ready_r) == Some(1.0)).then_some(()),
        || sena.metrics(),
    );
    common::wait_until(
        "the approval no longer pending",
        DEADLINE,
        || (series("sena_approval_pending", &ready_r) == Some(0.0)).then_some(()),
        || sena.metrics(),
    );
    let text = sena.metrics();
    assert_eq!(
        metric_value(&text, "sena_rollout_traffic_ratio", &ready_r),
        Some(0.5)
    );
    let bake_left = metric_value(&text, "sena_rollout_bake_remaining_seconds", &ready_r);
    assert!(bake_left.is_some_and(|s| s > 3000.0), "{text}");

    // The canary breaks: its value and status follow.
    app.set_error_ratio(0.02);
    common::wait_until(
        "error_rate failing",
        DEADLINE,
        || (series("sena_check_status", &error_rate) == Some(2.0)).then_some(()),
        || sena.metrics(),
    );
    let broken = series("sena_check_value", &error_rate).unwrap();
    assert!(broken > 0.001 && broken < 0.1, "{}", sena.metrics());

    // A reload drops the blind check and the whole ready rollout: their
    // series leave /metrics, the rest stays.
    cfg.write_rules(name, &rules::file(&[rules::error_rate("0s")]));
    std::fs::write(cfg.path(), without_rollout(&cfg.yaml(), ready)).unwrap();
    sena.sighup();
    common::wait_until(
        "the removed check and rollout to leave /metrics",
        DEADLINE,
        || {
            let text = sena.metrics();
            (!text.contains("check=\"blind\"") && !text.contains(&format!("\"{ready}\"")))
                .then_some(())
        },
        || sena.metrics(),
    );
    let text = sena.metrics();
    assert!(
        metric_value(&text, "sena_check_value", &error_rate).is_some(),
        "{text}"
    );
    assert!(
        metric_value(&text, "sena_rollout_stage", &[("rollout", name)]).is_some(),
        "{text}"
    );
}

#[test]
fn without_rollout_cuts_one_entry() {
    let yaml = "state:\n  path: x\nrollouts:\n  - name: a\n    approver: l\n  - name: b\n    approver: l\n    stages:\n      - { traffic: 5% }\nroster: r.yaml\n";
    assert_eq!(
        without_rollout(yaml, "b"),
        "state:\n  path: x\nrollouts:\n  - name: a\n    approver: l\nroster: r.yaml\n"
    );
}
