//! The harness's chores: waiting for children while watching that they
//! live, the per-5 s CPU timeline, the optional perf profile, what the logs
//! said, and version strings.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::procs::{self, Proc};
use crate::report::Observations;

pub fn say(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

pub fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Polls `ready` every 500 ms until it holds, failing early if a child dies.
pub fn wait_until<F, Fut>(
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

pub fn sleep_watching(watched: &mut [&mut Proc], total: Duration) -> Result<(), String> {
    let until = Instant::now() + total;
    while Instant::now() < until {
        check_alive(watched)?;
        std::thread::sleep(
            Duration::from_millis(250).min(until.saturating_duration_since(Instant::now())),
        );
    }
    Ok(())
}

/// CPU use of each child and of the whole machine per 5 s over the window,
/// as CSV (shares of one core), printing a progress line every 30 s.
pub fn record_timeline(watched: &mut [&mut Proc], total: Duration) -> Result<String, String> {
    let step = Duration::from_secs(5);
    let started = Instant::now();
    let mut csv = String::from("seconds,machine_busy_cores,machine_nice_cores");
    for p in watched.iter() {
        csv.push_str(&format!(",{}_cpu_share,{}_rss_mib", p.name, p.name));
    }
    csv.push('\n');
    let read = |w: &[&mut Proc]| {
        let each: Vec<procs::Usage> = w
            .iter()
            .map(|p| procs::usage(p.pid()).unwrap_or_default())
            .collect();
        (Instant::now(), procs::machine_cpu(), each)
    };
    let mut last = read(watched);
    while started.elapsed() < total {
        sleep_watching(watched, step.min(total.saturating_sub(started.elapsed())))?;
        let now = read(watched);
        let dt = now.0.duration_since(last.0).as_secs_f64().max(1e-9);
        let busy = (now.1.busy - last.1.busy) / dt;
        let nice = (now.1.nice - last.1.nice) / dt;
        csv.push_str(&format!(
            "{:.0},{busy:.3},{nice:.3}",
            started.elapsed().as_secs_f64()
        ));
        let mut line = format!(
            "{:>4.0}s  machine {:>5.1}% busy",
            started.elapsed().as_secs_f64(),
            busy * 100.0
        );
        for ((p, a), b) in watched.iter().zip(&last.2).zip(&now.2) {
            let share = (b.cpu_seconds - a.cpu_seconds) / dt;
            let rss = b.rss as f64 / 1048576.0;
            csv.push_str(&format!(",{share:.3},{rss:.1}"));
            line.push_str(&format!(
                "  {} {:>5.1}% {rss:>6.1} MiB",
                p.name,
                share * 100.0
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

/// `perf record` of Sena for `seconds` (DWARF call graphs: the release
/// profile keeps line tables but no frame pointers), then two text reports.
pub fn profile(sena: &Proc, seconds: u64, out: &Path) -> Result<(), String> {
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
    let reports: [(&str, &[&str]); 2] = [
        ("perf-self.txt", &["--no-children", "--sort", "dso,symbol"]),
        ("perf-inclusive.txt", &["--children", "--sort", "symbol"]),
    ];
    for (file, extra) in reports {
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
        "profile in {} and perf-inclusive.txt",
        out.join("perf-self.txt").display()
    ));
    Ok(())
}

pub fn observe_logs(
    sena_log: &Path,
    vm_log: &Path,
    shutdown: String,
    alerts_received: u64,
) -> Observations {
    let sena = strip_ansi(&std::fs::read_to_string(sena_log).unwrap_or_default());
    let vm = std::fs::read_to_string(vm_log).unwrap_or_default();
    // Tracing lines are `TIMESTAMP  LEVEL target: ...`; the console
    // notifier's advisories (also on stdout) print check statuses such as
    // `ERROR` inside their text, and are counted apart.
    let level = |l: &str| -> Option<String> {
        let mut words = l.split_whitespace();
        let stamp = words.next()?;
        (stamp.len() > 20 && stamp.ends_with('Z')).then(|| words.next().map(str::to_string))?
    };
    let at = |wanted: &str| {
        sena.lines()
            .filter(|l| level(l).as_deref() == Some(wanted))
            .count()
    };
    let problems: Vec<&str> = sena
        .lines()
        .filter(|l| matches!(level(l).as_deref(), Some("WARN" | "ERROR")))
        .collect();
    Observations {
        sena_warn_lines: at("WARN"),
        sena_error_lines: at("ERROR"),
        sena_first_problems: problems.iter().take(5).map(|l| l.to_string()).collect(),
        sena_advisories: sena
            .lines()
            .filter(|l| l.contains("advisory queued"))
            .count(),
        sena_shutdown: shutdown,
        // "context canceled" errors are the in-flight queries of its own shutdown.
        vmalert_error_lines: vm
            .lines()
            .filter(|l| {
                (l.contains("\terror\t") || l.contains("\tfatal\t"))
                    && !l.contains("context canceled")
            })
            .count(),
        alerts_received,
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
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

pub fn version(cmd: &Path, flag: &str) -> String {
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

/// vmalert 1.79 prints an empty `-version`; ask dpkg which package holds it.
pub fn vmalert_version(path: &Path) -> String {
    let own = version(path, "-version");
    if !own.contains("version unknown") {
        return own;
    }
    let dpkg = |args: &[&str]| {
        Command::new("dpkg-query")
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let package = dpkg(&["-S", &path.display().to_string()])
        .and_then(|s| s.split(':').next().map(str::to_string));
    package
        .and_then(|p| {
            dpkg(&["-W", "-f", "${Version}", &p]).map(|v| format!("vmalert (Debian {p} {v})"))
        })
        .unwrap_or(own)
}
