//! Gates for the traffic movers against the real binary (issue 9):
//! Flagger's exact webhook payload, the Argo Rollouts web metric JSON and
//! `sena gate` exit codes, before and after the approver's GO, on a
//! failing rollout, and without or with a wrong token. Polls with
//! deadlines; nothing sleeps a fixed time.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::config::RolloutSpec;
use common::http;
use common::people::{self, CI, FAILING, LUBIT, PASSING};
use common::sena::{binary, Sena};
use common::{ConfigBuilder, TestConfig};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);

fn config() -> TestConfig {
    let spec = |name: &str, rules: &str| {
        RolloutSpec::new(name, rules).stages(&[
            ("5%", Some("2s")),
            ("25%", Some("1h")),
            ("100%", None),
        ])
    };
    people::with_people(ConfigBuilder::new())
        .file("tokens/wrong", "not-a-configured-token-0123456789\n")
        .rollout_with(spec("gate-ok", PASSING))
        .rollout_with(spec("gate-bad", FAILING))
        .write()
}

fn call(sena: &Sena, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> http::Response {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let url = format!("{}{path}", sena.base_url());
    http::request(method, &url, &headers, body).expect("HTTP call")
}

/// Flagger's payload, as its webhook sends it.
fn flagger_payload(name: &str) -> Vec<u8> {
    serde_json::json!({
        "name": name,
        "namespace": "shop",
        "phase": "Progressing",
        "checksum": "85d557f47b",
        "metadata": { "type": "confirm-traffic-increase" }
    })
    .to_string()
    .into_bytes()
}

fn sena_gate(cfg: &TestConfig, rollout: &str, token_file: &str) -> (i32, String) {
    run_sena_gate(cfg, &[rollout], token_file)
}

/// `sena gate ROLLOUT --stage N` with the read-only CI token.
fn sena_gate_stage(cfg: &TestConfig, rollout: &str, stage: usize) -> (i32, String) {
    run_sena_gate(cfg, &[rollout, "--stage", &stage.to_string()], "tokens/ci")
}

fn run_sena_gate(cfg: &TestConfig, args: &[&str], token_file: &str) -> (i32, String) {
    let out = Command::new(binary())
        .arg("gate")
        .args(args)
        .arg("--config")
        .arg(cfg.path())
        .arg("--token-file")
        .arg(cfg.dir.path().join(token_file))
        .env_remove("SENA_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run sena gate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Polls `f` until it returns `Some`, or fails at the deadline.
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

#[test]
fn gates_open_only_after_the_go_and_the_rollback_hook_fires_only_on_rollback() {
    let cfg = config();
    let sena = Sena::start(cfg.path());
    sena.wait_for_rollout("gate-ok", "to be ready to expand", DEADLINE, |r| {
        !r["ready_to_expand"].is_null()
    });

    // Gates need a read token when tokens are configured.
    assert_eq!(
        call(&sena, "GET", "/api/v1/gates/gate-ok", None, b"").status,
        401
    );
    let no_token = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger",
        None,
        &flagger_payload("gate-ok"),
    );
    assert_eq!(no_token.status, 401, "{}", no_token.body);

    // Before the GO: continue, not approved; Flagger gets 403, CI exit 3.
    let view = call(&sena, "GET", "/api/v1/gates/gate-ok", Some(CI), b"").json();
    let keys: Vec<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6, "{view}");
    for key in [
        "rollout", "stage", "traffic", "verdict", "approved", "reason",
    ] {
        assert!(view.get(key).is_some(), "{key} missing from {view}");
    }
    assert_eq!(view["rollout"], "gate-ok");
    assert_eq!(
        (view["stage"].as_u64(), view["traffic"].as_str()),
        (Some(0), Some("5%"))
    );
    assert_eq!(
        (view["verdict"].as_str(), view["approved"].as_bool()),
        (Some("continue"), Some(false))
    );
    let before = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger",
        Some(CI),
        &flagger_payload("gate-ok"),
    );
    assert_eq!(before.status, 403, "{}", before.body);
    assert!(
        before.json()["error"]
            .as_str()
            .unwrap()
            .contains("waiting for the approver"),
        "{}",
        before.body
    );
    let (code, text) = sena_gate(&cfg, "gate-ok", "tokens/ci");
    assert_eq!(code, 3, "{text}");
    let (code, text) = sena_gate(&cfg, "gate-ok", "tokens/wrong");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("401"), "{text}");

    // The healthy rollout never passes the rollback hook.
    let r = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger/rollback",
        Some(CI),
        &flagger_payload("gate-ok"),
    );
    assert_eq!(r.status, 403, "{}", r.body);

    // Unknown canary: 404 JSON; hostile payloads: 400 JSON.
    let unknown = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger",
        Some(CI),
        &flagger_payload("nope"),
    );
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(unknown.json()["error"].is_string());
    let huge = format!(r#"{{"name": "{}", "namespace": 1}}"#, "x".repeat(200_000));
    for bad in [
        &b"\xff\xfe{"[..],
        b"",
        br#"{"name": 5, "namespace": "shop"}"#,
        br#"[]"#,
        huge.as_bytes(),
    ] {
        let r = call(&sena, "POST", "/api/v1/gates/flagger", Some(CI), bad);
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.json()["error"].is_string(), "{}", r.body);
    }
    let unknown = call(&sena, "GET", "/api/v1/gates/nope", Some(CI), b"");
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].is_string());

    // A step that names its stage: into stage 0 needs no GO, into stage 1
    // waits for it; a stage that is not a number is a JSON 400.
    let into_0 = call(&sena, "GET", "/api/v1/gates/gate-ok?stage=0", Some(CI), b"").json();
    assert_eq!(
        (into_0["verdict"].as_str(), into_0["approved"].as_bool()),
        (Some("continue"), Some(true)),
        "{into_0}"
    );
    let into_1 = call(&sena, "GET", "/api/v1/gates/gate-ok?stage=1", Some(CI), b"").json();
    assert_eq!(into_1["approved"], false, "{into_1}");
    let bad = call(
        &sena,
        "GET",
        "/api/v1/gates/gate-ok?stage=-1",
        Some(CI),
        b"",
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.json()["error"].is_string(), "{}", bad.body);
    let (code, text) = sena_gate_stage(&cfg, "gate-ok", 0);
    assert_eq!(code, 0, "{text}");
    let (code, text) = sena_gate_stage(&cfg, "gate-ok", 1);
    assert_eq!(code, 3, "{text}");

    // The GO moves it to stage 1; once stage 1 is evaluated, the gates open.
    let go = call(
        &sena,
        "POST",
        "/api/v1/rollouts/gate-ok/decisions",
        Some(LUBIT),
        br#"{"decision": "go", "stage": 0}"#,
    );
    assert_eq!(go.status, 200, "{}", go.body);
    let view: Value = until("the gate to open after the GO", || {
        let v = call(&sena, "GET", "/api/v1/gates/gate-ok", Some(CI), b"").json();
        (v["verdict"] == "continue").then_some(v)
    });
    assert_eq!(view["approved"], true, "{view}");
    assert_eq!(
        (view["stage"].as_u64(), view["traffic"].as_str()),
        (Some(1), Some("25%"))
    );
    let after = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger",
        Some(CI),
        &flagger_payload("gate-ok"),
    );
    assert_eq!(after.status, 200, "{}", after.body);
    let (code, text) = sena_gate(&cfg, "gate-ok", "tokens/ci");
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("GO: gate-ok stage 1 (25%)"), "{text}");
    // One GO lets one step through: the step into stage 1 passes, the
    // next one (into stage 2) waits for the next GO.
    let (code, text) = sena_gate_stage(&cfg, "gate-ok", 1);
    assert_eq!(code, 0, "{text}");
    let (code, text) = sena_gate_stage(&cfg, "gate-ok", 2);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("waiting for the approver's GO into stage 2"),
        "{text}"
    );

    // A failing rollout: the rollback hook passes, confirm does not, CI exit 4.
    sena.wait_for_verdict("gate-bad", "rollback", DEADLINE);
    let r = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger/rollback",
        Some(CI),
        &flagger_payload("gate-bad"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger",
        Some(CI),
        &flagger_payload("gate-bad"),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let view = call(&sena, "GET", "/api/v1/gates/gate-bad", Some(CI), b"").json();
    assert_eq!(
        (view["verdict"].as_str(), view["approved"].as_bool()),
        (Some("rollback"), Some(false))
    );
    let (code, text) = sena_gate(&cfg, "gate-bad", "tokens/ci");
    assert_eq!(code, 4, "{text}");
}

