//! One count check's finding from its counts: past the limit, a failure
//! the baseline shares, confidently within, or not enough evidence yet.
//!
//! The chance of a false "past the limit" in a stage's first day is at most
//! `α` (1 − the check's confidence), split evenly between the cumulative
//! test (evidence since the stage began, anytime-valid for the whole stage)
//! and the change detector (evidence since any bucket of the last day), and
//! between the absolute limit and the baseline comparison when a check has
//! one. "Within" (ready to expand) is the cumulative evidence that the rate
//! is below the limit, at `α` on its own: a stage declared ready while its
//! rate is at or past the limit happens at most `α` of the time.

use super::compare::worse_log_lrs;
use super::detector::Cusum;
use super::mixture::{
    alternatives, log_evidence, log_mean_exp, lower_bound, share, total_needed, upper_bound, Side,
    ABOVE,
};

/// The length of one bucket of the change detector.
pub const BUCKET_SECONDS: u64 = 300;
/// Start points per day, for the detector's level.
pub const BUCKETS_PER_DAY: usize = 288;

/// Bad requests out of all of them. Counts from `increase()` need not be
/// whole numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub bad: f64,
    pub total: f64,
}

impl Counts {
    pub fn share(&self) -> f64 {
        share(self.bad, self.total)
    }

    fn add(self, other: Counts) -> Counts {
        Counts {
            bad: self.bad + other.bad,
            total: self.total + other.total,
        }
    }

    /// What the tests may read: finite, non-negative, and bad ≤ total.
    fn sane(self) -> Counts {
        let total = if self.total.is_finite() {
            self.total.max(0.0)
        } else {
            0.0
        };
        let bad = if self.bad.is_finite() {
            self.bad.clamp(0.0, total)
        } else {
            0.0
        };
        Counts { bad, total }
    }
}

/// One track's counts: since the stage began, and per complete bucket of
/// the detector's lookback, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Track {
    pub cumulative: Counts,
    pub buckets: Vec<Counts>,
}

/// What a check asks of its counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spec {
    /// The limit on the bad share, in (0, 1).
    pub limit: f64,
    /// 1 − confidence.
    pub alpha: f64,
    /// With a baseline: the canary may be at most this many times worse.
    pub ratio: Option<f64>,
    /// With a baseline: a canary whose bad share is not confidently above
    /// this is not a regression, however it compares (Kayenta's floor).
    pub floor: Option<f64>,
    /// No "within" before this many requests, whatever the statistics say.
    pub min_total: f64,
}

impl Spec {
    fn families(&self) -> f64 {
        if self.ratio.is_some() {
            2.0
        } else {
            1.0
        }
    }

    /// log level of the cumulative tests for a breach.
    pub fn cumulative_level(&self) -> f64 {
        (2.0 * self.families() / self.alpha).ln()
    }

    /// log level of the change detector (per alternative and start point).
    pub fn detector_level(&self) -> f64 {
        (2.0 * self.families() * (ABOVE.len() * BUCKETS_PER_DAY) as f64 / self.alpha).ln()
    }

    /// log level of the evidence that the rate is below the limit.
    pub fn within_level(&self) -> f64 {
        (1.0 / self.alpha).ln()
    }
}

/// Which evidence decided a breach.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Window {
    /// Everything since the stage began.
    Stage,
    /// The buckets from `start` (an index into `Track::buckets`) to now.
    Since { start: usize, counts: Counts },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Finding {
    /// Confidently past the absolute limit, and the baseline is not.
    ExceedsLimit(Window),
    /// Confidently more than `ratio` times worse than the baseline.
    WorseThanBaseline(Window),
    /// Past the limit, but so is the baseline: a shared failure.
    Shared(Window),
    /// Confidently below the limit, and not worse than the baseline.
    Within,
    /// Not enough requests to say either.
    Insufficient,
}

