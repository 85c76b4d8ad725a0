//! Who may change what, end to end (issue 9): with `server.tokens` an ack
//! or a reload needs a token whose identity holds the capability, and the
//! ack is recorded under the token's person whatever the body says; without
//! tokens only callers on the daemon's own host may change anything. Real
//! binary, shared Prometheus, `sena ack` as a user would run it.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::http;
use common::sena::{binary, Sena};
use common::{people, wait_until, ConfigBuilder, TestConfig};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);

const LUBIT: &str = "lubit-3f9c2a7d1e8b4c6a9f0e2d4b6c8a1e3f";
const SENA: &str = "sena-8b1d4f7a2c9e6b3d0a5f8c1e4b7d2a9c";
/// The harness reads as this read-only machine (`common::sena::read`).
const CI: &str = people::CI;
const WRONG: &str = "mallory-0000000000000000000000000000";

/// Always breaching: an incident opens at the first evaluation.
const FAILING_RULES: &str = "checks:
  - name: constant
    query: vector(1)
    below: 0.1
    on_fail: rollback
";

fn with_tokens(rollouts: &[&str]) -> TestConfig {
    let mut builder = ConfigBuilder::new()
        .roster(people::ROSTER)
        .server_key("tokens:")
        .server_key("  - { person: lubit, token_file: tokens/lubit }")
        .server_key("  - { person: sena, token_file: tokens/sena }")
        .server_key("  - { name: deploy-pipeline, token_file: tokens/ci, can: [read] }")
        .file("tokens/lubit", &format!("{LUBIT}\n"))
        .file("tokens/sena", &format!("{SENA}\n"))
        .file("tokens/ci", &format!("{CI}\n"))
        .file("tokens/wrong", &format!("{WRONG}\n"));
    for name in rollouts {
        builder = builder.rollout(name, FAILING_RULES);
    }
    builder.write()
}

