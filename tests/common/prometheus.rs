//! A real Prometheus (Debian's `/usr/bin/prometheus`) on a free loopback
//! port, scraping the test app every second, with its config, data and log
//! in a scratch directory. `stop()` and `start()` bring the same server down
//! and back on the same port and data directory, for outage tests.
//! [`Prometheus::serve`] starts one that scrapes nothing and serves a data
//! directory prepared beforehand (the backfilled history of `backfill.rs`).

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http;
use super::process::{self, Guarded};
use super::testapp::TestApp;

/// The binary; `SENA_TEST_PROMETHEUS` overrides it.
fn binary() -> String {
    std::env::var("SENA_TEST_PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into())
}

/// How long Prometheus may take to become ready and scrape its target.
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Prometheus {
    /// Waits for the test app's scrape target at each start.
    scrapes_app: bool,
    /// `--storage.tsdb.retention.time`: blocks older than this (counted
    /// from the newest) are deleted, so backfilled history must fit in it.
    retention: &'static str,
    port: Mutex<u16>,
    /// Holds config, data and log; removed on drop.
    dir: tempfile::TempDir,
    child: Mutex<Option<Guarded>>,
}

impl Prometheus {
    /// Starts a new Prometheus scraping `app` and waits until it is ready and
    /// its scrape target is up. Tests that stop Prometheus use their own
    /// instance from here, never the shared one.
    pub fn spawn(app: &TestApp) -> Prometheus {
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: testapp\n    static_configs:\n      - targets: ['{}']\n",
            app.target()
        );
        Prometheus::launch_new(&config, true, "1h", |_| {})
    }

    /// Starts a Prometheus that scrapes nothing and serves the data
    /// directory `prepare` fills (it is given the empty directory), with a
    /// retention of ten years.
    pub fn serve(prepare: impl FnOnce(&std::path::Path)) -> Prometheus {
        Prometheus::launch_new("global: {}\n", false, "10y", prepare)
    }

    fn launch_new(
        config: &str,
        scrapes_app: bool,
        retention: &'static str,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Prometheus {
        let dir = super::scratch_dir("prometheus");
        fs::write(dir.path().join("prometheus.yml"), config).expect("write prometheus.yml");
        let data = dir.path().join("data");
        fs::create_dir_all(&data).expect("create the data directory");
        prepare(&data);
        let prometheus = Prometheus {
            scrapes_app,
            retention,
            port: Mutex::new(0),
            dir,
            child: Mutex::new(None),
        };
        // A free port may be taken before Prometheus binds it: retry.
        for attempt in 1..=5 {
            *prometheus.port.lock().unwrap() = super::free_port();
            match prometheus.launch() {
                Ok(()) => return prometheus,
                Err(e) if attempt < 5 && e.contains("address already in use") => continue,
                Err(e) => panic!("Prometheus did not start: {e}"),
            }
        }
        unreachable!()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    pub fn port(&self) -> u16 {
        *self.port.lock().unwrap()
    }

    /// Stops the server (SIGTERM, SIGKILL after 10 s); the port then refuses
    /// connections. No-op when already stopped.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            child.terminate(Duration::from_secs(10));
        }
    }

    /// Starts the server again on the same port and data directory and waits
    /// until it is ready and scraping. No-op when running.
    pub fn start(&self) {
        if self.is_running() {
            return;
        }
        if let Err(e) = self.launch() {
            panic!("Prometheus did not restart on port {}: {e}", self.port());
        }
    }

    pub fn is_running(&self) -> bool {
        self.child
            .lock()
            .unwrap()
            .as_mut()
            .is_some_and(|c| c.try_wait().is_none())
    }

    /// An instant query now; the whole API response
    /// (`{"status":"success","data":{"resultType":..,"result":[..]}}`).
    /// Panics when Prometheus cannot be reached or answers an error.
    pub fn query(&self, promql: &str) -> Value {
        let url = format!("{}/api/v1/query?query={}", self.url(), http::encode(promql));
        let response = http::get(&url).unwrap_or_else(|e| panic!("query {promql:?}: {e}"));
        let json = response.json();
        assert_eq!(
            json["status"], "success",
            "query {promql:?} failed: {}",
            response.body
        );
        json
    }

    /// The value of the first sample (vector or scalar result); `None` when
    /// the result is empty. NaN and ±Inf come back as such.
    pub fn query_value(&self, promql: &str) -> Option<f64> {
        let json = self.query(promql);
        let data = &json["data"];
        let sample = match data["resultType"].as_str() {
            Some("vector") => data["result"].get(0)?.get("value")?.clone(),
            Some("scalar") => data["result"].clone(),
            _ => panic!("unexpected result for {promql:?}: {json}"),
        };
        sample
            .get(1)?
            .as_str()
            .map(|s| parse_prometheus_float(s).expect("a Prometheus sample value"))
    }

    /// Polls `promql` until `pred` holds for its value (an empty result is
    /// passed as NaN), and returns that value; panics after `deadline`.
    pub fn wait_for_value(
        &self,
        promql: &str,
        pred: impl Fn(f64) -> bool,
        deadline: Duration,
    ) -> f64 {
        let last = Mutex::new(None);
        super::wait_until(
            &format!("{promql} to satisfy the predicate"),
            deadline,
            || {
                let v = self.query_value(promql).unwrap_or(f64::NAN);
                *last.lock().unwrap() = Some(v);
                pred(v).then_some(v)
            },
            || format!("{:?}", last.lock().unwrap()),
        )
    }

    /// Waits until the canary request rate of `app` is computable, not only
    /// now but also for a query a couple of seconds in the past (a
    /// datasource may align its query time down to the second): four
    /// scrapes of every canary series, ≤ 5 s after registration.
    pub fn wait_for_app(&self, app: &str, deadline: Duration) {
        self.wait_for_value(
            &format!(
                "min(count_over_time(http_requests_total{{app=\"{app}\",track=\"canary\"}}[1m]))"
            ),
            |v| v >= 4.0,
            deadline,
        );
        self.wait_for_value(
            &format!("sum(rate(http_requests_total{{app=\"{app}\",track=\"canary\"}}[10s]))"),
            |v| v.is_finite(),
            deadline,
        );
    }

    /// Prometheus's own log, for failure messages.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    /// Spawns the process on the current port, waits for `/-/ready` and for
    /// the scrape target to be up. On failure the child is killed and the
    /// error carries the log.
    fn launch(&self) -> Result<(), String> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("open the log: {e}"))?;
        let mut cmd = Command::new(binary());
        cmd.arg(format!(
            "--config.file={}",
            self.dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            self.dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{}", self.port()))
        .arg("--web.enable-lifecycle")
        .arg(format!("--storage.tsdb.retention.time={}", self.retention))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
        let child = process::spawn(cmd).map_err(|e| format!("spawn {}: {e}", binary()))?;
        *self.child.lock().unwrap() = Some(child);

        let start = Instant::now();
        let ready_url = format!("{}/-/ready", self.url());
        let mut ready = false;
        while start.elapsed() < START_DEADLINE {
            if !self.is_running() {
                self.child.lock().unwrap().take();
                return Err(format!("it exited; log:\n{}", self.logs()));
            }
            if !ready {
                ready = http::get(&ready_url).is_ok_and(|r| r.status == 200);
            }
            if ready
                && (!self.scrapes_app || self.query_value("min(up{job=\"testapp\"})") == Some(1.0))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.stop();
        Err(format!(
            "not ready with its target up within {START_DEADLINE:?}; log:\n{}",
            self.logs()
        ))
    }
}

/// Prometheus encodes sample values as strings: "1.5", "NaN", "+Inf", "-Inf".
pub fn parse_prometheus_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}
