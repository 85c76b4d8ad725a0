//! The shared integration-test harness: every test binary does `mod common;`
//! and gets a real Prometheus scraping a test app it controls, a real SMTP
//! server, a Slack stand-in, and a handle on the real `sena` binary.
//!
//! One Prometheus and one test app per test binary, started lazily by
//! [`shared()`] and shared by all its tests; each test registers its own app
//! name (`shared().app.app("t-my-test")`) and uses it as the rollout name, so
//! tests running in parallel never see each other's series. A test that
//! stops Prometheus starts its own with [`prometheus::Prometheus::spawn`].
//!
//! Timing, with `scrape_interval: 1s` and rules using `rate(...[10s])`:
//! - a newly registered app is visible to `rate()` after two scrapes (≤ 3 s);
//!   `Shared::app_ready` waits for four (≤ 5 s) so that a query aligned a
//!   second or two into the past sees it too;
//! - a change of error ratio, latency or satisfaction crosses a threshold on
//!   the first scrape after it (≤ 2 s) and is fully reflected after the rate
//!   window plus one scrape (≤ 11 s);
//! - traffic set to 0 makes the ratios NaN only once the whole window holds
//!   no increase (≤ 11 s).
//! - hidden canary series (`set_exposed(false)`) vanish from instant
//!   selectors at the next scrape, but `rate(...[10s])` keeps answering from
//!   the older samples until they leave the window: queries are empty ≤ 11 s.
//!
//! Nothing waits with a fixed sleep: every wait polls a condition until a
//! deadline ([`wait_until`]) and fails with what it last saw.
//!
//! Child processes (Prometheus, the SMTP server, `sena`) die with the test
//! binary: they are killed on drop, at process exit (an `atexit` hook, since a
//! test binary runs no static destructors), and by the kernel if the binary
//! itself is killed (`PR_SET_PDEATHSIG`); see [`process`].
#![allow(dead_code)]

pub mod backfill;
pub mod backtest;
pub mod browser;
pub mod config;
pub mod http;
pub mod people;
pub mod process;
pub mod prometheus;
pub mod rules;
pub mod sena;
pub mod slack;
pub mod smtp;
pub mod testapp;

use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[allow(unused_imports)] // each test binary uses a different part
pub use config::{ConfigBuilder, RolloutSpec, TestConfig};

use prometheus::Prometheus;
use testapp::{AppHandle, TestApp};

/// The per-binary Prometheus and the test app it scrapes.
pub struct Shared {
    pub prometheus: Prometheus,
    pub app: TestApp,
}

impl Shared {
    /// Registers `name` in the test app (healthy) and waits until the shared
    /// Prometheus can compute its canary request rate, so a daemon started
    /// next sees data from its first evaluation.
    pub fn app_ready(&self, name: &str) -> AppHandle {
        let app = self.app.app(name);
        self.prometheus.wait_for_app(name, Duration::from_secs(20));
        app
    }

    /// `name`, one of `apps` (every app the binary uses, registered together
    /// on first use so only the first test waits for Prometheus to see
    /// them), once the daemon's first evaluation would see its data: the
    /// daemon queries at whole seconds, up to 1 s in the past, and without
    /// data there a daemon started at once opens a "no data" incident.
    pub fn app_seen_by_daemon(&self, apps: &[&str], name: &str, deadline: Duration) -> AppHandle {
        static REGISTER_ALL: std::sync::Once = std::sync::Once::new();
        assert!(apps.contains(&name), "add {name} to the binary's apps");
        REGISTER_ALL.call_once(|| {
            for name in apps {
                self.app.app(name);
            }
        });
        let handle = self.app_ready(name);
        self.prometheus.wait_for_value(
            &format!(
                "sum(rate(http_requests_total{{app=\"{name}\",track=\"canary\",code=~\"5..\"}}[10s] offset 1s))\n\
                 / sum(rate(http_requests_total{{app=\"{name}\",track=\"canary\"}}[10s] offset 1s))"
            ),
            |v| v.is_finite(),
            deadline,
        );
        handle
    }
}

/// The test binary's Prometheus and test app, started on first use.
pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let app = TestApp::start();
        let prometheus = Prometheus::spawn(&app);
        Shared { prometheus, app }
    })
}

/// The tokio runtime the in-process servers (test app, Slack stand-in) run
/// on; it lives as long as the test binary.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("harness-server")
            .enable_all()
            .build()
            .expect("build the harness tokio runtime")
    })
}

/// A loopback port nobody listens on right now, for a child process that
/// must be told its port. Another process may take it before the child binds;
/// the starters retry with a fresh port when the child fails to bind.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// Whether something accepts TCP connections on `addr`.
pub fn port_open(addr: SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Polls `probe` every 100 ms until it returns `Some`, or panics after
/// `deadline` with `what` and the last description `describe` gives.
pub fn wait_until<T>(
    what: &str,
    deadline: Duration,
    mut probe: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if start.elapsed() >= deadline {
            panic!(
                "timed out after {:?} waiting for {what}; last seen: {}",
                deadline,
                describe()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Scratch directory for one harness component, named after this process
/// (`sena-test-PID-PREFIX-*`); removed on drop and, for the ones held in
/// statics, at process exit. Directories left by a test binary that was
/// killed are swept on the next run.
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("SENA_TEST_KEEP").is_none() {
        SWEEP.call_once(sweep_scratch_dirs_of_dead_processes);
    }
    // SENA_TEST_KEEP=1 keeps every scratch directory (logs, Prometheus data,
    // mail) for a post-mortem; the daemon's failure messages name its log files.
    let keep = std::env::var_os("SENA_TEST_KEEP").is_some();
    let dir = tempfile::Builder::new()
        .prefix(&format!("sena-test-{}-{prefix}-", std::process::id()))
        .disable_cleanup(keep)
        .tempdir()
        .expect("create a temporary directory");
    if !keep {
        process::remove_at_exit(dir.path());
    }
    dir
}

fn sweep_scratch_dirs_of_dead_processes() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("sena-test-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
