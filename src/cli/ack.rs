//! `sena ack`: acknowledges an incident through the running daemon's API,
//! so the acknowledgement goes through the same transition (and is told to
//! the people paged) as one from the HTTP API.

use std::io::Write;
use std::path::Path;

pub fn run(
    config_path: &Path,
    incident: i64,
    by: Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_or_report(config_path, err) else {
        return 1;
    };
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    let url = format!(
        "http://{}/api/v1/incidents/{incident}/ack",
        config.server.listen
    );
    let result = super::runtime().block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let resp = client
            .post(&url)
            .json(&serde_json::json!({ "by": by }))
            .send()
            .await?;
        let status = resp.status();
        Ok::<_, reqwest::Error>((status, resp.text().await.unwrap_or_default()))
    });
    match result {
        Ok((status, _)) if status.is_success() => {
            let _ = writeln!(
                out,
                "incident {incident} acknowledged by {by}; escalation stopped"
            );
            0
        }
        Ok((status, body)) => {
            let _ = writeln!(err, "the daemon answered {status}: {}", body.trim());
            1
        }
        Err(e) => {
            let _ = writeln!(err, "cannot reach the daemon at {url}: {e}");
            1
        }
    }
}