/// `method path` with an optional bearer token and a JSON body.
fn call(base: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> http::Response {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = Vec::new();
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    http::request(method, &format!("{base}{path}"), &headers, body.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// The open incident of `rollout`, once it exists.
fn incident_of(sena: &Sena, rollout: &str) -> Value {
    wait_until(
        &format!("an incident for {rollout}"),
        DEADLINE,
        || {
            // A read needs `read` while tokens are configured; the
            // read-only machine token holds it, and without tokens it is
            // ignored.
            let r = call(&sena.base_url(), "GET", "/api/v1/incidents", Some(CI), "");
            let list: Value = serde_json::from_str(&r.body).ok()?;
            (r.status == 200).then_some(())?;
            list["incidents"]
                .as_array()?
                .iter()
                .find(|i| i["rollout"] == rollout)
                .cloned()
        },
        || sena.logs_tail(),
    )
}

fn acked_by(sena: &Sena, rollout: &str) -> Value {
    incident_of(sena, rollout)["acked_by"].clone()
}

fn sena_ack(
    cfg: &TestConfig,
    id: i64,
    token_file: Option<&str>,
    env_token: Option<&str>,
) -> Output {
    let mut cmd = Command::new(binary());
    cmd.args(["ack", &id.to_string(), "--config"])
        .arg(cfg.path())
        .env_remove("SENA_TOKEN")
        .stdin(Stdio::null());
    if let Some(file) = token_file {
        cmd.arg("--token-file").arg(cfg.dir.path().join(file));
    }
    if let Some(token) = env_token {
        cmd.env("SENA_TOKEN", token);
    }
    cmd.output().expect("run sena ack")
}

fn assert_401(r: &http::Response, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    let challenge = r.header("WWW-Authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer"),
        "{what}: challenge {challenge:?}"
    );
    assert!(r.json()["error"].is_string(), "{what}: {}", r.body);
}

#[test]
fn with_tokens_only_a_capable_token_changes_anything_and_names_who() {
    let cfg = with_tokens(&["auth-api", "auth-cli"]);
    let sena = Sena::start(cfg.path());
    let base = sena.base_url();
    let api_id = incident_of(&sena, "auth-api")["id"].as_i64().unwrap();
    let cli_id = incident_of(&sena, "auth-cli")["id"].as_i64().unwrap();
    let ack = format!("/api/v1/incidents/{api_id}/ack");

    // No token, a wrong one, a malformed header: 401, nothing acknowledged.
    assert_401(
        &call(&base, "POST", &ack, None, r#"{"by":"lubit"}"#),
        "no token",
    );
    assert_401(&call(&base, "POST", &ack, Some(WRONG), ""), "wrong token");
    let basic = http::request(
        "POST",
        &format!("{base}{ack}"),
        &[("Authorization", "Basic bHViaXQ6eA==")],
        b"",
    )
    .unwrap();
    assert_401(&basic, "another scheme");
    // A read-only machine: 403.
    let forbidden = call(&base, "POST", &ack, Some(CI), "");
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert!(
        forbidden.json()["error"]
            .as_str()
            .unwrap()
            .contains("deploy-pipeline may not ack"),
        "{}",
        forbidden.body
    );
    assert_eq!(
        acked_by(&sena, "auth-api"),
        Value::Null,
        "refused acks changed nothing"
    );

    // Reload is mutating too.
    assert_401(
        &call(&base, "POST", "/-/reload", None, ""),
        "reload without a token",
    );
    assert_eq!(call(&base, "POST", "/-/reload", Some(CI), "").status, 403);

    // Reads need a token holding `read` (issue 16: decisions name who
    // decided what), take any valid one, refuse a wrong one.
    for read in [
        "/api/v1/status",
        "/api/v1/incidents",
        "/api/v1/decisions",
        "/api/v1/rollouts/auth-api/decisions",
    ] {
        assert_401(&call(&base, "GET", read, None, ""), read);
        assert_eq!(call(&base, "GET", read, Some(CI), "").status, 200, "{read}");
    }
    assert_eq!(
        call(&base, "GET", "/api/v1/incidents", Some(CI), "").status,
        200
    );
    assert_401(
        &call(&base, "GET", "/api/v1/incidents", Some(WRONG), ""),
        "read with a wrong token",
    );
    for open in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            call(&base, "GET", open, Some(WRONG), "").status,
            200,
            "{open}"
        );
    }

    // lubit's token with a body naming someone else: recorded as lubit.
    let done = call(&base, "POST", &ack, Some(LUBIT), r#"{"by":"mallory"}"#);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        done.json()["incident"]["acked_by"],
        "lubit",
        "{}",
        done.body
    );
    let by_query = call(&base, "POST", &format!("{ack}?by=mallory"), Some(SENA), "");
    assert_eq!(by_query.status, 200, "{}", by_query.body);
    assert_eq!(acked_by(&sena, "auth-api"), "lubit");

    // The CLI: a wrong token exits 1 with the 401; a read-only one with the 403.
    let wrong = sena_ack(&cfg, cli_id, Some("tokens/wrong"), None);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("401") && stderr.contains("not valid"),
        "{stderr}"
    );
    let none = sena_ack(&cfg, cli_id, None, None);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--token-file"));
    let ci = sena_ack(&cfg, cli_id, None, Some(CI));
    let stderr = String::from_utf8_lossy(&ci.stderr);
    assert_eq!(ci.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    assert_eq!(acked_by(&sena, "auth-cli"), Value::Null);
    // ... and sena's token file acknowledges as sena.
    let ok = sena_ack(&cfg, cli_id, Some("tokens/sena"), None);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.contains("acknowledged by sena"), "{stdout}");
    assert_eq!(acked_by(&sena, "auth-cli"), "sena");

    assert_eq!(call(&base, "POST", "/-/reload", Some(SENA), "").status, 200);

    // Every refusal counted by reason.
    let count = |reason: &str| {
        sena.metric("sena_http_unauthorized_total", &[("reason", reason)])
            .unwrap_or(-1.0)
    };
    assert!(count("missing_token") >= 3.0, "{}", sena.metrics());
    assert!(count("invalid_token") >= 3.0, "{}", sena.metrics());
    assert!(count("malformed_token") >= 1.0, "{}", sena.metrics());
    assert!(count("forbidden") >= 3.0, "{}", sena.metrics());
    assert_eq!(count("not_loopback"), 0.0);

    // Refusals are logged at WARN; no token ever is.
    let logs = sena.logs();
    assert!(logs.contains("refused an HTTP request"), "{logs}");
    for token in [LUBIT, SENA, CI, WRONG] {
        assert!(!logs.contains(token), "a token reached the logs:\n{logs}");
    }
}

