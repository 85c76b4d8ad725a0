//! The evidence that a rate is above (or below) a limit, as an e-value:
//! the likelihood of the counts under an alternative rate divided by their
//! likelihood at the limit, averaged over a fixed grid of alternatives.
//!
//! Why this form: under the null (the true rate at or below the limit, for
//! "above") each ratio is a non-negative supermartingale in the requests
//! seen, and so is their average; by Ville's inequality it ever reaches
//! `1/α` with probability at most `α`, however many times it is looked at.
//! That is what makes a check that runs every 30 s for days safe, where a
//! fixed-sample test re-run every interval would fire by repetition alone.
//! The grid (1.25× to 50× the limit) spends a little power at each size of
//! regression instead of betting on one: a 10× regression is caught in a
//! few hundred requests, a 1.5× one in tens of thousands.
//!
//! Everything is in log space: a week at 100 req/s is 60 million requests.

/// Alternatives for "above the limit", as multiples of it.
pub const ABOVE: [f64; 8] = [1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0];
/// Alternatives for "below the limit"; 0 is "no bad requests at all", the
/// one that lets a clean canary become confident soonest (the rule of three).
pub const BELOW: [f64; 5] = [0.75, 0.5, 0.25, 0.1, 0.0];

/// One alternative's log-likelihood ratio per bad and per good request,
/// precomputed so a bucket costs two multiply-adds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alternative {
    per_bad: f64,
    per_good: f64,
}

impl Alternative {
    /// `p` against `p0`, both shares in (0, 1) except `p` may be 0.
    pub fn new(p: f64, p0: f64) -> Alternative {
        let per_bad = if p > 0.0 {
            (p / p0).ln()
        } else {
            f64::NEG_INFINITY
        };
        Alternative {
            per_bad,
            per_good: (-p).ln_1p() - (-p0).ln_1p(),
        }
    }

    /// log LR of `bad` bad out of `total`. `0 × -inf` is 0: an alternative
    /// of "no errors" is not refuted by a window without errors.
    pub fn log_lr(&self, bad: f64, total: f64) -> f64 {
        let good = (total - bad).max(0.0);
        let a = if bad > 0.0 { bad * self.per_bad } else { 0.0 };
        let b = if good > 0.0 {
            good * self.per_good
        } else {
            0.0
        };
        a + b
    }
}

/// The grid for one limit and one side, in (0, 1).
pub fn alternatives(limit: f64, side: Side) -> Vec<Alternative> {
    let multiples: &[f64] = match side {
        Side::Above => &ABOVE,
        Side::Below => &BELOW,
    };
    // Capped short of 1 rather than dropped, so the grid keeps its size
    // for every limit and the evidence stays monotone in the limit.
    let cap = limit + (1.0 - limit) * 0.99;
    multiples
        .iter()
        .map(|m| (m * limit).min(cap))
        .map(|p| Alternative::new(p, limit))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Evidence that the rate is above the limit (a regression).
    Above,
    /// Evidence that the rate is below it (ready to expand).
    Below,
}

/// log of the mean of `exp(x)` over the values, without overflow.
pub fn log_mean_exp(values: impl IntoIterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.into_iter().collect();
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.is_empty() || max == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    let sum: f64 = values.iter().map(|v| (v - max).exp()).sum();
    max + (sum / values.len() as f64).ln()
}

/// The log e-value that the rate behind `bad` of `total` is on `side` of
/// `limit`. A limit outside (0, 1) has no grid: no evidence either way.
pub fn log_evidence(bad: f64, total: f64, limit: f64, side: Side) -> f64 {
    if !(limit > 0.0 && limit < 1.0) {
        return f64::NEG_INFINITY;
    }
    log_mean_exp(
        alternatives(limit, side)
            .iter()
            .map(|a| a.log_lr(bad, total)),
    )
}

/// The largest limit the counts are confidently above at `log_level`
/// (0 if none): the lower end of the interval.
pub fn lower_bound(bad: f64, total: f64, log_level: f64) -> f64 {
    let estimate = share(bad, total);
    if estimate <= 0.0 || log_evidence(bad, total, estimate * 1e-6, Side::Above) < log_level {
        return 0.0;
    }
    // Evidence "above q" falls as q rises towards the estimate.
    bisect(estimate * 1e-6, estimate, |q| {
        log_evidence(bad, total, q, Side::Above) >= log_level
    })
    .0
}

/// The smallest limit the counts are confidently below at `log_level`
/// (1 if none): the upper end of the interval.
pub fn upper_bound(bad: f64, total: f64, log_level: f64) -> f64 {
    let estimate = share(bad, total);
    let top = 1.0 - 1e-9;
    if log_evidence(bad, total, top, Side::Below) < log_level {
        return 1.0;
    }
    bisect(estimate.max(1e-12), top, |q| {
        log_evidence(bad, total, q, Side::Below) < log_level
    })
    .1
}

/// Bisects `[lo, hi]` on the geometric scale where `holds` turns from true
/// (at `lo`) to false (at `hi`); returns the last true and first false.
fn bisect(mut lo: f64, mut hi: f64, holds: impl Fn(f64) -> bool) -> (f64, f64) {
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if holds(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi / lo < 1.0 + 1e-4 {
            break;
        }
    }
    (lo, hi)
}

