//! The figures, computed from two snapshots taken at the ends of the
//! measured window, and the summary table printed and written to
//! `summary.md` (plus `results.json` for tools).

use std::fmt::Write as _;

use crate::measure::{bucket_delta, bucket_quantile, mean, percentile, Exposition, Latencies};
use crate::procs::Usage;

/// Everything read at one instant.
#[derive(Default, Clone)]
pub struct Snapshot {
    pub seconds: f64,
    pub sena: Usage,
    pub vmalert: Option<Usage>,
    pub prometheus: Usage,
    pub harness: Usage,
    pub sena_metrics: Exposition,
    pub vmalert_metrics: Exposition,
    pub prometheus_metrics: Exposition,
}

pub struct Setup {
    pub rollouts: usize,
    pub checks_per_rollout: usize,
    pub interval_seconds: f64,
    pub scrape_seconds: f64,
    pub unhealthy: usize,
    pub series: usize,
    pub cores: usize,
    pub sena_version: String,
    pub vmalert_version: String,
    pub prometheus_version: String,
}

/// What the logs and the shutdown said, beyond the metrics.
#[derive(Default)]
pub struct Observations {
    pub sena_warn_lines: usize,
    pub sena_error_lines: usize,
    pub sena_first_problems: Vec<String>,
    pub sena_advisories: usize,
    pub sena_shutdown: String,
    pub vmalert_error_lines: usize,
    pub alerts_received: u64,
}

pub struct Report {
    pub json: serde_json::Value,
    pub markdown: String,
}

