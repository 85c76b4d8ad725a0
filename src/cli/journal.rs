//! `sena journal`: the decision journal as JSON lines.

use std::io::Write;
use std::path::Path;

use crate::state::{JournalQuery, Store};

pub fn run(
    config_path: &Path,
    since: Option<&str>,
    rollout: Option<String>,
    limit: Option<usize>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_or_report(config_path, err) else {
        return 1;
    };
    let since = match since.map(parse_since).transpose() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "--since: {e}");
            return 2;
        }
    };
    let store = match Store::open(&config.state.path) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    match store.journal(&JournalQuery {
        since,
        rollout,
        limit,
    }) {
        Ok(records) => {
            for r in records {
                if writeln!(out, "{r}").is_err() {
                    return 0; // reader went away (`| head`)
                }
            }
            0
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

/// `1h` (back from now) or an RFC 3339 instant.
pub(super) fn parse_since(text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(d) = humantime::parse_duration(text) {
        let d = jiff::SignedDuration::try_from(d).map_err(|e| e.to_string())?;
        return jiff::Timestamp::now()
            .checked_sub(d)
            .map_err(|e| e.to_string());
    }
    super::parse_instant(text)
        .map_err(|_| format!("`{text}` is neither a duration (`1h`) nor an RFC 3339 instant"))
}
