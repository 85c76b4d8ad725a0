//! `sena ack`: acknowledges an incident through the running daemon's API,
//! so the acknowledgement goes through the same transition (and is told to
//! the people paged) as one from the HTTP API.
//!
//! With `server.tokens` the daemon records the token's person, so the CLI
//! sends a token (`--token-file` or `SENA_TOKEN`) and no name. `--by` is
//! for loopback-only mode (no tokens), where the local caller names itself.

use std::io::Write;
use std::path::Path;

pub use super::api_client::Credentials;
use super::api_client::{self, Answer};

pub fn run(
    config_path: &Path,
    incident: i64,
    credentials: Credentials,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some((config, token)) = api_client::prepare(config_path, &credentials, err) else {
        return 1;
    };
    if token.is_some() && credentials.by.is_some() {
        let _ = writeln!(err, "--by is only for a daemon without `server.tokens`; with a token the daemon records the token's person");
        return 1;
    }
    let body = match (&token, credentials.by) {
        (Some(_), _) => serde_json::json!({}),
        (None, by) => serde_json::json!({
            "by": by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".into())
        }),
    };
    let path = format!("/api/v1/incidents/{incident}/ack");
    match api_client::call(&config, "POST", &path, token.as_deref(), Some(&body)) {
        Answer::Ok(answer) => {
            let by = answer["incident"]["acked_by"].as_str().unwrap_or("?");
            let _ = writeln!(
                out,
                "incident {incident} acknowledged by {by}; escalation stopped"
            );
            0
        }
        failed => {
            let _ = writeln!(err, "{}", failed.message(token.is_some()));
            1
        }
    }
}
