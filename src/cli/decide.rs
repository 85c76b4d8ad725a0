//! `sena approve`, `sena reject` and `sena decisions`: GO / NO-GO through
//! the running daemon's API, so a decision from the terminal goes through
//! the same transition, checks and record as one from the HTTP API (`via:
//! cli`). The daemon records the token's person; see `api_client`.

use std::io::Write;
use std::path::Path;

use super::api_client::{self, Answer, Credentials};

/// What `approve` / `reject` asks.
pub struct Ask<'a> {
    pub rollout: &'a str,
    /// `go` or `no_go`.
    pub decision: &'a str,
    pub stage: usize,
    pub comment: Option<String>,
    pub override_advice: bool,
}

pub fn decide(
    config_path: &Path,
    ask: Ask<'_>,
    credentials: Credentials,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some((config, token)) = api_client::prepare(config_path, &credentials, err) else {
        return 1;
    };
    let mut body = serde_json::json!({
        "decision": ask.decision,
        "stage": ask.stage,
        "comment": ask.comment,
        "override": ask.override_advice,
        "via": "cli",
    });
    if token.is_none() {
        body["by"] = serde_json::json!(credentials
            .by
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".into()));
    }
    let path = format!("/api/v1/rollouts/{}/decisions", ask.rollout);
    match api_client::call(&config, "POST", &path, token.as_deref(), Some(&body)) {
        Answer::Ok(answer) => {
            let d = &answer["decision"];
            let again = if answer["duplicate"] == true {
                " (already decided: this is the first record)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "decision {}: {} by {} on {} stage {} ({}) → stage {} ({}){again}",
                d["id"],
                d["decision"].as_str().unwrap_or("?"),
                d["by"].as_str().unwrap_or("?"),
                ask.rollout,
                d["from_stage"],
                d["from_traffic"].as_str().unwrap_or("?"),
                d["to_stage"],
                d["to_traffic"].as_str().unwrap_or("?"),
            );
            0
        }
        failed => {
            let _ = writeln!(err, "{}", failed.message(token.is_some()));
            1
        }
    }
}

/// Prints the records as JSON lines, oldest first.
pub fn list(
    config_path: &Path,
    rollout: Option<&str>,
    since: Option<&str>,
    credentials: Credentials,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some((config, token)) = api_client::prepare(config_path, &credentials, err) else {
        return 1;
    };
    let since = match since.map(super::journal::parse_since).transpose() {
        Ok(since) => since,
        Err(e) => {
            let _ = writeln!(err, "--since: {e}");
            return 1;
        }
    };
    let mut query = Vec::new();
    if let Some(r) = rollout {
        query.push(format!("rollout={}", encode(r)));
    }
    if let Some(t) = since {
        query.push(format!("since={}", encode(&t.to_string())));
    }
    let path = format!("/api/v1/decisions?{}", query.join("&"));
    match api_client::call(&config, "GET", &path, token.as_deref(), None) {
        Answer::Ok(answer) => {
            for record in answer["decisions"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "{record}");
            }
            0
        }
        failed => {
            let _ = writeln!(err, "{}", failed.message(token.is_some()));
            1
        }
    }
}

/// Percent-encodes a query value (a rollout name, an RFC 3339 time).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
