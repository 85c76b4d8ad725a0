//! The Sena benchmark: 1,000 rollouts × 3 checks every 10 s against a real
//! Prometheus, with vmalert running the same 3,000 rules against the same
//! Prometheus in the same window.
//!
//! ```text
//! scripts/bench.sh [--duration 180]          # installs, builds, runs this
//! cargo run --release --example bench -- --help
//! ```
//!
//! The run, top to bottom: start the metrics generator (and an alert sink
//! for vmalert) in this process; write prometheus.yml, sena.yaml + rules and
//! vmalert's rules; `sena check`; start Prometheus and wait until the checks'
//! queries return data; start Sena and vmalert; warm up; snapshot CPU time,
//! peak RSS and every `/metrics`; time the same queries straight against
//! Prometheus for the window; snapshot again; stop everything; write
//! `summary.md` and `results.json` under `--out`.

mod measure;
mod procs;
mod report;
mod workload;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use measure::{get_text, instant_query, Exposition};
use procs::Proc;
use report::{Observations, Setup, Snapshot};

#[derive(Parser)]
#[command(about = "Sena vs vmalert at 1,000 rollouts × 3 checks against a real Prometheus")]
struct Args {
    /// Measured window, seconds.
    #[arg(long, default_value_t = 180)]
    duration: u64,
    /// Seconds between starting Sena/vmalert and the first snapshot.
    #[arg(long, default_value_t = 30)]
    warmup: u64,
    #[arg(long, default_value_t = 1000)]
    rollouts: usize,
    /// Evaluation interval of every rollout (and vmalert group), seconds.
    #[arg(long, default_value_t = 10)]
    interval: u64,
    /// Prometheus scrape interval of the generator, seconds.
    #[arg(long, default_value_t = 10)]
    scrape: u64,
    /// Rollouts whose canary has a 2% error rate (rollback after `for: 2m`).
    #[arg(long, default_value_t = 10)]
    unhealthy: usize,
    /// Milliseconds between the harness's own timed rollouts (3 queries each).
    #[arg(long, default_value_t = 500)]
    sample_every_ms: u64,
    /// Where the summary, logs and generated configs go (replaced each run).
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    #[arg(long, default_value = "target/release/sena")]
    sena: PathBuf,
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus: PathBuf,
    #[arg(long, default_value = "/usr/bin/vmalert")]
    vmalert: PathBuf,
    /// Run Sena alone (no vmalert, no ratios).
    #[arg(long)]
    no_vmalert: bool,
    /// After the measured window, record Sena with `perf` for this many
    /// seconds (outside the window, so the figures are not disturbed).
    #[arg(long, default_value_t = 0)]
    perf_seconds: u64,
}

