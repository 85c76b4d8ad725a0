//! GO / NO-GO end to end (issue 9): the real binary, the shared Prometheus,
//! tokens for an approver, a deputy, a bystander and a read-only machine,
//! and a 2 s bake so a stage becomes ready quickly. Each step polls
//! `/api/v1/status` with a deadline; nothing sleeps a fixed time.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::config::RolloutSpec;
use common::http;
use common::people::{self, CI, LUBIT, MAESTRO, MIRA, PASSING};
use common::sena::{binary, Sena};
use common::{ConfigBuilder, TestConfig};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);

const HOLDING: &str = "checks:
  - name: errors
    query: vector(1)
    below: 0.1
    on_fail: hold
";

fn rollout(name: &str, rules: &str) -> RolloutSpec {
    RolloutSpec::new(name, rules)
        .deputies(&["maestro"])
        .stages(&[("5%", Some("2s")), ("10%", Some("1h")), ("100%", None)])
}

fn config() -> TestConfig {
    people::with_people(ConfigBuilder::new())
        .rollout_with(rollout("dec-go", PASSING))
        .rollout_with(rollout("dec-hold", HOLDING))
        .rollout_with(rollout("dec-race", PASSING))
        .rollout_with(rollout("dec-cli", PASSING))
        .write()
}

fn decide(sena: &Sena, rollout: &str, token: Option<&str>, body: &[u8]) -> http::Response {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let url = format!("{}/api/v1/rollouts/{rollout}/decisions", sena.base_url());
    http::request("POST", &url, &headers, body).expect("POST decisions")
}

fn records(sena: &Sena, rollout: &str) -> Vec<Value> {
    let (status, body) = sena.get(&format!("/api/v1/rollouts/{rollout}/decisions"));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["decisions"].as_array().unwrap().clone()
}

fn ready(sena: &Sena, rollout: &str) -> Value {
    sena.wait_for_rollout(rollout, "to be ready to expand", DEADLINE, |r| {
        !r["ready_to_expand"].is_null()
    })
}

fn assert_error(r: &http::Response, status: u16, contains: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains(contains),
        "error {error:?} lacks {contains:?}"
    );
}