/// Flagger's webhooks cannot send a header: `server.public_gates` lets the
/// gates answer without a token while everything that changes something
/// still needs one. A reload turns it off again at once.
#[test]
fn public_gates_answer_flagger_without_a_token_and_nothing_else_opens() {
    let cfg = people::with_people(ConfigBuilder::new())
        .server_key("public_gates: true")
        .file("tokens/wrong", "not-a-configured-token-0123456789\n")
        .rollout_with(RolloutSpec::new("gate-public", FAILING))
        .rollout_with(RolloutSpec::new("flagger", PASSING))
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict("gate-public", "rollback", DEADLINE);

    let hook = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger/rollback",
        None,
        &flagger_payload("gate-public"),
    );
    assert_eq!(hook.status, 200, "{}", hook.body);
    let confirm = call(
        &sena,
        "POST",
        "/api/v1/gates/flagger",
        None,
        &flagger_payload("gate-public"),
    );
    assert_eq!(confirm.status, 403, "{}", confirm.body);
    let view = call(&sena, "GET", "/api/v1/gates/gate-public", None, b"");
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.json()["verdict"], "rollback", "{}", view.body);
    // A rollout named like Flagger's path is still read at its own.
    let named = until("the rollout named flagger to be evaluated", || {
        let r = call(&sena, "GET", "/api/v1/gates/flagger", None, b"");
        (r.status == 200 && r.json()["verdict"] == "continue").then_some(r)
    });
    assert_eq!(named.json()["rollout"], "flagger", "{}", named.body);

    // A token, if sent, must still be valid; decisions and acks still need one.
    let wrong = call(
        &sena,
        "GET",
        "/api/v1/gates/gate-public",
        Some("not-a-configured-token-0123456789"),
        b"",
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let decide = call(
        &sena,
        "POST",
        "/api/v1/rollouts/gate-public/decisions",
        None,
        br#"{"decision": "no_go", "stage": 0, "comment": "x"}"#,
    );
    assert_eq!(decide.status, 401, "{}", decide.body);
    // Public gates open the gates, not the other reads (issue 16).
    for read in ["/api/v1/status", "/api/v1/decisions"] {
        assert_eq!(call(&sena, "GET", read, None, b"").status, 401, "{read}");
    }

    // Turned off by a reload: the same call now needs a read token.
    let yaml = std::fs::read_to_string(cfg.path()).unwrap();
    assert!(yaml.contains("public_gates: true"), "{yaml}");
    std::fs::write(
        cfg.path(),
        yaml.replace("public_gates: true", "public_gates: false"),
    )
    .unwrap();
    sena.sighup();
    until("the reload to close the gates", || {
        let r = call(&sena, "GET", "/api/v1/gates/gate-public", None, b"");
        (r.status == 401).then_some(())
    });
    let with_token = call(&sena, "GET", "/api/v1/gates/gate-public", Some(CI), b"");
    assert_eq!(with_token.status, 200, "{}", with_token.body);
}
