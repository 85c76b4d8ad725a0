//! Test file YAML → [`TestFile`], with the config's own reader: the same
//! serde-saphyr tree with a location on every key and value, the same
//! `FILE:LINE:COLUMN: message` diagnostics with a suggestion for an unknown
//! key, and every problem in one pass, as `sena check` reports them.
//!
//! Rules files are read by the same code as the config's `rules:`, so a
//! rules file that `sena check` accepts is the one tested here; a test's
//! `rollout:` is the name substituted for `{{ rollout }}`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::config::limits::{MAX_INTERVAL, MIN_INTERVAL};
use crate::config::raw::{line_col, parse, Node, Value};
use crate::config::reader::{list, text, Fields, FileDiags};
use crate::config::rollouts::{stages, RulesFiles};
use crate::config::rules::RuleCheck;
use crate::config::{Diagnostic, Diagnostics, FlaggerCanary, Percent, Rollout, Stage};
use crate::domain::format::format_duration;

mod items;

use super::model::{TestCase, TestFile};
use items::{expectation, input_series};

const FILE_KEYS: &[&str] = &[
    "rule_files",
    "evaluation_interval",
    "stages",
    "approver",
    "tests",
];
const TEST_KEYS: &[&str] = &[
    "name",
    "interval",
    "rollout",
    "stages",
    "approver",
    "stage",
    "stage_entered_at",
    "input_series",
    "expect",
];
/// Sena's own default `evaluation.interval`.
const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(30);
/// How far a test reaches: its samples and its `at` instants. A month holds
/// any canary stage; beyond it the scratch TSDB would be mostly empty blocks.
pub const MAX_SPAN: Duration = Duration::from_secs(31 * 86_400);
const DEFAULT_APPROVER: &str = "approver";

/// Reads and checks the test file at `path`.
pub fn read(path: &Path) -> Result<TestFile, Diagnostics> {
    match crate::config::text_file::read(path) {
        Ok(src) => read_str(&src, path),
        Err(e) => Err(Diagnostics(vec![Diagnostic::error(
            path,
            1,
            1,
            format!("cannot read the test file: {e}"),
        )])),
    }
}

/// Reads test file text as if from `path` (rules files resolve beside it).
pub fn read_str(src: &str, path: &Path) -> Result<TestFile, Diagnostics> {
    let root = parse(src, path).map_err(|syntax| Diagnostics(vec![syntax]))?;
    let mut d = FileDiags::new(path);
    let mut rules = RulesFiles::default();
    let tests = if matches!(root.value, Value::Null) {
        d.list.push(Diagnostic::error(
            path,
            1,
            1,
            "the test file is empty; it needs `rule_files:` and `tests:`",
        ));
        Vec::new()
    } else {
        read_file(&mut d, &mut rules, &root, path)
    };
    let mut all = d.list;
    all.sort_by_key(|x| (x.line, x.column));
    all.extend(rules.diags);
    let diagnostics = Diagnostics(all);
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    Ok(TestFile {
        path: path.to_path_buf(),
        tests,
        warnings: diagnostics.0,
    })
}

/// What every test of the file shares.
struct Shared {
    checks: Vec<(RuleCheck, String)>,
    evaluation_interval: Duration,
    stages: Vec<Stage>,
    approver: String,
}

fn read_file(d: &mut FileDiags, rules: &mut RulesFiles, root: &Node, path: &Path) -> Vec<TestCase> {
    let Some(f) = Fields::read(d, root, "a test file", FILE_KEYS) else {
        return Vec::new();
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    let checks = rule_files(d, rules, &f, dir);
    let evaluation_interval = evaluation_interval(d, &f);
    let shared = Shared {
        checks,
        evaluation_interval,
        stages: read_stages(d, &f).unwrap_or_else(|| vec![only_stage()]),
        approver: f
            .text(d, "approver")
            .map_or(DEFAULT_APPROVER.to_string(), |a| a.value),
    };
    let Some(items) = f.required_list(d, "tests", "add at least one test") else {
        return Vec::new();
    };
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    let mut tests = Vec::new();
    for item in items {
        let Some(test) = read_test(d, &shared, item) else {
            continue;
        };
        if let Some(first) = first_line_of.get(&test.name) {
            let at = item.referenced;
            d.error(
                &at,
                format!("duplicate test name `{}`; first on line {first}", test.name),
            );
            continue;
        }
        first_line_of.insert(test.name.clone(), test.line);
        tests.push(test);
    }
    tests
}

/// Without `stages`, the rollout is at its one and last stage: checks are
/// judged, readiness never comes (there is nowhere to expand to).
fn only_stage() -> Stage {
    Stage {
        traffic: Percent(100.0),
        bake: None,
        min_bake: None,
    }
}

fn read_stages(d: &mut FileDiags, f: &Fields) -> Option<Vec<Stage>> {
    f.get("stages")?;
    stages(d, f)
}

/// The checks of every rules file, each with the path as written (for
/// `defined_at`), read by the config's own rules reader.
fn rule_files(
    d: &mut FileDiags,
    rules: &mut RulesFiles,
    f: &Fields,
    dir: &Path,
) -> Vec<(RuleCheck, String)> {
    let Some(node) = f.required(d, "rule_files") else {
        return Vec::new();
    };
    let entries = match &node.value {
        // `rule_files: canary.yaml` means the one file.
        Value::Str(_) => std::slice::from_ref(node),
        _ => match list(d, "rule_files", node) {
            Some(entries) => entries,
            None => return Vec::new(),
        },
    };
    if entries.is_empty() {
        d.error(
            &node.referenced,
            "`rule_files` is empty; name the rules file to test",
        );
    }
    let mut defined_in: HashMap<String, String> = HashMap::new();
    let mut checks = Vec::new();
    let mut all_read = true;
    for entry in entries {
        let Some(rel) = text(d, "rule_files", entry) else {
            continue;
        };
        let path = dir.join(&rel.value);
        match rules.get(&path) {
            Ok(file_checks) => {
                for check in file_checks {
                    let name = &check.name.value;
                    if let Some(first) = defined_in.get(name) {
                        d.error(
                            &rel.referenced,
                            format!("check `{name}` is defined in both {first} and {}; a rollout's check names are unique", rel.value),
                        );
                        continue;
                    }
                    defined_in.insert(name.clone(), rel.value.clone());
                    checks.push((check.clone(), rel.value.clone()));
                }
            }
            Err(why) => {
                all_read = false;
                d.error(
                    &rel.referenced,
                    format!(
                        "rules file `{}` {why} (looked for {}; paths are relative to the test file)",
                        rel.value,
                        path.display()
                    ),
                );
            }
        }
    }
    let clean = !rules.diags.iter().any(Diagnostic::is_error);
    if all_read && clean && checks.is_empty() && !entries.is_empty() {
        d.error(
            &node.referenced,
            "the rules files define no checks; with nothing to watch Sena would only ever say hold",
        );
    }
    checks
}

fn evaluation_interval(d: &mut FileDiags, f: &Fields) -> Duration {
    let key = "evaluation_interval";
    let value = f.duration(d, key, DEFAULT_EVALUATION_INTERVAL);
    if let Some(node) = f.get(key) {
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&value) {
            d.error(
                &node.referenced,
                format!(
                    "`{key}` must be from {} to {}, as `evaluation.interval` in sena.yaml",
                    format_duration(MIN_INTERVAL),
                    format_duration(MAX_INTERVAL)
                ),
            );
        }
    }
    value
}

