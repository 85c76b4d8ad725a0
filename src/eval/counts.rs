//! Count checks: asks Prometheus for the counts behind a ratio (the part
//! and the total, on the canary and on its baseline, since the stage began
//! and per 5-minute bucket of the last day), matches their series, and has
//! `stats` judge each series group. The worst group decides, as for plain
//! checks; a group Sena cannot read (NaN, a total missing, more bad than
//! total) is blind, and blind holds.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::judge::{Observation, Observed};
use crate::config::rules::WINDOW;
use crate::config::{Check, CountQueries, NoData, Share};
use crate::datasource::{Datasource, DatasourceError, RangeSeries, Sample};
use crate::domain::evidence::{BaselineEvidence, Evidence, Finding as Said, RecentCounts};
use crate::domain::{SeriesValue, SERIES_KEPT};
use crate::stats::{
    self, Counts, Finding, Judgement, Spec, Track, BUCKETS_PER_DAY, BUCKET_SECONDS,
};

/// Counts above this are refused as nonsense (1e15: 30,000 years at 1M req/s).
const MAX_COUNT: f64 = 1e15;

/// A group's labels, `__name__` left out.
type Key = BTreeMap<String, String>;

/// One series group's judgement and what it says, or why it cannot be judged.
type Judged = Result<(Judgement, Evidence), String>;

/// The windows one evaluation asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Windows {
    /// Since the stage began, whole seconds, at least one bucket.
    pub stage_seconds: u64,
    /// End instants (unix seconds) of the complete buckets since the stage
    /// began, within the last day, oldest first.
    pub bucket_ends: Vec<i64>,
}

impl Windows {
    pub fn new(stage_started_at: Timestamp, at: Timestamp) -> Windows {
        let bucket = BUCKET_SECONDS as i64;
        let age = at
            .as_millisecond()
            .saturating_sub(stage_started_at.as_millisecond());
        let stage_seconds = (age.max(0) as u64).div_ceil(1000).max(BUCKET_SECONDS);
        // Bucket ends are aligned to the epoch, so every evaluation (and
        // every replica) sees the same buckets; a bucket counts only once
        // it lies whole inside the stage and whole in the past.
        let last = at.as_second().div_euclid(bucket) * bucket;
        let earliest_end = stage_started_at.as_second().saturating_add(bucket);
        let first_after_start = earliest_end.div_euclid(bucket) * bucket
            + if earliest_end.rem_euclid(bucket) == 0 {
                0
            } else {
                bucket
            };
        let first = first_after_start.max(last - (BUCKETS_PER_DAY as i64 - 1) * bucket);
        let bucket_ends = if first <= last {
            (0..=(last - first) / bucket)
                .map(|i| first + i * bucket)
                .collect()
        } else {
            Vec::new()
        };
        Windows {
            stage_seconds,
            bucket_ends,
        }
    }
}

/// The queries of one track, with their windows filled in.
struct TrackAnswers {
    part_now: Result<Vec<Sample>, DatasourceError>,
    total_now: Result<Vec<Sample>, DatasourceError>,
    part_buckets: Result<Vec<RangeSeries>, DatasourceError>,
    total_buckets: Result<Vec<RangeSeries>, DatasourceError>,
}

async fn ask(
    ds: &dyn Datasource,
    part: &str,
    total: &str,
    windows: &Windows,
    at: Timestamp,
    max_series: usize,
) -> TrackAnswers {
    let stage = |q: &str| q.replace(WINDOW, &format!("{}s", windows.stage_seconds));
    let bucket = |q: &str| q.replace(WINDOW, &format!("{BUCKET_SECONDS}s"));
    let (part_stage, total_stage) = (stage(part), stage(total));
    let (part_bucket, total_bucket) = (bucket(part), bucket(total));
    let range = |q: String| async move {
        let (Some(&first), Some(&last)) = (windows.bucket_ends.first(), windows.bucket_ends.last())
        else {
            return Ok(Vec::new());
        };
        let (Ok(start), Ok(end)) = (Timestamp::from_second(first), Timestamp::from_second(last))
        else {
            return Ok(Vec::new());
        };
        ds.query_range(&q, start, end, BUCKET_SECONDS as f64, max_series)
            .await
    };
    let (part_now, total_now, part_buckets, total_buckets) = futures_util::join!(
        ds.query(&part_stage, at, max_series),
        ds.query(&total_stage, at, max_series),
        range(part_bucket),
        range(total_bucket),
    );
    TrackAnswers {
        part_now,
        total_now,
        part_buckets,
        total_buckets,
    }
}

