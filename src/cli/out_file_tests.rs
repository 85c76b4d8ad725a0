//! `--out` replaces a regular file or creates one, and nothing else: not a
//! device, a FIFO, a directory or a link, and never through a link planted
//! under the temporary file's name.

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use super::{outside_state, write_atomically};

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    write_atomically(path, |w: &mut dyn Write| w.write_all(text.as_bytes()))
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn a_regular_file_is_replaced_and_a_missing_one_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.txt");
    write(&path, "first").unwrap();
    write(&path, "second").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_fifo_or_a_directory_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let e = write(&fifo, "report").expect_err("a FIFO is not replaced");
    assert!(e.to_string().contains("is not a regular file"), "{e}");
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO is still a FIFO");

    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let e = write(&sub, "report").expect_err("a directory");
    assert!(e.to_string().contains("is a directory"), "{e}");
    assert!(sub.is_dir());
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_link_is_refused_and_neither_it_nor_its_target_changes() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "precious").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = write(&link, "report").expect_err("a link");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
}

#[test]
fn a_link_planted_as_the_temporary_file_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let planted = dir
        .path()
        .join(format!(".report.txt.tmp-{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let e = write(&dir.path().join("report.txt"), "report").expect_err("planted");
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!dir.path().join("report.txt").exists());
}

#[test]
fn the_state_directory_is_refused_however_it_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    for inside in [
        "state/sena.db",
        "state/new.html",
        "reports/../state/sena.db-wal",
    ] {
        let e = outside_state(&dir.path().join(inside), &state).expect_err(inside);
        assert!(e.to_string().contains("inside state.path"), "{e}");
    }
    let link = dir.path().join("alias");
    std::os::unix::fs::symlink(&state, &link).unwrap();
    assert!(
        outside_state(&link.join("sena.db"), &state).is_err(),
        "through a link"
    );
    for outside in ["reports/r.html", "r.html", "missing/r.html"] {
        assert!(
            outside_state(&dir.path().join(outside), &state).is_ok(),
            "{outside}"
        );
    }
    assert!(outside_state(Path::new("r.html"), &dir.path().join("none")).is_ok());
}
