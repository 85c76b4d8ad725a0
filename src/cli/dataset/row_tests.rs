//! CSV escaping and the written forms of a row, hostile text included.

use super::*;
use crate::cli::dataset::outcome::{after, tests::record};
use crate::domain::threshold::{Bound, Threshold, Unit};
use crate::domain::{CheckEvidence, CheckStatus, Choice};

#[test]
fn csv_text_quotes_what_rfc_4180_requires_and_nothing_else() {
    assert_eq!(csv_text("plain"), "plain");
    assert_eq!(csv_text(""), "");
    assert_eq!(csv_text("a,b"), "\"a,b\"");
    assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_text("two\nlines"), "\"two\nlines\"");
    assert_eq!(csv_text("crlf\r\n"), "\"crlf\r\n\"");
    // A lone CR, ESC or NUL from a record older than the doors' check.
    assert_eq!(csv_text("cr\rlf"), "cr\u{fffd}lf");
    assert_eq!(csv_text("x\u{1b}[2J\0"), "x\u{fffd}[2J\u{fffd}");
    assert_eq!(csv_text("løsning ✓ 日本"), "løsning ✓ 日本");
}

#[test]
fn csv_text_defuses_formulas() {
    assert_eq!(csv_text("=1+1"), "'=1+1");
    assert_eq!(csv_text("+cmd"), "'+cmd");
    assert_eq!(csv_text("-2"), "'-2");
    assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(csv_text("\tx"), "'\tx");
    assert_eq!(
        csv_text("=HYPERLINK(\"http://x\",\"y\")"),
        "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
    );
    // Only the first character counts.
    assert_eq!(csv_text("a=b"), "a=b");
}

fn evidence(name: &str, value: Option<f64>) -> CheckEvidence {
    CheckEvidence {
        name: name.into(),
        status: CheckStatus::Passing,
        value,
        value_text: String::new(),
        threshold: Threshold {
            bound: Bound::Below,
            value: 0.01,
            unit: Unit::Percent,
        },
        evidence: None,
    }
}

fn hostile_row() -> Row {
    let mut r = record(Choice::Go, crate::domain::Outcome::Accepted);
    r.comment = Some(format!(
        "=cmd|' /C calc'!A0, \"q\"\n{}",
        "x".repeat(100_000)
    ));
    r.advice.checks = vec![
        evidence("error_rate", Some(f64::NAN)),
        evidence("latency", Some(f64::INFINITY)),
        evidence("zero", None),
    ];
    flatten(&r, &after(&r, None, None, 0))
}

#[test]
fn a_csv_row_has_one_field_per_column_and_non_finite_values_spelled() {
    let row = hostile_row();
    let names: Vec<String> = ["error_rate", "latency", "missing", "zero"]
        .map(String::from)
        .to_vec();
    let mut out = Vec::new();
    write_csv_header(&mut out, &names, &[]).unwrap();
    write_csv(&mut out, &row, &names, &[]).unwrap();
    let text = String::from_utf8(out).unwrap();
    let (header, body) = text.split_once("\r\n").unwrap();
    assert!(header.ends_with(",check.zero.value,check.zero.status,check.zero.threshold"));
    assert_eq!(header.split(',').count(), COLUMNS.len() + 12);
    assert!(
        body.contains(",NaN,passing,< 1%,+Inf,passing,< 1%,,,,,passing,< 1%\r\n"),
        "{body}"
    );
    assert!(body.contains(",\"'=cmd|' /C calc'!A0, \"\"q\"\"\nxxx"));
    assert!(body.ends_with("\r\n"));
}

#[test]
fn a_jsonl_row_parses_with_checks_nested_and_non_finite_as_text() {
    let row = hostile_row();
    let mut out = Vec::new();
    write_jsonl(&mut out, &row).unwrap();
    assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["checks"]["error_rate"]["value"], "NaN");
    assert_eq!(v["checks"]["latency"]["value"], "+Inf");
    assert_eq!(v["checks"]["zero"]["value"], Value::Null);
    assert_eq!(v["outcome"], "open");
    assert_eq!(v["decision"], "GO");
    // JSON needs no defusing: the comment is kept as written.
    assert!(v["comment"].as_str().unwrap().starts_with("=cmd"));
    assert_eq!(v.as_object().unwrap().len(), COLUMNS.len() + 1);
}

#[test]
fn finite_values_are_written_as_json_writes_them() {
    assert_eq!(Cell::Float(1e300).csv(), "1e+300");
    assert_eq!(Cell::Float(0.0042).csv(), "0.0042");
    assert_eq!(Cell::Float(-0.5).csv(), "-0.5");
    assert_eq!(Cell::Float(f64::NEG_INFINITY).csv(), "-Inf");
    assert_eq!(Cell::Float(1e300).json(), serde_json::json!(1e300));
}

#[test]
fn count_checks_add_evidence_columns_after_every_existing_one() {
    use crate::notify::render::fixtures::count_exceeds;
    let mut r = record(Choice::Go, crate::domain::Outcome::Accepted);
    let counted = count_exceeds();
    let mut with_counts = evidence("error_rate", counted.value);
    with_counts.evidence = counted.evidence.clone();
    r.advice.checks = vec![with_counts, evidence("latency", Some(0.3))];
    let row = flatten(&r, &after(&r, None, None, 0));
    let names: Vec<String> = ["error_rate", "latency"].map(String::from).to_vec();
    let counted_names = vec!["error_rate".to_string(), "gone".to_string()];
    let mut out = Vec::new();
    write_csv_header(&mut out, &names, &counted_names).unwrap();
    write_csv(&mut out, &row, &names, &counted_names).unwrap();
    let text = String::from_utf8(out).unwrap();
    let (header, body) = text.split_once("\r\n").unwrap();
    let header: Vec<&str> = header.split(',').collect();
    // The columns there were before counts existed keep their places.
    assert_eq!(&header[..COLUMNS.len()], COLUMNS);
    assert_eq!(
        &header[COLUMNS.len()..COLUMNS.len() + 6],
        [
            "check.error_rate.value",
            "check.error_rate.status",
            "check.error_rate.threshold",
            "check.latency.value",
            "check.latency.status",
            "check.latency.threshold",
        ]
    );
    assert_eq!(
        &header[COLUMNS.len() + 6..],
        [
            "check.error_rate.part",
            "check.error_rate.total",
            "check.error_rate.lower",
            "check.error_rate.upper",
            "check.error_rate.finding",
            "check.gone.part",
            "check.gone.total",
            "check.gone.lower",
            "check.gone.upper",
            "check.gone.finding",
        ]
    );
    assert!(
        body.ends_with(",90.0,20000.0,0.0036,0.0055,exceeds,,,,,\r\n"),
        "{body}"
    );
    assert_eq!(body.split(',').count(), header.len());

    let mut out = Vec::new();
    write_jsonl(&mut out, &row).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let e = &v["checks"]["error_rate"];
    assert_eq!(e["part"], 90.0);
    assert_eq!(e["total"], 20_000.0);
    assert_eq!(e["lower"], 0.0036);
    assert_eq!(e["upper"], 0.0055);
    assert_eq!(e["finding"], "exceeds");
    assert!(v["checks"]["latency"].get("part").is_none(), "{v}");
}
