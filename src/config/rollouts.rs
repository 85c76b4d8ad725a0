//! `rollouts:` — each rollout's stages and the checks its rules files
//! give it. Stages only widen, every stage but the last bakes, and check
//! names are unique within a rollout so advisories and state can key on them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::raw::{line_col, Node};
use super::reader::{list, text, Fields, FileDiags};
use super::rules::{parse_rules, RuleCheck};
use super::value::parse_percent;
use super::{Diagnostic, FlaggerCanary, Percent, Rollout, Stage};
use crate::roster::Roster;

const ROLLOUT_KEYS: &[&str] = &[
    "name", "approver", "deputies", "flagger", "interval", "stages", "rules",
];
const FLAGGER_KEYS: &[&str] = &["name", "namespace"];
const STAGE_KEYS: &[&str] = &["traffic", "bake", "min_bake"];

/// Rules files read so far, each read once however many rollouts list it.
#[derive(Default)]
pub(crate) struct RulesFiles {
    files: HashMap<PathBuf, Result<Vec<RuleCheck>, String>>,
    /// Problems inside rules files (problems naming them are the config's).
    pub diags: Vec<Diagnostic>,
}

impl RulesFiles {
    /// The checks of `path`; `Err` says why the file could not be read.
    pub(crate) fn get(&mut self, path: &Path) -> Result<&[RuleCheck], String> {
        if !self.files.contains_key(path) {
            let read = match super::text_file::read(path) {
                Ok(src) => {
                    let (checks, diags) = parse_rules(&src, path);
                    self.diags.extend(diags);
                    Ok(checks)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err("does not exist".to_string())
                }
                Err(e) => Err(format!("cannot be read: {e}")),
            };
            self.files.insert(path.to_path_buf(), read);
        }
        self.files[path].as_deref().map_err(Clone::clone)
    }
}

pub(crate) fn rollouts(
    d: &mut FileDiags,
    rules: &mut RulesFiles,
    top: &Fields,
    dir: &Path,
    default_interval: Duration,
    roster: Option<&Roster>,
    default_max_series: usize,
) -> Vec<Rollout> {
    let Some(items) = top.required_list(d, "rollouts", "add at least one rollout") else {
        return Vec::new();
    };
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::new();
    for item in items {
        let (name, rollout) = rollout(
            d,
            rules,
            item,
            dir,
            (default_interval, default_max_series),
            roster,
        );
        // Checked even when the rollout has other errors: they are all
        // worth knowing in one pass.
        if let Some(name) = name {
            match first_line_of.get(&name.value) {
                Some(first) => {
                    d.error(
                        &name.referenced,
                        format!(
                            "duplicate rollout name `{}`; first defined on line {first}",
                            name.value
                        ),
                    );
                    continue;
                }
                None => first_line_of.insert(name.value, line_col(&name.referenced).0),
            };
        }
        out.extend(rollout);
    }
    out
}

/// One rollout, and its name as written whether or not the rest is valid.
fn rollout(
    d: &mut FileDiags,
    rules: &mut RulesFiles,
    node: &Node,
    dir: &Path,
    (default_interval, default_max_series): (Duration, usize),
    roster: Option<&Roster>,
) -> (Option<Spanned<String>>, Option<Rollout>) {
    let Some(f) = Fields::read(d, node, "a rollout", ROLLOUT_KEYS) else {
        return (None, None);
    };
    let name = f
        .required_text(d, "name")
        .filter(|name| valid_rollout_name(d, name, ""));
    let approver = f
        .required_text(d, "approver")
        .filter(|approver| match roster {
            Some(roster) if roster.person(&approver.value).is_none() => {
                d.error(
                    &approver.referenced,
                    format!(
                        "approver `{}` is not one of the roster's people",
                        approver.value
                    ),
                );
                false
            }
            _ => true,
        });
    let deputies = deputies(d, &f, roster);
    let flagger = flagger(d, &f, name.as_ref().map(|n| n.value.as_str()));
    let interval = super::limits::interval(d, &f, default_interval);
    let stages = stages(d, &f);
    let checks = checks(
        d,
        rules,
        &f,
        dir,
        name.as_ref().map(|n| n.value.as_str()),
        default_max_series,
    );
    let rollout = (|| {
        let name = name.as_ref()?.value.clone();
        Some(Rollout {
            name,
            approver: approver?.value,
            deputies: deputies?,
            flagger: flagger?,
            stages: stages?,
            checks: checks?,
            interval,
        })
    })();
    (name, rollout)
}