/// Queries and judges one count check.
pub async fn observe_counts(
    ds: &dyn Datasource,
    check: &Check,
    q: &CountQueries,
    stage_started_at: Timestamp,
    at: Timestamp,
) -> Observed {
    let windows = Windows::new(stage_started_at, at);
    let canary = ask(ds, &q.part, &q.total, &windows, at, check.max_series);
    let baseline = async {
        match &q.baseline {
            Some(b) => Some(ask(ds, &b.part, &b.total, &windows, at, check.max_series).await),
            None => None,
        }
    };
    let (canary, baseline) = futures_util::join!(canary, baseline);
    judge_answers(check, q, &windows, canary, baseline)
}

fn judge_answers(
    check: &Check,
    q: &CountQueries,
    windows: &Windows,
    canary: TrackAnswers,
    baseline: Option<TrackAnswers>,
) -> Observed {
    let canary = match tracks(q.share, windows, canary, "") {
        Ok(t) => t,
        Err(Unread::Failed(e)) => return failed(e),
        Err(Unread::Empty(why)) => {
            return blind(why, check.no_data == NoData::Hold);
        }
    };
    let baseline = match baseline.map(|b| tracks(q.share, windows, b, "the baseline's ")) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(Unread::Failed(e))) => return failed(e),
        // The baseline is asked for on purpose: without it a shared
        // failure cannot be told from the canary's own.
        Some(Err(Unread::Empty(why))) => return blind(why, true),
    };
    let spec = spec(check, q);
    let swapped = q
        .baseline
        .as_ref()
        .map(|b| b.swapped.as_slice())
        .unwrap_or(&[]);
    let without_swapped = |k: &Key| -> Key {
        k.iter()
            .filter(|(name, _)| !swapped.contains(name))
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect()
    };
    let baseline_by_key: Option<BTreeMap<Key, &Result<Track, String>>> = baseline
        .as_ref()
        .map(|b| b.iter().map(|(k, t)| (without_swapped(k), t)).collect());
    let mut groups: Vec<(Key, Judged)> = Vec::new();
    for (key, track) in &canary {
        let baseline = baseline_by_key
            .as_ref()
            .map(|map| match map.get(&without_swapped(key)) {
                Some(Ok(b)) => Ok(b),
                Some(Err(why)) => Err(why.clone()),
                None => Err(format!(
                    "the baseline has no series for {}",
                    crate::domain::format::labels_or_none(key)
                )),
            })
            .transpose();
        let outcome = match (track.as_ref().map_err(Clone::clone), baseline) {
            (Err(why), _) | (Ok(_), Err(why)) => Err(why),
            (Ok(track), Ok(base)) => {
                let j = stats::judge(&spec, track, base);
                Ok((j, evidence(q, &j, track, base, windows)))
            }
        };
        groups.push((key.clone(), outcome));
    }
    summarize(check, groups)
}

fn spec(check: &Check, q: &CountQueries) -> Spec {
    let to_bad = |v: f64| match q.share {
        Share::Bad => v,
        Share::Good => 1.0 - v,
    };
    Spec {
        limit: q.bad_limit(&check.threshold),
        alpha: 1.0 - q.confidence,
        ratio: q.baseline.as_ref().map(|b| b.max_ratio),
        floor: q.baseline.as_ref().and_then(|b| b.floor).map(to_bad),
        min_total: q.min_total,
    }
}

enum Unread {
    Failed(DatasourceError),
    Empty(String),
}

