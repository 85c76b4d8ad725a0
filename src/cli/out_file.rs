//! `--out FILE` for the verbs that write a report (`sena dataset`,
//! `sena backtest`): written to a temporary file beside FILE, synced, then
//! renamed over it, so a reader never sees half a file and a failure leaves
//! the old one in place.
//!
//! A rename replaces whatever has FILE's name, so only a regular file (or
//! nothing) is replaced: `--out /dev/full` run as root once swapped the
//! device node for a regular file, and `--out /dev/stdout` would replace
//! the link. The temporary file is created new (`O_EXCL`), so a link
//! planted under its name in a shared directory is refused, not followed.

use std::io::{self, BufWriter, Write};
use std::path::Path;

pub fn write_atomically<T, E: From<io::Error>>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<T, E>,
) -> Result<T, E> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("--out {}: not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let context = |what: &str, p: &Path, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} {}: {e}", p.display()))
    };
    replaceable(path)?;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp);
    // Not removed on failure: it is someone else's (or a crashed run's).
    let file = created.map_err(|e| context("cannot create", &tmp, e))?;
    let result = (|| {
        let mut w = BufWriter::new(file);
        let written = write(&mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| context("cannot write", &tmp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| context("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| context("cannot rename to", path, e))?;
        Ok(written)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `--out` does not land in the daemon's state directory (`state.path`):
/// a report renamed over `sena.db` or its `-wal` would wipe the state a
/// running daemon holds. Compared after resolving links and `..`; a
/// directory that does not exist yet cannot be it.
pub fn outside_state(path: &Path, state_dir: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (Ok(dir), Ok(state)) = (dir.canonicalize(), state_dir.canonicalize()) else {
        return Ok(());
    };
    if dir.starts_with(&state) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "--out {} is inside state.path ({}), the daemon's state; write the report elsewhere",
                path.display(),
                state_dir.display()
            ),
        ));
    }
    Ok(())
}

/// `path` is absent or a regular file (not followed if it is a link).
fn replaceable(path: &Path) -> io::Result<()> {
    let kind = match std::fs::symlink_metadata(path) {
        Ok(m) => m.file_type(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory; name a file in it"
    } else if kind.is_symlink() {
        "a symbolic link; name the file it points to"
    } else {
        "not a regular file (a device, pipe or socket); name a file, or leave --out off to write to stdout"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is {what}", path.display()),
    ))
}

#[cfg(test)]
#[path = "out_file_tests.rs"]
mod tests;
