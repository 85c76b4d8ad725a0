//! The counts behind a count-based check's verdict, and the one way they
//! are said: "41 bad of 86,412 requests (0.047%, at most 0.062% at 95%)".
//! `eval` fills it from `stats`' judgement; every renderer (CLI, Slack,
//! email, dashboard, journal, dataset) prints from it, so the numbers a
//! person reads are the numbers the verdict came from.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::format::{format_elapsed, trim_float};
use super::threshold::Threshold;

/// What the check's `part` query counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Share {
    /// `bad:` — the share limited is bad / total (error rate, slow requests).
    Bad,
    /// `good:` — the share limited is good / total (satisfaction, fast requests).
    Good,
}

impl Share {
    pub fn noun(self) -> &'static str {
        match self {
            Share::Bad => "bad",
            Share::Good => "good",
        }
    }
}

/// What the counts say about the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// Confidently past the limit (the canary's own failure).
    Exceeds,
    /// Confidently more than `max_ratio` times worse than the baseline.
    WorseThanBaseline,
    /// Past the limit, and so is the baseline: a shared failure, hold.
    Shared,
    /// Confidently inside the limit.
    Within,
    /// Too few requests to say either.
    Insufficient,
}

impl Finding {
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Exceeds => "exceeds",
            Finding::WorseThanBaseline => "worse_than_baseline",
            Finding::Shared => "shared",
            Finding::Within => "within",
            Finding::Insufficient => "insufficient",
        }
    }
}

/// Counts over the recent window a change detector found a breach in.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecentCounts {
    pub since: Timestamp,
    pub part: f64,
    pub total: f64,
}

/// The baseline's counts over the same stage.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineEvidence {
    pub part: f64,
    pub total: f64,
    /// `part / total` in the check's notation.
    #[serde(with = "super::float::always")]
    pub value: f64,
    /// The canary may be at most this many times worse (in bad share).
    pub max_ratio: f64,
    /// The baseline itself is confidently past the limit.
    pub exceeds_limit: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub share: Share,
    pub finding: Finding,
    /// `part` requests (bad or good, as `share` says) of `total`, since the
    /// stage began (`window_seconds` ago).
    pub part: f64,
    pub total: f64,
    pub window_seconds: u64,
    /// `part / total` and its interval, in the check's notation (good
    /// shares are 1 − the bad share's interval).
    #[serde(with = "super::float::always")]
    pub value: f64,
    #[serde(with = "super::float::always")]
    pub lower: f64,
    #[serde(with = "super::float::always")]
    pub upper: f64,
    /// 0.95 for "95% confident".
    pub confidence: f64,
    /// When the change detector (not the whole stage) found the breach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent: Option<RecentCounts>,
    /// Insufficient: the requests since the stage began that would settle
    /// it at the share seen so far, and how long that takes at the traffic
    /// seen so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_needed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_in_seconds: Option<u64>,
    pub requests_per_second: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineEvidence>,
}

impl Evidence {
    /// `41 bad of 86,412 requests`.
    pub fn counts_text(&self) -> String {
        format!(
            "{} {} of {} requests",
            format_count(self.part),
            self.share.noun(),
            format_count(self.total)
        )
    }

    /// The value, its counts and the bound that matters for the finding:
    /// `0.047% (41 bad of 86,412 requests; at most 0.062% at 95%)`.
    pub fn summary(&self, t: &Threshold) -> String {
        let pct = self.confidence_text();
        let v = t.format_value(self.value);
        match self.finding {
            Finding::Within => format!(
                "{v} ({}; {} at {pct})",
                self.counts_text(),
                self.bound_text(t, true)
            ),
            Finding::Insufficient => {
                let counts = self.counts_text();
                match (self.needed_text(t), self.total_needed) {
                    (Some(needed), Some(_)) => format!("insufficient evidence: {counts}, {needed}"),
                    (Some(needed), None) => format!("insufficient evidence: {counts} ({needed})"),
                    (None, _) => format!("insufficient evidence: {counts}"),
                }
            }
            Finding::Exceeds | Finding::Shared | Finding::WorseThanBaseline => {
                let mut s = match &self.recent {
                    Some(r) => format!(
                        "{} since {}: {} {} of {} requests",
                        t.format_value(share_of(r.part, r.total)),
                        r.since.strftime("%Y-%m-%d %H:%M UTC"),
                        format_count(r.part),
                        self.share.noun(),
                        format_count(r.total)
                    ),
                    None => format!(
                        "{v} ({}; {} at {pct})",
                        self.counts_text(),
                        self.bound_text(t, false)
                    ),
                };
                if let Some(b) = &self.baseline {
                    let stable = format!(
                        "{} {} of {}, {}",
                        format_count(b.part),
                        self.share.noun(),
                        format_count(b.total),
                        t.format_value(b.value)
                    );
                    match self.finding {
                        Finding::Shared => s.push_str(&format!(
                            "; the baseline is past the limit too ({stable}): a shared failure, not the canary's"
                        )),
                        Finding::WorseThanBaseline => s.push_str(&format!(
                            "; more than {}× the baseline ({stable})",
                            trim_float(b.max_ratio)
                        )),
                        _ => s.push_str(&format!("; baseline {stable}")),
                    }
                }
                s
            }
        }
    }

