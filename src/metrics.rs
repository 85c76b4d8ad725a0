//! Sena's own health in Prometheus exposition format. A small registry of
//! labelled counters, gauges and histograms: a mutex per update is nothing
//! next to an HTTP query, and it keeps the dependency list short.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

struct Family {
    help: &'static str,
    kind: Kind,
    /// Rendered label set (`{rollout="a"}`) → value; histograms keep their
    /// `_bucket`/`_sum`/`_count` series under suffixed keys.
    series: BTreeMap<String, f64>,
}

/// One metric Sena exposes: its name, HELP text and type, declared once
/// below. Call sites pass the constant, so a typo is a compile error, not a
/// new metric.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    pub name: &'static str,
    help: &'static str,
    kind: Kind,
}

impl Metric {
    const fn counter(name: &'static str, help: &'static str) -> Metric {
        Metric {
            name,
            help,
            kind: Kind::Counter,
        }
    }
    const fn gauge(name: &'static str, help: &'static str) -> Metric {
        Metric {
            name,
            help,
            kind: Kind::Gauge,
        }
    }
    const fn histogram(name: &'static str, help: &'static str) -> Metric {
        Metric {
            name,
            help,
            kind: Kind::Histogram,
        }
    }

    /// The series names a scrape shows for this metric: the name, or a
    /// histogram's `_bucket`, `_sum` and `_count` (what a dashboard queries).
    pub fn series_names(self) -> Vec<String> {
        match self.kind {
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{}{suffix}", self.name))
                .collect(),
            Kind::Counter | Kind::Gauge => vec![self.name.to_string()],
        }
    }
}

pub const EVALUATIONS: Metric = Metric::counter(
    "sena_evaluations_total",
    "Evaluations of a rollout's checks.",
);
pub const EVALUATION_DURATION: Metric = Metric::histogram(
    "sena_evaluation_duration_seconds",
    "Time to evaluate all of a rollout's checks and record the decision.",
);
pub const QUERY_ERRORS: Metric = Metric::counter(
    "sena_query_errors_total",
    "Check queries that failed (Prometheus down, slow, or bad PromQL).",
);
pub const VERDICT: Metric = Metric::gauge(
    "sena_verdict",
    "Current verdict per rollout: 0 continue, 1 hold, 2 rollback.",
);
pub const LAST_SUCCESSFUL_EVALUATION: Metric = Metric::gauge(
    "sena_last_successful_evaluation_timestamp_seconds",
    "Unix time of the last evaluation whose queries all answered.",
);
pub const PAGES: Metric = Metric::counter("sena_pages_total", "People paged, by escalation level.");
pub const MISSED_ITERATIONS: Metric = Metric::counter(
    "sena_missed_iterations_total",
    "Evaluation ticks skipped because the previous evaluation was still running.",
);
pub const OUTBOX_DEPTH: Metric =
    Metric::gauge("sena_outbox_depth", "Notifications waiting in the outbox.");
pub const OUTBOX_OLDEST_AGE: Metric = Metric::gauge(
    "sena_outbox_oldest_undelivered_age_seconds",
    "Age in seconds of the oldest undelivered notification (0 when none).",
);
pub const CHANNEL_OLDEST_AGE: Metric = Metric::gauge(
    "sena_channel_oldest_undelivered_age_seconds",
    "Age in seconds of the channel's oldest undelivered notification (0 when none).",
);
pub const CHANNEL_STUCK: Metric = Metric::gauge(
    "sena_channel_stuck",
    "1 while the channel's oldest undelivered notification is older than notify.stuck_after, else 0.",
);
pub const OUTBOX_FAILED: Metric = Metric::gauge(
    "sena_outbox_failed",
    "Notifications given up on after a permanent failure.",
);
pub const OUTBOX_QUARANTINED: Metric = Metric::counter(
    "sena_outbox_quarantined_total",
    "Outbox rows set aside because they could not be read; each is told to people as a lost notification.",
);
pub const INCIDENTS_OPEN: Metric =
    Metric::gauge("sena_incidents_open", "Incidents currently open.");