fn d(a: &Exposition, b: &Exposition, name: &str, having: &[&str]) -> f64 {
    b.sum(name, having) - a.sum(name, having)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ms(seconds: f64) -> String {
    if seconds.is_nan() {
        "n/a".into()
    } else {
        format!("{:.1} ms", seconds * 1000.0)
    }
}

pub fn build(
    setup: &Setup,
    a: &Snapshot,
    b: &Snapshot,
    lat: &Latencies,
    obs: &Observations,
) -> Report {
    let window = b.seconds - a.seconds;
    let expected_rollout_evals = setup.rollouts as f64 * window / setup.interval_seconds;

    // Sena.
    let (sa, sb) = (&a.sena_metrics, &b.sena_metrics);
    let sena_evals = d(sa, sb, "sena_evaluations_total", &[]);
    let sena_check_evals = sena_evals * setup.checks_per_rollout as f64;
    let sena_cpu = b.sena.cpu_seconds - a.sena.cpu_seconds;
    let sena_cpu_per_1k = sena_cpu / (sena_check_evals / 1000.0);
    let sena_missed = d(sa, sb, "sena_missed_iterations_total", &[]);
    let sena_missed_total = sb.sum("sena_missed_iterations_total", &[]);
    let sena_errors = d(sa, sb, "sena_query_errors_total", &[]);
    let cycle_sum = d(sa, sb, "sena_evaluation_duration_seconds_sum", &[]);
    let cycle_count = d(sa, sb, "sena_evaluation_duration_seconds_count", &[]);
    let cycle_mean = cycle_sum / cycle_count;
    let cycle_buckets = bucket_delta(
        &sa.buckets("sena_evaluation_duration_seconds_bucket"),
        &sb.buckets("sena_evaluation_duration_seconds_bucket"),
    );
    let cycle_p50 = bucket_quantile(0.5, &cycle_buckets);
    let cycle_p99 = bucket_quantile(0.99, &cycle_buckets);
    let verdicts = |v: f64| sb.count_value("sena_verdict", v);

    // vmalert.
    let (va, vb) = (&a.vmalert_metrics, &b.vmalert_metrics);
    let vm_iterations = d(va, vb, "vmalert_iteration_total", &[]);
    let vm_rule_evals = d(va, vb, "vmalert_execution_total", &[]);
    let vm_errors = d(va, vb, "vmalert_execution_errors_total", &[]);
    let vm_missed = d(va, vb, "vmalert_iteration_missed_total", &[]);
    let vm_iter_mean = d(va, vb, "vmalert_iteration_duration_seconds_sum", &[])
        / d(va, vb, "vmalert_iteration_duration_seconds_count", &[]);
    let vm_firing = vb.sum("vmalert_alerts_firing", &[]);
    let (vm_cpu, vm_peak) = match (a.vmalert, b.vmalert) {
        (Some(x), Some(y)) => (y.cpu_seconds - x.cpu_seconds, y.peak_rss),
        _ => (f64::NAN, 0),
    };
    let vm_cpu_per_1k = vm_cpu / (vm_rule_evals / 1000.0);

    // Prometheus.
    let (pa, pb) = (&a.prometheus_metrics, &b.prometheus_metrics);
    let q = ["handler=\"/api/v1/query\""];
    let prom_queries = d(pa, pb, "prometheus_http_request_duration_seconds_count", &q);
    let prom_query_mean =
        d(pa, pb, "prometheus_http_request_duration_seconds_sum", &q) / prom_queries;
    let prom_cpu = b.prometheus.cpu_seconds - a.prometheus.cpu_seconds;
    let harness_cpu = b.harness.cpu_seconds - a.harness.cpu_seconds;

    // Raw latency from the harness.
    let raw_single = mean(&lat.single);
    let raw_rollout = mean(&lat.rollout);

    let json = serde_json::json!({
        "setup": {
            "rollouts": setup.rollouts, "checks_per_rollout": setup.checks_per_rollout,
            "interval_seconds": setup.interval_seconds, "scrape_interval_seconds": setup.scrape_seconds,
            "unhealthy_rollouts": setup.unhealthy, "exporter_series": setup.series, "cores": setup.cores,
            "window_seconds": window, "sena": setup.sena_version, "vmalert": setup.vmalert_version,
            "prometheus": setup.prometheus_version,
        },
        "sena": {
            "rollout_evaluations": sena_evals, "expected_rollout_evaluations": expected_rollout_evals,
            "check_evaluations": sena_check_evals, "cpu_seconds": sena_cpu,
            "cpu_seconds_per_1000_check_evaluations": sena_cpu_per_1k,
            "cpu_share_of_one_core": sena_cpu / window,
            "peak_rss_bytes": b.sena.peak_rss, "rss_bytes_at_end": b.sena.rss,
            "missed_iterations_in_window": sena_missed, "missed_iterations_since_start": sena_missed_total,
            "query_errors_in_window": sena_errors,
            "cycle_seconds_mean": cycle_mean, "cycle_seconds_p50_from_buckets": cycle_p50,
            "cycle_seconds_p99_from_buckets": cycle_p99,
            "cycle_buckets_in_window": cycle_buckets.iter().map(|(le, c)| serde_json::json!([le.to_string(), c])).collect::<Vec<_>>(),
            "verdicts_at_end": {"continue": verdicts(0.0), "hold": verdicts(1.0), "rollback": verdicts(2.0)},
            "warn_log_lines": obs.sena_warn_lines, "error_log_lines": obs.sena_error_lines,
            "advisories_queued": obs.sena_advisories, "shutdown": obs.sena_shutdown,
        },
        "vmalert": {
            "group_iterations": vm_iterations, "rule_evaluations": vm_rule_evals, "errors": vm_errors,
            "missed_iterations": vm_missed, "iteration_seconds_mean": vm_iter_mean,
            "cpu_seconds": vm_cpu, "cpu_seconds_per_1000_rule_evaluations": vm_cpu_per_1k,
            "peak_rss_bytes": vm_peak, "alerts_firing_at_end": vm_firing,
            "alerts_received_by_sink": obs.alerts_received, "error_log_lines": obs.vmalert_error_lines,
        },
        "prometheus": {
            "instant_queries": prom_queries, "queries_per_second": prom_queries / window,
            "server_side_query_seconds_mean": prom_query_mean, "cpu_seconds": prom_cpu,
            "peak_rss_bytes": b.prometheus.peak_rss,
        },
        "raw_latency": {
            "samples": lat.single.len(), "errors": lat.errors, "empty_results": lat.empty,
            "single_query_seconds_mean": raw_single, "single_query_seconds_p50": percentile(&lat.single, 0.5),
            "single_query_seconds_p95": percentile(&lat.single, 0.95),
            "rollout_three_queries_seconds_mean": raw_rollout,
            "rollout_three_queries_seconds_p50": percentile(&lat.rollout, 0.5),
            "rollout_three_queries_seconds_p95": percentile(&lat.rollout, 0.95),
        },
        "ratios": {
            "sena_cycle_over_raw_rollout_latency": cycle_mean / raw_rollout,
            "sena_cycle_over_raw_single_query_latency": cycle_mean / raw_single,
            "sena_cpu_over_vmalert_cpu": sena_cpu / vm_cpu,
            "sena_cpu_per_eval_over_vmalert_cpu_per_eval": sena_cpu_per_1k / vm_cpu_per_1k,
            "sena_peak_rss_over_vmalert_peak_rss": b.sena.peak_rss as f64 / vm_peak as f64,
        },
        "harness_cpu_seconds": harness_cpu,
    });

    let mut md = String::new();
    let _ = writeln!(md, "# Sena benchmark summary\n");
    let _ = writeln!(
        md,
        "{} rollouts × {} checks every {}s ({:.0} queries/s from each evaluator); {} of them unhealthy; \
         exporter: {} series scraped every {}s. Measured window: {:.0} s. {} CPU cores shared by \
         Prometheus, Sena, vmalert and the harness.\n",
        setup.rollouts,
        setup.checks_per_rollout,
        setup.interval_seconds,
        setup.rollouts as f64 * setup.checks_per_rollout as f64 / setup.interval_seconds,
        setup.unhealthy,
        setup.series,
        setup.scrape_seconds,
        window,
        setup.cores
    );
    let _ = writeln!(
        md,
        "Versions: {}; {}; {}.\n",
        setup.sena_version, setup.vmalert_version, setup.prometheus_version
    );
    let _ = writeln!(
        md,
        "| Figure | Sena | vmalert | Sena / vmalert |\n|---|---:|---:|---:|"
    );
    let _ = writeln!(
        md,
        "| Rollout (group) evaluations in window | {:.0} (expected {:.0}) | {:.0} | |",
        sena_evals, expected_rollout_evals, vm_iterations
    );
    let _ = writeln!(
        md,
        "| Check (rule) evaluations in window | {:.0} | {:.0} | |",
        sena_check_evals, vm_rule_evals
    );
    let _ = writeln!(
        md,
        "| CPU seconds in window | {:.2} ({:.1}% of a core) | {:.2} ({:.1}% of a core) | {:.2} |",
        sena_cpu,
        100.0 * sena_cpu / window,
        vm_cpu,
        100.0 * vm_cpu / window,
        sena_cpu / vm_cpu
    );
    let _ = writeln!(
        md,
        "| **CPU seconds per 1,000 check evaluations** | **{:.3}** | {:.3} | **{:.2}** |",
        sena_cpu_per_1k,
        vm_cpu_per_1k,
        sena_cpu_per_1k / vm_cpu_per_1k
    );
    let _ = writeln!(
        md,
        "| **Peak RSS (VmHWM)** | **{:.1} MiB** | {:.1} MiB | **{:.2}** |",
        mib(b.sena.peak_rss),
        mib(vm_peak),
        b.sena.peak_rss as f64 / vm_peak as f64
    );
    let _ = writeln!(
        md,
        "| **Missed iterations** (window / since start) | **{:.0} / {:.0}** | {:.0} (window) | |",
        sena_missed, sena_missed_total, vm_missed
    );
    let _ = writeln!(
        md,
        "| Query errors in window | {:.0} | {:.0} | |",
        sena_errors, vm_errors
    );
    let _ = writeln!(
        md,
        "| Mean cycle per rollout (group) | {} (p50 ≈ {}, p99 ≈ {} from buckets) | {} | |",
        ms(cycle_mean),
        ms(cycle_p50),
        ms(cycle_p99),
        ms(vm_iter_mean)
    );
    let _ = writeln!(
        md,
        "\n| Raw query latency (harness → Prometheus, same queries, same window) | Value |\n|---|---:|"
    );
    let _ = writeln!(
        md,
        "| One query: mean / p50 / p95 ({} samples, {} errors, {} empty) | {} / {} / {} |",
        lat.single.len(),
        lat.errors,
        lat.empty,
        ms(raw_single),
        ms(percentile(&lat.single, 0.5)),
        ms(percentile(&lat.single, 0.95))
    );
    let _ = writeln!(
        md,
        "| One rollout's 3 queries sent together: mean / p50 / p95 | {} / {} / {} |",
        ms(raw_rollout),
        ms(percentile(&lat.rollout, 0.5)),
        ms(percentile(&lat.rollout, 0.95))
    );
    let _ = writeln!(
        md,
        "| Prometheus server-side `/api/v1/query` mean (all clients) | {} |",
        ms(prom_query_mean)
    );
    let _ = writeln!(
        md,
        "| **Sena cycle ÷ raw rollout latency (3 queries together)** | **{:.2}** |",
        cycle_mean / raw_rollout
    );
    let _ = writeln!(
        md,
        "| Sena cycle ÷ raw single-query latency | {:.2} |",
        cycle_mean / raw_single
    );
    let _ = writeln!(
        md,
        "\nPrometheus: {:.0} instant queries in window ({:.0}/s), {:.2} CPU s ({:.1}% of a core), peak RSS {:.1} MiB. \
         Harness (exporter + latency sampler): {:.2} CPU s.\n",
        prom_queries,
        prom_queries / window,
        prom_cpu,
        100.0 * prom_cpu / window,
        mib(b.prometheus.peak_rss),
        harness_cpu
    );
    let _ = writeln!(
        md,
        "Sena at the end: verdicts continue {} / hold {} / rollback {}; {} advisories queued; log lines WARN {} / ERROR {}; shutdown: {}. \
         vmalert: {:.0} alerts firing, {} alert notifications received by the sink, {} error log lines.",
        verdicts(0.0),
        verdicts(1.0),
        verdicts(2.0),
        obs.sena_advisories,
        obs.sena_warn_lines,
        obs.sena_error_lines,
        obs.sena_shutdown,
        vm_firing,
        obs.alerts_received,
        obs.vmalert_error_lines
    );
    if !obs.sena_first_problems.is_empty() {
        let _ = writeln!(md, "\nFirst WARN/ERROR lines from Sena:\n```");
        for l in &obs.sena_first_problems {
            let _ = writeln!(md, "{l}");
        }
        let _ = writeln!(md, "```");
    }
    Report { json, markdown: md }
}