impl Finding {
    pub fn is_breach(&self) -> bool {
        matches!(
            self,
            Finding::ExceedsLimit(_) | Finding::WorseThanBaseline(_) | Finding::Shared(_)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judgement {
    pub finding: Finding,
    /// The bad share since the stage began, and its interval.
    pub share: f64,
    pub lower: f64,
    pub upper: f64,
    /// Requests (since the stage began) that would make "within" likely at
    /// the share seen so far; for insufficient evidence only.
    pub total_needed: Option<f64>,
    /// The baseline's bad share since the stage began, when there is one.
    pub baseline_share: Option<f64>,
    /// The baseline is itself confidently past the limit.
    pub baseline_exceeds: bool,
}

/// Judges the canary's counts (and its baseline's) against `spec`.
pub fn judge(spec: &Spec, canary: &Track, baseline: Option<&Track>) -> Judgement {
    let canary = sanitized(canary);
    let baseline = baseline.map(sanitized);
    let absolute = exceeds_limit(spec, &canary);
    let baseline_exceeds = baseline
        .as_ref()
        .is_some_and(|b| exceeds_limit(spec, b).is_some());
    let relative = match (&baseline, spec.ratio) {
        (Some(b), Some(ratio)) => worse_than(spec, &canary, b, ratio),
        _ => None,
    };
    let c = canary.cumulative;
    let within = log_evidence(c.bad, c.total, spec.limit, Side::Below) >= spec.within_level()
        && c.total >= spec.min_total;
    let finding = match (relative, absolute) {
        (Some(w), _) => Finding::WorseThanBaseline(w),
        (None, Some(w)) if baseline_exceeds => Finding::Shared(w),
        (None, Some(w)) => Finding::ExceedsLimit(w),
        (None, None) if within => Finding::Within,
        (None, None) => Finding::Insufficient,
    };
    let total_needed = (finding == Finding::Insufficient)
        .then(|| total_needed(c.share(), spec.limit, spec.within_level()))
        .flatten()
        .map(|n| n.max(spec.min_total));
    Judgement {
        finding,
        share: c.share(),
        lower: lower_bound(c.bad, c.total, spec.cumulative_level()),
        upper: upper_bound(c.bad, c.total, spec.within_level()),
        total_needed,
        baseline_share: baseline.as_ref().map(|b| b.cumulative.share()),
        baseline_exceeds,
    }
}

fn sanitized(track: &Track) -> Track {
    Track {
        cumulative: track.cumulative.sane(),
        buckets: track.buckets.iter().map(|b| b.sane()).collect(),
    }
}

/// Cumulative first (it speaks for the whole stage), then the detector.
fn exceeds_limit(spec: &Spec, track: &Track) -> Option<Window> {
    let c = track.cumulative;
    if log_evidence(c.bad, c.total, spec.limit, Side::Above) >= spec.cumulative_level() {
        return Some(Window::Stage);
    }
    let alts = alternatives(spec.limit, Side::Above);
    let mut cusum = Cusum::new(alts.len());
    let mut lrs = Vec::with_capacity(alts.len());
    for b in &track.buckets {
        lrs.clear();
        lrs.extend(alts.iter().map(|a| a.log_lr(b.bad, b.total)));
        cusum.push(&lrs);
    }
    detected(spec, &cusum, &track.buckets)
}

fn worse_than(spec: &Spec, canary: &Track, baseline: &Track, ratio: f64) -> Option<Window> {
    let floor_passed = |counts: Counts| {
        spec.floor.is_none_or(|floor| {
            log_evidence(counts.bad, counts.total, floor, Side::Above) >= spec.cumulative_level()
        })
    };
    let (c, b) = (canary.cumulative, baseline.cumulative);
    let cumulative = log_mean_exp(worse_log_lrs(c.bad, c.total, b.bad, b.total, ratio));
    if cumulative >= spec.cumulative_level() && floor_passed(c) {
        return Some(Window::Stage);
    }
    let mut cusum = Cusum::new(ABOVE.len());
    // Buckets are aligned on the same instants for both tracks; a missing
    // baseline bucket is no evidence.
    for (i, cb) in canary.buckets.iter().enumerate() {
        let lrs = match baseline.buckets.get(i) {
            Some(bb) => worse_log_lrs(cb.bad, cb.total, bb.bad, bb.total, ratio),
            None => vec![f64::NAN; ABOVE.len()],
        };
        cusum.push(&lrs);
    }
    detected(spec, &cusum, &canary.buckets).filter(|w| match w {
        Window::Since { counts, .. } => floor_passed(*counts),
        Window::Stage => true,
    })
}

fn detected(spec: &Spec, cusum: &Cusum, buckets: &[Counts]) -> Option<Window> {
    let (evidence, start) = cusum.strongest()?;
    (evidence >= spec.detector_level()).then(|| Window::Since {
        start,
        counts: buckets[start.min(buckets.len())..]
            .iter()
            .fold(Counts::default(), |a, b| a.add(*b)),
    })
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