pub const NOTIFICATIONS_SENT: Metric = Metric::counter(
    "sena_notifications_sent_total",
    "Notifications confirmed by the channel.",
);
pub const NOTIFICATIONS_FAILED: Metric = Metric::counter(
    "sena_notifications_failed_total",
    "Failed notification attempts by channel and kind (transient = retried, permanent = given up, for a delivery or one of its recipients).",
);
pub const STORE_ERRORS: Metric = Metric::counter(
    "sena_store_errors_total",
    "State store operations that failed (disk full, I/O error), by operation.",
);
pub const RELOAD_SUCCESSFUL: Metric = Metric::gauge(
    "sena_config_last_reload_successful",
    "Whether the last configuration reload succeeded (1) or was rejected, keeping the previous configuration (0).",
);
pub const RELOAD_SUCCESS_TIMESTAMP: Metric = Metric::gauge(
    "sena_config_last_reload_success_timestamp_seconds",
    "Unix time of the last successful configuration reload.",
);
pub const HTTP_CONNECTIONS_REFUSED: Metric = Metric::counter(
    "sena_http_connections_refused_total",
    "HTTP connections refused because server.max_connections were already open.",
);
pub const HTTP_UNAUTHORIZED: Metric = Metric::counter(
    "sena_http_unauthorized_total",
    "HTTP requests refused by access control, by reason: missing_token, malformed_token, invalid_token (401); forbidden (the identity lacks the capability), not_loopback (no server.tokens and a remote caller) (403); slack_signature_missing, slack_signature_invalid, slack_timestamp_stale, slack_replayed (a signed request sent a second time) (401 at /api/v1/slack/interactions).",
);

pub const CHECK_VALUE: Metric = Metric::gauge(
    "sena_check_value",
    "A check's deciding value at the last evaluation (the worst series), in the query's own scale; NaN when there is none (no data, query error).",
);
pub const CHECK_THRESHOLD: Metric = Metric::gauge(
    "sena_check_threshold",
    "A check's limit, in the same scale as sena_check_value.",
);
pub const CHECK_STATUS: Metric = Metric::gauge(
    "sena_check_status",
    "A check's status at the last evaluation: 0 passing, 1 pending, 2 failing, 3 no_data, 4 error, 5 insufficient (a count check with too few requests to say).",
);
pub const CHECK_EVIDENCE_REQUESTS: Metric = Metric::gauge(
    "sena_check_evidence_requests",
    "A count check's requests counted since the stage began (its total query), for the series that decided; only count checks have it.",
);
pub const CHECK_EVIDENCE_PART: Metric = Metric::gauge(
    "sena_check_evidence_part",
    "A count check's bad (bad:) or good (good:) requests counted since the stage began, of sena_check_evidence_requests.",
);
pub const CHECK_INTERVAL_LOWER: Metric = Metric::gauge(
    "sena_check_interval_lower",
    "The lower end of a count check's confidence interval for its share since the stage began, in the same scale as sena_check_value.",
);
pub const CHECK_INTERVAL_UPPER: Metric = Metric::gauge(
    "sena_check_interval_upper",
    "The upper end of a count check's confidence interval for its share since the stage began, in the same scale as sena_check_value.",
);
pub const CHECK_EVIDENCE_NEEDED: Metric = Metric::gauge(
    "sena_check_evidence_needed",
    "Requests since the stage began a count check needs to confirm its limit at the share seen so far; only while its status is insufficient (5), and only when that share can settle it.",
);
pub const ROLLOUT_STAGE: Metric = Metric::gauge(
    "sena_rollout_stage",
    "The rollout's current stage, as an index from 0 (the first stage).",
);
pub const ROLLOUT_TRAFFIC_RATIO: Metric = Metric::gauge(
    "sena_rollout_traffic_ratio",
    "Share of traffic the current stage sends to the canary (0.05 for 5%).",
);
pub const ROLLOUT_BAKE_REMAINING: Metric = Metric::gauge(
    "sena_rollout_bake_remaining_seconds",
    "Seconds the current stage must still bake before it may expand (0 once baked, and at the last stage).",
);
pub const APPROVAL_PENDING: Metric = Metric::gauge(
    "sena_approval_pending",
    "1 when the rollout is ready to expand and waits for its approver's GO, else 0.",
);

/// Every metric, for the test that keeps names unique and well-formed.
pub const ALL: &[Metric] = &[
    EVALUATIONS,
    EVALUATION_DURATION,
    QUERY_ERRORS,
    VERDICT,
    LAST_SUCCESSFUL_EVALUATION,
    PAGES,
    MISSED_ITERATIONS,
    OUTBOX_DEPTH,
    OUTBOX_OLDEST_AGE,
    CHANNEL_OLDEST_AGE,
    CHANNEL_STUCK,
    OUTBOX_FAILED,
    OUTBOX_QUARANTINED,
    INCIDENTS_OPEN,
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_FAILED,
    STORE_ERRORS,
    RELOAD_SUCCESSFUL,
    RELOAD_SUCCESS_TIMESTAMP,
    HTTP_CONNECTIONS_REFUSED,
    HTTP_UNAUTHORIZED,
    CHECK_VALUE,
    CHECK_THRESHOLD,
    CHECK_STATUS,
    CHECK_EVIDENCE_REQUESTS,
    CHECK_EVIDENCE_PART,
    CHECK_INTERVAL_LOWER,
    CHECK_INTERVAL_UPPER,
    CHECK_EVIDENCE_NEEDED,
    ROLLOUT_STAGE,
    ROLLOUT_TRAFFIC_RATIO,
    ROLLOUT_BAKE_REMAINING,
    APPROVAL_PENDING,
];

