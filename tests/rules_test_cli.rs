//! `sena test` end to end: the real `sena` binary runs the test files under
//! `tests/fixtures/rulestest/` (and the shipped `rules/canary_test.yaml`),
//! each test's series in its own real Prometheus started from the real
//! promtool's blocks. Passing files exit 0; wrong expectations exit 1 with
//! expected beside actual; a broken test file or a Prometheus that cannot
//! run exits 2, the former as `FILE:LINE:COLUMN: message`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::sena::{binary, sena_cmd};

const DIR: &str = "tests/fixtures/rulestest";

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// Runs `sena test FILE...`, asserting the exit code and that every test
/// named in `passing` has a PASS line.
fn run_expecting(code: i32, files: &[&str], passing: &[&str]) -> Output {
    let mut args = vec!["test"];
    args.extend_from_slice(files);
    let out = sena_cmd(&args);
    assert_eq!(out.status.code(), Some(code), "{}", describe(&out));
    let stdout = text(&out.stdout);
    for name in passing {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("  PASS  {name} ("))),
            "no PASS line for {name:?}\n{}",
            describe(&out)
        );
    }
    out
}

#[test]
fn the_shipped_canary_tests_pass() {
    let out = run_expecting(
        0,
        &["rules/canary_test.yaml"],
        &[
            "a healthy canary continues, and is ready to expand once baked and confident",
            "one 5xx at 1 req/s is not evidence of a breach",
            "a 3% error rate rolls back within a minute",
            "when stable fails as well it is a shared failure, and Sena holds",
            "a canary with no traffic has no evidence, so it is never ready",
            "a canary that is not scraped at all holds",
            "unhappy users hold the rollout, they do not roll it back",
            "a slow canary rolls back once too many requests take over 2s",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\n8 tests: 8 passed, 0 failed ("),
        "{stdout}"
    );
    run_expecting(
        0,
        &["deploy/demo/canary_test.yaml"],
        &[
            "the healthy demo canary is soon confidently within every limit",
            "2% of 500s from 50s roll back within seconds",
        ],
    );
}

#[test]
fn for_is_pending_at_one_instant_and_failing_at_the_next() {
    run_expecting(
        0,
        &[&fixture("for_test.yaml")],
        &["pending until for has passed, failing from that instant"],
    );
}

#[test]
fn a_zero_traffic_ratio_is_nan_and_holds() {
    run_expecting(
        0,
        &[&fixture("nan_test.yaml")],
        &[
            "zero traffic makes the ratio NaN, which holds",
            "NaN written as a value is NaN too",
        ],
    );
}

#[test]
fn gaps_follow_prometheus_lookback() {
    run_expecting(
        0,
        &[&fixture("gaps_test.yaml")],
        &[
            "a gap is bridged by the 5m lookback, a longer one is no data",
            "stale is written as a gap",
        ],
    );
}

#[test]
fn the_worst_of_several_series_decides() {
    run_expecting(
        0,
        &[&fixture("regions_test.yaml")],
        &[
            "the worst region decides and is named",
            "a NaN region among healthy ones is blind",
        ],
    );
}

#[test]
fn count_checks_say_insufficient_within_and_exceeds_with_their_counts() {
    run_expecting(
        0,
        &[&fixture("counts_test.yaml")],
        &[
            "one request a second is too few to say, for now",
            "a thousand requests every 15 s without an error are confidently within",
            "5% errors from 5m roll back",
        ],
    );
}

#[test]
fn a_failing_test_shows_expected_beside_actual() {
    let out = run_expecting(1, &[&fixture("fail_test.yaml")], &["right about the start"]);
    let stdout = text(&out.stdout);
    let expected = [
        "  FAIL  expects failing one instant too early (tests/fixtures/rulestest/fail_test.yaml:13)",
        "        at 1m9s (tests/fixtures/rulestest/fail_test.yaml:20:9):",
        "          verdict  expected rollback, got continue",
        "          reason   within limits for now, but not ready to expand: queue_depth 500 (limit < 100) breaching for 29s of 30s",
        "                   expected the reason to contain \"roll back\"",
        "          ready    expected true, got false",
        "          check    queue_depth  pending  500  limit < 100   expected failing",
        "2 tests: 1 passed, 1 failed (",
    ];
    for line in expected {
        assert!(
            stdout.contains(line),
            "missing {line:?}\n{}",
            describe(&out)
        );
    }
}

/// Every broken test file (`*_bad_test.yaml`) and the exact lines it
/// produces on stderr, `DIR/` standing for the fixture directory.
const BAD: &[(&str, &[&str])] = &[
    (
        "mistakes_bad_test.yaml",
        &[
            "DIR/mistakes_bad_test.yaml:1:26: rules file `nowhere.yaml` does not exist (looked for DIR/nowhere.yaml; paths are relative to the test file)",
            "DIR/mistakes_bad_test.yaml:4:5: unknown key `intervall`, did you mean `interval`?",
            "DIR/mistakes_bad_test.yaml:7:17: `series`: expected `,` or `}` at character 22",
            "DIR/mistakes_bad_test.yaml:8:17: `values`: `1e400` is not a value; write a number (`1.5`, `2e3`, `NaN`, `+Inf`), `a+bxN`, `axN`, `_`, `_xN` or `stale`",
            "DIR/mistakes_bad_test.yaml:12:19: unknown check `queue_dept`, did you mean `queue_depth`?",
        ],
    ),
    (
        "syntax_bad_test.yaml",
        &["DIR/syntax_bad_test.yaml:5:13: unclosed bracket '['"],
    ),
    (
        "values_bad_test.yaml",
        &[
            "DIR/values_bad_test.yaml:5:23: `soon` is not a duration (expected number at 0); write it like `30s`, `5m` or `1h30m`",
            "DIR/values_bad_test.yaml:7:31: `values`: `0+1x9999999999999` expands to 10000000000000 samples, past the 1000000 a test may hold in all its series; shorten the series or widen `interval`",
            "DIR/values_bad_test.yaml:10:32: unknown check status `stuck` (valid: passing, pending, failing, no_data, error, insufficient)",
            "DIR/values_bad_test.yaml:11:9: this expectation checks nothing; add `verdict`, `checks`, `reason_contains` or `ready`",
        ],
    ),
];

#[test]
fn a_broken_test_file_exits_2_with_file_line_column() {
    for (name, lines) in BAD {
        let out = sena_cmd(&["test", &fixture(name)]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", describe(&out));
        let expected: Vec<String> = lines.iter().map(|l| l.replace("DIR", DIR)).collect();
        assert_eq!(
            text(&out.stderr).lines().collect::<Vec<_>>(),
            expected,
            "{name}"
        );
        assert!(out.stdout.is_empty(), "{name}: {}", describe(&out));
    }
}

#[test]
fn every_broken_fixture_is_listed() {
    for entry in std::fs::read_dir(DIR).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with("_bad_test.yaml") {
            assert!(
                BAD.iter().any(|(listed, _)| *listed == name),
                "{name} is not in BAD: add it with the lines it must produce"
            );
        }
    }
}

#[test]
fn a_broken_file_does_not_stop_the_others_but_decides_the_exit_code() {
    let out = run_expecting(
        2,
        &[
            &fixture("mistakes_bad_test.yaml"),
            &fixture("for_test.yaml"),
        ],
        &["pending until for has passed, failing from that instant"],
    );
    assert!(text(&out.stderr).contains("mistakes_bad_test.yaml:4:5: unknown key"));
    // Without a broken file, one failure makes it 1.
    run_expecting(
        1,
        &[&fixture("for_test.yaml"), &fixture("fail_test.yaml")],
        &["pending until for has passed, failing from that instant"],
    );
}

#[test]
fn a_missing_prometheus_binary_is_a_clear_error() {
    let out = sena_cmd(&[
        "test",
        &fixture("for_test.yaml"),
        "--prometheus-bin",
        "/nonexistent/prometheus",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(
        text(&out.stderr).trim_end(),
        "sena test: --prometheus-bin /nonexistent/prometheus: no such executable; install Debian's `prometheus` package (it ships promtool too) or point --prometheus-bin at one"
    );
    let out = sena_cmd(&[
        "test",
        &fixture("for_test.yaml"),
        "--promtool-bin",
        "no-such-promtool-anywhere",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("--promtool-bin no-such-promtool-anywhere: no such executable"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_prometheus_that_dies_at_start_is_reported_with_its_words() {
    let dir = common::scratch_dir("fake-prometheus");
    let fake = dir.path().join("prometheus");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'err=\"cannot open the TSDB\"' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sena_cmd(&[
        "test",
        &fixture("for_test.yaml"),
        "--prometheus-bin",
        fake.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  ERROR pending until for has passed, failing from that instant: prometheus exited (exit status: 3) before it was ready: err=\"cannot open the TSDB\""),
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains("1 test: 0 passed, 0 failed, 1 could not run"),
        "{stdout}"
    );
}

#[test]
fn nothing_is_left_behind() {
    let mut child = spawn_sena(&["test", &fixture("for_test.yaml")]);
    let pid = child.pid();
    let status = child
        .wait_timeout(Duration::from_secs(60))
        .expect("sena test finishes");
    assert!(status.success(), "{status}");
    assert_cleaned_up(pid);
}

#[test]
fn sigterm_stops_the_scratch_prometheus_and_removes_its_data() {
    // A "prometheus" that never gets ready, so the run is surely in
    // progress when the signal comes; it says when it has started.
    let dir = common::scratch_dir("hanging-prometheus");
    let fake = dir.path().join("prometheus");
    let started = dir.path().join("started");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho $$ > {}.tmp && mv {0}.tmp {0}\nexec sleep 120\n",
            started.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = spawn_sena(&[
        "test",
        &fixture("for_test.yaml"),
        "--prometheus-bin",
        fake.to_str().unwrap(),
    ]);
    let sena_pid = child.pid();
    let fake_pid: i32 = common::wait_until(
        "the fake prometheus to start",
        Duration::from_secs(30),
        || std::fs::read_to_string(&started).ok()?.trim().parse().ok(),
        || format!("{} exists: {}", started.display(), started.exists()),
    );
    child.signal(libc::SIGTERM);
    let status = child
        .wait_timeout(Duration::from_secs(20))
        .expect("sena test stops on SIGTERM");
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(
        !std::path::Path::new(&format!("/proc/{fake_pid}")).exists(),
        "the scratch prometheus (pid {fake_pid}) outlived sena test"
    );
    assert_cleaned_up(sena_pid);
}

fn spawn_sena(args: &[&str]) -> common::process::Guarded {
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    common::process::spawn(cmd).expect("start sena test")
}

/// No scratch directory of `sena test` process `pid` remains, and no
/// process still runs on one.
fn assert_cleaned_up(pid: i32) {
    let prefix = format!("sena-rulestest-{pid}-");
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let running: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&prefix))
        .collect();
    assert!(running.is_empty(), "still running: {running:?}");
}

/// `rule_files` naming a file without an end (`/dev/zero`), a FIFO nobody
/// writes or a directory is a clear `FILE:LINE:COLUMN` error at once, not
/// a read that grows until the machine runs out of memory (it reached
/// 10 GB in 4 s) or waits forever. Run under a 4 GB address-space limit so
/// a regression fails here instead of taking the machine down.
#[test]
fn rules_files_that_never_end_are_refused_at_once() {
    let dir = common::scratch_dir("endless-rules");
    let fifo = dir.path().join("fifo.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for (rules, why) in [
        (
            "/dev/zero",
            "it is not a regular file (a device, pipe or socket)",
        ),
        (
            "fifo.yaml",
            "it is not a regular file (a device, pipe or socket)",
        ),
        (".", "it is a directory"),
    ] {
        let file = dir.path().join("endless_test.yaml");
        std::fs::write(
            &file,
            format!("rule_files: [{rules}]\ntests:\n  - name: t\n    rollout: web\n    expect: [{{at: 0s, verdict: hold}}]\n"),
        )
        .unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "ulimit -v 4194304; exec \"$0\" \"$@\""])
            .arg(binary())
            .arg("test")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
        let mut child = common::process::spawn(cmd).expect("start sena test");
        let status = child
            .wait_timeout(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{rules}: sena test still reading after 20 s"));
        let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
        assert_eq!(status.code(), Some(2), "{rules}: {status}\n{stderr}");
        let expected =
            format!("endless_test.yaml:1:14: rules file `{rules}` cannot be read: {why}");
        assert!(stderr.contains(&expected), "{rules}: {stderr}");
    }
}
