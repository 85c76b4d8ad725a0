//! Reading the figures: Prometheus text exposition parsing, and the harness's
//! own timing of the checks' queries straight against Prometheus's HTTP API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::workload::{app_name, CHECKS};

/// One scrape of a `/metrics` endpoint: `(name, labels, value)` per sample.
#[derive(Default, Clone)]
pub struct Exposition(Vec<(String, String, f64)>);

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = match line.rfind('}') {
                Some(close) => (&line[..=close], line[close + 1..].trim()),
                None => match line.split_once(' ') {
                    Some((s, v)) => (s, v.trim()),
                    None => continue,
                },
            };
            // A trailing timestamp, if any, follows the value.
            let value = value.split_whitespace().next().unwrap_or("");
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match series.find('{') {
                Some(open) => (&series[..open], &series[open..]),
                None => (series, ""),
            };
            samples.push((name.to_string(), labels.to_string(), value));
        }
        Exposition(samples)
    }

    /// Sum over every series of `name` whose label text contains all of `having`.
    pub fn sum(&self, name: &str, having: &[&str]) -> f64 {
        self.0
            .iter()
            .filter(|(n, l, _)| n == name && having.iter().all(|h| l.contains(h)))
            .map(|(_, _, v)| *v)
            .sum()
    }

    /// How many series of `name` have exactly `value` (gauges such as `sena_verdict`).
    pub fn count_value(&self, name: &str, value: f64) -> usize {
        self.0
            .iter()
            .filter(|(n, _, v)| n == name && *v == value)
            .count()
    }

    /// Histogram buckets of `name` summed over every other label: `(le, count)` ascending.
    pub fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        let mut by_le: Vec<(f64, f64)> = Vec::new();
        for (n, l, v) in &self.0 {
            if n != name {
                continue;
            }
            let Some(le) = l.split("le=\"").nth(1).and_then(|r| r.split('"').next()) else {
                continue;
            };
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::NAN)
            };
            match by_le.iter_mut().find(|(b, _)| *b == le) {
                Some(slot) => slot.1 += v,
                None => by_le.push((le, *v)),
            }
        }
        by_le.sort_by(|a, b| a.0.total_cmp(&b.0));
        by_le
    }
}

/// Quantile from cumulative buckets (as `histogram_quantile` does).
pub fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return prev.0;
            }
            let width = count - prev.1;
            return if width > 0.0 {
                prev.0 + (le - prev.0) * (rank - prev.1) / width
            } else {
                le
            };
        }
        prev = (le, count);
    }
    prev.0
}

/// Bucket deltas between two scrapes.
pub fn bucket_delta(before: &[(f64, f64)], after: &[(f64, f64)]) -> Vec<(f64, f64)> {
    after
        .iter()
        .map(|&(le, a)| {
            let b = before.iter().find(|(l, _)| *l == le).map_or(0.0, |x| x.1);
            (le, a - b)
        })
        .collect()
}

pub async fn get_text(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("GET {url}: {}", resp.status()));
    }
    resp.text().await.map_err(|e| format!("GET {url}: {e}"))
}

/// One instant query; `Ok(series)` on a `success` answer.
pub async fn instant_query(
    http: &reqwest::Client,
    prometheus: &str,
    query: &str,
    at_seconds: i64,
) -> Result<usize, String> {
    let url = format!("http://{prometheus}/api/v1/query");
    let at = at_seconds.to_string();
    let resp = http
        .get(&url)
        .query(&[("query", query), ("time", at.as_str())])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    if body["status"] != "success" {
        return Err(body["error"]
            .as_str()
            .unwrap_or("no error text")
            .to_string());
    }
    Ok(body["data"]["result"].as_array().map_or(1, Vec::len))
}

/// What the sampler saw.
#[derive(Default)]
pub struct Latencies {
    /// Seconds per single query.
    pub single: Vec<f64>,
    /// Seconds for one rollout's three queries sent together (wall time,
    /// the raw lower bound of a rollout's cycle).
    pub rollout: Vec<f64>,
    pub errors: usize,
    pub empty: usize,
}

/// One timed rollout: its three queries sent together at the current
/// second (as Sena sends them). Returns each query's time and the wall time.
async fn time_rollout(
    http: reqwest::Client,
    prometheus: String,
    app: String,
) -> (Vec<(f64, Result<usize, String>)>, f64) {
    let at = jiff::Timestamp::now().as_second();
    let started = Instant::now();
    let queries: Vec<String> = CHECKS.iter().map(|c| c.for_rollout(&app)).collect();
    let each = queries.iter().map(|q| {
        let (http, prometheus) = (&http, &prometheus);
        async move {
            let t = Instant::now();
            let r = instant_query(http, prometheus, q, at).await;
            (t.elapsed().as_secs_f64(), r)
        }
    });
    let results = futures_util::future::join_all(each).await;
    (results, started.elapsed().as_secs_f64())
}

/// Every `period`, one rollout's three queries, until `stop`. Open loop:
/// each sample starts on time whether or not the previous one answered, as
/// Sena's rollouts do; a closed loop would take one sample per stall of
/// Prometheus and under-report exactly the slow answers.
pub async fn sample_latency(
    http: reqwest::Client,
    prometheus: String,
    apps: usize,
    period: Duration,
    stop: Arc<AtomicBool>,
) -> Latencies {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut running = tokio::task::JoinSet::new();
    // Stride through the rollouts so the sample covers all of them.
    let mut next = 0usize;
    while !stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        running.spawn(time_rollout(
            http.clone(),
            prometheus.clone(),
            app_name(next % apps),
        ));
        next += 7;
    }
    let mut out = Latencies::default();
    while let Some(done) = running.join_next().await {
        let Ok((results, wall)) = done else { continue };
        out.rollout.push(wall);
        for (took, r) in results {
            out.single.push(took);
            match r {
                Ok(0) => out.empty += 1,
                Ok(_) => {}
                Err(_) => out.errors += 1,
            }
        }
    }
    out
}

/// Samples counted into cumulative buckets with the given upper bounds
/// (Sena's histogram bounds), for a like-for-like comparison.
pub fn cumulative_buckets(samples: &[f64], bounds: &[f64]) -> Vec<(f64, f64)> {
    bounds
        .iter()
        .map(|&le| (le, samples.iter().filter(|&&s| s <= le).count() as f64))
        .collect()
}

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

pub fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// Prometheus's `prometheus_engine_queries` (queries running or queued)
/// every `period` until `stop`: the depth of its query queue over time.
pub async fn sample_queue(
    http: reqwest::Client,
    prometheus: String,
    period: Duration,
    stop: Arc<AtomicBool>,
) -> Vec<f64> {
    let url = format!("http://{prometheus}/metrics");
    let mut depths = Vec::new();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        if let Ok(text) = get_text(&http, &url).await {
            depths.push(Exposition::parse(&text).sum("prometheus_engine_queries", &[]));
        }
    }
    depths
}