/// `deputies: [maestro]`: people who may decide when the approver is away;
/// like `approver`, each must be a roster person when there is a roster.
fn deputies(d: &mut FileDiags, f: &Fields, roster: Option<&Roster>) -> Option<Vec<String>> {
    let Some(node) = f.get("deputies") else {
        return Some(Vec::new());
    };
    let items = list(d, "deputies", node)?;
    let mut names = Vec::new();
    let mut valid = true;
    for item in items {
        let Some(name) = super::reader::text(d, "deputies", item) else {
            valid = false;
            continue;
        };
        if roster.is_some_and(|r| r.person(&name.value).is_none()) {
            d.error(
                &name.referenced,
                format!("deputy `{}` is not one of the roster's people", name.value),
            );
            valid = false;
            continue;
        }
        names.push(name.value);
    }
    valid.then_some(names)
}

/// `flagger: {name, namespace}`: the Flagger canary whose webhooks ask
/// about this rollout; by default the canary named like the rollout, in
/// any namespace. Names are Kubernetes object names (DNS labels).
fn flagger(d: &mut FileDiags, f: &Fields, rollout: Option<&str>) -> Option<FlaggerCanary> {
    let Some(node) = f.get("flagger") else {
        return Some(FlaggerCanary {
            name: rollout.unwrap_or_default().to_string(),
            namespace: None,
        });
    };
    let errors_before = d.list.len();
    let g = Fields::read(d, node, "`flagger`", FLAGGER_KEYS)?;
    let field = |d: &mut FileDiags, key: &str| {
        let value = g.text(d, key)?;
        let ok = !value.value.is_empty()
            && value.value.len() <= 253
            && value
                .value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c));
        if !ok {
            d.error(
                &value.referenced,
                format!(
                    "flagger {key} `{}` is not a Kubernetes name: use lowercase letters, digits, `-` and `.`",
                    value.value.escape_debug()
                ),
            );
        }
        Some(value.value)
    };
    let name = field(d, "name");
    let namespace = field(d, "namespace");
    (d.list.len() == errors_before).then(|| FlaggerCanary {
        name: name.unwrap_or_else(|| rollout.unwrap_or_default().to_string()),
        namespace,
    })
}

/// Rollout names go into URLs, label values and `{{ rollout }}` in PromQL:
/// letters, digits, `_`, `.` and `-` only. Reports any other name (`suffix`
/// ends the message, e.g. ", as in sena.yaml").
pub(crate) fn valid_rollout_name(d: &mut FileDiags, name: &Spanned<String>, suffix: &str) -> bool {
    let valid = name
        .value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        d.error(
            &name.referenced,
            format!(
                "rollout name `{}` may only use letters, digits, `_`, `.` and `-`{suffix}",
                name.value.escape_debug()
            ),
        );
    }
    valid
}

