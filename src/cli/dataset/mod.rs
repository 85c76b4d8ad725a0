//! `sena dataset`: every GO / NO-GO (refusals too) as one row with the
//! advice it was given and what happened after, as CSV or JSON Lines, to
//! answer "when did people go against the advice, and were they right?".
//!
//! Read-only, beside a running daemon: it opens the store as `sena
//! journal` does and never takes the daemon's lock. Memory stays bounded:
//! decisions are read a page at a time and each row's outcome is a handful
//! of keyed `LIMIT 1` lookups, never the journal as a whole.

mod outcome;
mod row;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use jiff::Timestamp;

use crate::domain::DecisionRecord;
use crate::state::{Store, StoreError, DECISION_PAGE};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetFormat {
    Csv,
    Jsonl,
}

/// Which decisions, and how to write them.
pub struct Query {
    pub since: Option<Timestamp>,
    pub rollout: Option<String>,
    pub format: DatasetFormat,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

pub fn run(
    config_path: &Path,
    since: &str,
    format: DatasetFormat,
    rollout: Option<String>,
    out_path: Option<PathBuf>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_or_report(config_path, err) else {
        return 1;
    };
    let since = match super::journal::parse_since(since) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "--since: {e}");
            return 2;
        }
    };
    let db = config.state.path.join("sena.db");
    if !db.is_file() {
        // Store::open would create an empty store; a typo in state.path
        // must not pass for "no decisions yet".
        let _ = writeln!(
            err,
            "no state store at {}: has `sena run` run with {}? (state.path)",
            db.display(),
            config_path.display()
        );
        return 1;
    }
    let store = match Store::open(&config.state.path) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let query = Query {
        since: Some(since),
        rollout,
        format,
    };
    let written = match &out_path {
        Some(path) => crate::cli::out_file::outside_state(path, &config.state.path)
            .map_err(DatasetError::from)
            .and_then(|()| {
                crate::cli::out_file::write_atomically(path, |w| export(&store, &query, w))
            }),
        None => {
            let mut w = BufWriter::new(out);
            export(&store, &query, &mut w).and_then(|n| Ok(w.flush().map(|()| n)?))
        }
    };
    match written {
        Ok(n) => {
            if let Some(path) = out_path {
                let _ = writeln!(err, "{n} decisions written to {}", path.display());
            }
            0
        }
        // The reader went away (`| head`): not an error.
        Err(DatasetError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

/// Writes the dataset; returns the number of rows.
pub fn export(store: &Store, q: &Query, out: &mut dyn Write) -> Result<usize, DatasetError> {
    match q.format {
        DatasetFormat::Jsonl => each_decision(store, q, i64::MAX, |r| {
            row::write_jsonl(out, &row::flatten(r, &after(store, r)?))?;
            Ok(())
        }),
        DatasetFormat::Csv => {
            // First pass: the check columns (the union of names, sorted) and
            // the last id, so the second pass sees no decision added meanwhile
            // with a check the header lacks.
            let mut names = BTreeSet::new();
            let mut counted = BTreeSet::new();
            let mut last_id = 0;
            each_decision(store, q, i64::MAX, |r| {
                names.extend(r.advice.checks.iter().map(|c| c.name.clone()));
                counted.extend(
                    r.advice
                        .checks
                        .iter()
                        .filter(|c| c.evidence.is_some())
                        .map(|c| c.name.clone()),
                );
                last_id = r.id;
                Ok(())
            })?;
            let names: Vec<String> = names.into_iter().collect();
            let counted: Vec<String> = counted.into_iter().collect();
            row::write_csv_header(out, &names, &counted)?;
            each_decision(store, q, last_id, |r| {
                row::write_csv(out, &row::flatten(r, &after(store, r)?), &names, &counted)?;
                Ok(())
            })
        }
    }
}

/// Calls `f` for each selected decision with `id <= last_id`, oldest first,
/// one page in memory at a time.
fn each_decision(
    store: &Store,
    q: &Query,
    last_id: i64,
    mut f: impl FnMut(&DecisionRecord) -> Result<(), DatasetError>,
) -> Result<usize, DatasetError> {
    let mut after_id = 0;
    let mut count = 0;
    loop {
        let page = store.decisions_page(q.rollout.as_deref(), q.since, after_id, DECISION_PAGE)?;
        let full = page.len() == DECISION_PAGE;
        for r in &page {
            if r.id > last_id {
                return Ok(count);
            }
            f(r)?;
            count += 1;
            after_id = r.id;
        }
        if !full {
            return Ok(count);
        }
    }
}

/// The outcome lookups for one decision, then the pure combination.
fn after(store: &Store, r: &DecisionRecord) -> Result<outcome::After, DatasetError> {
    let Some(stage) = outcome::watched_stage(r) else {
        return Ok(outcome::after(r, None, None, 0));
    };
    let next_go = store.next_accepted_go(&r.rollout, r.id)?;
    let until = next_go.as_ref().map(|n| n.at);
    let rollback = store.first_rollback(&r.rollout, stage, r.at, until)?;
    let incidents = store.incidents_between(&r.rollout, r.at, until)?;
    Ok(outcome::after(r, next_go.as_ref(), rollback, incidents))
}
