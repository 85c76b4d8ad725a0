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
//! Prometheus through the window; snapshot again; stop everything; write
//! `summary.md` and `results.json` under `--out`.

mod generator;
mod measure;
mod procs;
mod report;
mod support;
mod workload;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use measure::{get_text, instant_query, Exposition};
use procs::Proc;
use report::{Setup, Snapshot};
use support::{say, write};

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
    /// Milliseconds between readings of Prometheus's query queue depth.
    #[arg(long, default_value_t = 250)]
    queue_every_ms: u64,
    /// Where the summary, logs and generated configs go (replaced each run).
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    #[arg(long, default_value = "target/release/sena")]
    sena: PathBuf,
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus: PathBuf,
    #[arg(long, default_value = "/usr/bin/vmalert")]
    vmalert: PathBuf,
    /// Run Sena alone (no vmalert, no ratios): isolates its load on Prometheus.
    #[arg(long, conflicts_with = "no_sena")]
    no_vmalert: bool,
    /// Run vmalert alone (no Sena figures): isolates its load on Prometheus.
    #[arg(long)]
    no_sena: bool,
    /// Extra environment for Sena, KEY=VALUE (repeatable), for experiments
    /// such as MALLOC_ARENA_MAX=1.
    #[arg(long, value_name = "KEY=VALUE")]
    sena_env: Vec<String>,
    /// Start Sena with this open-file limit (soft and hard, via prlimit), as
    /// systemd's default of 1024 would; unset: inherit the harness's.
    #[arg(long)]
    sena_nofile: Option<u64>,
    /// After the measured window, record Sena with `perf` for this many
    /// seconds (outside the window, so the figures are not disturbed).
    #[arg(long, default_value_t = 0)]
    perf_seconds: u64,
    /// Give Sena the repository's rules/canary.yaml, the count form of the
    /// three checks (`bad:`/`good:` + `total:`, error_rate `vs:` the stable
    /// track: 4 queries per track per evaluation, 2 of them range queries),
    /// instead of the plain one-query checks; the generator adds the
    /// `le="2"` bucket they count. vmalert, if run, keeps the plain rules.
    #[arg(long)]
    count_rules: bool,
    /// Before Sena starts, record every rollout's first stage as begun this
    /// many seconds ago (in Sena's state), so count checks ask for the
    /// 5-minute buckets of a stage that old (up to a day), not of a stage
    /// begun at start-up. 0: Sena starts the stages itself.
    #[arg(long, default_value_t = 0)]
    stage_age: u64,
}

