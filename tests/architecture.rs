//! The dependency direction of the crate, kept by a test rather than by
//! goodwill. The pipeline reads config → datasource → eval → decide →
//! notify, with state beside; `domain` holds the values they pass on and
//! imports nothing; `deliver` (outbox → channels), `server` (HTTP) and the
//! `daemon` that wires them sit on top, `cli` above all.
//!
//! Each module may name only the modules listed for it. Test-only files
//! (`tests.rs`, `*_tests.rs`, `tests_*.rs`, `fixtures.rs`) may reach further
//! to build their inputs. A new edge means either a type belongs in
//! `domain`, or the table below changes on purpose, with the README's
//! diagram.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("saturating", &[]),
    ("stats", &[]),
    ("health", &[]),
    ("clock", &["saturating"]),
    ("metrics", &["domain"]),
    ("roster", &["domain", "saturating"]),
    ("config", &["domain", "roster", "saturating"]),
    ("datasource", &["domain", "config", "saturating"]),
    (
        "eval",
        &["domain", "config", "datasource", "stats", "saturating"],
    ),
    ("decide", &["domain", "config", "saturating"]),
    ("report", &["domain", "config", "saturating"]),
    (
        "rulestest",
        &[
            "domain",
            "config",
            "datasource",
            "eval",
            "decide",
            "saturating",
        ],
    ),
    ("notify", &["domain", "config", "roster", "saturating"]),
    ("state", &["domain", "saturating"]),
    // Read-only by construction: no state, deliver or daemon, so a replay
    // can neither write the store nor send (see also the test below).
    // `stats` (pure arithmetic) for the count checks' bucket, which the
    // history must fetch exactly as eval asks for it.
    (
        "backtest",
        &[
            "domain",
            "config",
            "roster",
            "datasource",
            "eval",
            "decide",
            "notify",
            "stats",
            "saturating",
        ],
    ),
    (
        "deliver",
        &[
            "domain",
            "notify",
            "state",
            "clock",
            "health",
            "metrics",
            "saturating",
        ],
    ),
    ("server", &["domain", "report", "health", "metrics"]),
    (
        "daemon",
        &[
            "domain",
            "config",
            "roster",
            "datasource",
            "eval",
            "decide",
            "report",
            "notify",
            "deliver",
            "state",
            "server",
            "clock",
            "health",
            "metrics",
            "saturating",
        ],
    ),
];

fn is_test_only(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests.rs"
        || name == "fixtures.rs"
        || name.ends_with("_tests.rs")
        || name.starts_with("tests_")
        || path.components().any(|c| c.as_os_str() == "tests")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `crate::NAME` uses in code, comments left out.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let mut uses = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                uses.insert(name);
            }
            rest = after;
        }
    }
    uses
}

/// Module → the modules its (non-test) files use.
fn edges() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        if is_test_only(relative) {
            continue;
        }
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for used in crate_uses(&text) {
            if used != module {
                edges
                    .entry(module.clone())
                    .or_default()
                    .entry(used)
                    .or_default()
                    .push(relative.display().to_string());
            }
        }
    }
    edges
}

#[test]
fn every_module_depends_only_on_the_modules_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, uses) in edges() {
        if module == "cli" {
            continue; // the top: it may use anything
        }
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "module `{module}` is not in the table of tests/architecture.rs"
            ));
            continue;
        };
        for (used, files) in uses {
            if !may.contains(&used.as_str()) {
                wrong.push(format!("`{module}` uses `{used}` in {}", files.join(", ")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies that run the wrong way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_table_has_no_cycle() {
    // Each module's allowed set must come before it in the table: then no
    // two modules can ever import each other, directly or around a loop.
    let mut seen = BTreeSet::new();
    for (module, may) in ALLOWED {
        for used in *may {
            assert!(
                seen.contains(used),
                "`{module}` may use `{used}`, which is not below it"
            );
        }
        seen.insert(*module);
    }
}

#[test]
fn the_scanner_sees_uses_and_skips_comments() {
    let uses = crate_uses(
        "use crate::domain::Verdict;\n// crate::daemon in a comment\nlet x = crate::state::Store::open(p); // crate::server",
    );
    assert_eq!(
        uses.into_iter().collect::<Vec<_>>(),
        vec!["domain".to_string(), "state".to_string()]
    );
}

#[test]
fn a_backtest_reaches_notify_only_for_its_pure_policy() {
    // `notify` also holds the Slack and email notifiers: a backtest may use
    // its policy (who would be paged), never a way to send.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backtest");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    for file in files {
        if is_test_only(file.strip_prefix(&dir).unwrap()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("crate::notify") {
                assert!(
                    code[i..].starts_with("crate::notify::policy"),
                    "{} uses notify beyond its policy: {line}",
                    file.display()
                );
            }
        }
    }
}
