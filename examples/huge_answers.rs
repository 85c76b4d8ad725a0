//! Peak memory of Sena under the answers issue 7 found hostile: one check
//! whose query returns 100,000 series (one of them breaching), and one whose
//! answer is a 100 MB body. A Prometheus stand-in serves them on loopback
//! (a child process of this one, so that the measured `sena` is forked from
//! a small process: a forked child's peak RSS counts what it inherited).
//! Sena is run as `sena eval` (peak RSS from wait4) and as the daemon for
//! `--daemon-seconds` (VmHWM and VmRSS from /proc). The daemon's Slack
//! webhook points at a closed port, so its advisories stay in the outbox and
//! the largest row can be read from its store.
//!
//! ```text
//! scripts/bench.sh --huge-answers                  # builds, runs this
//! cargo run --release --example huge_answers -- --sena target/release/sena
//! ```
//!
//! `--sena` may point at a build of another commit (the "before" figures in
//! docs/benchmark.md come from 6d97868); the generated config then uses only
//! keys that build knows, so the default caps are what is measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Peak RSS of sena eval and sena run under huge Prometheus answers")]
struct Args {
    #[arg(long, default_value = "target/release/sena")]
    sena: PathBuf,
    /// How long the daemon runs against each answer (1 s interval).
    #[arg(long, default_value_t = 20)]
    daemon_seconds: u64,
    /// Series in the many-series answer.
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// Size of the large answer, MB.
    #[arg(long, default_value_t = 100)]
    body_mb: usize,
    /// Also run the many-series check with `max_series: 1000000` (the
    /// answer judged in full); off for builds without the key.
    #[arg(long)]
    raised: bool,
    /// Internal: serve the answers and print the URL (the stand-in process).
    #[arg(long, hide = true)]
    serve: bool,
}

/// `{status, data: {resultType: vector, result: [...]}}` around `result`.
fn envelope(result: &str) -> Bytes {
    format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{result}]}}}}"#).into()
}

/// `n` series with short labels; the last one breaches `below: 1`.
fn many_series(n: usize) -> Bytes {
    let items: Vec<String> = (0..n)
        .map(|i| {
            let value = if i + 1 == n { "5" } else { "0.5" };
            format!(
                r#"{{"metric":{{"pod":"pod-{i}","region":"r{}"}},"value":[1,"{value}"]}}"#,
                i % 10
            )
        })
        .collect();
    envelope(&items.join(","))
}

