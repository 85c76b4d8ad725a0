//! The figures, computed from two snapshots taken at the ends of the
//! measured window, and the summary table printed and written to
//! `summary.md` (plus `results.json` for tools).

use std::fmt::Write as _;

use serde_json::json;

use crate::measure::{
    bucket_delta, bucket_quantile, cumulative_buckets, mean, percentile, Exposition, Latencies,
};
use crate::procs::{MachineCpu, Usage};

/// Everything read at one instant.
#[derive(Default, Clone)]
pub struct Snapshot {
    pub seconds: f64,
    pub sena: Option<Usage>,
    pub vmalert: Option<Usage>,
    pub prometheus: Usage,
    pub harness: Usage,
    pub machine: MachineCpu,
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
    /// Extra environment given to Sena (experiments), empty normally.
    pub sena_env: String,
    /// Which form of the checks Sena ran (plain or count).
    pub rules_form: String,
    /// `--stage-age`: how long ago the stages were recorded as begun (0: at start-up).
    pub stage_age_seconds: u64,
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

fn delta(a: &Exposition, b: &Exposition, name: &str, having: &[&str]) -> f64 {
    b.sum(name, having) - a.sum(name, having)
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn ms(seconds: f64) -> String {
    if seconds.is_finite() {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        "n/a".into()
    }
}

fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        // `+ 0.0` turns a -0 (a delta of two zeros) into 0.
        format!("{:.decimals$}", v + 0.0)
    } else {
        "n/a".into()
    }
}

/// CPU seconds over the window and peak RSS of one process, if it ran.
fn process(a: Option<Usage>, b: Option<Usage>) -> (f64, f64) {
    match (a, b) {
        (Some(x), Some(y)) => (y.cpu_seconds - x.cpu_seconds, y.peak_rss as f64),
        _ => (f64::NAN, f64::NAN),
    }
}

