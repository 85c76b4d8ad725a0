//! `--out FILE` for the verbs that write a report (`sena dataset`,
//! `sena backtest`): written to a temporary file beside FILE, synced, then
//! renamed over it, so a reader never sees half a file and a failure leaves
//! the old one in place.

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
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| context("cannot create", &tmp, e))?;
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
