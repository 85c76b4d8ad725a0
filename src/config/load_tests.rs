//! Loading the good fixtures in `tests/fixtures/config/` (the bad ones are
//! checked line by line in `tests/check_errors.rs`).

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{Bound, NoData, OnFail, SlackMode, SmtpTls, Unit};

fn fixture(name: &str) -> Loaded {
    let path = Path::new("tests/fixtures/config").join(name);
    load(&path).unwrap_or_else(|e| panic!("{name}:\n{e}"))
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn minimal_config_takes_every_default() {
    let loaded = fixture("minimal.yaml");
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.prometheus.timeout, Duration::from_secs(10));
    assert_eq!(c.prometheus.external_url, "http://127.0.0.1:9090");
    assert_eq!(c.evaluation.interval, Duration::from_secs(30));
    assert_eq!(c.state.path, Path::new("tests/fixtures/config/sena-state"));
    assert_eq!(c.state.journal_retention, Duration::from_secs(30 * 86400));
    assert_eq!(c.state.journal_max_records, 1_000_000);
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(
        (c.server.max_connections, c.server.header_read_timeout),
        (512, Duration::from_secs(10))
    );
    assert_eq!(
        (
            c.server.body_read_timeout,
            c.server.body_min_rate,
            c.server.reserved_connections
        ),
        (Duration::from_secs(10), 500, 4)
    );
    assert!(!c.server.public_gates);
    assert_eq!(
        (c.prometheus.max_response_bytes, c.prometheus.max_series),
        (16 << 20, 1000)
    );
    assert_eq!(c.rollouts[0].checks[0].max_series, 1000);
    assert_eq!(
        (c.notify.repeat, c.notify.resolve_after),
        (Duration::from_secs(3600), Duration::from_secs(300))
    );
    assert!(c.slack.is_none() && c.email.is_none() && c.roster.is_none());
    let rollout = &c.rollouts[0];
    assert_eq!(rollout.interval, Duration::from_secs(30));
    assert_eq!(rollout.stages.len(), 1);
    assert_eq!(rollout.stages[0].bake, None);
    let error_rate = &rollout.checks[0];
    assert!(
        error_rate
            .query
            .contains(r#"app="checkout-api",track="canary""#),
        "{}",
        error_rate.query
    );
    assert!(!error_rate.query.contains("{{"));
    assert_eq!(error_rate.threshold.bound, Bound::Below);
    assert_eq!(
        (error_rate.threshold.value, error_rate.threshold.unit),
        (0.001, Unit::Percent)
    );
    assert_eq!(
        (error_rate.on_fail, error_rate.no_data),
        (OnFail::Rollback, NoData::Hold)
    );
    assert_eq!(error_rate.for_duration, Duration::from_secs(120));
    assert_eq!(error_rate.defined_at, "rules/canary.yaml:2");
    assert_eq!(rollout.checks[1].threshold.unit, Unit::Seconds);
}

#[test]
fn full_config_reads_every_key() {
    let loaded = fixture("full.yaml");
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
    let c = loaded.config;
    let p = &c.prometheus;
    assert_eq!(p.url, "https://prom.example.com:9090/prefix");
    assert_eq!(p.external_url, "https://grafana.example.com/prometheus");
    assert_eq!(p.timeout, Duration::from_secs(5));
    assert_eq!(p.headers[0].0, "X-Scope-OrgID");
    assert_eq!(p.headers[0].1.expose(), "team-a");
    let auth = p.basic_auth.as_ref().unwrap();
    assert_eq!(
        (auth.username.as_str(), auth.password.expose()),
        ("sena", "prom-password")
    );
    assert_eq!(c.evaluation.interval, Duration::from_secs(60));
    assert_eq!(c.state.path, Path::new("tests/fixtures/config/state"));
    assert_eq!(c.state.journal_retention, Duration::from_secs(7 * 86400));
    assert_eq!(c.state.journal_max_records, 50_000);
    assert_eq!(c.server.listen.to_string(), "[::1]:9500");
    assert_eq!(
        (c.server.max_connections, c.server.header_read_timeout),
        (100, Duration::from_secs(5))
    );
    assert_eq!(
        (
            c.server.body_read_timeout,
            c.server.body_min_rate,
            c.server.reserved_connections
        ),
        (Duration::from_secs(3), 1024, 2)
    );
    assert!(c.server.public_gates);
    assert_eq!((p.max_response_bytes, p.max_series), (4 << 20, 2000));
    assert!(c
        .rollouts
        .iter()
        .all(|r| r.checks.iter().all(|c| c.max_series == 2000)));
    let [checkout, search] = &c.rollouts[..] else {
        panic!("two rollouts")
    };
    assert_eq!(
        checkout
            .checks
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["error_rate", "p95_latency", "satisfaction"]
    );
    assert_eq!(checkout.checks[2].defined_at, "rules/satisfaction.yaml:2");
    assert_eq!(
        (checkout.checks[2].on_fail, checkout.checks[2].no_data),
        (OnFail::Hold, NoData::Ignore)
    );
    assert_eq!(
        checkout.stages[1].bake,
        Some(Duration::from_secs(5 * 86400))
    );
    assert_eq!(checkout.interval, Duration::from_secs(60));
    assert_eq!(search.interval, Duration::from_secs(15));
    assert_eq!(search.stages[0].bake, Some(Duration::from_secs(5400)));
    assert_eq!(search.stages[1].traffic.0, 100.0);
    assert!(search.checks[0].query.contains(r#"app="search.v2""#));
    let slack = c.slack.as_ref().unwrap();
    assert_eq!(slack.api_url, "http://127.0.0.1:8089/api");
    assert!(
        matches!(&slack.mode, SlackMode::WebApi { token, channel } if token.expose() == "xoxb-slack-token" && channel == "#deploys")
    );
    let email = c.email.as_ref().unwrap();
    assert_eq!(
        (email.port, email.tls, email.timeout),
        (465, SmtpTls::Tls, Duration::from_secs(20))
    );
    assert_eq!(email.password.as_ref().unwrap().expose(), "smtp-password");
    assert_eq!(email.from, "Sena <sena@example.com>");
    assert!(c.roster.as_ref().unwrap().person("lubit").is_some());
    assert_eq!(
        (c.notify.repeat, c.notify.resolve_after),
        (Duration::from_secs(1800), Duration::from_secs(600))
    );
    let debug = format!("{c:?}");
    for secret in ["prom-password", "xoxb-slack-token", "smtp-password"] {
        assert!(!debug.contains(secret), "{secret} leaked into Debug");
    }
}

#[test]
fn webhook_bearer_loopback_smtp_and_inline_roster() {
    let c = fixture("webhook.yaml").config;
    assert_eq!(
        c.prometheus.bearer_token.as_ref().unwrap().expose(),
        "prom-token"
    );
    assert!(
        matches!(&c.slack.as_ref().unwrap().mode, SlackMode::Webhook { url } if url.expose().ends_with("/XXXX"))
    );
    assert_eq!(c.slack.as_ref().unwrap().api_url, "https://slack.com/api");
    let email = c.email.as_ref().unwrap();
    assert_eq!(
        (email.port, email.tls, email.username.as_deref()),
        (25, SmtpTls::None, None)
    );
    assert!(c.roster.as_ref().unwrap().person("lubit").is_some());
}

#[test]
fn inline_roster_errors_land_on_the_config_lines() {
    let text = "prometheus: {url: http://127.0.0.1:9090}\nroster:\n  timezone: Mars/Olympus\n  people: {}\n  slots: []\nrollouts: []\n";
    let errors = load_str(text, Path::new("tests/fixtures/config/x.yaml")).unwrap_err();
    let roster_error = errors
        .errors()
        .find(|d| d.message.contains("Mars"))
        .unwrap_or_else(|| panic!("{errors}"));
    assert_eq!(
        (roster_error.file.to_str(), roster_error.line),
        (Some("tests/fixtures/config/x.yaml"), 3)
    );
}

#[test]
fn slack_secrets_can_come_from_the_environment() {
    let text = |slack: &str| {
        format!("prometheus: {{url: http://p:9090}}\nslack: {slack}\nrollouts:\n  - {{name: a, approver: b, stages: [{{traffic: 100%}}], rules: [rules/canary.yaml]}}\n")
    };
    let file = Path::new("tests/fixtures/config/env.yaml");
    let token = |name: &str| (name == "SENA_SLACK_TOKEN").then(|| "xoxb-env".to_string());
    let c = load_with_env(&text("{channel: \"#c\"}"), file, &token)
        .unwrap()
        .config;
    assert!(
        matches!(c.slack.unwrap().mode, SlackMode::WebApi { token, .. } if token.expose() == "xoxb-env")
    );
    let hook = |name: &str| {
        (name == "SENA_SLACK_WEBHOOK_URL").then(|| "https://hooks.example.com/x".to_string())
    };
    let c = load_with_env(&text("{}"), file, &hook).unwrap().config;
    assert!(matches!(c.slack.unwrap().mode, SlackMode::Webhook { .. }));
    let errors = load_with_env(&text("{}"), file, &no_env).unwrap_err();
    assert_eq!(errors.to_string(), "tests/fixtures/config/env.yaml:2:8: `slack` needs `webhook_url`, or `token_file` and `channel` (or the environment variable SENA_SLACK_WEBHOOK_URL or SENA_SLACK_TOKEN)");
}

#[test]
fn a_syntax_error_in_one_rules_file_hides_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "checks: [\n").unwrap();
    std::fs::write(
        dir.path().join("odd.yaml"),
        "checks:\n  - {name: a, query: up, below: 1, on_fail: maybe}\n",
    )
    .unwrap();
    let text = "prometheus: {url: http://p:9090}\nserver: {listen: nowhere}\nrollouts:\n  - {name: a, approver: b, stages: [{traffic: 100%}], rules: [broken.yaml]}\n  - {name: b, approver: b, stages: [{traffic: 100%}], rules: [odd.yaml]}\n";
    let errors = load_with_env(text, &dir.path().join("sena.yaml"), &no_env).unwrap_err();
    let files: Vec<String> = errors
        .0
        .iter()
        .map(|d| d.file.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["sena.yaml", "broken.yaml", "odd.yaml"], "{errors}");
}

#[test]
fn a_missing_config_file_is_one_error() {
    let errors = load(Path::new("tests/fixtures/config/no-such.yaml")).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert!(errors
        .to_string()
        .starts_with("tests/fixtures/config/no-such.yaml:1:1: cannot read config:"));
}

/// One final `\r\n` (a secret saved on Windows) is the editor's, not the
/// secret's; anything more is refused (see `sena-secret-control-bad.yaml`).
#[test]
fn a_secret_file_may_end_in_one_line_break() {
    let text = "prometheus:\n  url: http://127.0.0.1:9090\n  basic_auth: { username: sena, password_file: secrets/crlf-password }\nrollouts:\n  - { name: web, approver: lubit, stages: [{ traffic: 100% }], rules: [good.yaml] }\n";
    let loaded = load_with_env(text, Path::new("tests/fixtures/rules/x.yaml"), &no_env)
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = loaded.config.prometheus.basic_auth.expect("basic auth");
    assert_eq!(auth.password.expose(), "ok-password");
    // The error names the file and never quotes it.
    let text = text.replace("crlf-password", "two-lines-token");
    let errors = load_with_env(&text, Path::new("tests/fixtures/rules/x.yaml"), &no_env)
        .unwrap_err()
        .to_string();
    assert_eq!(
        errors,
        "tests/fixtures/rules/x.yaml:3:48: `password_file`: tests/fixtures/rules/secrets/two-lines-token holds a control character (a line break, tab or similar) besides one final newline; a secret file must hold the secret alone, on one line"
    );
}

#[test]
fn prometheus_tls_reads_the_ca_and_the_client_pair_and_keeps_the_key_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "tests/fixtures/rules/good.yaml",
        dir.path().join("good.yaml"),
    )
    .unwrap();
    let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let key = "-----BEGIN PRIVATE KEY-----\nKEYMATERIAL\n-----END PRIVATE KEY-----\n";
    std::fs::write(dir.path().join("ca.pem"), cert).unwrap();
    std::fs::write(dir.path().join("client.pem"), cert).unwrap();
    std::fs::write(dir.path().join("client.key"), key).unwrap();
    let config = dir.path().join("sena.yaml");
    let text = "prometheus:\n  url: https://prom:9090\n  tls: { ca_file: ca.pem, cert_file: client.pem, key_file: client.key }\nrollouts:\n  - { name: web, approver: lubit, stages: [{ traffic: 100% }], rules: [good.yaml] }\n";
    let loaded = load_with_env(text, &config, &no_env).unwrap_or_else(|e| panic!("{e}"));
    let tls = loaded.config.prometheus.tls.expect("tls");
    assert_eq!(tls.ca.as_deref(), Some(cert));
    let (client_cert, client_key) = tls.client.expect("a client pair");
    assert_eq!(client_cert, cert);
    assert_eq!(client_key.expose(), key);
    assert!(!format!("{client_key:?}").contains("KEYMATERIAL"));

    // A certificate without its key, and a CA file that is not PEM: errors
    // that name the file and never quote it.
    std::fs::write(dir.path().join("not-pem"), "KEYMATERIAL\n").unwrap();
    let bad = text
        .replace("key_file: client.key", "")
        .replace("ca.pem", "not-pem");
    let errors = load_with_env(&bad, &config, &no_env)
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("holds no PEM `CERTIFICATE` block"),
        "{errors}"
    );
    assert!(
        errors.contains("set `cert_file` and `key_file` together"),
        "{errors}"
    );
    assert!(!errors.contains("KEYMATERIAL"), "{errors}");
}
