//! `sena eval`: "what would Sena say right now?" One evaluation of every
//! rollout against Prometheus, no notifications, no daemon state written.
//! `for` windows are judged from a range query (see `eval::run`), so the
//! answer matches the daemon's.

use std::io::Write;
use std::path::Path;

use crate::config::Config;
use crate::datasource::PrometheusDatasource;
use crate::decide::StagePosition;
use crate::decide::{decide, Verdict};
use crate::eval::evaluate_rollout_stateless;
use crate::report::{RolloutReport, StatusReport};
use crate::state::Store;

use super::OutputFormat;

pub fn run(
    config_path: &Path,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_or_report(config_path, err) else {
        return 1;
    };
    let ds = match PrometheusDatasource::new(&config.prometheus) {
        Ok(ds) => ds,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let now = jiff::Timestamp::now();
    let stages = assumed_stages(&config, now);
    for (_, note) in &stages {
        if let Some(note) = note {
            let _ = writeln!(err, "sena eval: {note}");
        }
    }
    let runtime = super::runtime();
    let reports: Vec<RolloutReport> = runtime.block_on(async {
        let per_rollout = config.rollouts.iter().zip(&stages).map(|(r, (stage, _))| {
            let ds = &ds;
            let stage = *stage;
            async move {
                let checks = evaluate_rollout_stateless(ds, r, stage.started_at, now).await;
                let decision = decide(r, stage, &checks, now);
                RolloutReport::new(r, stage, &decision, &checks, now)
            }
        });
        futures_util::future::join_all(per_rollout).await
    });
    let worst = reports
        .iter()
        .map(|r| r.verdict)
        .max()
        .unwrap_or(Verdict::Continue);
    let report = StatusReport {
        at: now,
        rollouts: reports,
    };
    let written = match format {
        OutputFormat::Json => serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|j| writeln!(out, "{j}")),
        OutputFormat::Text => write_text(&report, out),
    };
    if let Err(e) = written {
        let _ = writeln!(err, "writing output: {e}");
        return 1;
    }
    worst.exit_code()
}

fn write_text(report: &StatusReport, out: &mut dyn Write) -> std::io::Result<()> {
    for r in &report.rollouts {
        let verdict = match r.verdict {
            Verdict::Continue => "CONTINUE",
            Verdict::Hold => "HOLD",
            Verdict::Rollback => "ROLL BACK",
        };
        writeln!(
            out,
            // 0-based, as `sena stage ROLLOUT INDEX` counts.
            "{}  stage {} · {} traffic  {verdict}",
            r.name, r.stage.index, r.stage.traffic
        )?;
        writeln!(out, "  {}", r.reason)?;
        for c in &r.checks {
            writeln!(
                out,
                "  {:<8} {:<24} {:>12}  {}{}",
                c.status_text(),
                c.name,
                c.value_text,
                c.threshold,
                c.error
                    .as_deref()
                    .map(|e| format!("  ({e})"))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

impl crate::report::CheckReport {
    fn status_text(&self) -> &'static str {
        self.status.as_str()
    }
}

/// Each rollout's stage as the daemon stored it (read, never written), and a
/// note when Sena had to assume one, saying which and why: a verdict judged
/// at the wrong stage must not pass unremarked.
fn assumed_stages(config: &Config, now: jiff::Timestamp) -> Vec<(StagePosition, Option<String>)> {
    let db = config.state.path.join("sena.db");
    let store = if db.exists() {
        Store::open(&config.state.path).map_err(|e| e.to_string())
    } else {
        Err(format!("no state store at {}", db.display()))
    };
    let first = StagePosition {
        index: 0,
        started_at: now,
    };
    config
        .rollouts
        .iter()
        .map(|r| {
            let first_traffic = r.stages[0].traffic;
            let stored = match &store {
                Ok(store) => store.stage(&r.name).map_err(|e| e.to_string()),
                Err(why) => Err(why.clone()),
            };
            match stored {
                Ok(Some(s)) if s.index < r.stages.len() => (s, None),
                Ok(Some(s)) => {
                    let last = r.stages.len() - 1;
                    let note = format!(
                        "{}: the stored stage {} is past the {} configured; judging the last ({})",
                        r.name,
                        s.index,
                        r.stages.len(),
                        r.stages[last].traffic
                    );
                    (StagePosition { index: last, ..s }, Some(note))
                }
                Ok(None) => (
                    first,
                    Some(format!(
                        "{}: no stage recorded yet; judging its first stage ({first_traffic}) as starting now",
                        r.name
                    )),
                ),
                Err(why) => (
                    first,
                    Some(format!(
                        "{}: cannot read its stage ({why}); judging its first stage ({first_traffic}) as starting now",
                        r.name
                    )),
                ),
            }
        })
        .collect()
}
