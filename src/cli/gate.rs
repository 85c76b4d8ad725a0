//! `sena gate ROLLOUT`: a CI step asks the running daemon whether the
//! rollout may go on, through the same gate as Argo Rollouts
//! (`GET /api/v1/gates/{rollout}`), and exits so a pipeline can branch:
//! 0 GO given and `continue`, 3 hold or waiting for approval, 4 rollback,
//! 1 error (daemon unreachable, bad token, unknown rollout). It prints the
//! reason either way.

use std::io::Write;
use std::path::Path;

use super::api_client::{self, Answer, Credentials};

pub fn run(
    config_path: &Path,
    rollout: &str,
    stage: Option<usize>,
    credentials: Credentials,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some((config, token)) = api_client::prepare(config_path, &credentials, err) else {
        return 1;
    };
    let encoded: String = rollout
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let path = match stage {
        Some(n) => format!("/api/v1/gates/{encoded}?stage={n}"),
        None => format!("/api/v1/gates/{encoded}"),
    };
    match api_client::call(&config, "GET", &path, token.as_deref(), None) {
        Answer::Ok(view) => {
            let reason = view["reason"].as_str().unwrap_or("");
            let (word, code) = match (view["verdict"].as_str(), view["approved"].as_bool()) {
                (Some("rollback"), _) => ("ROLLBACK", 4),
                (Some("continue"), Some(true)) => ("GO", 0),
                (Some(_) | None, _) => ("WAIT", 3),
            };
            let stage = view["stage"].as_u64().map_or("?".into(), |s| s.to_string());
            let traffic = view["traffic"].as_str().unwrap_or("?");
            let _ = writeln!(out, "{word}: {rollout} stage {stage} ({traffic}): {reason}");
            code
        }
        failed => {
            let _ = writeln!(err, "{}", failed.message(token.is_some()));
            1
        }
    }
}