fn main() {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Err(e) = run(&args) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// The children, each optional but Prometheus.
struct Fleet {
    prometheus: Proc,
    sena: Option<Proc>,
    vmalert: Option<Proc>,
}

impl Fleet {
    fn all(&mut self) -> Vec<&mut Proc> {
        let mut v = vec![&mut self.prometheus];
        v.extend(self.sena.as_mut());
        v.extend(self.vmalert.as_mut());
        v
    }
}

struct Addrs {
    prometheus: String,
    sena: String,
    vmalert: String,
}

fn run(args: &Args) -> Result<(), String> {
    let with_sena = !args.no_sena;
    let with_vmalert = !args.no_vmalert;
    for (wanted, what, path) in [
        (with_sena, "sena", &args.sena),
        (true, "prometheus", &args.prometheus),
        (
            with_vmalert,
            "vmalert (Debian package victoria-metrics)",
            &args.vmalert,
        ),
    ] {
        if wanted && !path.exists() {
            return Err(format!(
                "{what} not found at {}; scripts/bench.sh builds and installs it",
                path.display()
            ));
        }
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
    let series = args.rollouts * workload::series_per_app(args.count_rules);
    let alerts_received = Arc::new(AtomicU64::new(0));
    let exporter = rt.block_on(generator::serve(
        apps,
        alerts_received.clone(),
        args.count_rules,
    ))?;
    let addrs = Addrs {
        prometheus: format!("127.0.0.1:{}", free_port()?),
        sena: format!("127.0.0.1:{}", free_port()?),
        vmalert: format!("127.0.0.1:{}", free_port()?),
    };
    say(format!(
        "generator and alert sink on {exporter}; {series} series for {} apps",
        args.rollouts
    ));

    // Configs.
    write(
        &work.join("prometheus.yml"),
        &workload::prometheus_yml(&exporter, Duration::from_secs(args.scrape)),
    )?;
    let sena_yaml = work.join("sena.yaml");
    let state = work.join("sena-state");
    write(
        &sena_yaml,
        &workload::sena_yaml(
            args.rollouts,
            &addrs.prometheus,
            &addrs.sena,
            &state,
            interval,
        ),
    )?;
    write(
        &work.join("rules/canary.yaml"),
        &workload::sena_rules(args.count_rules),
    )?;
    let vm_rules = work.join("vmalert-rules.yaml");
    write(&vm_rules, &workload::vmalert_rules(args.rollouts, interval))?;

    // `sena check` first: a config the daemon would reject is not a benchmark.
    if with_sena {
        let check = Command::new(&args.sena)
            .args(["check", "--config"])
            .arg(&sena_yaml)
            .output()
            .map_err(|e| format!("running sena check: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        write(&logs.join("sena-check.log"), &text)?;
        if !check.status.success() {
            return Err(format!(
                "sena check rejected the generated config; see {}",
                logs.join("sena-check.log").display()
            ));
        }
        let summarised = String::from_utf8_lossy(&check.stdout)
            .lines()
            .filter(|l| l.starts_with("app-"))
            .count();
        say(format!("sena check: OK ({summarised} rollouts summarised)"));
    }

    // Prometheus, then wait until the checks' queries have data (rate()
    // needs two scrapes).
    let mut cmd = Command::new(&args.prometheus);
    cmd.arg(format!(
        "--config.file={}",
        work.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        work.join("prometheus-data").display()
    ))
    .arg(format!("--web.listen-address={}", addrs.prometheus))
    .arg("--storage.tsdb.retention.time=1d")
    .arg("--log.level=warn");
    let prometheus = procs::spawn("prometheus", cmd, &logs.join("prometheus.log"))
        .map_err(|e| format!("starting prometheus: {e}"))?;
    let mut fleet = Fleet {
        prometheus,
        sena: None,
        vmalert: None,
    };
    say(format!(
        "prometheus on {} (pid {}); waiting for two scrapes",
        addrs.prometheus,
        fleet.prometheus.pid()
    ));
    let probe = workload::CHECKS[0].for_rollout(&workload::app_name(args.rollouts - 1));
    support::wait_until(
        &rt,
        &mut fleet.all(),
        Duration::from_secs(120),
        "Prometheus to return data",
        || {
            let (http, prom, probe) = (http.clone(), addrs.prometheus.clone(), probe.clone());
            let at = jiff::Timestamp::now().as_second();
            async move { matches!(instant_query(&http, &prom, &probe, at).await, Ok(n) if n > 0) }
        },
    )?;

    if with_sena && args.stage_age > 0 {
        seed_stages(&state, args.rollouts, args.stage_age)?;
        say(format!(
            "recorded every rollout's first stage as begun {}s ago",
            args.stage_age
        ));
    }

    // Sena and vmalert, started together.
    let sena_log = logs.join("sena.log");
    if with_sena {
        let mut cmd = match args.sena_nofile {
            Some(n) => {
                // prlimit execs Sena in place: same pid, the limit applied.
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(&args.sena);
                c
            }
            None => Command::new(&args.sena),
        };
        cmd.args(["run", "--config"])
            .arg(&sena_yaml)
            .env("SENA_LOG", "info");
        for kv in &args.sena_env {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("--sena-env {kv}: expected KEY=VALUE"))?;
            cmd.env(k, v);
        }
        fleet.sena =
            Some(procs::spawn("sena", cmd, &sena_log).map_err(|e| format!("starting sena: {e}"))?);
    }
    let vm_log = logs.join("vmalert.log");
    if with_vmalert {
        let mut cmd = Command::new(&args.vmalert);
        cmd.arg(format!("-rule={}", vm_rules.display()))
            .arg(format!("-datasource.url=http://{}", addrs.prometheus))
            .arg(format!("-notifier.url=http://{exporter}"))
            .arg(format!("-httpListenAddr={}", addrs.vmalert))
            .arg(format!("-evaluationInterval={}s", args.interval));
        fleet.vmalert = Some(
            procs::spawn("vmalert", cmd, &vm_log).map_err(|e| format!("starting vmalert: {e}"))?,
        );
    }
    for p in [&fleet.sena, &fleet.vmalert].into_iter().flatten() {
        let addr = if p.name == "sena" {
            &addrs.sena
        } else {
            &addrs.vmalert
        };
        say(format!("{} on {addr} (pid {})", p.name, p.pid()));
    }
    support::wait_until(
        &rt,
        &mut fleet.all(),
        Duration::from_secs(60),
        "Sena and vmalert to answer",
        || {
            let http = http.clone();
            let sena = with_sena.then(|| format!("http://{}/healthz", addrs.sena));
            let vm = with_vmalert.then(|| format!("http://{}/metrics", addrs.vmalert));
            async move {
                for url in [sena, vm].into_iter().flatten() {
                    if get_text(&http, &url).await.is_err() {
                        return false;
                    }
                }
                true
            }
        },
    )?;
    say(format!("warming up for {}s", args.warmup));
    support::sleep_watching(&mut fleet.all(), Duration::from_secs(args.warmup))?;

    // The measured window.
    let origin = Instant::now();
    let before = snapshot(&rt, &http, &fleet, &addrs, origin)?;
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = rt.spawn(measure::sample_latency(
        http.clone(),
        addrs.prometheus.clone(),
        args.rollouts,
        Duration::from_millis(args.sample_every_ms),
        stop_sampling.clone(),
    ));
    let queue = rt.spawn(measure::sample_queue(
        http.clone(),
        addrs.prometheus.clone(),
        Duration::from_millis(args.queue_every_ms),
        stop_sampling.clone(),
    ));
    say(format!("measuring for {}s", args.duration));
    let timeline = support::record_timeline(&mut fleet.all(), Duration::from_secs(args.duration))?;
    let after = snapshot(&rt, &http, &fleet, &addrs, origin)?;
    stop_sampling.store(true, Ordering::Relaxed);
    let latencies = rt
        .block_on(sampler)
        .map_err(|e| format!("latency sampler: {e}"))?;
    let queue_depths = rt
        .block_on(queue)
        .map_err(|e| format!("queue sampler: {e}"))?;
    write(&out.join("timeline.csv"), &timeline)?;

    if let (true, Some(sena)) = (args.perf_seconds > 0, fleet.sena.as_ref()) {
        support::profile(sena, args.perf_seconds, out)?;
    }

    // Stop: Sena first, timing its graceful shutdown.
    let shutdown = match fleet.sena.as_mut().map(|s| s.stop(Duration::from_secs(30))) {
        Some((took, Some(s))) if s.success() => {
            format!("exit 0 {:.2}s after SIGTERM", took.as_secs_f64())
        }
        Some((took, Some(s))) => format!("{s} {:.2}s after SIGTERM", took.as_secs_f64()),
        Some((_, None)) => "did not exit within 30s of SIGTERM; killed".to_string(),
        None => "not run".to_string(),
    };
    if let Some(v) = fleet.vmalert.as_mut() {
        v.stop(Duration::from_secs(10));
    }
    fleet.prometheus.stop(Duration::from_secs(10));

    let obs = support::observe_logs(
        &sena_log,
        &vm_log,
        shutdown,
        alerts_received.load(Ordering::Relaxed),
    );
    let setup = Setup {
        rollouts: args.rollouts,
        checks_per_rollout: if args.count_rules {
            workload::count_rules_checks()
        } else {
            workload::CHECKS.len()
        },
        rules_form: if args.count_rules {
            "count (rules/canary.yaml as shipped)".into()
        } else {
            "plain (one query per check)".into()
        },
        stage_age_seconds: args.stage_age,
        interval_seconds: args.interval as f64,
        scrape_seconds: args.scrape as f64,
        unhealthy: args.unhealthy,
        series,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        sena_version: if with_sena {
            support::version(&args.sena, "--version")
        } else {
            "no Sena".into()
        },
        vmalert_version: if with_vmalert {
            support::vmalert_version(&args.vmalert)
        } else {
            "no vmalert".into()
        },
        prometheus_version: support::version(&args.prometheus, "--version"),
        sena_env: args
            .sena_env
            .iter()
            .cloned()
            .chain(args.sena_nofile.map(|n| format!("RLIMIT_NOFILE={n}")))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let report = report::build(&setup, &before, &after, &latencies, &queue_depths, &obs);
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

/// Writes each rollout's first stage into Sena's state as begun `age`
/// seconds ago, as a rollout that has baked that long would have it.
fn seed_stages(state: &std::path::Path, rollouts: usize, age: u64) -> Result<(), String> {
    let store = sena::state::Store::open(state).map_err(|e| format!("seeding stages: {e}"))?;
    let began = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(age as i64))
        .map_err(|e| format!("--stage-age {age}: {e}"))?;
    for i in 0..rollouts {
        store
            .stage_or_start(&workload::app_name(i), began)
            .map_err(|e| format!("seeding stages: {e}"))?;
    }
    store
        .checkpoint()
        .map_err(|e| format!("seeding stages: {e}"))
}

/// CPU time, peak RSS and every `/metrics`, at one instant.
fn snapshot(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    fleet: &Fleet,
    addrs: &Addrs,
    origin: Instant,
) -> Result<Snapshot, String> {
    let scrape = |wanted: bool, addr: &str| {
        let url = format!("http://{addr}/metrics");
        async move {
            match wanted {
                true => get_text(http, &url).await.map(|t| Exposition::parse(&t)),
                false => Ok(Exposition::default()),
            }
        }
    };
    let (sena, vmalert, prometheus) = rt.block_on(async {
        tokio::join!(
            scrape(fleet.sena.is_some(), &addrs.sena),
            scrape(fleet.vmalert.is_some(), &addrs.vmalert),
            scrape(true, &addrs.prometheus),
        )
    });
    let usage =
        |p: &Proc| procs::usage(p.pid()).map_err(|e| format!("reading /proc/{}: {e}", p.pid()));
    Ok(Snapshot {
        seconds: origin.elapsed().as_secs_f64(),
        sena: fleet.sena.as_ref().map(usage).transpose()?,
        vmalert: fleet.vmalert.as_ref().map(usage).transpose()?,
        prometheus: usage(&fleet.prometheus)?,
        harness: procs::usage(std::process::id()).map_err(|e| e.to_string())?,
        machine: procs::machine_cpu(),
        sena_metrics: sena?,
        vmalert_metrics: vmalert?,
        prometheus_metrics: prometheus?,
    })
}