    /// The share that decided: the recent window's when the change
    /// detector found the breach there, else the whole stage's.
    pub fn deciding_value(&self) -> f64 {
        match &self.recent {
            Some(r) => share_of(r.part, r.total),
            None => self.value,
        }
    }

    /// `41 bad of 86,412 requests since the stage began`.
    pub fn stage_counts_text(&self) -> String {
        format!("{} since the stage began", self.counts_text())
    }

    /// `95% interval 0.02%–0.062%`, in the check's notation.
    pub fn interval_text(&self, t: &Threshold) -> String {
        format!(
            "{} interval {}–{}",
            self.confidence_text(),
            t.format_value(self.lower),
            t.format_value(self.upper)
        )
    }

    /// `41 bad of 86,412 requests since the stage began · 95% interval
    /// 0.02%–0.062%`: the counts and the interval as one line.
    pub fn evidence_line(&self, t: &Threshold) -> String {
        format!("{} · {}", self.stage_counts_text(), self.interval_text(t))
    }

    /// When the change detector (not the whole stage) found the breach:
    /// `recent: 30 bad of 1,400 requests since 2025-10-22 12:05 UTC (2.1429%)`.
    pub fn recent_text(&self, t: &Threshold) -> Option<String> {
        let r = self.recent.as_ref()?;
        Some(format!(
            "recent: {} {} of {} requests since {} ({})",
            format_count(r.part),
            self.share.noun(),
            format_count(r.total),
            r.since.strftime("%Y-%m-%d %H:%M UTC"),
            t.format_value(share_of(r.part, r.total))
        ))
    }

    /// For insufficient evidence: how many more requests, and how long.
    /// `needs about 3,771 requests to confirm < 0.1% at 95% (at 1 req/s: in about 1h 2m)`.
    pub fn needed_text(&self, t: &Threshold) -> Option<String> {
        if self.finding != Finding::Insufficient {
            return None;
        }
        let pct = self.confidence_text();
        Some(match self.total_needed {
            Some(n) => {
                let mut s = format!(
                    "needs about {} requests to confirm {t} at {pct}",
                    format_count(n)
                );
                if let Some(eta) = self.ready_in_seconds {
                    s.push_str(&format!(
                        " (at {} req/s: in about {})",
                        format_rate(self.requests_per_second),
                        format_elapsed(eta.min(i64::MAX as u64) as i64)
                    ));
                }
                s
            }
            None => format!(
                "{} is too close to the limit to confirm {t} at {pct}",
                t.format_value(self.value)
            ),
        })
    }

    /// The baseline's counts and what they mean for the verdict:
    /// `baseline: 600 bad of 57,000 requests (1.0526%): hold, the stable
    /// track is failing too`.
    pub fn baseline_text(&self, t: &Threshold) -> Option<String> {
        let b = self.baseline.as_ref()?;
        let mut s = format!(
            "baseline: {} {} of {} requests ({})",
            format_count(b.part),
            self.share.noun(),
            format_count(b.total),
            t.format_value(b.value)
        );
        match self.finding {
            Finding::Shared => s.push_str(": hold, the stable track is failing too"),
            Finding::WorseThanBaseline => s.push_str(&format!(
                ": the canary is more than {}× worse",
                trim_float(b.max_ratio)
            )),
            _ if b.exceeds_limit => s.push_str(", past the limit too"),
            _ => {}
        }
        Some(s)
    }

    /// Every fact, one line each, in reading order: counts and interval,
    /// the recent window, what is still needed, the baseline.
    pub fn fact_lines(&self, t: &Threshold) -> Vec<String> {
        std::iter::once(self.evidence_line(t))
            .chain(self.recent_text(t))
            .chain(self.needed_text(t))
            .chain(self.baseline_text(t))
            .collect()
    }

    /// "95%".
    pub fn confidence_text(&self) -> String {
        format!(
            "{}%",
            trim_float((self.confidence * 100.0 * 1e6).round() / 1e6)
        )
    }

    /// The interval's end on the healthy side (`at most 0.062%` for a
    /// below limit) when `healthy`, else on the breaching side.
    fn bound_text(&self, t: &Threshold, healthy: bool) -> String {
        use super::threshold::Bound;
        let (word, value) = match (t.bound, healthy) {
            (Bound::Below, true) | (Bound::Above, false) => ("at most", self.upper),
            (Bound::Below, false) | (Bound::Above, true) => ("at least", self.lower),
        };
        format!("{word} {}", t.format_value(value))
    }
}