#[test]
fn go_no_go_through_the_api_with_refusals_overrides_and_evidence() {
    let cfg = config();
    let sena = Sena::start(cfg.path());
    let before = ready(&sena, "dec-go");
    let started_at = before["stage"]["started_at"].clone();

    // Who may decide: not a bystander, not a read-only machine, not anonymous.
    let go0 = br#"{"decision": "go", "stage": 0}"#;
    assert_error(
        &decide(&sena, "dec-go", Some(MIRA), go0),
        403,
        "only lubit or maestro can approve dec-go",
    );
    assert_eq!(decide(&sena, "dec-go", Some(CI), go0).status, 403);
    assert_eq!(decide(&sena, "dec-go", None, go0).status, 401);
    assert_eq!(decide(&sena, "nope", Some(LUBIT), go0).status, 404);

    // Hostile bodies: a JSON 400, never a panic or a decision.
    let huge = format!(
        r#"{{"decision": "no_go", "stage": 0, "comment": "{}"}}"#,
        "x".repeat(100_000)
    );
    for bad in [
        &br#"{"decision": "go", "stage": NaN}"#[..],
        br#"{"decision": "go", "stage": -1}"#,
        br#"{"decision": "maybe", "stage": 0}"#,
        br#"{"decision": "go", "stage": "0"}"#,
        b"\xff\xfe{",
        b"",
        huge.as_bytes(),
    ] {
        let r = decide(&sena, "dec-go", Some(LUBIT), bad);
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.json()["error"].is_string(), "{}", r.body);
    }
    assert_error(
        &decide(
            &sena,
            "dec-go",
            Some(LUBIT),
            br#"{"decision": "no_go", "stage": 0}"#,
        ),
        400,
        "needs a comment",
    );

    // NO-GO holds with the reason, and survives in the status.
    let no = decide(
        &sena,
        "dec-go",
        Some(LUBIT),
        br#"{"decision": "no_go", "stage": 0, "comment": "wait for the EU peak"}"#,
    );
    assert_eq!(no.status, 200, "{}", no.body);
    let held = sena.wait_for_verdict("dec-go", "hold", DEADLINE);
    assert_eq!(held["reason"], "NO-GO by lubit: wait for the EU peak");
    assert!(held["ready_to_expand"].is_null());
    // A deliberate hold over clean checks pages nobody: the status shows
    // the hold only after its evaluation committed, incident included.
    let (_, incidents) = sena.get("/api/v1/incidents");
    assert!(!incidents.contains("dec-go"), "{incidents}");

    // A later GO (by the deputy) releases it: stage 1, the bake restarts.
    let go = decide(&sena, "dec-go", Some(MAESTRO), go0);
    assert_eq!(go.status, 200, "{}", go.body);
    let record = go.json()["decision"].clone();
    assert_eq!(
        (record["from_stage"].as_i64(), record["to_stage"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(record["to_traffic"], "10%");
    assert_eq!(record["by"], "maestro");
    let after = sena.wait_for_rollout("dec-go", "at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1 && r["verdict"] == "continue"
    });
    assert_ne!(
        after["stage"]["started_at"], started_at,
        "the bake restarted"
    );

    // The same GO again decides once; another person's GO on stage 0 is stale.
    let again = decide(&sena, "dec-go", Some(MAESTRO), go0);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["duplicate"], true);
    assert_eq!(again.json()["decision"]["id"], record["id"]);
    assert_error(
        &decide(&sena, "dec-go", Some(LUBIT), go0),
        409,
        "not stage 0",
    );
    assert_eq!(sena.rollout("dec-go")["stage"]["index"], 1);

    // GO while Sena says hold: refused with its reason; an override with a
    // comment is accepted and recorded as against the advice.
    sena.wait_for_verdict("dec-hold", "hold", DEADLINE);
    assert_error(
        &decide(&sena, "dec-hold", Some(LUBIT), go0),
        409,
        "does not advise",
    );
    assert_error(
        &decide(
            &sena,
            "dec-hold",
            Some(LUBIT),
            br#"{"decision": "go", "stage": 0, "override": true}"#,
        ),
        400,
        "needs a comment",
    );
    let forced = decide(
        &sena,
        "dec-hold",
        Some(LUBIT),
        br#"{"decision": "go", "stage": 0, "override": true, "comment": "probe known broken"}"#,
    );
    assert_eq!(forced.status, 200, "{}", forced.body);
    let forced = forced.json()["decision"].clone();
    assert_eq!(forced["against_advice"], true);
    assert_eq!(forced["override"], true);
    assert_eq!(forced["advice"]["verdict"], "hold");
    sena.wait_for_rollout("dec-hold", "at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });

    // The record: every decision and refusal, with the evidence.
    let all = records(&sena, "dec-go");
    let outcomes: Vec<(String, String, String)> = all
        .iter()
        .map(|r| {
            (
                r["by"].as_str().unwrap().to_string(),
                r["decision"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let o = |by: &str, d: &str, out: &str| (by.to_string(), d.to_string(), out.to_string());
    assert!(
        outcomes.contains(&o("mira", "go", "refused")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&o("lubit", "no_go", "accepted")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&o("maestro", "go", "accepted")),
        "{outcomes:?}"
    );
    let accepted_gos = all
        .iter()
        .filter(|r| r["decision"] == "go" && r["outcome"] == "accepted")
        .count();
    assert_eq!(accepted_gos, 1, "the double GO decided once: {all:#?}");
    let go_record = all.iter().find(|r| r["id"] == record["id"]).unwrap();
    let advice = &go_record["advice"];
    assert_eq!(advice["verdict"], "continue");
    assert_eq!(advice["ready"], true);
    assert_eq!(advice["checks"][0]["name"], "errors");
    assert_eq!(advice["checks"][0]["status"], "passing");
    assert!(advice["checks"][0]["threshold"].is_object(), "{advice}");
    assert!(
        advice["bake_elapsed_seconds"].as_u64().unwrap() >= 2,
        "{advice}"
    );
    assert_eq!(advice["rules_hash"].as_str().unwrap().len(), 64);
    assert_eq!(go_record["via"], "api");
    let refusal = all.iter().find(|r| r["by"] == "mira").unwrap();
    assert_eq!(refusal["refused"], "not_allowed");
}

#[test]
fn two_gos_at_once_decide_once() {
    let cfg = config();
    let sena = Sena::start(cfg.path());
    ready(&sena, "dec-race");
    let go0 = br#"{"decision": "go", "stage": 0}"#;
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let a = s.spawn(|| decide(&sena, "dec-race", Some(LUBIT), go0).status);
        let b = s.spawn(|| decide(&sena, "dec-race", Some(MAESTRO), go0).status);
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, vec![200, 409], "{statuses:?}");
    let accepted = records(&sena, "dec-race")
        .iter()
        .filter(|r| r["outcome"] == "accepted")
        .count();
    assert_eq!(accepted, 1);
    sena.wait_for_rollout("dec-race", "at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });
}

fn sena_verb(cfg: &TestConfig, args: &[&str], token: Option<&str>) -> Output {
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .arg("--config")
        .arg(cfg.path())
        .env_remove("SENA_TOKEN")
        .stdin(Stdio::null());
    if let Some(file) = token {
        cmd.arg("--token-file").arg(cfg.dir.path().join(file));
    }
    cmd.output().expect("run sena")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn sena_approve_reject_and_decisions_from_the_terminal() {
    let cfg = config();
    let sena = Sena::start(cfg.path());
    ready(&sena, "dec-cli");

    let no_token = sena_verb(&cfg, &["approve", "dec-cli", "--stage", "0"], None);
    assert_eq!(no_token.status.code(), Some(1), "{}", text(&no_token));
    assert!(text(&no_token).contains("401"), "{}", text(&no_token));

    let bystander = sena_verb(
        &cfg,
        &["approve", "dec-cli", "--stage", "0"],
        Some("tokens/mira"),
    );
    assert_eq!(bystander.status.code(), Some(1));
    assert!(
        text(&bystander).contains("only lubit or maestro can approve dec-cli"),
        "{}",
        text(&bystander)
    );

    let reject = sena_verb(
        &cfg,
        &[
            "reject",
            "dec-cli",
            "--stage",
            "0",
            "--comment",
            "not on a Friday",
        ],
        Some("tokens/lubit"),
    );
    assert_eq!(reject.status.code(), Some(0), "{}", text(&reject));
    let held = sena.wait_for_verdict("dec-cli", "hold", DEADLINE);
    assert_eq!(held["reason"], "NO-GO by lubit: not on a Friday");

    let approve = sena_verb(
        &cfg,
        &[
            "approve",
            "dec-cli",
            "--stage",
            "0",
            "--comment",
            "Monday now",
        ],
        Some("tokens/maestro"),
    );
    assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
    assert!(
        text(&approve).contains("go by maestro on dec-cli stage 0 (5%) → stage 1 (10%)"),
        "{}",
        text(&approve)
    );
    sena.wait_for_rollout("dec-cli", "at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });

    let listed = sena_verb(
        &cfg,
        &["decisions", "--rollout", "dec-cli", "--since", "30d"],
        Some("tokens/lubit"),
    );
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    let lines: Vec<Value> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let kinds: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|r| {
            (
                r["by"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["via"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("mira", "refused", "cli"),
            ("lubit", "accepted", "cli"),
            ("maestro", "accepted", "cli")
        ]
    );
    assert_eq!(lines[2]["comment"], "Monday now");
    assert_eq!(lines[2]["advice"]["checks"][0]["name"], "errors");
}
