//! The real `sena` binary: the daemon ([`Sena`]) and the one-shot verbs
//! ([`sena_cmd`]).
//!
//! `Sena::start` runs `sena run --config PATH` with stdout and stderr in
//! files of its own scratch directory, and waits until `GET /readyz` answers
//! 200 on the config's `server.listen`. The process is killed on drop.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http;
use super::process::{self, Guarded};

#[allow(unused_imports)] // each test binary uses a different part
pub use super::config::{ConfigBuilder, RolloutSpec, TestConfig};

/// How long the daemon may take to answer `/readyz` 200.
const READY_DEADLINE: Duration = Duration::from_secs(30);

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_sena")
}

/// Runs a one-shot verb, e.g. `sena_cmd(&["eval", "--config", p, "--format", "json"])`.
pub fn sena_cmd(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run sena {args:?}: {e}"))
}

pub struct Sena {
    child: Mutex<Guarded>,
    listen: SocketAddr,
    config: PathBuf,
    logs: tempfile::TempDir,
}

impl Sena {
    /// Starts `sena run --config PATH` and waits until it is ready.
    pub fn start(config_path: &Path) -> Sena {
        Sena::start_with_args(config_path, &[])
    }

    /// As [`Sena::start`], with extra arguments after `run --config PATH`.
    pub fn start_with_args(config_path: &Path, extra: &[&str]) -> Sena {
        let sena = Sena::spawn(config_path, extra);
        sena.wait_ready(READY_DEADLINE);
        sena
    }

    /// As [`Sena::start`], with the open-file limit (`RLIMIT_NOFILE`) set
    /// to `limit`, as systemd's `LimitNOFILE` would.
    pub fn start_with_nofile(config_path: &Path, limit: u64) -> Sena {
        let sena = Sena::spawn_with(config_path, &[], |cmd| {
            // SAFETY: setrlimit is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    let rl = libc::rlimit {
                        rlim_cur: limit as libc::rlim_t,
                        rlim_max: limit as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        });
        sena.wait_ready(READY_DEADLINE);
        sena
    }

    /// Starts the daemon without waiting for readiness.
    pub fn spawn(config_path: &Path, extra: &[&str]) -> Sena {
        Sena::spawn_with(config_path, extra, |_| {})
    }

    /// As [`Sena::spawn`], letting `customize` adjust the command first.
    pub fn spawn_with(
        config_path: &Path,
        extra: &[&str],
        customize: impl FnOnce(&mut Command),
    ) -> Sena {
        let listen = listen_address(config_path);
        let logs = super::scratch_dir("sena-logs");
        let stdout = fs::File::create(logs.path().join("stdout")).expect("create stdout file");
        let stderr = fs::File::create(logs.path().join("stderr")).expect("create stderr file");
        let mut cmd = Command::new(binary());
        cmd.arg("run")
            .arg("--config")
            .arg(config_path)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        customize(&mut cmd);
        let child = process::spawn(cmd).unwrap_or_else(|e| panic!("spawn {}: {e}", binary()));
        Sena {
            child: Mutex::new(child),
            listen,
            config: config_path.to_path_buf(),
            logs,
        }
    }