#[cfg(test)]
impl Evidence {
    /// 41 bad of 86,412 requests in a day, 0.02%–0.062%, at 95%: the one
    /// example every renderer's and the decider's tests start from.
    pub fn example(finding: Finding) -> Evidence {
        Evidence {
            share: Share::Bad,
            finding,
            part: 41.0,
            total: 86_412.0,
            window_seconds: 86_400,
            value: 41.0 / 86_412.0,
            lower: 0.0002,
            upper: 0.00062,
            confidence: 0.95,
            recent: None,
            total_needed: None,
            ready_in_seconds: None,
            requests_per_second: 1.0,
            baseline: None,
        }
    }
}

fn share_of(part: f64, total: f64) -> f64 {
    if total > 0.0 {
        part / total
    } else {
        0.0
    }
}

/// A count as people read it: `86,412`; `increase()` gives fractions, which
/// say nothing a person needs (`2.97` reads `3`).
pub fn format_count(n: f64) -> String {
    if !n.is_finite() {
        return super::float::non_finite_text(n)
            .unwrap_or("NaN")
            .to_string();
    }
    let whole = n.round().max(0.0) as u64;
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1`, `0.2`, `120`: requests per second, two significant digits below 10.
pub fn format_rate(r: f64) -> String {
    if r >= 10.0 {
        format!("{}", r.round())
    } else {
        trim_float((r * 10.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Bound, Unit};

    fn limit() -> Threshold {
        Threshold {
            bound: Bound::Below,
            value: 0.001,
            unit: Unit::Percent,
        }
    }

    fn evidence(finding: Finding) -> Evidence {
        Evidence::example(finding)
    }

    #[test]
    fn within_says_the_upper_bound_with_the_counts() {
        assert_eq!(
            evidence(Finding::Within).summary(&limit()),
            "0.0474% (41 bad of 86,412 requests; at most 0.062% at 95%)"
        );
    }

    #[test]
    fn insufficient_says_how_many_and_how_long() {
        let mut e = evidence(Finding::Insufficient);
        e.part = 0.0;
        e.total = 37.0;
        e.total_needed = Some(3_771.0);
        e.ready_in_seconds = Some(3_734);
        assert_eq!(
            e.summary(&limit()),
            "insufficient evidence: 0 bad of 37 requests, needs about 3,771 requests to confirm < 0.1% at 95% (at 1 req/s: in about 1h 2m)"
        );
    }

    #[test]
    fn a_shared_failure_names_the_baseline() {
        let mut e = evidence(Finding::Shared);
        e.baseline = Some(BaselineEvidence {
            part: 600.0,
            total: 57_000.0,
            value: 600.0 / 57_000.0,
            max_ratio: 2.0,
            exceeds_limit: true,
        });
        let text = e.summary(&limit());
        assert!(
            text.ends_with("the baseline is past the limit too (600 bad of 57,000, 1.0526%): a shared failure, not the canary's"),
            "{text}"
        );
    }

    #[test]
    fn facts_say_counts_interval_and_baseline_apart() {
        let e = evidence(Finding::Within);
        assert_eq!(
            e.fact_lines(&limit()),
            vec!["41 bad of 86,412 requests since the stage began · 95% interval 0.02%–0.062%"]
        );
        let mut shared = evidence(Finding::Shared);
        shared.recent = Some(RecentCounts {
            since: "2025-10-22T12:05:00Z".parse().unwrap(),
            part: 30.0,
            total: 1_400.0,
        });
        shared.baseline = Some(BaselineEvidence {
            part: 600.0,
            total: 57_000.0,
            value: 600.0 / 57_000.0,
            max_ratio: 2.0,
            exceeds_limit: true,
        });
        let lines = shared.fact_lines(&limit());
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(
            lines[1],
            "recent: 30 bad of 1,400 requests since 2025-10-22 12:05 UTC (2.1429%)"
        );
        assert_eq!(
            lines[2],
            "baseline: 600 bad of 57,000 requests (1.0526%): hold, the stable track is failing too"
        );
        assert!((shared.deciding_value() - 30.0 / 1_400.0).abs() < 1e-12);
        let mut short = evidence(Finding::Insufficient);
        short.total_needed = Some(3_771.0);
        short.ready_in_seconds = Some(3_734);
        assert_eq!(
            short.needed_text(&limit()).as_deref(),
            Some(
                "needs about 3,771 requests to confirm < 0.1% at 95% (at 1 req/s: in about 1h 2m)"
            )
        );
    }

    #[test]
    fn counts_are_grouped_and_rounded() {
        assert_eq!(format_count(1_234_567.4), "1,234,567");
        assert_eq!(format_count(2.97), "3");
        assert_eq!(format_count(999.0), "999");
        assert_eq!(format_count(f64::NAN), "NaN");
        assert_eq!(format_rate(0.2), "0.2");
        assert_eq!(format_rate(123.4), "123");
    }
}