fn read_test(d: &mut FileDiags, shared: &Shared, node: &Node) -> Option<TestCase> {
    let errors_before = d.list.len();
    let f = Fields::read(d, node, "a test", TEST_KEYS)?;
    let name = f.required_text(d, "name");
    let interval = f.period(d, "interval", shared.evaluation_interval);
    if interval.subsec_nanos() % 1_000_000 != 0 {
        if let Some(node) = f.get("interval") {
            // Prometheus timestamps are whole milliseconds.
            d.error(
                &node.referenced,
                "`interval` must be a whole number of milliseconds, like `15s` or `250ms`",
            );
        }
    }
    let rollout_name = f
        .required_text(d, "rollout")
        .filter(|name| crate::config::rollouts::valid_rollout_name(d, name, ", as in sena.yaml"));
    let stages = read_stages(d, &f).unwrap_or_else(|| shared.stages.clone());
    let approver = f
        .text(d, "approver")
        .map_or(shared.approver.clone(), |a| a.value);
    let stage = stage_index(d, &f, stages.len());
    let stage_entered_at = within_span(d, &f, "stage_entered_at").unwrap_or(Duration::ZERO);
    let series = f
        .get("input_series")
        .map(|n| input_series(d, n, interval))
        .unwrap_or_default();
    let check_names: Vec<items::CheckName> = shared
        .checks
        .iter()
        .map(|(c, _)| (c.name.value.as_str(), c.counts.is_some()))
        .collect();
    let expect = f
        .required(d, "expect")
        .and_then(|n| list(d, "expect", n))
        .map(|items| {
            if items.is_empty() {
                d.error(
                    &f.at,
                    "`expect` is empty; say what Sena must answer, and when",
                );
            }
            items
                .iter()
                .filter_map(|item| expectation(d, &check_names, item))
                .collect::<Vec<_>>()
        });
    if d.list[errors_before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    let rollout_name = rollout_name?.value;
    let rollout = Rollout {
        checks: shared
            .checks
            .iter()
            .map(|(check, source)| {
                check.instantiate(
                    &rollout_name,
                    source,
                    crate::config::load::DEFAULT_MAX_SERIES,
                )
            })
            .collect(),
        flagger: FlaggerCanary {
            name: rollout_name.clone(),
            namespace: None,
        },
        name: rollout_name,
        approver,
        deputies: Vec::new(),
        stages,
        interval: shared.evaluation_interval,
    };
    Some(TestCase {
        name: name?.value,
        line: line_col(&f.at).0,
        interval,
        rollout,
        stage,
        stage_entered_at,
        series,
        expect: expect?,
    })
}

/// `stage: 1`: a 0-based index into the stages.
fn stage_index(d: &mut FileDiags, f: &Fields, stages: usize) -> usize {
    let Some(node) = f.get("stage") else {
        return 0;
    };
    match node.value.scalar_text().map(|t| t.trim().parse::<usize>()) {
        Some(Ok(i)) if i < stages => i,
        Some(Ok(i)) => {
            d.error(
                &node.referenced,
                format!("stage {i} does not exist: the rollout has {stages} stage{} (0-based, as `sena stage` counts); add `stages:`", if stages == 1 { "" } else { "s" }),
            );
            0
        }
        _ => {
            d.error(
                &node.referenced,
                "`stage` must be a stage index: 0 for the first stage",
            );
            0
        }
    }
}

/// A duration from the test's start, at most [`MAX_SPAN`].
pub(super) fn within_span(d: &mut FileDiags, f: &Fields, key: &str) -> Option<Duration> {
    let value = f.optional_duration(d, key)?;
    if value > MAX_SPAN {
        d.error(
            &f.get(key)?.referenced,
            format!(
                "`{key}` is past {}, the longest a test may span",
                format_duration(MAX_SPAN)
            ),
        );
        return None;
    }
    Some(value)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
