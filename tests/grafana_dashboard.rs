//! `deploy/grafana/sena.json` queries only what Sena exports: every metric
//! name in every PromQL `expr` (and in the template variables' queries) is
//! one of `sena::metrics::ALL`, every query names at least one, and every
//! query parses in a real Prometheus. A renamed metric breaks this test, not
//! a dashboard someone opens during an incident.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

fn dashboard() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/sena.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every PromQL text of the dashboard with where it is (`panels[3].targets[0].expr`):
/// panel targets' `expr`, and template variables' queries.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let here = format!("{at}.{k}");
                    match (k.as_str(), child) {
                        ("expr", Value::String(q)) => out.push((here, q.clone())),
                        _ => walk(child, &here, out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], "panels", &mut out);
    for (i, var) in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if var["type"] == "query" {
            let q = var["query"]["query"].as_str().or(var["query"].as_str());
            let q = q.unwrap_or_else(|| panic!("templating.list[{i}] has no query: {var:#}"));
            out.push((format!("templating.list[{i}].query"), q.to_string()));
        }
    }
    out
}

/// The `sena_` metric names a PromQL text uses: identifiers starting with
/// `sena_` and followed by `{`, `[`, `)`, `,`, whitespace or the end, outside
/// string literals (a label value `"sena_x"` is not a metric).
fn metric_names(promql: &str) -> Vec<String> {
    let chars: Vec<char> = promql.chars().collect();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            // Skip the string literal, escapes included.
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c != '`' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if ident(c) && (i == 0 || !ident(chars[i - 1])) {
            let start = i;
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let follows = chars.get(i).copied();
            let ends_a_name = match follows {
                None => true,
                Some(f) => matches!(f, '{' | '[' | ')' | ',') || f.is_whitespace(),
            };
            if word.starts_with("sena_") && ends_a_name {
                names.push(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

fn exported() -> BTreeSet<String> {
    sena::metrics::ALL
        .iter()
        .flat_map(|m| m.series_names())
        .collect()
}

#[test]
fn metric_names_are_read_out_of_promql() {
    let cases: &[(&str, &[&str])] = &[
        ("sena_outbox_depth", &["sena_outbox_depth"]),
        (
            r#"sum by (channel) (increase(sena_notifications_sent_total[5m]))"#,
            &["sena_notifications_sent_total"],
        ),
        (
            r#"sena_check_value{rollout=~"$rollout",check="sena_verdict"}"#,
            &["sena_check_value"],
        ),
        (
            "time() - min(sena_last_successful_evaluation_timestamp_seconds)",
            &["sena_last_successful_evaluation_timestamp_seconds"],
        ),
        ("label_values(sena_verdict, rollout)", &["sena_verdict"]),
        ("count(sena_verdict == 2) or vector(0)", &["sena_verdict"]),
        ("up{job=\"x\\\"sena_y\"}", &[]),
        ("my_sena_metric", &[]),
    ];
    for (promql, want) in cases {
        assert_eq!(metric_names(promql), *want, "{promql}");
    }
}

#[test]
fn every_metric_the_dashboard_queries_is_one_sena_exports() {
    let exported = exported();
    let queries = queries(&dashboard());
    assert!(queries.len() >= 10, "too few queries found: {queries:?}");
    let mut used = BTreeSet::new();
    for (at, q) in &queries {
        let names = metric_names(q);
        assert!(!names.is_empty(), "{at}: `{q}` queries no sena_ metric");
        for name in names {
            assert!(
                exported.contains(&name),
                "{at}: `{q}` queries {name}, which Sena does not export (it exports {exported:?})"
            );
            used.insert(name);
        }
    }
    // What the dashboard is for: each of these has a panel.
    for needed in [
        "sena_verdict",
        "sena_check_value",
        "sena_check_threshold",
        "sena_check_status",
        "sena_rollout_stage",
        "sena_rollout_traffic_ratio",
        "sena_rollout_bake_remaining_seconds",
        "sena_approval_pending",
        "sena_notifications_sent_total",
        "sena_notifications_failed_total",
        "sena_outbox_depth",
    ] {
        assert!(used.contains(needed), "no panel queries {needed}");
    }
}

#[test]
fn the_dashboard_is_an_importable_grafana_10_model() {
    let d = dashboard();
    let inputs = d["__inputs"].as_array().expect("__inputs");
    assert!(
        inputs
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"),
        "a DS_PROMETHEUS datasource input: {inputs:?}"
    );
    assert!(
        d["schemaVersion"].as_u64().unwrap_or(0) >= 38,
        "Grafana 10+"
    );
    assert!(d["uid"].as_str().is_some_and(|u| !u.is_empty()));
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(vars.contains(&"rollout"), "{vars:?}");
    let mut ids = BTreeSet::new();
    for p in d["panels"].as_array().expect("panels") {
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "id twice: {p:#}"
        );
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        for t in p["targets"].as_array().expect("targets") {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        }
        assert!(p["gridPos"]["w"].as_u64().is_some_and(|w| w <= 24));
    }
}

/// Grafana's variables as a person would have them set, so the queries run
/// as PromQL.
fn substitute(q: &str) -> String {
    q.replace("$__rate_interval", "1m")
        .replace("$rollout", ".*")
        .replace("$check", "error_rate")
}

#[test]
fn every_query_parses_in_a_real_prometheus() {
    let prometheus = &common::shared().prometheus;
    for (at, q) in queries(&dashboard()) {
        if at.starts_with("templating") {
            // label_values(...) is Grafana's, not PromQL: check its selector.
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|s| s.rsplit_once(','))
                .map(|(selector, _)| selector.to_string())
                .unwrap_or_else(|| panic!("{at}: `{q}` is not label_values(selector, label)"));
            prometheus.query(&substitute(&inner));
        } else {
            prometheus.query(&substitute(&q));
        }
    }
}
