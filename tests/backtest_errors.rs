//! `sena backtest` errors: Prometheus down exits 1 with the check and the
//! cause; bad flags exit 1 with the fix; a bad candidate rules file or
//! config exits 2 at FILE:LINE:COLUMN.

mod common;

use std::fs;

use common::backtest::{backtest, setup, stderr, stdout};
use common::sena::sena_cmd;

#[test]
fn prometheus_down_is_exit_1_with_a_clear_message() {
    let s = setup(
        &format!("http://127.0.0.1:{}", common::free_port()),
        "http://127.0.0.1:9/hook",
    );
    let out = backtest(&s, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot reach Prometheus"), "{err}");
    assert!(
        err.contains("check error_rate") || err.contains("check p95_latency"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn bad_flags_are_exit_1_and_bad_rules_exit_2_with_file_line_column() {
    let s = setup("http://127.0.0.1:9", "http://127.0.0.1:9/hook");
    let run = |args: &[&str]| {
        let mut all = vec!["backtest", "--config", s.config.to_str().unwrap()];
        all.extend_from_slice(args);
        sena_cmd(&all)
    };
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--from",
                "2026-11-02T10:00:00Z",
                "--to",
                "2026-11-02T09:00:00Z",
            ],
            "must be before --to",
        ),
        (
            &[
                "--from",
                "2026-11-02T09:00:00Z",
                "--to",
                "2026-11-02T10:00:00Z",
                "--step",
                "500ms",
            ],
            "the smallest step is 1s",
        ),
        (
            &[
                "--from",
                "2026-08-01T00:00:00Z",
                "--to",
                "2026-10-30T00:00:00Z",
                "--step",
                "1s",
            ],
            "use --step 26s or more",
        ),
        (
            &["--from", "yesterday", "--to", "2026-11-02T09:00:00Z"],
            "--from: `yesterday` is not an RFC 3339 instant",
        ),
        (
            &[
                "--from",
                "2026-11-02T09:00:00Z",
                "--to",
                "2026-11-02T10:00:00Z",
                "--rollout",
                "nope",
            ],
            "--rollout nope: no such rollout",
        ),
    ];
    // A report is never written into the daemon's state directory.
    let state = s.dir.path().join("state");
    fs::create_dir_all(&state).unwrap();
    fs::write(state.join("sena.db"), "the daemon's state").unwrap();
    let into_state = state.join("sena.db");
    let into_state = into_state.to_str().unwrap();
    let window = [
        "--from",
        "2026-11-02T09:00:00Z",
        "--to",
        "2026-11-02T10:00:00Z",
    ];
    let out = run(&[&window[..], &["--out", into_state]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is inside state.path"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(state.join("sena.db")).unwrap(),
        "the daemon's state"
    );
    for (args, message) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }

    let bad = s.dir.path().join("bad.yaml");
    fs::write(
        &bad,
        "checks:\n  - name: e\n    query: x\n    below: lots\n",
    )
    .unwrap();
    let out = run(&[
        "--from",
        "2026-11-02T09:00:00Z",
        "--to",
        "2026-11-02T10:00:00Z",
        "--rules",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "{}:4:12: `lots` is not a threshold",
            bad.display()
        )),
        "{}",
        stderr(&out)
    );

    fs::write(s.dir.path().join("current.yaml"), "checks: [").unwrap();
    let out = run(&[
        "--from",
        "2026-11-02T09:00:00Z",
        "--to",
        "2026-11-02T10:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let current = s.dir.path().join("current.yaml");
    assert!(
        stderr(&out).contains(&format!("{}:", current.display())),
        "{}",
        stderr(&out)
    );
}
