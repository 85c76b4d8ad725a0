//! A candidate rules file read on its own, for `sena backtest --rules`:
//! the checks a rollout would run if this file replaced its `rules:` list.
//! Read with the same parser as the config's rules files, so every mistake
//! is the same `FILE:LINE:COLUMN: message` `sena check` prints.

use std::collections::HashMap;
use std::path::Path;

use super::raw::line_col;
use super::rules::{parse_rules, RuleCheck};
use super::{Check, Diagnostic, Diagnostics};

/// A rules file parsed once, to be instantiated per rollout.
#[derive(Clone, Debug)]
pub struct CandidateRules {
    checks: Vec<RuleCheck>,
    /// The path as given, for `defined_at` (`new.yaml:3`).
    source: String,
}

impl CandidateRules {
    /// Reads and checks `path`: syntax, every check, unique names, at least one.
    pub fn load(path: &Path) -> Result<CandidateRules, Diagnostics> {
        let src = super::text_file::read(path).map_err(|e| {
            Diagnostics(vec![Diagnostic::error(
                path,
                1,
                1,
                format!("cannot read rules file: {e}"),
            )])
        })?;
        let (checks, mut diags) = parse_rules(&src, path);
        let mut first: HashMap<&str, u64> = HashMap::new();
        for check in &checks {
            let (line, column) = line_col(&check.name.referenced);
            if let Some(at) = first.get(check.name.value.as_str()) {
                diags.push(Diagnostic::error(
                    path,
                    line,
                    column,
                    format!(
                        "duplicate check name `{}`; first defined at {}:{at}",
                        check.name.value,
                        path.display()
                    ),
                ));
            } else {
                first.insert(&check.name.value, line);
            }
        }
        if diags.iter().all(|d| !d.is_error()) && checks.is_empty() {
            diags.push(Diagnostic::error(
                path,
                1,
                1,
                "this rules file has no checks",
            ));
        }
        if diags.iter().any(Diagnostic::is_error) {
            return Err(Diagnostics(diags));
        }
        Ok(CandidateRules {
            checks,
            source: path.display().to_string(),
        })
    }

    /// The checks as `rollout` would run them, `{{ rollout }}` filled in.
    pub fn checks_for(&self, rollout: &str, default_max_series: usize) -> Vec<Check> {
        self.checks
            .iter()
            .map(|c| c.instantiate(rollout, &self.source, default_max_series))
            .collect()
    }
}
