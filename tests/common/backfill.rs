//! A real Prometheus holding a known history: OpenMetrics text written by
//! the test is turned into TSDB blocks by `promtool tsdb create-blocks-from
//! openmetrics`, and `/usr/bin/prometheus` serves that directory on a free
//! loopback port (nothing scraped; see [`Prometheus::serve`]). Retention is
//! ten years: Prometheus deletes blocks older than its retention, so
//! backfilled history must sit inside it. The process is killed on drop.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};

use super::prometheus::Prometheus;

fn promtool() -> String {
    std::env::var("SENA_TEST_PROMTOOL").unwrap_or_else(|_| "/usr/bin/promtool".into())
}

/// One series: its labels as written inside the braces, and its points.
type Series = (String, Vec<(i64, f64)>);

/// OpenMetrics text of gauges, built series by series.
#[derive(Default)]
pub struct OpenMetrics {
    families: Vec<(String, Vec<Series>)>,
}

impl OpenMetrics {
    pub fn new() -> OpenMetrics {
        OpenMetrics::default()
    }

    /// A gauge series `name{labels}` with `(unix seconds, value)` points in
    /// time order; `labels` as written inside the braces (`app="web"`).
    pub fn gauge(mut self, name: &str, labels: &str, points: Vec<(i64, f64)>) -> Self {
        match self.families.iter_mut().find(|(n, _)| n == name) {
            Some((_, series)) => series.push((labels.to_string(), points)),
            None => self
                .families
                .push((name.to_string(), vec![(labels.to_string(), points)])),
        }
        self
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, series) in &self.families {
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (labels, points) in series {
                for (t, v) in points {
                    let _ = writeln!(out, "{name}{{{labels}}} {v} {t}");
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// Backfills `history` with promtool and starts a Prometheus serving it;
/// panics with promtool's output when it fails.
pub fn start(history: &OpenMetrics) -> Prometheus {
    Prometheus::serve(|data| {
        let input = data.with_extension("om");
        fs::write(&input, history.text()).expect("write the OpenMetrics file");
        let made = Command::new(promtool())
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(data)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", promtool()));
        assert!(
            made.status.success(),
            "promtool create-blocks-from failed: {}{}",
            String::from_utf8_lossy(&made.stdout),
            String::from_utf8_lossy(&made.stderr)
        );
    })
}
