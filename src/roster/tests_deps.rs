//! The roster is a leaf of the data path: config reads YAML and builds a
//! `Roster`; the roster never reaches back into config (that edge made the
//! two a cycle). Checked here so it stays so by test, not by goodwill.

use std::path::Path;

#[test]
fn the_roster_imports_nothing_from_config() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/roster");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/roster") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable source");
        for (index, line) in text.lines().enumerate() {
            // Split so this file does not name the path it forbids; also
            // also catches a grouped `use crate::{...}` and a path through
            // `super::super`.
            let config = concat!("con", "fig");
            let path_to_config = line.contains(&format!("crate::{config}"))
                || line.contains(&format!("super::super::{config}"))
                || (line.trim_start().starts_with("use crate::{") && line.contains(config));
            if path_to_config {
                offenders.push(format!("{}:{}: {line}", path.display(), index + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
