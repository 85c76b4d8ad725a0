//! A throw-away Prometheus holding one test's input series, so every query
//! is answered by the real PromQL engine, not a re-implementation.
//!
//! The series are written as OpenMetrics text, turned into TSDB blocks by
//! `promtool tsdb create-blocks-from openmetrics`, and served by
//! `prometheus --storage.tsdb.path=…` on a free loopback port. Time starts
//! at the Unix epoch, as in `promtool test rules`: Prometheus's time
//! retention counts back from the newest block, not from the wall clock,
//! so 1970 blocks are kept (a retention of 100 years is given all the
//! same). The process is killed and its directory removed when the
//! [`ScratchPrometheus`] is dropped, on an error or a panic too.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::model::InputSeries;
use super::notation::Point;
use super::selector;

/// The two binaries from Debian's `prometheus` package.
#[derive(Clone, Debug)]
pub struct Tools {
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
}

impl Tools {
    /// `--prometheus-bin` / `--promtool-bin`, or `/usr/bin/NAME`, or NAME on
    /// `PATH`. Checked before any test runs, so a missing binary is one
    /// clear error instead of one per test.
    pub fn resolve(
        prometheus: Option<PathBuf>,
        promtool: Option<PathBuf>,
    ) -> Result<Tools, String> {
        Ok(Tools {
            prometheus: find("prometheus", "--prometheus-bin", prometheus)?,
            promtool: find("promtool", "--promtool-bin", promtool)?,
        })
    }
}

fn find(name: &str, flag: &str, given: Option<PathBuf>) -> Result<PathBuf, String> {
    let install = "install Debian's `prometheus` package (it ships promtool too)";
    if let Some(path) = given {
        let found = if path.components().count() > 1 {
            Some(path.clone()).filter(|p| is_executable(p))
        } else {
            on_path(&path)
        };
        return found.ok_or_else(|| {
            format!(
                "{flag} {}: no such executable; {install} or point {flag} at one",
                path.display()
            )
        });
    }
    let default = Path::new("/usr/bin").join(name);
    if is_executable(&default) {
        return Ok(default);
    }
    on_path(Path::new(name)).ok_or_else(|| {
        format!(
            "cannot find `{name}` (not at {} nor on PATH); {install} or give {flag} PATH",
            default.display()
        )
    })
}

fn on_path(name: &Path) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How long Prometheus may take to answer `/-/ready` on a busy machine.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// Another process may take the free port before Prometheus binds it.
const PORT_ATTEMPTS: usize = 3;

pub struct ScratchPrometheus {
    // Fields drop in order: the process is killed before its data
    // directory is removed.
    _process: Running,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    _dir: ScratchDir,
}

impl ScratchPrometheus {
    /// Loads `series` (sample `i` at `i × interval` from the epoch) and
    /// starts Prometheus on it; returns once it answers `/-/ready`.
    pub async fn start(
        tools: &Tools,
        series: &[InputSeries],
        interval: Duration,
    ) -> Result<ScratchPrometheus, String> {
        let dir = ScratchDir::new()?;
        let input = dir.path.join("input.om");
        let data = dir.path.join("data");
        let samples = write_openmetrics(&input, series, interval)
            .map_err(|e| format!("writing {}: {e}", input.display()))?;
        if samples > 0 {
            let promtool = tools.promtool.clone();
            let (input, data) = (input.clone(), data.clone());
            tokio::task::spawn_blocking(move || create_blocks(&promtool, &input, &data))
                .await
                .map_err(|e| format!("promtool: {e}"))??;
        }
        let config = dir.path.join("prometheus.yml");
        std::fs::write(
            &config,
            "# sena test: nothing to scrape\nscrape_configs: []\n",
        )
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let mut last_error = String::new();
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port()?;
            let url = format!("http://127.0.0.1:{port}");
            let log = dir.path.join(format!("prometheus-{attempt}.log"));
            let mut process = Running(spawn(tools, &data, &config, port, &log)?);
            match wait_ready(&mut process.0, &url, &log).await {
                Ok(()) => {
                    return Ok(ScratchPrometheus {
                        _process: process,
                        url,
                        _dir: dir,
                    })
                }
                // `process` is killed as it goes out of scope.
                Err(Retry::Port(why)) => last_error = why,
                Err(Retry::Fatal(why)) => return Err(why),
            }
        }
        Err(last_error)
    }
}

/// A child process killed (and reaped) on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

enum Retry {
    /// Another process took the port first: try another.
    Port(String),
    Fatal(String),
}

/// Polls `/-/ready` until it answers 200, the process exits, or the
/// deadline passes, whichever comes first.
async fn wait_ready(child: &mut Child, url: &str, log: &Path) -> Result<(), Retry> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| Retry::Fatal(format!("HTTP client: {e}")))?;
    let ready = format!("{url}/-/ready");
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let why = format!(
                "prometheus exited ({status}) before it was ready: {}",
                tail(&text)
            );
            return Err(if text.contains("address already in use") {
                Retry::Port(why)
            } else {
                Retry::Fatal(why)
            });
        }
        if let Ok(response) = client.get(&ready).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if started.elapsed() > READY_DEADLINE {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Err(Retry::Fatal(format!(
                "prometheus did not answer /-/ready within {READY_DEADLINE:?}: {}",
                tail(&text)
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn spawn(
    tools: &Tools,
    data: &Path,
    config: &Path,
    port: u16,
    log_path: &Path,
) -> Result<Child, String> {
    let log = File::create(log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    Command::new(&tools.prometheus)
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--config.file={}", config.display()))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", tools.prometheus.display()))
}

fn create_blocks(promtool: &Path, input: &Path, data: &Path) -> Result<(), String> {
    let output = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(input)
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", promtool.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "promtool could not load the input series ({}): {}",
        output.status,
        tail(&String::from_utf8_lossy(&output.stderr))
    ))
}

/// Writes every sample as OpenMetrics text, each metric's series together
/// (the format groups samples by metric family); returns the sample count.
/// `_` and `stale` write nothing (see [`Point::Stale`]).
fn write_openmetrics(
    path: &Path,
    series: &[InputSeries],
    interval: Duration,
) -> std::io::Result<usize> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut order: Vec<&InputSeries> = series.iter().collect();
    order.sort_by(|a, b| a.labels.get("__name__").cmp(&b.labels.get("__name__")));
    let step_ms = interval.as_millis();
    let mut samples = 0;
    for s in order {
        let name = selector::openmetrics(&s.labels);
        for (i, point) in s.points.iter().enumerate() {
            let Point::Value(v) = point else { continue };
            let ms = step_ms * i as u128;
            writeln!(
                out,
                "{name} {} {}.{:03}",
                value_text(*v),
                ms / 1000,
                ms % 1000
            )?;
            samples += 1;
        }
    }
    writeln!(out, "# EOF")?;
    out.flush()?;
    Ok(samples)
}

/// A value as OpenMetrics (and Go's ParseFloat) reads it back exactly.
fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v:?}")
    }
}

/// The last lines of a log or an error output, for a one-line message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(3)..];
    if last.is_empty() {
        "(no output)".into()
    } else {
        last.join(" | ")
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

/// A fresh directory under the system temp dir, removed on drop.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn new() -> Result<ScratchDir, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        for _ in 0..100 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("sena-rulestest-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(ScratchDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(format!(
                        "cannot create a directory in {}: {e}",
                        base.display()
                    ))
                }
            }
        }
        Err(format!(
            "cannot create a fresh directory in {}",
            base.display()
        ))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