    /// Waits until `/readyz` answers 200; panics with the logs if the daemon
    /// exits or `deadline` passes.
    pub fn wait_ready(&self, deadline: Duration) {
        let url = format!("{}/readyz", self.base_url());
        let start = Instant::now();
        loop {
            if http::get(&url).is_ok_and(|r| r.status == 200) {
                return;
            }
            if let Some(status) = self.exit_status() {
                panic!(
                    "sena run --config {} exited with {status} before it was ready; logs:\n{}",
                    self.config.display(),
                    self.logs()
                );
            }
            if start.elapsed() >= deadline {
                panic!(
                    "sena run --config {} did not answer /readyz 200 within {deadline:?}; logs:\n{}",
                    self.config.display(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.lock().unwrap().pid()
    }

    /// `http://LISTEN`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// `GET /api/v1/status` (the `sena eval --format json` shape).
    pub fn status(&self) -> Value {
        self.try_status()
            .unwrap_or_else(|e| panic!("GET /api/v1/status: {e}; logs:\n{}", self.logs_tail()))
    }

    /// `GET /api/v1/status`, or why it could not be had.
    pub fn try_status(&self) -> Result<Value, String> {
        let url = format!("{}/api/v1/status", self.base_url());
        let response = read(&url).map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("HTTP {}: {}", response.status, response.body));
        }
        serde_json::from_str(&response.body).map_err(|e| format!("{e}: {}", response.body))
    }

    /// The rollout's element of `status.rollouts`; panics if absent.
    pub fn rollout(&self, name: &str) -> Value {
        let status = self.status();
        find_rollout(&status, name)
            .unwrap_or_else(|| panic!("no rollout {name:?} in status {status:#}"))
    }

    /// Polls the status until `pred` holds for the rollout's element and
    /// returns it; panics after `deadline` with the last status and logs.
    pub fn wait_for_rollout(
        &self,
        rollout: &str,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let last = std::cell::RefCell::new(String::new());
        super::wait_until(
            &format!("rollout {rollout} {what}"),
            deadline,
            || match self.try_status() {
                Ok(status) => {
                    let found = find_rollout(&status, rollout);
                    *last.borrow_mut() = format!("{status:#}");
                    found.filter(|r| pred(r))
                }
                Err(e) => {
                    *last.borrow_mut() = e;
                    None
                }
            },
            || format!("{}\nsena logs (tail):\n{}", last.borrow(), self.logs_tail()),
        )
    }

    /// Waits until the rollout's verdict is `verdict` and returns the rollout.
    pub fn wait_for_verdict(&self, rollout: &str, verdict: &str, deadline: Duration) -> Value {
        self.wait_for_rollout(
            rollout,
            &format!("to have verdict {verdict:?}"),
            deadline,
            |r| r["verdict"] == verdict,
        )
    }

    /// Waits until the rollout's check `check` has `status` and returns the
    /// check object.
    pub fn wait_for_check_status(
        &self,
        rollout: &str,
        check: &str,
        status: &str,
        deadline: Duration,
    ) -> Value {
        let found = self.wait_for_rollout(
            rollout,
            &format!("to have check {check:?} {status:?}"),
            deadline,
            |r| find_check(r, check).is_some_and(|c| c["status"] == status),
        );
        find_check(&found, check).expect("the check just seen")
    }

    /// Calls `on_evaluation` once per new evaluation of `rollout` (an `at`
    /// different from the last one seen, see [`find_rollout`]) with the
    /// rollout's element, until it returns true; returns that element.
    /// Panics after `deadline`.
    pub fn observe_evaluations(
        &self,
        rollout: &str,
        deadline: Duration,
        mut on_evaluation: impl FnMut(&Value) -> bool,
    ) -> Value {
        let last_at = std::cell::RefCell::new(Value::Null);
        let last = std::cell::RefCell::new(String::new());
        super::wait_until(
            &format!("the evaluations of rollout {rollout} to satisfy the test"),
            deadline,
            || {
                let status = match self.try_status() {
                    Ok(status) => status,
                    Err(e) => {
                        *last.borrow_mut() = e;
                        return None;
                    }
                };
                *last.borrow_mut() = format!("{status:#}");
                let found = find_rollout(&status, rollout)?;
                if found["at"] == *last_at.borrow() {
                    return None;
                }
                *last_at.borrow_mut() = found["at"].clone();
                on_evaluation(&found).then_some(found)
            },
            || format!("{}\nsena logs (tail):\n{}", last.borrow(), self.logs_tail()),
        )
    }

    /// `GET /metrics`.
    pub fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "GET /metrics: {body}");
        body
    }