/// `bad / total`, 0 for no requests.
pub fn share(bad: f64, total: f64) -> f64 {
    if total > 0.0 {
        (bad / total).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// How many requests, at the share seen so far, would make the evidence
/// "below `limit`" reach `log_level`; `None` when the share seen is too
/// close to the limit (or past it) for any number to do so.
pub fn total_needed(observed_share: f64, limit: f64, log_level: f64) -> Option<f64> {
    if !(limit > 0.0 && limit < 1.0) || observed_share >= limit * 0.95 {
        return None;
    }
    let enough = |n: f64| log_evidence(observed_share * n, n, limit, Side::Below) >= log_level;
    let mut hi = 1.0;
    while !enough(hi) {
        hi *= 2.0;
        if hi > 1e15 {
            return None;
        }
    }
    let (_, first) = bisect((hi / 2.0).max(0.5), hi, |n| !enough(n));
    Some(first.ceil())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_evidence_before_any_request() {
        for side in [Side::Above, Side::Below] {
            assert_eq!(log_evidence(0.0, 0.0, 0.001, side), 0.0);
        }
    }

    /// The rule of three: 0 errors in n requests is 95% confidence that the
    /// rate is below 3/n, so 3,000 requests for 0.1% with all the weight on
    /// "no errors". The grid spreads the weight (and 0.1× helps too): a
    /// little under 4,000.
    #[test]
    fn a_clean_canary_becomes_confident_near_the_rule_of_three() {
        let level = (1.0f64 / 0.05).ln();
        let needed = total_needed(0.0, 0.001, level).unwrap();
        assert!((3_000.0..4_600.0).contains(&needed), "{needed}");
        assert!(log_evidence(0.0, needed, 0.001, Side::Below) >= level);
        assert!(log_evidence(0.0, needed - 10.0, 0.001, Side::Below) < level);
    }

    #[test]
    fn one_error_in_three_hundred_is_not_evidence_of_a_breach() {
        // 0.33% > 0.1%, which today's threshold rule calls a rollback.
        let e = log_evidence(1.0, 300.0, 0.001, Side::Above);
        assert!(e < (1.0f64 / 0.05).ln(), "{e}");
    }

    #[test]
    fn a_tenfold_regression_is_evidence_within_hundreds_of_requests() {
        let e = log_evidence(10.0, 1000.0, 0.001, Side::Above);
        assert!(e > (40.0f64).ln(), "{e}");
    }

    #[test]
    fn bounds_bracket_the_estimate_and_narrow_with_evidence() {
        let level = (20.0f64).ln();
        let (small_lo, small_hi) = (
            lower_bound(5.0, 1_000.0, level),
            upper_bound(5.0, 1_000.0, level),
        );
        let (big_lo, big_hi) = (
            lower_bound(500.0, 100_000.0, level),
            upper_bound(500.0, 100_000.0, level),
        );
        assert!(
            small_lo < 0.005 && 0.005 < small_hi,
            "{small_lo} {small_hi}"
        );
        assert!(big_lo < 0.005 && 0.005 < big_hi, "{big_lo} {big_hi}");
        assert!(big_hi - big_lo < small_hi - small_lo);
        assert_eq!(lower_bound(0.0, 1_000.0, level), 0.0);
        assert_eq!(upper_bound(0.0, 0.0, level), 1.0);
    }

    /// The bounds and the tests must agree: confident below the limit
    /// exactly when the upper bound is under it (the messages print one
    /// and the verdict uses the other).
    #[test]
    fn the_evidence_is_monotone_in_the_limit() {
        let level = (20.0f64).ln();
        for (bad, total) in [
            (0.0, 5_000.0),
            (3.0, 10_000.0),
            (41.0, 86_412.0),
            (7.0, 900.0),
        ] {
            let upper = upper_bound(bad, total, level);
            let mut last = f64::NEG_INFINITY;
            for i in 1..400 {
                let q = i as f64 * 0.0001;
                let e = log_evidence(bad, total, q, Side::Below);
                assert!(e >= last - 1e-9, "below, {bad}/{total} at {q}");
                last = e;
                if q < upper * 0.999 {
                    assert!(
                        e < level,
                        "{bad}/{total}: confident below {q} < upper {upper}"
                    );
                }
                if q > upper * 1.001 {
                    assert!(
                        e >= level,
                        "{bad}/{total}: not confident below {q} > upper {upper}"
                    );
                }
            }
            let mut last = f64::INFINITY;
            for i in 1..400 {
                let q = i as f64 * 0.0001;
                let e = log_evidence(bad, total, q, Side::Above);
                assert!(e <= last + 1e-9, "above, {bad}/{total} at {q}");
                last = e;
            }
        }
    }

    #[test]
    fn degenerate_limits_give_no_evidence() {
        for limit in [0.0, 1.0, -0.5, f64::NAN, f64::INFINITY] {
            assert_eq!(
                log_evidence(5.0, 10.0, limit, Side::Above),
                f64::NEG_INFINITY
            );
        }
    }
}
