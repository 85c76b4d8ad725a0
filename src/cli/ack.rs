//! `sena ack`: acknowledges an incident through the running daemon's API,
//! so the acknowledgement goes through the same transition (and is told to
//! the people paged) as one from the HTTP API.
//!
//! With `server.tokens` the daemon records the token's person, so the CLI
//! sends a token (`--token-file` or `SENA_TOKEN`) and no name. `--by` is
//! for loopback-only mode (no tokens), where the local caller names itself.

use std::io::Write;
use std::path::{Path, PathBuf};

/// How the caller proves who it is.
pub struct Credentials {
    pub token_file: Option<PathBuf>,
    /// `SENA_TOKEN`; the file wins when both are given.
    pub token: Option<String>,
    /// Loopback-only mode: the name to record.
    pub by: Option<String>,
}

pub fn run(
    config_path: &Path,
    incident: i64,
    credentials: Credentials,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_or_report(config_path, err) else {
        return 1;
    };
    let token = match token(&credentials) {
        Ok(token) => token,
        Err(message) => {
            let _ = writeln!(err, "{message}");
            return 1;
        }
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
    let url = format!(
        "http://{}/api/v1/incidents/{incident}/ack",
        config.server.listen
    );
    let result = super::runtime().block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let mut request = client.post(&url).json(&body);
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let resp = request.send().await?;
        let status = resp.status();
        Ok::<_, reqwest::Error>((status, resp.text().await.unwrap_or_default()))
    });
    match result {
        Ok((status, body)) if status.is_success() => {
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let by = answer["incident"]["acked_by"].as_str().unwrap_or("?");
            let _ = writeln!(
                out,
                "incident {incident} acknowledged by {by}; escalation stopped"
            );
            0
        }
        Ok((status, body)) => {
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let message = answer["error"].as_str().unwrap_or(body.trim());
            let hint = match status.as_u16() {
                401 if token.is_none() => "; pass --token-file FILE or set SENA_TOKEN",
                401 => "; check the token against `server.tokens`",
                _ => "",
            };
            let _ = writeln!(err, "the daemon answered {status}: {message}{hint}");
            1
        }
        Err(e) => {
            let _ = writeln!(err, "cannot reach the daemon at {url}: {e}");
            1
        }
    }
}

/// The token from `--token-file` (one trailing newline allowed, as in
/// `server.tokens`) or `SENA_TOKEN`. Errors name the file, never the token.
fn token(credentials: &Credentials) -> Result<Option<String>, String> {
    let Some(path) = &credentials.token_file else {
        return Ok(credentials
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read --token-file {}: {e}", path.display()))?;
    let token = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if token.is_empty() {
        return Err(format!("--token-file {} is empty", path.display()));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "--token-file {} must hold the token alone, on one line, in printable ASCII",
            path.display()
        ));
    }
    Ok(Some(token.to_string()))
}
