//! Sena's own health in Prometheus exposition format. A small registry of
//! labelled counters, gauges and histograms: a mutex per update is nothing
//! next to an HTTP query, and it keeps the dependency list short.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

#[derive(Clone, Copy, PartialEq, Eq)]
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

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn update(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        f: impl FnOnce(&mut BTreeMap<String, f64>),
    ) {
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: BTreeMap::new(),
        });
        f(&mut family.series);
    }

    pub fn inc(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)]) {
        self.add(name, help, labels, 1.0);
    }

    pub fn add(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)], by: f64) {
        self.update(name, help, Kind::Counter, |s| {
            *s.entry(render_labels(labels)).or_insert(0.0) += by;
        });
    }

    /// Makes a counter visible at zero before its first increment.
    pub fn touch(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)]) {
        self.add(name, help, labels, 0.0);
    }

    pub fn set(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)], value: f64) {
        self.update(name, help, Kind::Gauge, |s| {
            s.insert(render_labels(labels), value);
        });
    }

    /// Drops every series of a gauge whose labels match (a rollout removed by reload).
    pub fn forget(&self, name: &'static str, labels: &[(&str, &str)]) {
        let key = render_labels(labels);
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = families.get_mut(name) {
            f.series.remove(&key);
        }
    }

    /// Drops every series, of every family, that has label `key` = `value`
    /// (a rollout removed by a reload).
    pub fn forget_label(&self, key: &str, value: &str) {
        let pair = render_labels(&[(key, value)]);
        let pair = &pair[1..pair.len() - 1]; // `key="value"`
        let has = |labels: &str| {
            [("{", ","), ("{", "}"), (",", ","), (",", "}")]
                .iter()
                .any(|(before, after)| labels.contains(&format!("{before}{pair}{after}")))
        };
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        for family in families.values_mut() {
            family.series.retain(|labels, _| !has(labels));
        }
    }

    pub fn observe(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        self.update(name, help, Kind::Histogram, |s| {
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
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms() {
        let m = Metrics::new();
        m.inc(
            "sena_evaluations_total",
            "Evaluations.",
            &[("rollout", "a")],
        );
        m.inc(
            "sena_evaluations_total",
            "Evaluations.",
            &[("rollout", "a")],
        );
        m.set("sena_verdict", "Verdict.", &[("rollout", "a\"b")], 2.0);
        m.observe(
            "sena_evaluation_duration_seconds",
            "Duration.",
            &[("rollout", "a")],
            0.03,
        );
        let text = m.render();
        assert!(
            text.contains(
                "# TYPE sena_evaluations_total counter\nsena_evaluations_total{rollout=\"a\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("sena_verdict{rollout=\"a\\\"b\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("sena_evaluation_duration_seconds_bucket{rollout=\"a\",le=\"0.025\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("sena_evaluation_duration_seconds_bucket{rollout=\"a\",le=\"0.05\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("sena_evaluation_duration_seconds_count{rollout=\"a\"} 1"),
            "{text}"
        );
        assert_eq!(
            m.value("sena_evaluations_total", &[("rollout", "a")]),
            Some(2.0)
        );
        m.inc(
            "sena_evaluations_total",
            "Evaluations.",
            &[("rollout", "ab")],
        );
        m.forget_label("rollout", "a");
        let text = m.render();
        assert!(!text.contains("rollout=\"a\""), "{text}");
        assert!(
            text.contains("sena_evaluations_total{rollout=\"ab\"} 1"),
            "{text}"
        );
    }
}
