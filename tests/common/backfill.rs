//! A real Prometheus holding a known history: OpenMetrics text written by
//! the test is turned into TSDB blocks by `promtool tsdb create-blocks-from
//! openmetrics`, and `/usr/bin/prometheus` serves that directory on a free
//! loopback port (nothing scraped). Retention is ten years: Prometheus
//! deletes blocks older than its retention, so backfilled history must sit
//! inside it. The process is killed on drop.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::http;
use super::process::{self, Guarded};

fn promtool() -> String {
    std::env::var("SENA_TEST_PROMTOOL").unwrap_or_else(|_| "/usr/bin/promtool".into())
}

fn prometheus() -> String {
    std::env::var("SENA_TEST_PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into())
}

/// One series: its labels as written inside the braces, and its points.
type Series = (String, Vec<(i64, f64)>);

/// OpenMetrics text of gauges, built series by series.
#[derive(Default)]
pub struct OpenMetrics {
    families: Vec<(String, Vec<Series>)>,
}

impl OpenMetrics {
    pub fn new() -> OpenMetrics {
        OpenMetrics::default()
    }

    /// A gauge series `name{labels}` with `(unix seconds, value)` points in
    /// time order; `labels` as written inside the braces (`app="web"`).
    pub fn gauge(mut self, name: &str, labels: &str, points: Vec<(i64, f64)>) -> Self {
        match self.families.iter_mut().find(|(n, _)| n == name) {
            Some((_, series)) => series.push((labels.to_string(), points)),
            None => self
                .families
                .push((name.to_string(), vec![(labels.to_string(), points)])),
        }
        self
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, series) in &self.families {
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (labels, points) in series {
                for (t, v) in points {
                    let _ = writeln!(out, "{name}{{{labels}}} {v} {t}");
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

pub struct Backfilled {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Guarded>,
}

impl Backfilled {
    /// Backfills `history` and starts Prometheus on it; panics with
    /// promtool's or Prometheus's output when either fails.
    pub fn start(history: &OpenMetrics) -> Backfilled {
        let dir = super::scratch_dir("backfill");
        let input = dir.path().join("history.om");
        fs::write(&input, history.text()).expect("write the OpenMetrics file");
        let data = dir.path().join("data");
        let made = Command::new(promtool())
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", promtool()));
        assert!(
            made.status.success(),
            "promtool create-blocks-from failed: {}{}",
            String::from_utf8_lossy(&made.stdout),
            String::from_utf8_lossy(&made.stderr)
        );
        fs::write(dir.path().join("prometheus.yml"), "global: {}\n").expect("write prometheus.yml");
        let mut server = Backfilled {
            port: 0,
            dir,
            child: None,
        };
        for attempt in 1..=5 {
            server.port = super::free_port();
            match server.launch() {
                Ok(()) => return server,
                Err(e) if attempt < 5 && e.contains("address already in use") => continue,
                Err(e) => panic!("Prometheus did not start on the backfilled data: {e}"),
            }
        }
        unreachable!()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server; the port then refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.terminate(Duration::from_secs(10));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    fn launch(&mut self) -> Result<(), String> {
        let log = fs::File::create(self.dir.path().join("prometheus.log"))
            .map_err(|e| format!("create the log: {e}"))?;
        let mut cmd = Command::new(prometheus());
        cmd.arg(format!(
            "--config.file={}",
            self.dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            self.dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
        .arg("--storage.tsdb.retention.time=10y")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
        let mut child = process::spawn(cmd).map_err(|e| format!("spawn {}: {e}", prometheus()))?;
        let ready_url = format!("{}/-/ready", self.url());
        let ready = std::cell::Cell::new(false);
        let exited = std::cell::Cell::new(false);
        super::wait_until(
            "the backfilled Prometheus to be ready",
            Duration::from_secs(60),
            || {
                if child.try_wait().is_some() {
                    exited.set(true);
                    return Some(());
                }
                ready.set(http::get(&ready_url).is_ok_and(|r| r.status == 200));
                ready.get().then_some(())
            },
            || self.log(),
        );
        if exited.get() {
            return Err(format!("it exited; log:\n{}", self.log()));
        }
        self.child = Some(child);
        Ok(())
    }
}