fn main() {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Err(e) = run(&args) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn say(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn version(cmd: &Path, flag: &str) -> String {
    Command::new(cmd)
        .arg(flag)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("{} (version unknown)", cmd.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn run(args: &Args) -> Result<(), String> {
    for (what, path) in [("sena", &args.sena), ("prometheus", &args.prometheus)] {
        if !path.exists() {
            return Err(format!(
                "{what} not found at {}; scripts/bench.sh builds and installs it",
                path.display()
            ));
        }
    }
    let with_vmalert = !args.no_vmalert;
    if with_vmalert && !args.vmalert.exists() {
        return Err(format!(
            "vmalert not found at {} (Debian package victoria-metrics); or pass --no-vmalert",
            args.vmalert.display()
        ));
    }
    let out = &args.out;
    let work = out.join("run");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("rules"))
        .map_err(|e| format!("creating {}: {e}", work.display()))?;
    let work = work.canonicalize().map_err(|e| e.to_string())?;
    let logs = work.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let interval = Duration::from_secs(args.interval);
    let scrape = Duration::from_secs(args.scrape);

    // Threads: the main one drives everything (and forks the children, see
    // procs.rs); one worker serves the generator and times queries.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(16)
        .build()
        .map_err(|e| e.to_string())?;

    // The metrics generator and the alert sink, in this process.
    let apps = Arc::new(workload::apps(args.rollouts, args.unhealthy));
    let series = args.rollouts * 28;
    let alerts_received = Arc::new(AtomicU64::new(0));
    let exporter = rt.block_on(serve_generator(apps, alerts_received.clone()))?;
    let prom_addr = format!("127.0.0.1:{}", free_port()?);
    let sena_addr = format!("127.0.0.1:{}", free_port()?);
    let vm_addr = format!("127.0.0.1:{}", free_port()?);
    say(format!(
        "generator and alert sink on {exporter}; {series} series for {} apps",
        args.rollouts
    ));

    // Configs.
    write(
        &work.join("prometheus.yml"),
        &workload::prometheus_yml(&exporter, scrape),
    )?;
    let sena_yaml = work.join("sena.yaml");
    write(
        &sena_yaml,
        &workload::sena_yaml(
            args.rollouts,
            &prom_addr,
            &sena_addr,
            &work.join("sena-state"),
            interval,
        ),
    )?;
    write(&work.join("rules/canary.yaml"), &workload::sena_rules())?;
    let vm_rules = work.join("vmalert-rules.yaml");
    write(&vm_rules, &workload::vmalert_rules(args.rollouts, interval))?;

    // `sena check` first: a config the daemon would reject is not a benchmark.
    let check = Command::new(&args.sena)
        .args(["check", "--config"])
        .arg(&sena_yaml)
        .output()
        .map_err(|e| format!("running sena check: {e}"))?;
    write(
        &logs.join("sena-check.log"),
        &format!(
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        ),
    )?;
    if !check.status.success() {
        return Err(format!(
            "sena check rejected the generated config; see {}",
            logs.join("sena-check.log").display()
        ));
    }
    let summary_lines = String::from_utf8_lossy(&check.stdout)
        .lines()
        .filter(|l| l.starts_with("app-"))
        .count();
    say(format!(
        "sena check: OK ({summary_lines} rollouts summarised)"
    ));

    // Prometheus, then wait until the checks' queries have data (rate()
    // needs two scrapes).
    let mut prom_cmd = Command::new(&args.prometheus);
    prom_cmd
        .arg(format!(
            "--config.file={}",
            work.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            work.join("prometheus-data").display()
        ))
        .arg(format!("--web.listen-address={prom_addr}"))
        .arg("--storage.tsdb.retention.time=1d")
        .arg("--log.level=warn");
    let mut prometheus = procs::spawn("prometheus", prom_cmd, &logs.join("prometheus.log"))
        .map_err(|e| format!("starting prometheus: {e}"))?;
    say(format!(
        "prometheus on {prom_addr} (pid {}); waiting for two scrapes",
        prometheus.pid()
    ));
    let probe = workload::CHECKS[0].for_rollout(&workload::app_name(args.rollouts - 1));
    wait_until(
        &rt,
        &mut [&mut prometheus],
        Duration::from_secs(120),
        "Prometheus to return data for the checks",
        || {
            let http = http.clone();
            let (prom_addr, probe) = (prom_addr.clone(), probe.clone());
            async move {
                matches!(instant_query(&http, &prom_addr, &probe, jiff::Timestamp::now().as_second()).await, Ok(n) if n > 0)
            }
        },
    )?;

    // Sena and vmalert, started together.
    let mut sena_cmd = Command::new(&args.sena);
    sena_cmd
        .args(["run", "--config"])
        .arg(&sena_yaml)
        .env("SENA_LOG", "info");
    let sena_log = logs.join("sena.log");
    let mut sena =
        procs::spawn("sena", sena_cmd, &sena_log).map_err(|e| format!("starting sena: {e}"))?;
    let vm_log = logs.join("vmalert.log");
    let mut vmalert = if with_vmalert {
        let mut cmd = Command::new(&args.vmalert);
        cmd.arg(format!("-rule={}", vm_rules.display()))
            .arg(format!("-datasource.url=http://{prom_addr}"))
            .arg(format!("-notifier.url=http://{exporter}"))
            .arg(format!("-httpListenAddr={vm_addr}"))
            .arg(format!("-evaluationInterval={}s", args.interval));
        Some(procs::spawn("vmalert", cmd, &vm_log).map_err(|e| format!("starting vmalert: {e}"))?)
    } else {
        None
    };
    say(format!(
        "sena on {sena_addr} (pid {}){}",
        sena.pid(),
        vmalert
            .as_ref()
            .map(|v| format!(", vmalert on {vm_addr} (pid {})", v.pid()))
            .unwrap_or_default()
    ));
    {
        let mut watched: Vec<&mut Proc> = vec![&mut prometheus, &mut sena];
        if let Some(v) = vmalert.as_mut() {
            watched.push(v);
        }
        wait_until(
            &rt,
            &mut watched,
            Duration::from_secs(60),
            "Sena and vmalert to answer /metrics",
            || {
                let http = http.clone();
                let (s, v) = (sena_addr.clone(), with_vmalert.then(|| vm_addr.clone()));
                async move {
                    let sena_up = get_text(&http, &format!("http://{s}/healthz"))
                        .await
                        .is_ok();
                    let vm_up = match v {
                        Some(v) => get_text(&http, &format!("http://{v}/metrics"))
                            .await
                            .is_ok(),
                        None => true,
                    };
                    sena_up && vm_up
                }
            },
        )?;
        say(format!("warming up for {}s", args.warmup));
        sleep_watching(&mut watched, Duration::from_secs(args.warmup))?;
    }

    // The measured window.
    let origin = Instant::now();
    let snap = |rt: &tokio::runtime::Runtime,
                sena: &Proc,
                vmalert: Option<&Proc>,
                prometheus: &Proc|
     -> Result<Snapshot, String> {
        rt.block_on(async {
            let (sena_url, prom_url) = (
                format!("http://{sena_addr}/metrics"),
                format!("http://{prom_addr}/metrics"),
            );
            let (sm, vm, pm) = tokio::join!(
                get_text(&http, &sena_url),
                async {
                    match vmalert {
                        Some(_) => get_text(&http, &format!("http://{vm_addr}/metrics")).await,
                        None => Ok(String::new()),
                    }
                },
                get_text(&http, &prom_url),
            );
            let usage =
                |pid: u32| procs::usage(pid).map_err(|e| format!("reading /proc/{pid}: {e}"));
            Ok(Snapshot {
                seconds: origin.elapsed().as_secs_f64(),
                sena: usage(sena.pid())?,
                vmalert: vmalert.map(|v| usage(v.pid())).transpose()?,
                prometheus: usage(prometheus.pid())?,
                harness: usage(std::process::id())?,
                sena_metrics: Exposition::parse(&sm?),
                vmalert_metrics: Exposition::parse(&vm?),
                prometheus_metrics: Exposition::parse(&pm?),
            })
        })
    };
    let before = snap(&rt, &sena, vmalert.as_ref(), &prometheus)?;
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = rt.spawn(measure::sample_latency(
        http.clone(),
        prom_addr.clone(),
        args.rollouts,
        Duration::from_millis(args.sample_every_ms),
        stop_sampling.clone(),
    ));
    say(format!("measuring for {}s", args.duration));
    let timeline = {
        let mut watched: Vec<&mut Proc> = vec![&mut prometheus, &mut sena];
        if let Some(v) = vmalert.as_mut() {
            watched.push(v);
        }
        record_timeline(&mut watched, Duration::from_secs(args.duration))?
    };
    let after = snap(&rt, &sena, vmalert.as_ref(), &prometheus)?;
    stop_sampling.store(true, Ordering::Relaxed);
    let latencies = rt
        .block_on(sampler)
        .map_err(|e| format!("latency sampler: {e}"))?;
    write(&out.join("timeline.csv"), &timeline)?;

    if args.perf_seconds > 0 {
        profile(&sena, args.perf_seconds, out)?;
    }

    // Stop: Sena first, timing its graceful shutdown.
    let (took, status) = sena.stop(Duration::from_secs(30));
    let shutdown = match status {
        Some(s) if s.success() => format!("exit 0 {:.2}s after SIGTERM", took.as_secs_f64()),
        Some(s) => format!("{s} {:.2}s after SIGTERM", took.as_secs_f64()),
        None => "did not exit within 30s of SIGTERM; killed".to_string(),
    };
    if let Some(v) = vmalert.as_mut() {
        v.stop(Duration::from_secs(10));
    }
    prometheus.stop(Duration::from_secs(10));

    let obs = observe_logs(
        &sena_log,
        &vm_log,
        shutdown,
        alerts_received.load(Ordering::Relaxed),
    );
    let setup = Setup {
        rollouts: args.rollouts,
        checks_per_rollout: workload::CHECKS.len(),
        interval_seconds: args.interval as f64,
        scrape_seconds: args.scrape as f64,
        unhealthy: args.unhealthy,
        series,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        sena_version: version(&args.sena, "--version"),
        vmalert_version: if with_vmalert {
            version(&args.vmalert, "-version")
        } else {
            "no vmalert".into()
        },
        prometheus_version: version(&args.prometheus, "--version"),
    };
    let report = report::build(&setup, &before, &after, &latencies, &obs);
    write(&out.join("summary.md"), &report.markdown)?;
    write(
        &out.join("results.json"),
        &serde_json::to_string_pretty(&report.json).unwrap_or_default(),
    )?;
    println!("{}", report.markdown);
    say(format!(
        "wrote {} and results.json; logs and configs in {}",
        out.join("summary.md").display(),
        work.display()
    ));
    Ok(())
}

/// Serves `/metrics` (the synthetic apps) and swallows vmalert's alert
/// notifications, counting them. Returns its address.
async fn serve_generator(
    apps: Arc<Vec<workload::App>>,
    alerts: Arc<AtomicU64>,
) -> Result<String, String> {
    use axum::routing::{get, post};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let started = Instant::now();
    let sink = move |body: String| {
        let alerts = alerts.clone();
        async move {
            // One JSON array of alerts per POST.
            let n = serde_json::from_str::<Vec<serde_json::Value>>(&body).map_or(0, |v| v.len());
            alerts.fetch_add(n as u64, Ordering::Relaxed);
            ""
        }
    };
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let apps = apps.clone();
                // Simulated uptime starts at an hour so counters are not near zero.
                async move { workload::render(&apps, 3600.0 + started.elapsed().as_secs_f64()) }
            }),
        )
        .route("/api/v2/alerts", post(sink.clone()))
        .route("/api/v1/alerts", post(sink));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

/// Polls `ready` every 500 ms until it holds, failing early if a child dies.
fn wait_until<F, Fut>(
    rt: &tokio::runtime::Runtime,
    watched: &mut [&mut Proc],
    limit: Duration,
    what: &str,
    ready: F,
) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if rt.block_on(ready()) {
            return Ok(());
        }
        check_alive(watched)?;
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!(
        "gave up after {}s waiting for {what}",
        limit.as_secs()
    ))
}