/// The answers of one track as groups of counts (bad share), or why they
/// cannot be read. A group that cannot be read is kept as its reason.
fn tracks(
    share: Share,
    windows: &Windows,
    a: TrackAnswers,
    whose: &str,
) -> Result<BTreeMap<Key, Result<Track, String>>, Unread> {
    let part_now = a.part_now.map_err(Unread::Failed)?;
    let total_now = a.total_now.map_err(Unread::Failed)?;
    let part_buckets = points_by_key(a.part_buckets.map_err(Unread::Failed)?);
    let total_buckets = points_by_key(a.total_buckets.map_err(Unread::Failed)?);
    if total_now.is_empty() {
        return Err(Unread::Empty(format!("{whose}`total` returned no series")));
    }
    let part_key = share.noun();
    let parts: BTreeMap<Key, f64> = part_now
        .into_iter()
        .map(|s| (key(&s.labels), s.value))
        .collect();
    let mut groups: BTreeMap<Key, Result<Track, String>> = BTreeMap::new();
    for s in &total_now {
        let k = key(&s.labels);
        let part = parts.get(&k).copied();
        let cumulative = match (share, part) {
            (Share::Good, None) => Err(format!(
                "{whose}`good` has no series beside `total` {} (write `or vector(0)` if none is right)",
                crate::domain::format::labels_or_none(&k)
            )),
            (_, part) => counts(share, part.unwrap_or(0.0), s.value, whose, part_key),
        };
        groups.insert(
            k.clone(),
            cumulative.map(|cumulative| Track {
                cumulative,
                buckets: buckets(share, windows, &k, &part_buckets, &total_buckets),
            }),
        );
    }
    for k in parts.keys() {
        groups.entry(k.clone()).or_insert_with(|| {
            Err(format!(
                "{whose}`{part_key}` has a series with no `total` beside it: {}",
                crate::domain::format::labels_or_none(k)
            ))
        });
    }
    Ok(groups)
}

/// A group's counts as the bad share's, or why they make no sense.
fn counts(
    share: Share,
    part: f64,
    total: f64,
    whose: &str,
    part_key: &str,
) -> Result<Counts, String> {
    if !part.is_finite() || !total.is_finite() {
        return Err(format!(
            "{whose}counts are not numbers ({part_key} {part}, total {total}): no samples in the window?"
        ));
    }
    // No service counts a quadrillion requests in one stage; such a count
    // is a query summing the wrong thing, and would overflow the evidence.
    if part > MAX_COUNT || total > MAX_COUNT {
        return Err(format!(
            "{whose}counts are implausibly large ({part_key} {part}, total {total}); check the queries"
        ));
    }
    if part < 0.0 || total < 0.0 {
        return Err(format!(
            "{whose}counts are negative ({part_key} {part}, total {total}); count queries take `increase()` of counters"
        ));
    }
    // `increase()` extrapolates each series on its own: allow a little.
    if part > total * 1.01 + 1.0 {
        return Err(format!(
            "{whose}`{part_key}` ({}) is more than `total` ({}): the two queries do not count the same requests",
            crate::domain::evidence::format_count(part),
            crate::domain::evidence::format_count(total)
        ));
    }
    let part = part.min(total);
    Ok(match share {
        Share::Bad => Counts { bad: part, total },
        Share::Good => Counts {
            bad: total - part,
            total,
        },
    })
}

/// One group's buckets on the grid; a missing or unreadable bucket is no
/// evidence (0 of 0), never a guess.
fn buckets(
    share: Share,
    windows: &Windows,
    k: &Key,
    part: &BTreeMap<Key, BTreeMap<i64, f64>>,
    total: &BTreeMap<Key, BTreeMap<i64, f64>>,
) -> Vec<Counts> {
    let none = BTreeMap::new();
    let (part, total) = (part.get(k).unwrap_or(&none), total.get(k).unwrap_or(&none));
    windows
        .bucket_ends
        .iter()
        .map(|ts| {
            let Some(&t) = total.get(ts) else {
                return Counts::default();
            };
            let p = match (share, part.get(ts)) {
                (_, Some(&p)) => p,
                (Share::Bad, None) => 0.0,
                (Share::Good, None) => return Counts::default(),
            };
            counts(share, p, t, "", "").unwrap_or_default()
        })
        .collect()
}

/// Range answers by group, so each group finds its points at once (a
/// thousand regions must not cost a million comparisons).
fn points_by_key(series: Vec<RangeSeries>) -> BTreeMap<Key, BTreeMap<i64, f64>> {
    series
        .into_iter()
        .map(|s| (key(&s.labels), s.points.into_iter().collect()))
        .collect()
}