const DURATION_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

fn render_labels(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut s = String::from("{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s.push('}');
    s
}

/// Whether a rendered label set (`{a="1",b="2"}`) holds `key="value"`.
fn has_label(key: &str, value: &str) -> impl Fn(&str) -> bool {
    let pair = render_labels(&[(key, value)]);
    let pair = pair[1..pair.len() - 1].to_string(); // `key="value"`
    let needles: Vec<String> = [("{", ","), ("{", "}"), (",", ","), (",", "}")]
        .iter()
        .map(|(before, after)| format!("{before}{pair}{after}"))
        .collect();
    move |labels: &str| needles.iter().any(|n| labels.contains(n.as_str()))
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn update(&self, metric: Metric, kind: Kind, f: impl FnOnce(&mut BTreeMap<String, f64>)) {
        debug_assert_eq!(metric.kind, kind, "{} used as the wrong type", metric.name);
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(metric.name).or_insert_with(|| Family {
            help: metric.help,
            kind: metric.kind,
            series: BTreeMap::new(),
        });
        f(&mut family.series);
    }

    pub fn inc(&self, metric: Metric, labels: &[(&str, &str)]) {
        self.add(metric, labels, 1.0);
    }

    pub fn add(&self, metric: Metric, labels: &[(&str, &str)], by: f64) {
        self.update(metric, Kind::Counter, |s| {
            *s.entry(render_labels(labels)).or_insert(0.0) += by;
        });
    }

    /// Makes a counter visible at zero before its first increment.
    pub fn touch(&self, metric: Metric, labels: &[(&str, &str)]) {
        self.add(metric, labels, 0.0);
    }

    pub fn set(&self, metric: Metric, labels: &[(&str, &str)], value: f64) {
        self.update(metric, Kind::Gauge, |s| {
            s.insert(render_labels(labels), value);
        });
    }

    /// Drops every series of a gauge whose labels match (a rollout removed by reload).
    pub fn forget(&self, metric: Metric, labels: &[(&str, &str)]) {
        let key = render_labels(labels);
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = families.get_mut(metric.name) {
            f.series.remove(&key);
        }
    }

    /// Drops every series, of every family, that has label `key` = `value`
    /// (a rollout removed by a reload).
    pub fn forget_label(&self, key: &str, value: &str) {
        let has = has_label(key, value);
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        for family in families.values_mut() {
            family.series.retain(|labels, _| !has(labels));
        }
    }

    /// Makes `series` the only series of a gauge that carry the label
    /// `scope` (one rollout's checks): a series not listed (a check removed
    /// by reload) disappears. One lock for both, so a scrape never sees the
    /// scope half-written.
    pub fn set_exactly<'a>(
        &self,
        metric: Metric,
        scope: (&str, &str),
        series: impl IntoIterator<Item = (Vec<(&'a str, &'a str)>, f64)>,
    ) {
        let has = has_label(scope.0, scope.1);
        self.update(metric, Kind::Gauge, |s| {
            s.retain(|labels, _| !has(labels));
            for (labels, value) in series {
                s.insert(render_labels(&labels), value);
            }
        });
    }

    pub fn observe(&self, metric: Metric, labels: &[(&str, &str)], value: f64) {
        self.update(metric, Kind::Histogram, |s| {
            for le in DURATION_BUCKETS {
                let mut l = labels.to_vec();
                let le_text = le.to_string();
                l.push(("le", &le_text));
                let e = s
                    .entry(format!("_bucket{}", render_labels(&l)))
                    .or_insert(0.0);
                if value <= le {
                    *e += 1.0;
                }
            }
            let mut l = labels.to_vec();
            l.push(("le", "+Inf"));
            *s.entry(format!("_bucket{}", render_labels(&l)))
                .or_insert(0.0) += 1.0;
            *s.entry(format!("_sum{}", render_labels(labels)))
                .or_insert(0.0) += value;
            *s.entry(format!("_count{}", render_labels(labels)))
                .or_insert(0.0) += 1.0;
        });
    }

    /// One value: the series with exactly these labels.
    #[cfg(test)]
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        families
            .get(name)?
            .series
            .get(&render_labels(labels))
            .copied()
    }

    /// Text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::with_capacity(4096);
        for (name, f) in families.iter() {
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {kind}", f.help);
            for (labels, v) in &f.series {
                let _ = writeln!(out, "{name}{labels} {}", format_value(*v));
            }
        }
        out
    }
}

fn format_value(v: f64) -> String {
    match crate::domain::float::non_finite_text(v) {
        Some(text) => text.to_string(),
        None => v.to_string(),
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
