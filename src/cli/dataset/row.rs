//! One dataset row: a decision flattened with its advice and outcome, and
//! the two ways it is written. CSV follows RFC 4180 and defuses spreadsheet
//! formulas; JSON Lines keeps the same fields with checks nested. Both
//! spell non-finite values as Prometheus does (`NaN`, `+Inf`, `-Inf`).

use crate::domain::printable::{replace_unprintable, Lines};
use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Map, Value};

use super::outcome::After;
use crate::domain::float::non_finite_text;
use crate::domain::{DecisionRecord, Outcome};

/// A cell, typed until it is written.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Empty,
}

impl Cell {
    fn opt_text(t: Option<&str>) -> Cell {
        t.map_or(Cell::Empty, |t| Cell::Text(t.to_string()))
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(t) => Value::String(t.clone()),
            Cell::Int(i) => Value::from(*i),
            Cell::Float(f) => match non_finite_text(*f) {
                Some(t) => Value::String(t.into()),
                None => Value::from(*f),
            },
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Empty => Value::Null,
        }
    }

    fn csv(&self) -> String {
        match self {
            Cell::Text(t) => csv_text(t),
            Cell::Int(i) => i.to_string(),
            // Finite values as JSON writes them (shortest round trip,
            // `1e300` not 301 digits), so both formats agree.
            Cell::Float(f) => match non_finite_text(*f) {
                Some(text) => text.to_string(),
                None => {
                    serde_json::Number::from_f64(*f).map_or_else(String::new, |n| n.to_string())
                }
            },
            Cell::Bool(b) => b.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// The fixed columns, in order; the README documents each.
pub const COLUMNS: &[&str] = &[
    "decision_id",
    "at",
    "rollout",
    "decision",
    "result",
    "refused",
    "refused_why",
    "by",
    "token",
    "slack_user",
    "via",
    "comment",
    "override",
    "against_advice",
    "from_stage",
    "from_traffic",
    "to_stage",
    "to_traffic",
    "advice_verdict",
    "advice_reason",
    "advice_ready",
    "bake_elapsed_seconds",
    "incidents_during_stage",
    "rules_hash",
    "outcome",
    "outcome_at",
    "outcome_after_seconds",
    "next_go_id",
    "incidents_after",
];

/// The per-check fields, each a `check.<name>.<field>` column.
pub const CHECK_FIELDS: &[&str] = &["value", "status", "threshold"];

/// A count check's evidence fields, each a `check.<name>.<field>` column
/// after every check's [`CHECK_FIELDS`] (so no earlier column moves), for
/// the checks that had evidence in any selected row: the part (bad or
/// good) and total requests since the stage began, the interval's ends in
/// the check's notation, and the finding (`exceeds`, `worse_than_baseline`,
/// `shared`, `within`, `insufficient`).
pub const EVIDENCE_FIELDS: &[&str] = &["part", "total", "lower", "upper", "finding"];

pub struct Row {
    pub fixed: Vec<Cell>,
    /// Check name → its value, status and threshold cells.
    pub checks: BTreeMap<String, [Cell; 3]>,
    /// Check name → its evidence cells, for the count checks that had some.
    pub evidence: BTreeMap<String, [Cell; 5]>,
}

pub fn flatten(r: &DecisionRecord, after: &After) -> Row {
    let (result, refused, why) = match &r.outcome {
        Outcome::Accepted => ("accepted", Cell::Empty, Cell::Empty),
        Outcome::Refused { refused, why } => (
            "refused",
            Cell::Text(
                serde_json::to_value(refused)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ),
            Cell::Text(why.clone()),
        ),
    };
    let a = &r.advice;
    let fixed = vec![
        Cell::Int(r.id),
        Cell::Text(r.at.to_string()),
        Cell::Text(r.rollout.clone()),
        Cell::Text(r.decision.as_str().into()),
        Cell::Text(result.into()),
        refused,
        why,
        Cell::Text(r.by.clone()),
        Cell::opt_text(r.token.as_deref()),
        Cell::opt_text(r.slack_user.as_deref()),
        Cell::Text(format!("{:?}", r.via).to_lowercase()),
        Cell::opt_text(r.comment.as_deref()),
        Cell::Bool(r.override_advice),
        Cell::Bool(r.against_advice),
        Cell::Int(r.from_stage as i64),
        Cell::Text(r.from_traffic.clone()),
        Cell::Int(r.to_stage as i64),
        Cell::Text(r.to_traffic.clone()),
        Cell::opt_text(a.verdict.map(|v| v.as_str())),
        Cell::Text(a.reason.clone()),
        Cell::Bool(a.ready),
        Cell::Int(i64::try_from(a.bake_elapsed_seconds).unwrap_or(i64::MAX)),
        Cell::Int(i64::try_from(a.incidents_during_stage).unwrap_or(i64::MAX)),
        Cell::Text(a.rules_hash.clone()),
        Cell::Text(after.kind.as_str().into()),
        after.at.map_or(Cell::Empty, |t| Cell::Text(t.to_string())),
        after.after_seconds.map_or(Cell::Empty, Cell::Int),
        after.next_go_id.map_or(Cell::Empty, Cell::Int),
        after.incidents_after.map_or(Cell::Empty, |n| {
            Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
        }),
    ];
    debug_assert_eq!(fixed.len(), COLUMNS.len());
    let checks = a
        .checks
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                [
                    c.value.map_or(Cell::Empty, Cell::Float),
                    Cell::Text(c.status.as_str().into()),
                    Cell::Text(c.threshold.to_string()),
                ],
            )
        })
        .collect();
    let evidence = a
        .checks
        .iter()
        .filter_map(|c| {
            let e = c.evidence.as_ref()?;
            Some((
                c.name.clone(),
                [
                    Cell::Float(e.part),
                    Cell::Float(e.total),
                    Cell::Float(e.lower),
                    Cell::Float(e.upper),
                    Cell::Text(e.finding.as_str().into()),
                ],
            ))
        })
        .collect();
    Row {
        fixed,
        checks,
        evidence,
    }
}