#[test]
fn hostile_authorization_headers_and_many_callers_do_not_hurt_the_daemon() {
    let cfg = with_tokens(&["auth-hostile"]);
    let sena = Sena::start(cfg.path());
    let base = sena.base_url();
    let id = incident_of(&sena, "auth-hostile")["id"].as_i64().unwrap();
    let ack = format!("/api/v1/incidents/{id}/ack");
    let huge = format!("Bearer {}", "A".repeat(60_000));
    let headers: Vec<String> = vec![
        String::new(),
        "Bearer".into(),
        "Bearer ключ-🔑".into(),
        huge,
        format!("Bearer {LUBIT}x"),
    ];
    std::thread::scope(|scope| {
        for worker in 0..16 {
            let (base, ack, headers) = (&base, &ack, &headers);
            scope.spawn(move || {
                for round in 0..5 {
                    let value = &headers[(worker + round) % headers.len()];
                    let r = http::request(
                        "POST",
                        &format!("{base}{ack}"),
                        &[("Authorization", value)],
                        b"",
                    )
                    .unwrap_or_else(|e| panic!("POST with a hostile header: {e}"));
                    assert!(matches!(r.status, 401 | 431), "{}: {}", r.status, r.body);
                }
            });
        }
    });
    assert_eq!(acked_by(&sena, "auth-hostile"), Value::Null);
    assert_eq!(
        call(&base, "GET", "/readyz", None, "").status,
        200,
        "{}",
        sena.logs_tail()
    );
    assert!(
        sena.exit_status().is_none(),
        "the daemon died:\n{}",
        sena.logs_tail()
    );
}

#[test]
fn without_tokens_only_this_host_may_change_anything() {
    let name = "auth-loopback";
    let cfg = ConfigBuilder::new()
        .roster(people::ROSTER)
        .rollout(name, FAILING_RULES)
        .write();
    // Tests talk to loopback only (this workplace's network rule): the
    // refusal of a remote peer without tokens is unit-tested with peer
    // addresses in src/server/auth_tests.rs.
    let sena = Sena::start(cfg.path());
    let id = incident_of(&sena, name)["id"].as_i64().unwrap();
    let ack = format!("/api/v1/incidents/{id}/ack");

    // From loopback, no token needed; the caller names itself, "local" by default.
    let local = format!("http://127.0.0.1:{}", cfg.listen.port());
    let done = call(&local, "POST", &ack, None, "");
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(acked_by(&sena, name), "local");
    assert_eq!(call(&local, "POST", "/-/reload", None, "").status, 200);
}

/// `server.public_reads: true` opens every read (and the gates) without a
/// token; a wrong token is still refused, and nothing that changes
/// anything opens with it.
#[test]
fn public_reads_open_the_reads_and_nothing_else() {
    let cfg = ConfigBuilder::new()
        .roster(people::ROSTER)
        .server_key("public_reads: true")
        .server_key("tokens:")
        .server_key("  - { person: lubit, token_file: tokens/lubit }")
        .file("tokens/lubit", &format!("{LUBIT}\n"))
        .rollout("open-reads", FAILING_RULES)
        .write();
    let sena = Sena::start(cfg.path());
    let base = sena.base_url();
    for read in ["/api/v1/status", "/api/v1/incidents", "/api/v1/decisions"] {
        let r = call(&base, "GET", read, None, "");
        assert_eq!(r.status, 200, "{read}: {}", r.body);
        assert_401(&call(&base, "GET", read, Some(WRONG), ""), read);
    }
    let gate = call(&base, "GET", "/api/v1/gates/open-reads", None, "");
    assert!(
        ![401, 403].contains(&gate.status),
        "a gate is a read: {}",
        gate.body
    );
    let page = call(&base, "GET", "/", None, "");
    assert_eq!(page.status, 200, "the overview is a read: {}", page.body);
    assert_401(&call(&base, "POST", "/-/reload", None, ""), "reload");
    assert_401(
        &call(&base, "POST", "/api/v1/incidents/1/ack", None, ""),
        "ack",
    );
}