fn key(labels: &BTreeMap<String, String>) -> Key {
    labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn evidence(
    q: &CountQueries,
    j: &Judgement,
    track: &Track,
    baseline: Option<&Track>,
    windows: &Windows,
) -> Evidence {
    let in_notation = |bad_share: f64| match q.share {
        Share::Bad => bad_share,
        Share::Good => 1.0 - bad_share,
    };
    let part_of = |c: Counts| match q.share {
        Share::Bad => c.bad,
        Share::Good => c.total - c.bad,
    };
    let (lower, upper) = match q.share {
        Share::Bad => (j.lower, j.upper),
        Share::Good => (1.0 - j.upper, 1.0 - j.lower),
    };
    let c = track.cumulative;
    let rate = c.total / windows.stage_seconds as f64;
    let recent = match j.finding {
        Finding::ExceedsLimit(w) | Finding::WorseThanBaseline(w) | Finding::Shared(w) => match w {
            stats::judge::Window::Since { start, counts } => windows
                .bucket_ends
                .get(start)
                .and_then(|end| Timestamp::from_second(end - BUCKET_SECONDS as i64).ok())
                .map(|since| RecentCounts {
                    since,
                    part: part_of(counts),
                    total: counts.total,
                }),
            stats::judge::Window::Stage => None,
        },
        _ => None,
    };
    let finding = match j.finding {
        Finding::ExceedsLimit(_) => Said::Exceeds,
        Finding::WorseThanBaseline(_) => Said::WorseThanBaseline,
        Finding::Shared(_) => Said::Shared,
        Finding::Within => Said::Within,
        Finding::Insufficient => Said::Insufficient,
    };
    Evidence {
        share: q.share,
        finding,
        part: part_of(c),
        total: c.total,
        window_seconds: windows.stage_seconds,
        value: in_notation(c.share()),
        lower,
        upper,
        confidence: q.confidence,
        recent,
        total_needed: j.total_needed,
        ready_in_seconds: j
            .total_needed
            .filter(|_| rate > 0.0)
            .map(|n| ((n - c.total).max(0.0) / rate).ceil().min(u64::MAX as f64) as u64),
        requests_per_second: rate,
        baseline: baseline
            .zip(q.baseline.as_ref())
            .map(|(b, spec)| BaselineEvidence {
                part: part_of(b.cumulative),
                total: b.cumulative.total,
                value: in_notation(b.cumulative.share()),
                max_ratio: spec.max_ratio,
                exceeds_limit: j.baseline_exceeds,
            }),
    }
}

/// The worst group decides: the canary's own breach, then a shared one,
/// then blind, then not enough evidence, then within.
fn summarize(check: &Check, groups: Vec<(Key, Judged)>) -> Observed {
    let rank = |g: &Judged| match g {
        Ok((j, _)) => match j.finding {
            Finding::ExceedsLimit(_) | Finding::WorseThanBaseline(_) => 0,
            Finding::Shared(_) => 1,
            Finding::Insufficient => 3,
            Finding::Within => 4,
        },
        Err(_) => 2,
    };
    let series_total = groups.len();
    let breaching_total = groups
        .iter()
        .filter(|(_, g)| matches!(g, Ok((j, _)) if j.finding.is_breach()))
        .count();
    let mut ordered = groups;
    ordered.sort_by_key(|(_, g)| rank(g));
    let blind_count = ordered.iter().filter(|(_, g)| g.is_err()).count();
    let series: Vec<SeriesValue> = ordered
        .iter()
        .take(SERIES_KEPT)
        .map(|(k, g)| SeriesValue {
            labels: k.clone(),
            value: g.as_ref().map_or(f64::NAN, |(_, e)| e.value),
            breaching: matches!(g, Ok((j, _)) if j.finding.is_breach()),
        })
        .collect();
    let Some((_, worst)) = ordered.into_iter().next() else {
        return blind(
            "`total` returned no series".into(),
            check.no_data == NoData::Hold,
        );
    };
    match worst {
        Err(why) => Observed {
            observation: Observation::Blind {
                why: if series_total > 1 {
                    format!("{blind_count} of {series_total} series cannot be judged: {why}")
                } else {
                    why
                },
                holds: true,
            },
            value: None,
            series,
            series_total,
            breaching_total,
            evidence: None,
        },
        Ok((j, e)) => Observed {
            observation: match j.finding {
                f if f.is_breach() => Observation::Breaching,
                Finding::Within => Observation::Healthy,
                _ => Observation::Insufficient,
            },
            value: Some(e.value),
            series,
            series_total,
            breaching_total,
            evidence: Some(e),
        },
    }
}

fn failed(e: DatasourceError) -> Observed {
    Observed::bare(Observation::Failed(e))
}

fn blind(why: String, holds: bool) -> Observed {
    Observed::bare(Observation::Blind { why, holds })
}

#[cfg(test)]
#[path = "counts_tests.rs"]
mod tests;
