//! `sena backtest`: what would Sena have said over a past range? Every
//! check's history is fetched once with range queries (`history`), then the
//! window is replayed step by step through the daemon's own judgement,
//! decision and incident policy (`replay`), optionally a second time with a
//! candidate rules file, and the two timelines compared (`diff`). Output is
//! the events as text, JSON or one self-contained HTML page (`render_*`).
//!
//! Read-only by construction: this module may not name the state store,
//! the deliverer, the daemon or a notifier (`tests/architecture.rs`), so a
//! backtest can neither write a stage nor send a page.

pub mod diff;
pub mod events;
pub mod history;
pub mod render_html;
pub mod render_text;
pub mod replay;
pub mod window;

use jiff::Timestamp;
use serde::Serialize;

pub use events::{Event, PageKind, RolloutTimeline, What};
pub use history::{FetchError, History};
pub use replay::Start;
pub use window::{Window, WindowError};

use crate::config::{CandidateRules, Config, Rollout};
use crate::datasource::Datasource;
use crate::decide::StagePosition;

/// What to replay.
pub struct Request<'a> {
    pub config: &'a Config,
    /// The rollouts to replay (all when empty).
    pub rollouts: Vec<&'a Rollout>,
    pub window: Window,
    /// Stage index to start at (0 unless `--stage`).
    pub stage: usize,
    /// When that stage was entered (`--from` unless `--stage-since`).
    pub stage_since: Timestamp,
    pub assume_go: bool,
    /// `--rules`: the candidate and the path as given.
    pub candidate: Option<(&'a CandidateRules, String)>,
}

/// One replay of every selected rollout with one set of rules.
#[derive(Debug, Serialize)]
pub struct Run {
    /// `current` (the config's rules) or `candidate` (`--rules`).
    pub rules: &'static str,
    /// The candidate rules file, as given.
    pub rules_file: Option<String>,
    pub rollouts: Vec<RolloutTimeline>,
}

/// The whole answer; serialized as is for `--format json`.
#[derive(Debug, Serialize)]
pub struct Backtest {
    pub from: Timestamp,
    /// The last instant evaluated (`--to` on the step grid).
    pub to: Timestamp,
    pub step_seconds: i64,
    /// The zone instants are shown in (the roster's, else UTC).
    pub timezone: String,
    pub runs: Vec<Run>,
    /// With `--rules`: per rollout, candidate against current.
    pub diff: Option<Vec<diff::RolloutDiff>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("--stage {stage} does not exist for rollout {rollout}: it has {count} stages (0 to {})", count - 1)]
    NoSuchStage {
        rollout: String,
        stage: usize,
        count: usize,
    },
}

/// Fetches the history once and replays it with the current rules and,
/// with a candidate, with those too.
pub async fn run(ds: &dyn Datasource, req: &Request<'_>) -> Result<Backtest, BacktestError> {
    for r in &req.rollouts {
        if req.stage >= r.stages.len() {
            return Err(BacktestError::NoSuchStage {
                rollout: r.name.clone(),
                stage: req.stage,
                count: r.stages.len(),
            });
        }
    }
    let candidates: Vec<Rollout> = match &req.candidate {
        Some((rules, _)) => req
            .rollouts
            .iter()
            .map(|r| Rollout {
                checks: rules.checks_for(&r.name, req.config.prometheus.max_series),
                ..(*r).clone()
            })
            .collect(),
        None => Vec::new(),
    };
    let everything: Vec<&Rollout> = req.rollouts.iter().copied().chain(&candidates).collect();
    let history = History::fetch(ds, &everything, req.window, req.stage_since).await?;
    let start = Start {
        stage: StagePosition {
            index: req.stage,
            started_at: req.stage_since,
        },
        assume_go: req.assume_go,
    };
    let mut current = Vec::new();
    for r in &req.rollouts {
        current.push(replay::replay(&history, req.config, r, req.window, start).await);
    }
    let mut runs = vec![Run {
        rules: "current",
        rules_file: None,
        rollouts: current,
    }];
    let mut diffs = None;
    if let Some((_, path)) = &req.candidate {
        let mut timelines = Vec::new();
        for r in &candidates {
            timelines.push(replay::replay(&history, req.config, r, req.window, start).await);
        }
        diffs = Some(
            runs[0]
                .rollouts
                .iter()
                .zip(&timelines)
                .map(|(a, b)| diff::compare(a, b))
                .collect(),
        );
        runs.push(Run {
            rules: "candidate",
            rules_file: Some(path.clone()),
            rollouts: timelines,
        });
    }
    let second = |s: i64| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH);
    Ok(Backtest {
        from: second(req.window.from),
        to: second(req.window.last()),
        step_seconds: req.window.step,
        timezone: timezone(req.config)
            .iana_name()
            .unwrap_or("UTC")
            .to_string(),
        runs,
        diff: diffs,
    })
}

/// The zone people read instants in: the roster's, else UTC.
pub fn timezone(config: &Config) -> jiff::tz::TimeZone {
    config
        .roster
        .as_ref()
        .map(|r| r.timezone.clone())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}
