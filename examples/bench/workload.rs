//! What is measured: N synthetic apps, their metrics (served by one
//! generator endpoint that Prometheus scrapes), the three canary checks per
//! app as Sena rules, and the same checks as vmalert alerting rules.
//!
//! Every app exposes a canary and a stable track of the three series families
//! that `rules/canary.yaml` queries, so each rollout's PromQL selects its own
//! series (`app="app-0042"`) out of ~28 series × N, as on a shared Prometheus.
//! Counters grow linearly with wall time, so `rate()` is exact and the
//! generator keeps no state.
//!
//! With `--count-rules` Sena gets the repository's own `rules/canary.yaml`
//! (the count form: `bad:`/`good:` + `total:` per check, `vs:` the stable
//! track) instead of the plain checks below, and the histogram gains the
//! `le="2"` bucket its latency check counts; the plain workload is unchanged.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The three checks of `rules/canary.yaml`, with the same PromQL.
pub struct CheckSpec {
    pub name: &'static str,
    pub query: &'static str,
    /// `below` or `above`.
    pub side: &'static str,
    /// Threshold as written in Sena's rules, and as a number for vmalert.
    pub threshold_text: &'static str,
    pub threshold: f64,
    pub for_: &'static str,
    pub on_fail: &'static str,
}

pub const CHECKS: [CheckSpec; 3] = [
    CheckSpec {
        name: "error_rate",
        query: "sum(rate(http_requests_total{app=\"{{ rollout }}\",track=\"canary\",code=~\"5..\"}[5m]))\n  / sum(rate(http_requests_total{app=\"{{ rollout }}\",track=\"canary\"}[5m]))",
        side: "below",
        threshold_text: "0.1%",
        threshold: 0.001,
        for_: "2m",
        on_fail: "rollback",
    },
    CheckSpec {
        name: "p95_latency",
        query: "histogram_quantile(0.95,\n  sum by (le) (rate(http_request_duration_seconds_bucket{app=\"{{ rollout }}\",track=\"canary\"}[5m])))",
        side: "below",
        threshold_text: "2s",
        threshold: 2.0,
        for_: "2m",
        on_fail: "rollback",
    },
    CheckSpec {
        name: "satisfaction",
        query: "sum(rate(user_satisfaction_total{app=\"{{ rollout }}\",track=\"canary\",outcome=\"satisfied\"}[5m]))\n  / sum(rate(user_satisfaction_total{app=\"{{ rollout }}\",track=\"canary\"}[5m]))",
        side: "above",
        threshold_text: "95%",
        threshold: 0.95,
        for_: "5m",
        on_fail: "hold",
    },
];

impl CheckSpec {
    /// The query for one rollout, as Sena substitutes it.
    pub fn for_rollout(&self, rollout: &str) -> String {
        self.query.replace("{{ rollout }}", rollout)
    }

    /// The vmalert alert expression: the query, firing while it breaches.
    fn alert_expr(&self, rollout: &str) -> String {
        let op = if self.side == "below" { ">=" } else { "<=" };
        format!("({}) {op} {}", self.for_rollout(rollout), self.threshold)
    }
}

/// Series per app: 2 tracks × (2 request codes + 8 buckets + sum + count + 2 outcomes);
/// with the count rules' `le="2"` bucket, 2 more.
pub fn series_per_app(counts: bool) -> usize {
    if counts {
        30
    } else {
        28
    }
}

/// The repository's `rules/canary.yaml`, the count form of the three checks,
/// as shipped (`--count-rules`).
const COUNT_RULES: &str = include_str!("../../rules/canary.yaml");

/// Checks in the shipped count rules (one `- name:` per check).
pub fn count_rules_checks() -> usize {
    COUNT_RULES
        .lines()
        .filter(|l| l.trim_start().starts_with("- name:"))
        .count()
}

pub fn app_name(i: usize) -> String {
    format!("app-{i:04}")
}

/// Which apps misbehave: `unhealthy` of them, spread evenly, each with a
/// 2% canary error rate (rollback after `for: 2m`).
pub fn is_unhealthy(i: usize, apps: usize, unhealthy: usize) -> bool {
    if unhealthy == 0 {
        return false;
    }
    let stride = (apps / unhealthy).max(1);
    i.is_multiple_of(stride) && i / stride < unhealthy
}

const LE: [&str; 8] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"];
/// Cumulative share of requests at or under each bound: p95 ≈ 0.75 s.
const CDF: [f64; 8] = [0.20, 0.45, 0.75, 0.92, 0.98, 0.997, 1.0, 1.0];
/// The same histogram with the `le="2"` bucket the count rules' latency
/// check needs (99.5 % of requests within 2 s).
const LE_COUNTS: [&str; 9] = ["0.05", "0.1", "0.25", "0.5", "1", "2", "2.5", "5", "+Inf"];
const CDF_COUNTS: [f64; 9] = [0.20, 0.45, 0.75, 0.92, 0.98, 0.995, 0.997, 1.0, 1.0];
const MEAN_LATENCY: f64 = 0.3;

struct Track {
    label: &'static str,
    rps: f64,
    error_share: f64,
    satisfied_share: f64,
}

/// The generator's view of one app.
pub struct App {
    name: String,
    tracks: [Track; 2],
}

pub fn apps(n: usize, unhealthy: usize) -> Vec<App> {
    (0..n)
        .map(|i| {
            let canary_rps = 2.0 + (i % 7) as f64;
            let error_share = if is_unhealthy(i, n, unhealthy) {
                0.02
            } else {
                0.0002
            };
            App {
                name: app_name(i),
                tracks: [
                    Track {
                        label: "canary",
                        rps: canary_rps,
                        error_share,
                        satisfied_share: 0.98,
                    },
                    Track {
                        label: "stable",
                        rps: canary_rps * 19.0,
                        error_share: 0.0002,
                        satisfied_share: 0.98,
                    },
                ],
            }
        })
        .collect()
}