pub(crate) fn stages(d: &mut FileDiags, f: &Fields) -> Option<Vec<Stage>> {
    let items = f.required_list(d, "stages", "add at least one, like `- { traffic: 100% }`")?;
    if items.is_empty() {
        return None;
    }
    let errors_before = d.list.len();
    let mut stages = Vec::new();
    let mut previous: Option<f64> = None;
    for (index, item) in items.iter().enumerate() {
        let Some(s) = Fields::read(d, item, "a stage", STAGE_KEYS) else {
            continue;
        };
        let last = index + 1 == items.len();
        let traffic = s
            .required_text(d, "traffic")
            .and_then(|t| match parse_percent(&t.value) {
                Ok(v) => Some((v, t)),
                Err(e) => {
                    d.error(&t.referenced, e);
                    None
                }
            });
        let bake = s.optional_duration(d, "bake");
        let min_bake = s.optional_duration(d, "min_bake");
        if let (Some(min), Some(node)) = (min_bake, s.get("min_bake")) {
            if last {
                d.warning(
                    &node.referenced,
                    "the last stage has nowhere to expand to, so its `min_bake` is ignored",
                );
            } else if bake.is_some_and(|b| min > b) {
                d.error(&node.referenced, "`min_bake` is the shorter bake that evidence alone may end; it cannot be longer than `bake`");
            }
        }
        let Some((traffic, written)) = traffic else {
            continue;
        };
        if let Some(before) = previous.filter(|before| traffic <= *before) {
            d.error(
                &written.referenced,
                format!(
                    "traffic {} must be more than the previous stage's {}; stages only widen",
                    Percent(traffic),
                    Percent(before)
                ),
            );
        }
        previous = Some(traffic);
        match (bake, last, s.get("bake")) {
            (None, false, None) => d.error(
                &s.at,
                format!("stage {} ({}) needs `bake:`, how long it must run clean before expanding; only the last stage has none", index + 1, Percent(traffic)),
            ),
            (Some(_), true, Some(b)) => {
                d.warning(&b.referenced, "the last stage has nowhere to expand to, so its `bake` is ignored")
            }
            _ => {}
        }
        stages.push(Stage {
            traffic: Percent(traffic),
            bake: if last { None } else { bake },
            min_bake: if last { None } else { min_bake },
        });
    }
    let clean = !d.list[errors_before..].iter().any(Diagnostic::is_error);
    clean.then_some(stages)
}

/// The rollout's checks from all its rules files, `{{ rollout }}` filled in.
fn checks(
    d: &mut FileDiags,
    rules: &mut RulesFiles,
    f: &Fields,
    dir: &Path,
    rollout: Option<&str>,
    default_max_series: usize,
) -> Option<Vec<super::Check>> {
    let node = f.required(d, "rules")?;
    let entries = list(d, "rules", node)?;
    if entries.is_empty() {
        d.error(
            &node.referenced,
            "`rules` is empty; list at least one rules file",
        );
        return None;
    }
    let mut ok = true;
    let mut listed: Vec<PathBuf> = Vec::new();
    let mut first_defined: HashMap<String, String> = HashMap::new();
    let mut checks = Vec::new();
    for entry in entries {
        let Some(rel) = text(d, "rules", entry) else {
            ok = false;
            continue;
        };
        let path = dir.join(&rel.value);
        if listed.contains(&path) {
            d.error(
                &rel.referenced,
                format!("rules file `{}` is listed twice", rel.value),
            );
            continue;
        }
        listed.push(path.clone());
        let file_checks = match rules.get(&path) {
            Ok(file_checks) => file_checks.to_vec(),
            Err(why) => {
                d.error(
                    &rel.referenced,
                    format!(
                        "rules file `{}` {why} (looked for {})",
                        rel.value,
                        path.display()
                    ),
                );
                ok = false;
                continue;
            }
        };
        for check in file_checks {
            let here = format!("{}:{}", path.display(), line_col(&check.name.referenced).0);
            if let Some(first) = first_defined.get(&check.name.value) {
                let (line, column) = line_col(&check.name.referenced);
                let message = format!(
                    "duplicate check name `{}`; first defined at {first}",
                    check.name.value
                );
                rules
                    .diags
                    .push(Diagnostic::error(&path, line, column, message));
                ok = false;
                continue;
            }
            first_defined.insert(check.name.value.clone(), here);
            checks.push(check.instantiate(
                rollout.unwrap_or_default(),
                &rel.value,
                default_max_series,
            ));
        }
    }
    let rules_clean = !rules
        .diags
        .iter()
        .any(|x| listed.contains(&x.file) && x.is_error());
    if ok && rules_clean && checks.is_empty() {
        d.error(
            &node.referenced,
            "this rollout has no checks; with nothing to watch it would only ever say hold",
        );
        return None;
    }
    ok.then_some(checks)
}