/// About `mb` MB of healthy series with long labels.
fn large_body(mb: usize) -> Bytes {
    let label = "x".repeat(900);
    let one = |i: usize| {
        format!(r#"{{"metric":{{"pod":"pod-{i}","note":"{label}"}},"value":[1,"0.5"]}}"#)
    };
    let per = one(0).len() + 1;
    let n = mb * 1_000_000 / per;
    envelope(&(0..n).map(one).collect::<Vec<_>>().join(","))
}

/// Serves the stand-in: query `many` → the series answer, `large` → the
/// big body, anything else (the daemon's readiness ping) one sample.
/// Prints the URL, then serves until killed.
fn serve(many: Bytes, large: Bytes) {
    let one = envelope(r#"{"metric":{},"value":[1,"1"]}"#);
    let app = Router::new().route(
        "/api/v1/query",
        get(move |Query(q): Query<Vec<(String, String)>>| {
            let query = q.iter().find(|(k, _)| k == "query").map(|(_, v)| v.trim());
            let body = match query {
                Some("many") => many.clone(),
                Some("large") => large.clone(),
                _ => one.clone(),
            };
            // Real Prometheus says JSON; some clients insist on it.
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    println!("http://{addr}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        axum::serve(listener, app).await.expect("serve");
    });
}

/// Starts this binary in `--serve` mode; returns it and the URL it printed.
fn start_stand_in(args: &Args) -> (std::process::Child, String) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .args(["--serve", "--series", &args.series.to_string()])
        .args(["--body-mb", &args.body_mb.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the stand-in");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("the stand-in's URL");
    (child, line.trim().to_string())
}

/// A config with one rollout whose one check asks `query` (`extra` is
/// added to the check); returns the config and state paths.
fn write_config(
    dir: &Path,
    url: &str,
    case: usize,
    query: &str,
    extra: &str,
) -> (PathBuf, PathBuf) {
    let state = dir.join(format!("state-{case}"));
    let _ = std::fs::remove_dir_all(&state);
    std::fs::write(
        dir.join(format!("rules-{case}.yaml")),
        format!(
            "checks:\n  - name: {query}\n    query: {query}\n    below: 1\n    on_fail: rollback\n{extra}"
        ),
    )
    .expect("write rules");
    let config = dir.join(format!("sena-{case}.yaml"));
    let port = 19_464 + case;
    std::fs::write(
        &config,
        format!(
            "prometheus:\n  url: {url}\n  timeout: 60s\nevaluation:\n  interval: 1s\n\
             state:\n  path: {}\nserver:\n  listen: 127.0.0.1:{port}\n\
             slack:\n  webhook_url: http://127.0.0.1:9/closed\n\
             rollouts:\n  - name: web\n    approver: lubit\n    stages: [{{ traffic: 100% }}]\n    rules: [rules-{case}.yaml]\n",
            state.display()
        ),
    )
    .expect("write config");
    (config, state)
}

/// Runs `sena eval` to the end: (peak RSS in bytes, seconds, exit code).
/// The child is reaped with wait4, which alone reports its peak RSS.
#[allow(clippy::zombie_processes)]
fn eval_peak(sena: &Path, config: &Path) -> (u64, f64, i32) {
    let started = Instant::now();
    let child = Command::new(sena)
        .args(["eval", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sena eval");
    let mut status = 0;
    // SAFETY: wait4 on our own child, with valid out-pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (
        usage.ru_maxrss as u64 * 1024,
        started.elapsed().as_secs_f64(),
        code,
    )
}

fn proc_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs the daemon for `seconds`: (peak RSS, RSS at the end, largest
/// outbox row in bytes).
fn daemon(sena: &Path, config: &Path, state: &Path, seconds: u64) -> (u64, u64, u64) {
    let mut child = Command::new(sena)
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sena run");
    std::thread::sleep(Duration::from_secs(seconds));
    let (peak, now) = (proc_kb(child.id(), "VmHWM:"), proc_kb(child.id(), "VmRSS:"));
    let _ = child.kill();
    let _ = child.wait();
    let row = rusqlite::Connection::open(state.join("sena.db"))
        .and_then(|db| {
            db.query_row(
                "SELECT COALESCE(MAX(LENGTH(delivery)), 0) FROM outbox",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .unwrap_or(0);
    (peak * 1024, now * 1024, row as u64)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn main() {
    let args = Args::parse();
    if args.serve {
        return serve(many_series(args.series), large_body(args.body_mb));
    }
    let dir = std::env::temp_dir().join(format!("sena-huge-answers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (mut stand_in, url) = start_stand_in(&args);
    println!("sena: {}", args.sena.display());
    println!("| answer | sena eval peak RSS | eval time | exit | daemon peak RSS | daemon RSS at end | largest outbox row |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut cases = vec![("many", ""), ("large", "")];
    if args.raised {
        cases.push(("many", "    max_series: 1000000\n"));
    }
    for (case, (query, extra)) in cases.into_iter().enumerate() {
        let (config, state) = write_config(&dir, &url, case, query, extra);
        let (eval_peak, secs, code) = eval_peak(&args.sena, &config);
        let (peak, end, row) = daemon(&args.sena, &config, &state, args.daemon_seconds);
        let what = match (query, extra) {
            ("many", "") => format!("{} series", args.series),
            ("many", _) => format!("{} series, max_series raised", args.series),
            _ => format!("{} MB body", args.body_mb),
        };
        println!(
            "| {what} | {} | {secs:.1} s | {code} | {} | {} | {} |",
            mib(eval_peak),
            mib(peak),
            mib(end),
            if row == 0 {
                "none".into()
            } else {
                format!("{:.1} KiB", row as f64 / 1024.0)
            }
        );
    }
    let _ = stand_in.kill();
    let _ = stand_in.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
