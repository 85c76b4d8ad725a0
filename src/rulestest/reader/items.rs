//! The items inside a test: its input series (a PromQL series and values
//! in promtool's notation, within the sample budget and the span) and its
//! expectations (an instant and what Sena must say then).

use std::collections::HashMap;
use std::time::Duration;

use crate::config::raw::{line_col, Node, Value};
use crate::config::reader::{list, text, unknown, Fields, FileDiags};
use crate::config::Diagnostic;
use crate::domain::format::format_duration;
use crate::domain::{CheckStatus, Verdict};

use super::within_span;
use super::MAX_SPAN;
use crate::domain::evidence::Finding;
use crate::rulestest::model::{Counted, Expectation, ExpectedEvidence, InputSeries};
use crate::rulestest::notation::{expand, MAX_SAMPLES};
use crate::rulestest::selector;

const SERIES_KEYS: &[&str] = &["series", "values"];
const EXPECT_KEYS: &[&str] = &["at", "verdict", "checks", "reason_contains", "ready"];
const VERDICTS: &[(&str, Verdict)] = &[
    ("continue", Verdict::Continue),
    ("hold", Verdict::Hold),
    ("rollback", Verdict::Rollback),
];
const STATUSES: &[(&str, CheckStatus)] = &[
    ("passing", CheckStatus::Passing),
    ("pending", CheckStatus::Pending),
    ("failing", CheckStatus::Failing),
    ("no_data", CheckStatus::NoData),
    ("error", CheckStatus::Error),
    ("insufficient", CheckStatus::Insufficient),
];
const FINDINGS: &[(&str, Finding)] = &[
    ("exceeds", Finding::Exceeds),
    ("worse_than_baseline", Finding::WorseThanBaseline),
    ("shared", Finding::Shared),
    ("within", Finding::Within),
    ("insufficient", Finding::Insufficient),
];
const CHECK_KEYS: &[&str] = &["status", "finding", "bad", "good", "total"];
const COUNTED: &[(&str, Counted)] = &[
    ("bad", Counted::Bad),
    ("good", Counted::Good),
    ("total", Counted::Total),
];

/// A check as an expectation may name it: its name and whether it is a
/// count check (only those have a finding and counts).
pub(super) type CheckName<'a> = (&'a str, bool);

pub(super) fn input_series(d: &mut FileDiags, node: &Node, interval: Duration) -> Vec<InputSeries> {
    let Some(items) = list(d, "input_series", node) else {
        return Vec::new();
    };
    let mut budget = MAX_SAMPLES;
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::new();
    for item in items {
        let Some(f) = Fields::read(d, item, "an input series", SERIES_KEYS) else {
            continue;
        };
        let labels = f.required_text(d, "series").and_then(|s| {
            let labels = selector::parse(&s.value)
                .map_err(|e| d.error(&s.referenced, format!("`series`: {e}")))
                .ok()?;
            let key = selector::openmetrics(&labels);
            if let Some(first) = first_line_of.get(&key) {
                d.error(
                    &s.referenced,
                    format!("this series is already given on line {first}"),
                );
                return None;
            }
            first_line_of.insert(key, line_col(&s.referenced).0);
            Some(labels)
        });
        let points = f.required_text(d, "values").and_then(|v| {
            let points = expand(&v.value, budget)
                .map_err(|e| d.error(&v.referenced, format!("`values`: {e}")))
                .ok()?;
            let last = points.len().saturating_sub(1);
            let span = interval.checked_mul(u32::try_from(last).unwrap_or(u32::MAX));
            if span.is_none_or(|s| s > MAX_SPAN) {
                d.error(
                    &v.referenced,
                    format!(
                        "`values`: {} samples {} apart reach past {}, the longest a test may span",
                        points.len(),
                        format_duration(interval),
                        format_duration(MAX_SPAN)
                    ),
                );
                return None;
            }
            Some(points)
        });
        if let (Some(labels), Some(points)) = (labels, points) {
            budget -= points.len();
            out.push(InputSeries { labels, points });
        }
    }
    out
}

