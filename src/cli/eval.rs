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
use crate::domain::CheckResult;
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
    let evaluated: Vec<(RolloutReport, Vec<CheckResult>)> = runtime.block_on(async {
        let per_rollout = config.rollouts.iter().zip(&stages).map(|(r, (stage, _))| {
            let ds = &ds;
            let stage = *stage;
            async move {
                let checks = evaluate_rollout_stateless(ds, r, stage.started_at, now).await;
                let decision = decide(r, stage, &checks, now);
                (
                    RolloutReport::new(r, stage, &decision, &checks, now),
                    checks,
                )
            }
        });
        futures_util::future::join_all(per_rollout).await
    });
    let (reports, results): (Vec<RolloutReport>, Vec<Vec<CheckResult>>) =
        evaluated.into_iter().unzip();
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
        OutputFormat::Text => write_text(&report, &results, out),
    };
    if let Err(e) = written {
        let _ = writeln!(err, "writing output: {e}");
        return 1;
    }
    worst.exit_code()
}

/// One block per rollout: the verdict, the reason, a line per check; a
/// count check's line shows the share that decided, and its counts,
/// interval, recent window, what is still needed and the baseline follow
/// on lines of their own. `results` are each rollout's checks, in order.
fn write_text(
    report: &StatusReport,
    results: &[Vec<CheckResult>],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (i, r) in report.rollouts.iter().enumerate() {
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
        let judged = results.get(i).map(Vec::as_slice).unwrap_or_default();
        for c in &r.checks {
            let counted = judged
                .iter()
                .find(|j| j.name == c.name)
                .and_then(|j| j.evidence.as_ref().map(|e| (e, &j.threshold)));
            let value = match counted {
                Some((e, t)) => t.format_value(e.deciding_value()),
                None => c.value_text.clone(),
            };
            writeln!(
                out,
                "  {:<8} {:<24} {:>12}  {}{}",
                c.status_text(),
                c.name,
                value,
                c.threshold,
                c.error
                    .as_deref()
                    .map(|e| format!("  ({e})"))
                    .unwrap_or_default()
            )?;
            if let Some((e, t)) = counted {
                for fact in e.fact_lines(t) {
                    writeln!(out, "           {fact}")?;
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::fixtures::{count_exceeds, latency};
    use crate::report::{CheckReport, StageReport};

    fn report(checks: &[CheckResult]) -> StatusReport {
        let at: jiff::Timestamp = "2025-10-22T12:15:00Z".parse().unwrap();
        StatusReport {
            at,
            rollouts: vec![RolloutReport {
                name: "checkout-api".into(),
                stage: StageReport {
                    index: 0,
                    traffic: "5%".into(),
                    started_at: at,
                    of: 2,
                },
                verdict: Verdict::Rollback,
                reason: "roll back: error_rate".into(),
                ready_to_expand: None,
                approver: "lubit".into(),
                evaluated_at: at,
                checks: checks.iter().map(CheckReport::from_result).collect(),
            }],
        }
    }

    #[test]
    fn text_shows_a_count_checks_counts_and_interval_on_their_own_lines() {
        let checks = vec![count_exceeds(), latency()];
        let mut out = Vec::new();
        write_text(&report(&checks), &[checks], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2], "  failing  error_rate                       1.2%  < 0.1%",
            "{text}"
        );
        assert_eq!(
            lines[3],
            "           90 bad of 20,000 requests since the stage began · 95% interval 0.36%–0.55%"
        );
        assert_eq!(
            lines[4],
            "           recent: 24 bad of 2,000 requests since 2025-10-22 12:05 UTC (1.2%)"
        );
        assert!(
            lines[5].contains("latency_p95") && lines[5].contains("1.2s"),
            "{text}"
        );
    }

    #[test]
    fn json_carries_the_evidence_typed() {
        let checks = vec![count_exceeds(), latency()];
        let json = serde_json::to_value(report(&checks)).unwrap();
        let e = &json["rollouts"][0]["checks"][0]["evidence"];
        assert_eq!(e["finding"], "exceeds");
        assert_eq!(e["part"], 90.0);
        assert_eq!(e["total"], 20_000.0);
        assert_eq!(e["lower"], 0.0036);
        assert_eq!(e["upper"], 0.0055);
        assert_eq!(e["recent"]["part"], 24.0);
        assert!(
            json["rollouts"][0]["checks"][1].get("evidence").is_none(),
            "a plain check has no evidence key: {json:#}"
        );
        // And it reads back: /api/v1/status and the dashboard share the shape.
        let back: StatusReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.rollouts[0].checks[0].evidence, checks[0].evidence);
    }
}