/// The CSV header: fixed columns, then every check's fields in name order,
/// then the evidence fields of every count check (`counted`) in name order.
pub fn write_csv_header(
    out: &mut dyn Write,
    check_names: &[String],
    counted: &[String],
) -> io::Result<()> {
    let mut cells: Vec<String> = COLUMNS.iter().map(|c| csv_text(c)).collect();
    for name in check_names {
        for field in CHECK_FIELDS {
            cells.push(csv_text(&format!("check.{name}.{field}")));
        }
    }
    for name in counted {
        for field in EVIDENCE_FIELDS {
            cells.push(csv_text(&format!("check.{name}.{field}")));
        }
    }
    write!(out, "{}\r\n", cells.join(","))
}

pub fn write_csv(
    out: &mut dyn Write,
    row: &Row,
    check_names: &[String],
    counted: &[String],
) -> io::Result<()> {
    let mut cells: Vec<String> = row.fixed.iter().map(Cell::csv).collect();
    for name in check_names {
        match row.checks.get(name) {
            Some(fields) => cells.extend(fields.iter().map(Cell::csv)),
            None => cells.extend(CHECK_FIELDS.iter().map(|_| String::new())),
        }
    }
    for name in counted {
        match row.evidence.get(name) {
            Some(fields) => cells.extend(fields.iter().map(Cell::csv)),
            None => cells.extend(EVIDENCE_FIELDS.iter().map(|_| String::new())),
        }
    }
    write!(out, "{}\r\n", cells.join(","))
}

pub fn write_jsonl(out: &mut dyn Write, row: &Row) -> io::Result<()> {
    let mut object = Map::new();
    for (name, cell) in COLUMNS.iter().zip(&row.fixed) {
        object.insert((*name).into(), cell.json());
    }
    let mut checks = Map::new();
    for (name, fields) in &row.checks {
        let mut check = Map::new();
        for (field, cell) in CHECK_FIELDS.iter().zip(fields) {
            check.insert((*field).into(), cell.json());
        }
        if let Some(evidence) = row.evidence.get(name) {
            for (field, cell) in EVIDENCE_FIELDS.iter().zip(evidence) {
                check.insert((*field).into(), cell.json());
            }
        }
        checks.insert(name.clone(), Value::Object(check));
    }
    object.insert("checks".into(), Value::Object(checks));
    serde_json::to_writer(&mut *out, &Value::Object(object))?;
    out.write_all(b"\n")
}

/// One text field per RFC 4180, with formula defusing: a field a
/// spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR first) gets a
/// leading `'`, so `=HYPERLINK(...)` in a comment stays text. Characters
/// the doors now refuse (`domain::printable`: ESC, NUL, a lone CR, bidi
/// overrides) but an older record may hold become U+FFFD: the CSV is
/// printed in terminals.
pub fn csv_text(text: &str) -> String {
    let text = &*replace_unprintable(text, Lines::Many);
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
#[path = "row_tests.rs"]
mod tests;
