//! `sena dataset` end to end: the real daemon with tokens and a 2 s bake
//! takes a refused and an accepted GO through its API, then the real
//! binary exports them beside the running daemon (no lock taken). A GO
//! whose stage later breaks (the test app's canary starts failing) shows
//! outcome `rollback` and how long after the GO it came.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::config::RolloutSpec;
use common::http;
use common::people::{self, LUBIT, MIRA, PASSING};
use common::sena::{binary, now_ms, Sena};
use common::{rules, shared, ConfigBuilder};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);

fn decide(sena: &Sena, token: &str, body: &[u8]) -> u16 {
    decide_on(sena, "ds-go", token, body)
}

fn decide_on(sena: &Sena, rollout: &str, token: &str, body: &[u8]) -> u16 {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let url = format!("{}/api/v1/rollouts/{rollout}/decisions", sena.base_url());
    http::request("POST", &url, &headers, body)
        .expect("POST decisions")
        .status
}

#[test]
fn dataset_exports_decisions_beside_a_running_daemon() {
    let cfg = people::with_people(ConfigBuilder::new())
        .rollout_with(
            RolloutSpec::new("ds-go", PASSING).stages(&[("5%", Some("2s")), ("100%", None)]),
        )
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_rollout("ds-go", "to be ready to expand", DEADLINE, |r| {
        !r["ready_to_expand"].is_null()
    });
    let go = br#"{"decision": "go", "stage": 0, "comment": "=ok, \"ship\""}"#;
    assert_eq!(decide(&sena, MIRA, go), 403);
    assert_eq!(decide(&sena, LUBIT, go), 200);

    let run = |args: &[&str]| {
        Command::new(binary())
            .arg("dataset")
            .args(args)
            .arg("--config")
            .arg(cfg.path())
            .stdin(Stdio::null())
            .output()
            .expect("run sena dataset")
    };
    let out = run(&["--format", "jsonl"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[0]["by"].as_str(), rows[0]["result"].as_str()),
        (Some("mira"), Some("refused"))
    );
    assert_eq!(rows[0]["refused"], "not_allowed");
    assert_eq!(
        (rows[1]["by"].as_str(), rows[1]["result"].as_str()),
        (Some("lubit"), Some("accepted"))
    );
    assert_eq!(rows[1]["outcome"], "open");
    assert_eq!(rows[1]["to_traffic"], "100%");
    assert_eq!(rows[1]["checks"]["errors"]["status"], "passing");

    let file = cfg.dir.path().join("decisions.csv");
    let out = run(&["--out", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&file).unwrap();
    assert_eq!(csv.matches("\r\n").count(), 3, "{csv}");
    assert!(csv.contains(",\"'=ok, \"\"ship\"\"\","), "{csv}");
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with("check.errors.value,check.errors.status,check.errors.threshold"));
    // The daemon kept running throughout.
    assert!(sena.exit_status().is_none());
}

/// `sena dataset --format jsonl` at `config`: its rows.
fn jsonl_rows(config: &std::path::Path) -> Vec<Value> {
    let out = Command::new(binary())
        .args(["dataset", "--format", "jsonl", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .expect("run sena dataset");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ms(v: &Value) -> i64 {
    let t: jiff::Timestamp = v.as_str().expect("a timestamp").parse().unwrap();
    t.as_millisecond()
}

/// GO at stage 0 through the API; the canary then breaks, the daemon
/// reaches `rollback` on the stage the GO opened, and the dataset row of
/// that GO says so: outcome `rollback`, when, and how long after the GO.
#[test]
fn a_go_whose_stage_later_rolls_back_has_outcome_rollback() {
    let name = "ds-rollback";
    let app = shared().app_ready(name);
    let rules = rules::file(&[rules::error_rate("1s")]);
    let cfg = people::with_people(ConfigBuilder::new())
        .rollout_with(RolloutSpec::new(name, &rules).stages(&[
            ("5%", Some("2s")),
            ("10%", Some("1h")),
            ("100%", None),
        ]))
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_rollout(name, "to be ready to expand", DEADLINE, |r| {
        !r["ready_to_expand"].is_null()
    });
    let go = br#"{"decision": "go", "stage": 0}"#;
    assert_eq!(decide_on(&sena, name, LUBIT, go), 200);
    sena.wait_for_rollout(name, "to be at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });
    // Before the break: the GO's stage is still open.
    let before = jsonl_rows(cfg.path());
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["outcome"], "open", "{before:?}");

    let broke_ms = now_ms();
    app.set_error_ratio(0.3);
    sena.wait_for_verdict(name, "rollback", DEADLINE);

    let rows = jsonl_rows(cfg.path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(
        (
            row["decision"].as_str(),
            row["result"].as_str(),
            row["by"].as_str(),
            row["to_stage"].as_i64()
        ),
        (Some("GO"), Some("accepted"), Some("lubit"), Some(1)),
        "{row:#}"
    );
    assert_eq!(row["outcome"], "rollback", "{row:#}");
    assert!(row["next_go_id"].is_null(), "{row:#}");
    let (at, outcome_at) = (ms(&row["at"]), ms(&row["outcome_at"]));
    // The rollback came after the canary broke, and the row's delay is
    // the gap between the GO and that rollback.
    assert!(outcome_at >= broke_ms - 1000, "{row:#}");
    let after = row["outcome_after_seconds"].as_i64().expect("seconds");
    assert!(
        (after * 1000 - (outcome_at - at)).abs() <= 1000,
        "{after} s vs {} ms: {row:#}",
        outcome_at - at
    );
    assert!(after >= (broke_ms - at) / 1000 - 1, "{row:#}");
    app.set_error_ratio(0.0);
}