pub(super) fn expectation(
    d: &mut FileDiags,
    check_names: &[CheckName],
    node: &Node,
) -> Option<Expectation> {
    let errors_before = d.list.len();
    let f = Fields::read(d, node, "an expectation", EXPECT_KEYS)?;
    let at = f.required(d, "at").and(within_span(d, &f, "at"));
    let verdict = f
        .get("verdict")
        .map(|_| f.choice(d, "verdict", VERDICTS, Verdict::Continue));
    let (checks, evidence) = f
        .get("checks")
        .map(|n| expected_checks(d, check_names, n))
        .unwrap_or_default();
    let reason_contains = f.text(d, "reason_contains").map(|t| t.value);
    let ready = f.get("ready").map(|_| f.boolean(d, "ready", false));
    if d.list[errors_before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    let (line, column) = line_col(&f.at);
    let expectation = Expectation {
        at: at?,
        line,
        column,
        verdict,
        checks,
        evidence,
        reason_contains,
        ready,
    };
    if expectation.is_empty() {
        d.error(
            &f.at,
            "this expectation checks nothing; add `verdict`, `checks`, `reason_contains` or `ready`",
        );
        return None;
    }
    Some(expectation)
}

/// `checks: { error_rate: failing }`: each name one of the rules' checks;
/// a count check may instead be given a mapping of its status, finding and
/// counts since the stage began (`{ status: failing, finding: exceeds,
/// bad: 30, total: 3000 }`, each optional).
fn expected_checks(
    d: &mut FileDiags,
    check_names: &[CheckName],
    node: &Node,
) -> (Vec<(String, CheckStatus)>, Vec<ExpectedEvidence>) {
    let Value::Map(entries) = &node.value else {
        d.error(
            &node.referenced,
            format!(
                "`checks` must be a mapping of check names to statuses, like `{{ error_rate: failing }}`; found {}",
                node.value.kind()
            ),
        );
        return (Vec::new(), Vec::new());
    };
    let names: Vec<&str> = check_names.iter().map(|(n, _)| *n).collect();
    let mut out = Vec::new();
    let mut evidence = Vec::new();
    for (name, value) in entries {
        let Some(&(_, is_count)) = check_names.iter().find(|(n, _)| *n == name.value) else {
            d.error(&name.referenced, unknown("check", &name.value, &names));
            continue;
        };
        if let Value::Map(_) = &value.value {
            let Some(f) = Fields::read(d, value, "an expected check", CHECK_KEYS) else {
                continue;
            };
            if let Some(s) = f.get("status").and_then(|n| status(d, "status", n)) {
                out.push((name.value.clone(), s));
            }
            let wanted = CHECK_KEYS[1..].iter().filter_map(|k| f.key(k)).next();
            if let (Some(key), false) = (wanted, is_count) {
                d.error(
                    &key.referenced,
                    format!(
                        "`{}` is for count checks (`bad:`/`good:` and `total:`); `{}` is a plain check: expect only its `status`",
                        key.value, name.value
                    ),
                );
                continue;
            }
            let finding = f
                .get("finding")
                .map(|_| f.choice(d, "finding", FINDINGS, Finding::Within));
            let mut counts = Vec::new();
            for (key, counted) in COUNTED {
                if let Some(n) = f.get(key) {
                    match n.value.scalar_text().map(|t| t.trim().replace(['_', ','], "").parse::<f64>()) {
                        Some(Ok(v)) if v.is_finite() && v >= 0.0 => counts.push((*counted, v)),
                        _ => d.error(
                            &n.referenced,
                            format!("`{key}` must be a count of requests since the stage began, like 3000"),
                        ),
                    }
                }
            }
            if f.get("status").is_none() && finding.is_none() && counts.is_empty() {
                d.error(
                    &f.at,
                    format!("this expects nothing of `{}`; add `status`, `finding`, `bad`, `good` or `total`", name.value),
                );
                continue;
            }
            if finding.is_some() || !counts.is_empty() {
                evidence.push(ExpectedEvidence {
                    check: name.value.clone(),
                    finding,
                    counts,
                });
            }
            continue;
        }
        if let Some(s) = status(d, &name.value, value) {
            out.push((name.value.clone(), s));
        }
    }
    (out, evidence)
}

/// A check status by name (`failing`, `insufficient`).
fn status(d: &mut FileDiags, key: &str, node: &Node) -> Option<CheckStatus> {
    let status = text(d, key, node)?;
    match STATUSES.iter().find(|(n, _)| *n == status.value) {
        Some((_, s)) => Some(*s),
        None => {
            let status_names: Vec<&str> = STATUSES.iter().map(|(n, _)| *n).collect();
            d.error(
                &status.referenced,
                unknown("check status", &status.value, &status_names),
            );
            None
        }
    }
}