fn check_alive(watched: &mut [&mut Proc]) -> Result<(), String> {
    for p in watched.iter_mut() {
        if let Some(status) = p.exited() {
            return Err(format!(
                "{} exited early ({status}); see its log under the run's logs/",
                p.name
            ));
        }
    }
    Ok(())
}

fn sleep_watching(watched: &mut [&mut Proc], total: Duration) -> Result<(), String> {
    let until = Instant::now() + total;
    while Instant::now() < until {
        check_alive(watched)?;
        std::thread::sleep(
            Duration::from_millis(250).min(until.saturating_duration_since(Instant::now())),
        );
    }
    Ok(())
}

/// CPU use of each child per 5 s over the window, as CSV (share of one core),
/// printing a progress line every 30 s.
fn record_timeline(watched: &mut [&mut Proc], total: Duration) -> Result<String, String> {
    let step = Duration::from_secs(5);
    let started = Instant::now();
    let mut csv = String::from("seconds");
    for p in watched.iter() {
        csv.push_str(&format!(",{}_cpu_share,{}_rss_mib", p.name, p.name));
    }
    csv.push('\n');
    let cpu = |w: &[&mut Proc]| {
        w.iter()
            .map(|p| procs::usage(p.pid()).unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let mut last = (Instant::now(), cpu(watched));
    while started.elapsed() < total {
        sleep_watching(watched, step.min(total.saturating_sub(started.elapsed())))?;
        let now = (Instant::now(), cpu(watched));
        let dt = now.0.duration_since(last.0).as_secs_f64().max(1e-9);
        csv.push_str(&format!("{:.0}", started.elapsed().as_secs_f64()));
        let mut line = format!("{:>4.0}s", started.elapsed().as_secs_f64());
        for ((p, a), b) in watched.iter().zip(&last.1).zip(&now.1) {
            let share = (b.cpu_seconds - a.cpu_seconds) / dt;
            csv.push_str(&format!(",{share:.3},{:.1}", b.rss as f64 / 1048576.0));
            line.push_str(&format!(
                "  {} {:>5.1}% {:>6.1} MiB",
                p.name,
                share * 100.0,
                b.rss as f64 / 1048576.0
            ));
        }
        csv.push('\n');
        if (started.elapsed().as_secs() % 30) < step.as_secs() {
            say(line);
        }
        last = now;
    }
    Ok(csv)
}

/// `perf record` of Sena for `seconds`, then a flat report by symbol.
fn profile(sena: &Proc, seconds: u64, out: &Path) -> Result<(), String> {
    let data = out.join("perf.data");
    say(format!(
        "profiling sena with perf for {seconds}s (after the window)"
    ));
    let status = Command::new("perf")
        .args([
            "record",
            "-q",
            "-F",
            "499",
            "-g",
            "--call-graph",
            "dwarf,32768",
            "-p",
        ])
        .arg(sena.pid().to_string())
        .arg("-o")
        .arg(&data)
        .args(["--", "sleep"])
        .arg(seconds.to_string())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("running perf (apt install linux-perf): {e}"))?;
    if !status.success() {
        say(format!("perf record failed ({status}); no profile"));
        return Ok(());
    }
    for (file, extra) in [
        (
            "perf-flat.txt",
            vec!["--no-children", "--sort", "dso,symbol"],
        ),
        ("perf-children.txt", vec!["--children", "--sort", "symbol"]),
    ] {
        let report = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--percent-limit",
                "0.5",
                "-g",
                "none",
                "-i",
            ])
            .arg(&data)
            .args(extra)
            .output()
            .map_err(|e| e.to_string())?;
        write(&out.join(file), &String::from_utf8_lossy(&report.stdout))?;
    }
    say(format!(
        "profile in {}",
        out.join("perf-flat.txt").display()
    ));
    Ok(())
}

fn observe_logs(
    sena_log: &Path,
    vm_log: &Path,
    shutdown: String,
    alerts_received: u64,
) -> Observations {
    let sena = strip_ansi(&std::fs::read_to_string(sena_log).unwrap_or_default());
    let vm = std::fs::read_to_string(vm_log).unwrap_or_default();
    let problems: Vec<&str> = sena
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    Observations {
        sena_warn_lines: sena.lines().filter(|l| l.contains(" WARN ")).count(),
        sena_error_lines: sena.lines().filter(|l| l.contains(" ERROR ")).count(),
        sena_first_problems: problems.iter().take(5).map(|l| l.to_string()).collect(),
        sena_advisories: sena
            .lines()
            .filter(|l| l.contains("advisory queued"))
            .count(),
        sena_shutdown: shutdown,
        vmalert_error_lines: vm
            .lines()
            .filter(|l| l.contains("\terror\t") || l.contains("\tfatal\t"))
            .count(),
        alerts_received,
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
