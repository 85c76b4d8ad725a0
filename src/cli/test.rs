//! `sena test FILE...`: unit tests for rules files, offline. Each test's
//! input series go into a throw-away Prometheus and Sena's own judgement
//! runs at each expected instant (`rulestest`). Exit 0 when every test
//! passes, 1 when any fails, 2 when a test file is wrong (reported as
//! `FILE:LINE:COLUMN: message`, like `sena check`) or Prometheus cannot run.

use std::io::Write;
use std::path::PathBuf;

use crate::rulestest::{reader, report, runner, scratch::Tools};

pub struct Args {
    pub files: Vec<PathBuf>,
    pub prometheus_bin: Option<PathBuf>,
    pub promtool_bin: Option<PathBuf>,
}

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
    let (mut passed, mut failed, mut errors) = (0usize, 0usize, 0usize);
    let runtime = super::runtime();
    for file in &files {
        let _ = writeln!(out, "{}", file.path.display());
        for test in &file.tests {
            match runtime.block_on(runner::run(&tools, test)) {
                Ok(outcome) => {
                    if outcome.passed() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                    if let Err(e) = report::write_outcome(out, &file.path, &outcome) {
                        let _ = writeln!(err, "writing output: {e}");
                        return 2;
                    }
                }
                Err(why) => {
                    errors += 1;
                    let _ = writeln!(out, "  ERROR {}: {why}", test.name);
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = writeln!(out, "{}", report::summary(passed, failed, errors, seconds));
    if broken_files > 0 || errors > 0 {
        2
    } else if failed > 0 {
        1
    } else {
        0
    }
}
