//! `sena test FILE...`: unit tests for rules files, offline. Each test's
//! input series go into a throw-away Prometheus and Sena's own judgement
//! runs at each expected instant (`rulestest`). Exit 0 when every test
//! passes, 1 when any fails, 2 when a test file is wrong (reported as
//! `FILE:LINE:COLUMN: message`, like `sena check`) or Prometheus cannot run.

use std::io::Write;
use std::path::PathBuf;

use crate::rulestest::model::TestFile;
use crate::rulestest::{reader, report, runner, scratch::Tools};

// The verb's flags, as parsed (clap reads the doc comments below).
#[derive(clap::Args)]
pub struct Args {
    /// Test files (see README, "Testing rules: `sena test`").
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The Prometheus server to run (default /usr/bin/prometheus, else PATH).
    #[arg(long, value_name = "PATH")]
    pub prometheus_bin: Option<PathBuf>,
    /// promtool, which turns the input series into TSDB blocks
    /// (default /usr/bin/promtool, else PATH).
    #[arg(long, value_name = "PATH")]
    pub promtool_bin: Option<PathBuf>,
}

/// The exit code after SIGINT/SIGTERM, as a shell reports a signalled run.
const INTERRUPTED: i32 = 130;

pub fn run(args: Args, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let started = std::time::Instant::now();
    let mut broken_files = 0usize;
    let mut files = Vec::new();
    for path in &args.files {
        match reader::read(path) {
            Ok(file) => {
                for w in &file.warnings {
                    let _ = writeln!(err, "{w}");
                }
                files.push(file);
            }
            Err(diagnostics) => {
                for d in &diagnostics.0 {
                    let _ = writeln!(err, "{d}");
                }
                broken_files += 1;
            }
        }
    }
    if files.is_empty() {
        return 2;
    }
    let tools = match Tools::resolve(args.prometheus_bin, args.promtool_bin) {
        Ok(tools) => tools,
        Err(why) => {
            let _ = writeln!(err, "sena test: {why}");
            return 2;
        }
    };
    let counts = super::runtime().block_on(async {
        // On SIGINT/SIGTERM the run is dropped, and with it the scratch
        // Prometheus of the test in progress (killed, its directory removed).
        tokio::select! {
            counts = run_files(&tools, &files, out) => Some(counts),
            () = interrupted() => None,
        }
    });
    let Some(counts) = counts else {
        let _ = writeln!(err, "sena test: interrupted");
        return INTERRUPTED;
    };
    let seconds = started.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "{}",
        report::summary(counts.passed, counts.failed, counts.errors, seconds)
    );
    if broken_files > 0 || counts.errors > 0 || counts.write_failed {
        2
    } else if counts.failed > 0 {
        1
    } else {
        0
    }
}

#[derive(Default)]
struct Counts {
    passed: usize,
    failed: usize,
    /// Tests that could not run (Prometheus would not start).
    errors: usize,
    write_failed: bool,
}

/// One test at a time: each has its own Prometheus, and the machine running
/// the tests is usually a laptop or a CI runner with a core or two.
async fn run_files(tools: &Tools, files: &[TestFile], out: &mut dyn Write) -> Counts {
    let mut counts = Counts::default();
    for file in files {
        let _ = writeln!(out, "{}", file.path.display());
        for test in &file.tests {
            match runner::run(tools, test).await {
                Ok(outcome) => {
                    if outcome.passed() {
                        counts.passed += 1;
                    } else {
                        counts.failed += 1;
                    }
                    if report::write_outcome(out, &file.path, &outcome).is_err() {
                        // A closed pipe: the run goes on, but cannot claim success.
                        counts.write_failed = true;
                    }
                }
                Err(why) => {
                    counts.errors += 1;
                    let _ = writeln!(out, "  ERROR {}: {why}", report::printable(&test.name));
                }
            }
        }
    }
    counts
}

async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        // Without handlers the default action (exit) applies; never fire.
        _ => std::future::pending().await,
    }
}