    /// The value of one series of `/metrics`: `name` with at least `labels`.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        metric_value(&self.metrics(), name, labels)
    }

    /// Sends SIGHUP (reload).
    pub fn sighup(&self) {
        self.child.lock().unwrap().signal(libc::SIGHUP);
    }

    /// `POST path` with an empty body: (status, body).
    pub fn post(&self, path: &str) -> (u16, String) {
        self.post_json(path, "")
    }

    /// `POST path` with a JSON body: (status, body).
    pub fn post_json(&self, path: &str, json: &str) -> (u16, String) {
        let url = format!("{}{path}", self.base_url());
        let r = http::post(&url, "application/json", json.as_bytes())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        (r.status, r.body)
    }

    /// `GET path` as the harness's reader (see [`read`]): (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.base_url());
        let r = read(&url).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        (r.status, r.body)
    }

    /// SIGKILL: no chance to clean up, as in a crash.
    pub fn kill9(&mut self) {
        self.child.lock().unwrap().kill();
    }

    /// SIGTERM and wait (SIGKILL and panic after 30 s).
    pub fn terminate(&mut self) -> ExitStatus {
        let (status, in_time) = self
            .child
            .lock()
            .unwrap()
            .terminate(Duration::from_secs(30));
        assert!(
            in_time,
            "sena did not exit within 30s of SIGTERM; logs:\n{}",
            self.logs()
        );
        status
    }

    /// The exit status if the daemon has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child.lock().unwrap().try_wait()
    }

    /// stdout and stderr so far.
    pub fn logs(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.logs.path().join(name)).unwrap_or_default();
        format!(
            "--- stdout ({dir}/stdout) ---\n{}--- stderr ({dir}/stderr) ---\n{}",
            read("stdout"),
            read("stderr"),
            dir = self.logs.path().display(),
        )
    }

    /// The last 60 lines of [`Sena::logs`].
    pub fn logs_tail(&self) -> String {
        let logs = self.logs();
        let lines: Vec<&str> = logs.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

/// Milliseconds since the epoch of an RFC 3339 timestamp in the JSON
/// (`at`, `breach_started_at`); panics with the value when it is not one.
/// `GET url` as the read-only `deploy-pipeline` machine of `people.rs`:
/// with `server.tokens` every read needs `read` (issue 16), and a test
/// that configures tokens includes that one (`people::with_people`).
/// Without tokens a sent token is ignored. A test of who may read calls
/// `http` itself.
pub fn read(url: &str) -> std::io::Result<http::Response> {
    let bearer = format!("Bearer {}", super::people::CI);
    http::request("GET", url, &[("Authorization", &bearer)], b"")
}

pub fn timestamp_ms(value: &Value) -> i64 {
    value
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 timestamp: {value}"))
        .as_millisecond()
}

/// Now, in milliseconds since the epoch, for comparing with [`timestamp_ms`].
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The rollout named `name` in a status / eval JSON document. If the
/// element has no `at` of its own, it gets one: its `evaluated_at`, else the
/// document's `at`, so tests can always read `rollout["at"]`.
pub fn find_rollout(status: &Value, name: &str) -> Option<Value> {
    let mut found = status["rollouts"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)
        .cloned()?;
    if found.get("at").is_none_or(Value::is_null) {
        let at = match found.get("evaluated_at") {
            Some(at) if !at.is_null() => at.clone(),
            _ => status["at"].clone(),
        };
        found["at"] = at;
    }
    Some(found)
}

/// The check named `name` in a rollout object.
pub fn find_check(rollout: &Value, name: &str) -> Option<Value> {
    rollout["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
}

/// The value of the first series of `name` whose labels include `labels`,
/// in Prometheus exposition text.
pub fn metric_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        if line.starts_with('#') {
            return None;
        }
        let rest = line.strip_prefix(name)?;
        let (series_labels, value) = if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.rfind('}')?;
            (&inner[..end], inner[end + 1..].trim())
        } else if rest.starts_with(' ') {
            ("", rest.trim())
        } else {
            return None; // a longer metric name
        };
        let all = labels.iter().all(|(k, v)| {
            series_labels
                .split(',')
                .any(|pair| pair.trim() == format!("{k}=\"{v}\""))
        });
        if !all {
            return None;
        }
        let value = value.split_whitespace().next()?;
        super::prometheus::parse_prometheus_float(value)
    })
}

/// `server.listen` from a config file, read textually (the first `listen:`
/// key), so the harness does not depend on the daemon's config parser.
pub fn listen_address(config_path: &Path) -> SocketAddr {
    let yaml = fs::read_to_string(config_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", config_path.display()));
    yaml.lines()
        .find_map(|line| {
            let value = line.trim().strip_prefix("listen:")?;
            let value = value.split('#').next()?.trim().trim_matches(['"', '\'']);
            value.parse().ok()
        })
        .unwrap_or_else(|| panic!("no server.listen in {}", config_path.display()))
}