/// The exposition text at `t` seconds of simulated uptime; `counts` adds
/// the `le="2"` bucket.
pub fn render(apps: &[App], t: f64, counts: bool) -> String {
    let (le, cdf): (&[&str], &[f64]) = if counts {
        (&LE_COUNTS, &CDF_COUNTS)
    } else {
        (&LE, &CDF)
    };
    let mut out = String::with_capacity(apps.len() * series_per_app(counts) * 110);
    out.push_str("# TYPE http_requests_total counter\n");
    for a in apps {
        for tr in &a.tracks {
            let total = tr.rps * t;
            let errors = total * tr.error_share;
            let _ = writeln!(
                out,
                "http_requests_total{{app=\"{}\",track=\"{}\",code=\"200\"}} {:.3}",
                a.name,
                tr.label,
                total - errors
            );
            let _ = writeln!(
                out,
                "http_requests_total{{app=\"{}\",track=\"{}\",code=\"500\"}} {:.3}",
                a.name, tr.label, errors
            );
        }
    }
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for a in apps {
        for tr in &a.tracks {
            let count = tr.rps * t;
            for (le, share) in le.iter().zip(cdf) {
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{app=\"{}\",track=\"{}\",le=\"{le}\"}} {:.3}", a.name, tr.label, count * share);
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{app=\"{}\",track=\"{}\"}} {:.3}",
                a.name,
                tr.label,
                count * MEAN_LATENCY
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{app=\"{}\",track=\"{}\"}} {:.3}",
                a.name, tr.label, count
            );
        }
    }
    out.push_str("# TYPE user_satisfaction_total counter\n");
    for a in apps {
        for tr in &a.tracks {
            let answers = tr.rps * t * 0.1;
            let satisfied = answers * tr.satisfied_share;
            let _ = writeln!(
                out,
                "user_satisfaction_total{{app=\"{}\",track=\"{}\",outcome=\"satisfied\"}} {:.3}",
                a.name, tr.label, satisfied
            );
            let _ = writeln!(
                out,
                "user_satisfaction_total{{app=\"{}\",track=\"{}\",outcome=\"unsatisfied\"}} {:.3}",
                a.name,
                tr.label,
                answers - satisfied
            );
        }
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

pub fn prometheus_yml(exporter: &str, scrape: Duration) -> String {
    format!(
        "global:\n  scrape_interval: {s}\n  scrape_timeout: {s}\n  evaluation_interval: 1m\nscrape_configs:\n  - job_name: apps\n    static_configs:\n      - targets: ['{exporter}']\n",
        s = secs(scrape)
    )
}

/// `sena.yaml` with one rollout per app, each listing `rules/canary.yaml`.
pub fn sena_yaml(
    apps: usize,
    prometheus: &str,
    listen: &str,
    state: &Path,
    interval: Duration,
) -> String {
    let mut out = format!(
        "# Generated by examples/bench: {apps} rollouts x {} checks.\nprometheus:\n  url: http://{prometheus}\n  timeout: 10s\nevaluation:\n  interval: {}\nstate:\n  path: {}\nserver:\n  listen: {listen}\nrollouts:\n",
        CHECKS.len(),
        secs(interval),
        state.display()
    );
    for i in 0..apps {
        let _ = write!(
            out,
            "  - name: {}\n    approver: bench\n    stages:\n      - {{ traffic: 5%, bake: 24h }}\n      - {{ traffic: 100% }}\n    rules: [rules/canary.yaml]\n",
            app_name(i)
        );
    }
    out
}

/// The rules file Sena gets: the plain checks above, or with `counts` the
/// repository's `rules/canary.yaml` as it is.
pub fn sena_rules(counts: bool) -> String {
    if counts {
        return format!(
            "# Generated by examples/bench --count-rules: rules/canary.yaml as shipped.\n{COUNT_RULES}"
        );
    }
    let mut out =
        String::from("# Generated by examples/bench: the checks of rules/canary.yaml.\nchecks:\n");
    for c in &CHECKS {
        let _ = write!(out, "  - name: {}\n    query: |\n", c.name);
        for line in c.query.lines() {
            let _ = writeln!(out, "      {line}");
        }
        let _ = write!(
            out,
            "    {}: {}\n    for: {}\n    on_fail: {}\n",
            c.side, c.threshold_text, c.for_, c.on_fail
        );
    }
    out
}

/// Prometheus-format rule groups for vmalert: one group per rollout, its
/// three rules evaluated concurrently as Sena runs a rollout's checks.
pub fn vmalert_rules(apps: usize, interval: Duration) -> String {
    let mut out = String::from(
        "# Generated by examples/bench: the same checks as vmalert alerting rules.\ngroups:\n",
    );
    for i in 0..apps {
        let app = app_name(i);
        let _ = write!(
            out,
            "  - name: {app}\n    interval: {}\n    concurrency: {}\n    rules:\n",
            secs(interval),
            CHECKS.len()
        );
        for c in &CHECKS {
            let _ = write!(out, "      - alert: {}\n        expr: |\n", c.name);
            for line in c.alert_expr(&app).lines() {
                let _ = writeln!(out, "          {line}");
            }
            let _ = write!(
                out,
                "        for: {}\n        labels: {{ rollout: {app}, on_fail: {} }}\n",
                c.for_, c.on_fail
            );
        }
    }
    out
}
