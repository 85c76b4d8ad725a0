//! The test runner's text output: a line per test with PASS or FAIL, and
//! for a failure, at each instant that went wrong, what was expected beside
//! what Sena said (verdict, reason, readiness, every check's status and
//! value), so the author can see which threshold or `for` to change.

use std::io::{self, Write};
use std::path::Path;

use crate::domain::evidence::format_count;
use crate::domain::format::format_duration;

use super::runner::{Instant, Mismatch, TestOutcome};

/// `  PASS  name`, or `  FAIL  name` followed by the instants that failed.
pub fn write_outcome(out: &mut dyn Write, file: &Path, outcome: &TestOutcome) -> io::Result<()> {
    if outcome.passed() {
        let n = outcome.instants.len();
        return writeln!(
            out,
            "  PASS  {} ({n} instant{})",
            printable(&outcome.name),
            if n == 1 { "" } else { "s" }
        );
    }
    writeln!(
        out,
        "  FAIL  {} ({}:{})",
        printable(&outcome.name),
        file.display(),
        outcome.line
    )?;
    for instant in outcome.instants.iter().filter(|i| !i.mismatches.is_empty()) {
        write_instant(out, file, instant)?;
    }
    Ok(())
}

fn write_instant(out: &mut dyn Write, file: &Path, i: &Instant) -> io::Result<()> {
    writeln!(
        out,
        "        at {} ({}:{}:{}):",
        format_duration(i.at),
        file.display(),
        i.line,
        i.column
    )?;
    let verdict = i.decision.verdict.as_str();
    match i.mismatches.iter().find_map(|m| match m {
        Mismatch::Verdict { expected, .. } => Some(expected),
        _ => None,
    }) {
        Some(expected) => writeln!(
            out,
            "          verdict  expected {}, got {verdict}",
            expected.as_str()
        )?,
        None => writeln!(out, "          verdict  {verdict}")?,
    }
    writeln!(out, "          reason   {}", printable(&i.decision.reason))?;
    for m in &i.mismatches {
        match m {
            Mismatch::Reason {
                expected_to_contain,
            } => writeln!(
                out,
                "                   expected the reason to contain {expected_to_contain:?}"
            )?,
            Mismatch::Ready { expected, actual } => {
                writeln!(out, "          ready    expected {expected}, got {actual}")?
            }
            _ => {}
        }
    }
    let width = i.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let value_width = i
        .checks
        .iter()
        .map(|c| c.value_text.chars().count())
        .max()
        .unwrap_or(0);
    let status_width = i
        .checks
        .iter()
        .map(|c| c.status.as_str().len())
        .max()
        .unwrap_or(0)
        .max(8);
    for c in &i.checks {
        let expected: String = i
            .mismatches
            .iter()
            .filter_map(|m| match m {
                Mismatch::Check { name, expected, .. } if *name == c.name => {
                    Some(format!("   expected {}", expected.as_str()))
                }
                Mismatch::Finding {
                    name,
                    expected,
                    actual,
                } if *name == c.name => Some(format!(
                    "   expected finding {}, got {}",
                    expected.as_str(),
                    actual.map_or("none (no counts)", |a| a.as_str())
                )),
                Mismatch::Count {
                    name,
                    counted,
                    expected,
                    actual,
                } if *name == c.name => Some(format!(
                    "   expected {} {}, got {}",
                    counted.as_str(),
                    format_count(*expected),
                    actual.map_or("none (no counts)".to_string(), format_count)
                )),
                _ => None,
            })
            .collect();
        writeln!(
            out,
            "          check    {:<width$}  {:<status_width$} {:<value_width$}  limit {}{expected}",
            c.name,
            c.status.as_str(),
            c.value_text,
            c.threshold,
        )?;
    }
    Ok(())
}

/// `3 tests: 2 passed, 1 failed (1.23 s)`.
pub fn summary(passed: usize, failed: usize, errors: usize, seconds: f64) -> String {
    let total = passed + failed + errors;
    let mut parts = vec![format!("{passed} passed"), format!("{failed} failed")];
    if errors > 0 {
        parts.push(format!("{errors} could not run"));
    }
    format!(
        "{total} test{}: {} ({seconds:.2} s)",
        if total == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// Text from the test file or from Prometheus (a test name, label values
/// in a reason) with control characters escaped, so nothing printed can
/// move the terminal's cursor or forge a line of the report.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
