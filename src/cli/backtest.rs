//! `sena backtest`: replay a past range through the daemon's judgement and
//! incident policy and print what Sena would have said (see
//! `crate::backtest`). Exit 0 when it ran, whatever the verdicts; 1 on an
//! error (bad flags, Prometheus unreachable, output not writable); 2 when
//! the config or the candidate rules file is invalid (`FILE:LINE:COLUMN`).

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

use crate::backtest::{self, Request, Window};
use crate::config::{CandidateRules, Config, Rollout};
use crate::datasource::PrometheusDatasource;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum BacktestFormat {
    Text,
    Json,
    Html,
}

// The verb's flags, as parsed (clap reads the doc comments below).
#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short, default_value = "sena.yaml")]
    pub config: PathBuf,
    /// RFC 3339 start, e.g. 2025-10-22T14:00:00+09:00.
    #[arg(long)]
    pub from: String,
    /// RFC 3339 end (inclusive).
    #[arg(long)]
    pub to: String,
    /// Time between evaluations (whole seconds, at least 1s).
    #[arg(long, default_value = "30s")]
    pub step: String,
    /// Replay only this rollout.
    #[arg(long)]
    pub rollout: Option<String>,
    /// A candidate rules file: replay again with it in place of each
    /// rollout's `rules:` and compare the two timelines.
    #[arg(long, value_name = "NEW.yaml")]
    pub rules: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BacktestFormat::Text)]
    pub format: BacktestFormat,
    /// Write here (atomically: a temporary file, then rename) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The stage (0-based) the rollout is at when the range starts.
    #[arg(long, default_value_t = 0)]
    pub stage: usize,
    /// When that stage was entered (RFC 3339; default --from), for its bake.
    #[arg(long)]
    pub stage_since: Option<String>,
    /// Assume a GO the moment each stage is ready, so every stage's
    /// readiness is replayed (default: the rollout stays at its stage).
    #[arg(long)]
    pub assume_go: bool,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let Some(config) = super::load_or_report(&args.config, err) else {
        return 2;
    };
    let candidate = match &args.rules {
        Some(path) => match CandidateRules::load(path) {
            Ok(rules) => Some((rules, path.display().to_string())),
            Err(diagnostics) => {
                for d in &diagnostics.0 {
                    let _ = writeln!(err, "{d}");
                }
                return 2;
            }
        },
        None => None,
    };
    let (window, stage_since) = match window(args) {
        Ok(w) => w,
        Err(e) => {
            let _ = writeln!(err, "sena backtest: {e}");
            return 1;
        }
    };
    let rollouts = match select(&config, args.rollout.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "sena backtest: {e}");
            return 1;
        }
    };
    // Before the replay, which may take minutes: never into the state.
    if let Some(path) = &args.out {
        if let Err(e) = super::out_file::outside_state(path, &config.state.path) {
            let _ = writeln!(err, "sena backtest: {e}");
            return 1;
        }
    }
    let ds = match PrometheusDatasource::new(&config.prometheus) {
        Ok(ds) => ds,
        Err(e) => {
            let _ = writeln!(err, "sena backtest: {e}");
            return 1;
        }
    };
    let request = Request {
        config: &config,
        rollouts,
        window,
        stage: args.stage,
        stage_since: stage_since.unwrap_or_else(|| {
            jiff::Timestamp::from_second(window.from).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        }),
        assume_go: args.assume_go,
        candidate: candidate.as_ref().map(|(r, p)| (r, p.clone())),
    };
    let result = super::runtime().block_on(backtest::run(&ds, &request));
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "sena backtest: {e}");
            return 1;
        }
    };
    let tz = backtest::timezone(&config);
    let written = match &args.out {
        Some(path) => {
            super::out_file::write_atomically(path, |w| render(&report, &tz, args.format, w))
        }
        None => render(&report, &tz, args.format, out),
    };
    match written {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "sena backtest: writing the output: {e}");
            1
        }
    }
}

fn render(
    report: &backtest::Backtest,
    tz: &jiff::tz::TimeZone,
    format: BacktestFormat,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        BacktestFormat::Text => backtest::render_text::write(report, tz, w),
        BacktestFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
            writeln!(w)
        }
        BacktestFormat::Html => w.write_all(backtest::render_html::render(report, tz).as_bytes()),
    }
}

/// The window from the flags, and `--stage-since` when given.
fn window(args: &Args) -> Result<(Window, Option<jiff::Timestamp>), String> {
    let from = super::parse_instant(&args.from).map_err(|e| format!("--from: {e}"))?;
    let to = super::parse_instant(&args.to).map_err(|e| format!("--to: {e}"))?;
    let step: Duration =
        crate::config::value::parse_duration(&args.step).map_err(|e| format!("--step: {e}"))?;
    let window = Window::new(from, to, step).map_err(|e| e.to_string())?;
    let since = args
        .stage_since
        .as_deref()
        .map(super::parse_instant)
        .transpose()
        .map_err(|e| format!("--stage-since: {e}"))?;
    Ok((window, since))
}

fn select<'c>(config: &'c Config, name: Option<&str>) -> Result<Vec<&'c Rollout>, String> {
    match name {
        None => Ok(config.rollouts.iter().collect()),
        Some(name) => config.rollout(name).map(|r| vec![r]).ok_or_else(|| {
            let names: Vec<&str> = config.rollouts.iter().map(|r| r.name.as_str()).collect();
            format!(
                "--rollout {name}: no such rollout in {} (it has: {})",
                config.source.display(),
                names.join(", ")
            )
        }),
    }
}
