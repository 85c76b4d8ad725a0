//! `sena stage` (move a rollout to a stage) and `sena ack` (acknowledge an
//! incident through the running daemon).

use std::io::Write;
use std::path::Path;

use crate::state::Store;

pub fn run(
    config_path: &Path,
    rollout: &str,
    index: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_or_report(config_path, err) else {
        return 1;
    };
    let Some(r) = config.rollout(rollout) else {
        let names: Vec<&str> = config.rollouts.iter().map(|r| r.name.as_str()).collect();
        let _ = writeln!(
            err,
            "no rollout `{rollout}` in {}; known: {}",
            config_path.display(),
            names.join(", ")
        );
        return 1;
    };
    let Some(stage) = r.stages.get(index) else {
        let _ = writeln!(
            err,
            "rollout `{rollout}` has stages 0..={}; {index} is out of range",
            r.stages.len() - 1
        );
        return 1;
    };
    let store = match Store::open(&config.state.path) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let by = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match store.set_stage(rollout, index, jiff::Timestamp::now(), &by) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "{rollout}: now at stage {index} ({}); bake time counts from now",
                stage.traffic
            );
            0
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

pub fn ack(
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
