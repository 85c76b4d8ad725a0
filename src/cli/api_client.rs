//! Talking to the running daemon's API from the CLI (`sena ack`, `approve`,
//! `reject`, `decisions`): one place for the token (`--token-file` or
//! `SENA_TOKEN`, never a flag: arguments show in `ps`), the HTTP call and
//! the wording of its failures, so every verb says the same things.

use std::path::PathBuf;

use crate::config::Config;

/// How the caller proves who it is.
pub struct Credentials {
    pub token_file: Option<PathBuf>,
    /// `SENA_TOKEN`; the file wins when both are given.
    pub token: Option<String>,
    /// Loopback-only mode: the name to record.
    pub by: Option<String>,
}

/// What the daemon answered.
pub enum Answer {
    /// 2xx with its JSON body (`null` when it was not JSON).
    Ok(serde_json::Value),
    /// Another status, with the body's `error` (or the body itself).
    Refused {
        status: u16,
        error: String,
    },
    Unreachable {
        url: String,
        error: String,
    },
}

impl Answer {
    /// One line for stderr, with a hint for a missing or wrong token.
    pub fn message(&self, sent_token: bool) -> String {
        match self {
            Answer::Ok(_) => "ok".into(),
            Answer::Refused { status, error, .. } => {
                let hint = match status {
                    401 if !sent_token => "; pass --token-file FILE or set SENA_TOKEN",
                    401 => "; check the token against `server.tokens`",
                    _ => "",
                };
                format!("the daemon answered {status}: {error}{hint}")
            }
            Answer::Unreachable { url, error } => {
                format!("cannot reach the daemon at {url}: {error}")
            }
        }
    }
}

/// `method path` against the daemon of `config`, with the token if any.
pub fn call(
    config: &Config,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Answer {
    let url = format!("http://{}{path}", config.server.listen);
    let result = super::runtime().block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let mut request = match method {
            "POST" => client.post(&url),
            _ => client.get(&url),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let resp = request.send().await?;
        let status = resp.status();
        Ok::<_, reqwest::Error>((status, resp.text().await.unwrap_or_default()))
    });
    match result {
        Ok((status, text)) => {
            let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if status.is_success() {
                return Answer::Ok(body);
            }
            // `message` when the answer has one (`{"error": CODE,
            // "message": TEXT}`), else the older `{"error": TEXT}`.
            let error = body["message"]
                .as_str()
                .or_else(|| body["error"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| text.trim().to_string());
            Answer::Refused {
                status: status.as_u16(),
                error,
            }
        }
        Err(e) => Answer::Unreachable {
            url,
            error: e.to_string(),
        },
    }
}

/// What every verb that talks to the daemon starts with: the config (for
/// `server.listen`) and the token. `None` once the problem is printed.
pub fn prepare(
    config_path: &std::path::Path,
    credentials: &Credentials,
    err: &mut dyn std::io::Write,
) -> Option<(crate::config::Config, Option<String>)> {
    let config = super::load_or_report(config_path, err)?;
    match token(credentials) {
        Ok(token) => Some((config, token)),
        Err(message) => {
            let _ = writeln!(err, "{message}");
            None
        }
    }
}

/// The token from `--token-file` (one trailing newline allowed, as in
/// `server.tokens`) or `SENA_TOKEN`. Errors name the file, never the token.
pub fn token(credentials: &Credentials) -> Result<Option<String>, String> {
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
