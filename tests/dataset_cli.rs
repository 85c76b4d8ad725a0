//! `sena dataset` end to end: the real daemon with tokens and a 2 s bake
//! takes a refused and an accepted GO through its API, then the real
//! binary exports them beside the running daemon (no lock taken).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::config::RolloutSpec;
use common::http;
use common::people::{self, LUBIT, MIRA, PASSING};
use common::sena::{binary, Sena};
use common::ConfigBuilder;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);

fn decide(sena: &Sena, token: &str, body: &[u8]) -> u16 {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let url = format!("{}/api/v1/rollouts/ds-go/decisions", sena.base_url());
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
