//! Reading a file a person named (sena.yaml, a rules or roster file, a
//! token or secret file, a `sena test` file) as text, bounded.
//!
//! `std::fs::read_to_string` reads until end of file, and some paths have
//! none: `rule_files: [/dev/zero]` grew `sena test` past 10 GB in four
//! seconds, and the same path in sena.yaml would take the daemon down at a
//! reload. A FIFO blocks the opener until someone writes. So only regular
//! files are read, and at most [`MAX_BYTES`] of them; anything else is an
//! error the caller reports with the path, like a missing file.

use std::fs::File;
use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// Far beyond any hand-written config, rules or test file (10,000 tests
/// are a few MB), far below what would hurt the daemon.
pub const MAX_BYTES: u64 = 16 << 20;

/// The text of the regular file at `path`, if it is at most `MAX_BYTES`
/// and UTF-8. Errors keep `std::io`'s kinds (`NotFound` stays `NotFound`).
pub fn read(path: &Path) -> std::io::Result<String> {
    read_at_most(path, MAX_BYTES)
}

pub(crate) fn read_at_most(path: &Path, max: u64) -> std::io::Result<String> {
    // Checked before opening: opening a FIFO waits for a writer.
    regular(&std::fs::metadata(path)?)?;
    let file = File::open(path)?;
    regular(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("it is larger than {max} bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "it is not UTF-8 text"))
}

fn regular(metadata: &std::fs::Metadata) -> std::io::Result<()> {
    if metadata.is_dir() {
        return Err(Error::new(ErrorKind::InvalidInput, "it is a directory"));
    }
    if !metadata.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "it is not a regular file (a device, pipe or socket)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{read, read_at_most};
    use std::path::Path;
    use std::time::{Duration, Instant};

    #[test]
    fn endless_and_special_files_are_refused_at_once() {
        let started = Instant::now();
        for path in ["/dev/zero", "/dev/urandom", "/dev/null", "/"] {
            let e = read(Path::new(path)).expect_err(path);
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{path}: {e}");
        }
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = std::env::temp_dir().join(format!("sena-text-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("rules.yaml");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let e = read(&fifo).expect_err("a FIFO");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn too_large_and_not_utf8_are_refused_and_the_rest_read_whole() {
        let dir = std::env::temp_dir().join(format!("sena-text-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.yaml");
        std::fs::write(&file, "0123456789").unwrap();
        assert_eq!(read_at_most(&file, 10).unwrap(), "0123456789");
        let e = read_at_most(&file, 9).expect_err("one byte too many");
        assert!(e.to_string().contains("larger than 9 bytes"), "{e}");
        std::fs::write(&file, [0xff, 0xfe]).unwrap();
        let e = read(&file).expect_err("not UTF-8");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let missing = read(&dir.join("missing.yaml")).expect_err("missing");
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