pub fn build(
    setup: &Setup,
    a: &Snapshot,
    b: &Snapshot,
    lat: &Latencies,
    queue: &[f64],
    obs: &Observations,
) -> Report {
    let window = b.seconds - a.seconds;
    let expected_rollout_evals = setup.rollouts as f64 * window / setup.interval_seconds;

    // Sena.
    let (sa, sb) = (&a.sena_metrics, &b.sena_metrics);
    let sena_evals = delta(sa, sb, "sena_evaluations_total", &[]);
    let sena_check_evals = sena_evals * setup.checks_per_rollout as f64;
    let (sena_cpu, sena_peak) = process(a.sena, b.sena);
    let sena_cpu_per_1k = sena_cpu / (sena_check_evals / 1000.0);
    let sena_missed = delta(sa, sb, "sena_missed_iterations_total", &[]);
    let sena_missed_total = sb.sum("sena_missed_iterations_total", &[]);
    let sena_errors = delta(sa, sb, "sena_query_errors_total", &[]);
    let cycle_mean = delta(sa, sb, "sena_evaluation_duration_seconds_sum", &[])
        / delta(sa, sb, "sena_evaluation_duration_seconds_count", &[]);
    let cycle_buckets = bucket_delta(
        &sa.buckets("sena_evaluation_duration_seconds_bucket"),
        &sb.buckets("sena_evaluation_duration_seconds_bucket"),
    );
    let bounds: Vec<f64> = cycle_buckets.iter().map(|(le, _)| *le).collect();
    let raw_buckets = cumulative_buckets(&lat.rollout, &bounds);
    let cycle_p50 = bucket_quantile(0.5, &cycle_buckets);
    let cycle_p99 = bucket_quantile(0.99, &cycle_buckets);
    let verdicts = |v: f64| sb.count_value("sena_verdict", v);

    // vmalert.
    let (va, vb) = (&a.vmalert_metrics, &b.vmalert_metrics);
    let vm_iterations = delta(va, vb, "vmalert_iteration_total", &[]);
    let vm_rule_evals = delta(va, vb, "vmalert_execution_total", &[]);
    let vm_errors = delta(va, vb, "vmalert_execution_errors_total", &[]);
    let vm_missed = delta(va, vb, "vmalert_iteration_missed_total", &[]);
    let vm_iter_mean = delta(va, vb, "vmalert_iteration_duration_seconds_sum", &[])
        / delta(va, vb, "vmalert_iteration_duration_seconds_count", &[]);
    let vm_firing = vb.sum("vmalert_alerts_firing", &[]);
    let (vm_cpu, vm_peak) = process(a.vmalert, b.vmalert);
    let vm_cpu_per_1k = vm_cpu / (vm_rule_evals / 1000.0);

    // Prometheus, the harness, the machine.
    let (pa, pb) = (&a.prometheus_metrics, &b.prometheus_metrics);
    let q = ["handler=\"/api/v1/query\""];
    let prom_queries = delta(pa, pb, "prometheus_http_request_duration_seconds_count", &q);
    let prom_query_mean =
        delta(pa, pb, "prometheus_http_request_duration_seconds_sum", &q) / prom_queries;
    let rq = ["handler=\"/api/v1/query_range\""];
    let prom_range_queries = delta(
        pa,
        pb,
        "prometheus_http_request_duration_seconds_count",
        &rq,
    );
    let prom_range_mean =
        delta(pa, pb, "prometheus_http_request_duration_seconds_sum", &rq) / prom_range_queries;
    let prom_cpu = b.prometheus.cpu_seconds - a.prometheus.cpu_seconds;
    // New TCP connections: a client that does not keep connections alive
    // makes Prometheus pay for an accept and a fresh goroutine per query.
    let prom_accepts = delta(pa, pb, "net_conntrack_listener_conn_accepted_total", &[]);
    let harness_cpu = b.harness.cpu_seconds - a.harness.cpu_seconds;
    let machine_busy = b.machine.busy - a.machine.busy;
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let ours = prom_cpu + harness_cpu + finite(sena_cpu) + finite(vm_cpu);
    let others = (machine_busy - ours).max(0.0);
    let nice = b.machine.nice - a.machine.nice;
    let steal = b.machine.steal - a.machine.steal;

    // Raw latency from the harness.
    let raw_single = mean(&lat.single);
    let raw_rollout = mean(&lat.rollout);
    let queue_mean = mean(queue);
    let queue_max = queue.iter().copied().fold(f64::NAN, f64::max);
    let queue_p95 = percentile(queue, 0.95);

    let json = json!({
        "setup": {
            "rollouts": setup.rollouts, "checks_per_rollout": setup.checks_per_rollout,
            "interval_seconds": setup.interval_seconds, "scrape_interval_seconds": setup.scrape_seconds,
            "unhealthy_rollouts": setup.unhealthy, "exporter_series": setup.series, "cores": setup.cores,
            "window_seconds": window, "sena": setup.sena_version, "vmalert": setup.vmalert_version,
            "prometheus": setup.prometheus_version, "sena_env": setup.sena_env,
            "sena_rules": setup.rules_form, "stage_age_seconds": setup.stage_age_seconds,
        },
        "sena": {
            "rollout_evaluations": sena_evals, "expected_rollout_evaluations": expected_rollout_evals,
            "check_evaluations": sena_check_evals, "cpu_seconds": sena_cpu,
            "cpu_seconds_per_1000_check_evaluations": sena_cpu_per_1k,
            "cpu_share_of_one_core": sena_cpu / window,
            "peak_rss_bytes": sena_peak, "rss_bytes_at_end": b.sena.map(|u| u.rss),
            "missed_iterations_in_window": sena_missed, "missed_iterations_since_start": sena_missed_total,
            "query_errors_in_window": sena_errors,
            "query_errors_since_start": sb.sum("sena_query_errors_total", &[]),
            "cycle_seconds_mean": cycle_mean, "cycle_seconds_p50_from_buckets": cycle_p50,
            "cycle_seconds_p99_from_buckets": cycle_p99,
            "cycle_buckets_in_window": cycle_buckets.iter().map(|(le, c)| json!([le.to_string(), c])).collect::<Vec<_>>(),
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
            "range_queries": prom_range_queries, "range_queries_per_second": prom_range_queries / window,
            "server_side_range_query_seconds_mean": prom_range_mean,
            "peak_rss_bytes": b.prometheus.peak_rss,
            "connections_accepted": prom_accepts,
            "queries_in_flight_mean": queue_mean, "queries_in_flight_p95": queue_p95,
            "queries_in_flight_max": queue_max, "queue_readings": queue.len(),
        },
        "machine": {
            "busy_cores": machine_busy / window, "other_processes_cores": others / window,
            "niced_cores": nice / window, "steal_cores": steal / window,
            "harness_cpu_seconds": harness_cpu,
        },
        "raw_latency": {
            "samples": lat.single.len(), "errors": lat.errors, "empty_results": lat.empty,
            "single_query_seconds_mean": raw_single, "single_query_seconds_p50": percentile(&lat.single, 0.5),
            "single_query_seconds_p95": percentile(&lat.single, 0.95),
            "rollout_three_queries_seconds_mean": raw_rollout,
            "rollout_three_queries_seconds_p50": percentile(&lat.rollout, 0.5),
            "rollout_three_queries_seconds_p95": percentile(&lat.rollout, 0.95),
            "rollout_three_queries_seconds_p99": percentile(&lat.rollout, 0.99),
            "rollout_three_queries_seconds_max": percentile(&lat.rollout, 1.0),
            "rollout_buckets": raw_buckets.iter().map(|(le, c)| json!([le.to_string(), c])).collect::<Vec<_>>(),
        },
        "ratios": {
            "sena_cycle_over_raw_rollout_latency": cycle_mean / raw_rollout,
            "sena_cycle_p50_over_raw_rollout_p50": cycle_p50 / percentile(&lat.rollout, 0.5),
            "sena_cycle_over_raw_single_query_latency": cycle_mean / raw_single,
            "sena_cpu_over_vmalert_cpu": sena_cpu / vm_cpu,
            "sena_cpu_per_eval_over_vmalert_cpu_per_eval": sena_cpu_per_1k / vm_cpu_per_1k,
            "sena_peak_rss_over_vmalert_peak_rss": sena_peak / vm_peak,
        },
    });

    let mut md = String::new();
    let _ = writeln!(md, "# Sena benchmark summary\n");
    let _ = writeln!(
        md,
        "{} rollouts × {} checks every {}s ({}); {} of them unhealthy; \
         exporter: {} series scraped every {}s. Measured window: {:.0} s. {} CPU cores shared by \
         Prometheus, Sena, vmalert and the harness.\n",
        setup.rollouts,
        setup.checks_per_rollout,
        setup.interval_seconds,
        if setup.rules_form.starts_with("plain") {
            format!(
                "{:.0} queries/s from each evaluator",
                setup.rollouts as f64 * setup.checks_per_rollout as f64 / setup.interval_seconds
            )
        } else {
            "Sena's count checks ask 4 queries per track each; their rate is Prometheus's, below"
                .to_string()
        },
        setup.unhealthy,
        setup.series,
        setup.scrape_seconds,
        window,
        setup.cores
    );
    let _ = writeln!(
        md,
        "Versions: {}; {}; {}.",
        setup.sena_version, setup.vmalert_version, setup.prometheus_version
    );
    if !setup.sena_env.is_empty() {
        let _ = writeln!(md, "Sena ran with extra settings: `{}`.", setup.sena_env);
    }
    let _ = writeln!(
        md,
        "Sena's checks: {}{}.",
        setup.rules_form,
        match setup.stage_age_seconds {
            0 => String::new(),
            s => format!("; stages recorded as begun {s} s before Sena started"),
        }
    );
    let _ = writeln!(
        md,
        "Machine during the window: {:.2} cores busy on average, of which {:.2} by processes outside this \
         benchmark ({:.2} niced), steal {:.2}.\n",
        machine_busy / window,
        others / window,
        nice / window,
        steal / window
    );
    let _ = writeln!(
        md,
        "| Figure | Sena | vmalert | Sena / vmalert |\n|---|---:|---:|---:|"
    );
    let _ = writeln!(
        md,
        "| Rollout (group) evaluations in window | {} (expected {:.0}) | {} | |",
        num(sena_evals, 0),
        expected_rollout_evals,
        num(vm_iterations, 0)
    );
    let _ = writeln!(
        md,
        "| Check (rule) evaluations in window | {} | {} | |",
        num(sena_check_evals, 0),
        num(vm_rule_evals, 0)
    );
    let _ = writeln!(
        md,
        "| CPU seconds in window | {} ({}% of a core) | {} ({}% of a core) | {} |",
        num(sena_cpu, 2),
        num(100.0 * sena_cpu / window, 1),
        num(vm_cpu, 2),
        num(100.0 * vm_cpu / window, 1),
        num(sena_cpu / vm_cpu, 2)
    );
    let _ = writeln!(
        md,
        "| **CPU seconds per 1,000 check evaluations** | **{}** | {} | **{}** |",
        num(sena_cpu_per_1k, 3),
        num(vm_cpu_per_1k, 3),
        num(sena_cpu_per_1k / vm_cpu_per_1k, 2)
    );
    let _ = writeln!(
        md,
        "| **Peak RSS (VmHWM)** | **{} MiB** | {} MiB | **{}** |",
        num(mib(sena_peak), 1),
        num(mib(vm_peak), 1),
        num(sena_peak / vm_peak, 2)
    );
    let _ = writeln!(
        md,
        "| **Missed iterations** (window / since start) | **{} / {}** | {} (window) | |",
        num(sena_missed, 0),
        num(sena_missed_total, 0),
        num(vm_missed, 0)
    );
    let _ = writeln!(
        md,
        "| Query errors in window (Sena since start) | {} ({}) | {} | |",
        num(sena_errors, 0),
        num(sb.sum("sena_query_errors_total", &[]), 0),
        num(vm_errors, 0)
    );
    let _ = writeln!(
        md,
        "| Mean cycle per rollout (group) | {} (p50 ≈ {}, p99 ≈ {} from buckets) | {} | |",
        ms(cycle_mean),
        ms(cycle_p50),
        ms(cycle_p99),
        ms(vm_iter_mean)
    );
    let _ = writeln!(md, "\n| Raw query latency (harness → Prometheus, same queries, same window) | Value |\n|---|---:|");
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
        "| Prometheus queries in flight (running + queued): mean / p95 / max of {} readings | {} / {} / {} |",
        queue.len(),
        num(queue_mean, 1),
        num(queue_p95, 0),
        num(queue_max, 0)
    );
    let _ = writeln!(
        md,
        "| **Sena cycle ÷ raw rollout latency (3 queries together), means** | **{}** |",
        num(cycle_mean / raw_rollout, 2)
    );
    let _ = writeln!(
        md,
        "| Sena cycle ÷ raw rollout latency, medians (Sena's from buckets) | {} |",
        num(cycle_p50 / percentile(&lat.rollout, 0.5), 2)
    );
    let _ = writeln!(
        md,
        "| Sena cycle ÷ raw single-query latency, means | {} |",
        num(cycle_mean / raw_single, 2)
    );
    let _ = writeln!(
        md,
        "\nPrometheus: {:.0} instant queries in window ({:.0}/s, server-side mean {}), {:.0} range queries ({:.0}/s, \
         server-side mean {}), {:.2} CPU s ({:.1}% of a core), peak RSS {:.1} MiB, \
         {:.0} TCP connections accepted. Harness (generator + samplers): {:.2} CPU s.\n",
        prom_queries,
        prom_queries / window,
        ms(prom_query_mean),
        prom_range_queries,
        prom_range_queries / window,
        ms(prom_range_mean),
        prom_cpu,
        100.0 * prom_cpu / window,
        mib(b.prometheus.peak_rss as f64),
        prom_accepts,
        harness_cpu
    );
    let _ = writeln!(
        md,
        "Sena at the end: verdicts continue {} / hold {} / rollback {}; {} advisories queued; log lines WARN {} / ERROR {}; \
         shutdown: {}. vmalert: {} alerts firing, {} alert notifications received by the sink, {} error log lines \
         (not counting its shutdown's cancelled queries).",
        verdicts(0.0),
        verdicts(1.0),
        verdicts(2.0),
        obs.sena_advisories,
        obs.sena_warn_lines,
        obs.sena_error_lines,
        obs.sena_shutdown,
        num(vm_firing, 0),
        obs.alerts_received,
        obs.vmalert_error_lines
    );
    let _ = writeln!(
        md,
        "\nShare of rollout cycles at or under each bound (Sena: its own histogram; raw: the harness's \
         3-query rollouts, same window):\n\n| ≤ | Sena cycle | raw rollout |\n|---:|---:|---:|"
    );
    let share = |count: f64, total: f64| {
        if total > 0.0 {
            format!("{:.1}%", 100.0 * count / total)
        } else {
            "n/a".into()
        }
    };
    let sena_total = cycle_buckets.last().map_or(0.0, |b| b.1);
    for ((le, sena_count), (_, raw_count)) in cycle_buckets.iter().zip(&raw_buckets) {
        if le.is_finite() {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                ms(*le),
                share(*sena_count, sena_total),
                share(*raw_count, lat.rollout.len() as f64)
            );
        }
    }
    if !obs.sena_first_problems.is_empty() {
        let _ = writeln!(md, "\nFirst WARN/ERROR lines from Sena:\n```");
        for l in &obs.sena_first_problems {
            let _ = writeln!(md, "{l}");
        }
        let _ = writeln!(md, "```");
    }
    Report { json, markdown: md }
}
