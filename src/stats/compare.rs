//! The canary against its baseline, from two pairs of counts. Given that
//! `m` bad requests happened on either track, each one is on the canary
//! with probability `θ = r·n_c / (r·n_c + n_s)` when the canary's rate is
//! exactly `r` times the stable one (`r` is the allowed ratio, `n` the
//! requests of each track); a worse canary takes a larger share. So "is the
//! canary more than `r` times worse" becomes the one-rate test of
//! `mixture` on the split of the bad requests, whatever the stable rate is
//! (Lindon and Malek's conditional argument for two Poisson counts).

use super::mixture::{Alternative, ABOVE};

/// One log-likelihood ratio per alternative (`ABOVE`'s multiples of `r`)
/// for "the canary is more than `ratio` times worse than the baseline".
/// No evidence (zeros) when either track served nothing or nothing failed.
pub fn worse_log_lrs(
    canary_bad: f64,
    canary_total: f64,
    baseline_bad: f64,
    baseline_total: f64,
    ratio: f64,
) -> Vec<f64> {
    let bad = canary_bad + baseline_bad;
    if !(canary_total > 0.0 && baseline_total > 0.0 && bad > 0.0 && ratio > 0.0) {
        return vec![0.0; ABOVE.len()];
    }
    let share = |r: f64| r * canary_total / (r * canary_total + baseline_total);
    let null = share(ratio);
    ABOVE
        .iter()
        .map(|m| {
            let alt = share(ratio * m);
            if alt >= 1.0 || null <= 0.0 || null >= 1.0 {
                return 0.0;
            }
            Alternative::new(alt, null).log_lr(canary_bad, bad)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::mixture::log_mean_exp;

    fn evidence(cb: f64, ct: f64, sb: f64, st: f64, r: f64) -> f64 {
        log_mean_exp(worse_log_lrs(cb, ct, sb, st, r))
    }

    #[test]
    fn a_canary_with_no_errors_is_no_regression() {
        assert!(evidence(0.0, 1_000.0, 3.0, 19_000.0, 2.0) < 0.0);
    }

    #[test]
    fn a_canary_far_worse_than_a_clean_stable_is() {
        // 0.09% on the canary against 0.001% on stable: under the absolute
        // limit, but 90 times worse.
        let e = evidence(90.0, 100_000.0, 19.0, 1_900_000.0, 2.0);
        assert!(e > 40f64.ln(), "{e}");
    }

    #[test]
    fn equal_rates_give_no_evidence_for_a_ratio_of_two() {
        let e = evidence(50.0, 50_000.0, 950.0, 950_000.0, 2.0);
        assert!(e < 0.0, "{e}");
    }

    #[test]
    fn empty_tracks_give_no_evidence() {
        assert_eq!(
            worse_log_lrs(3.0, 0.0, 1.0, 10.0, 2.0),
            vec![0.0; ABOVE.len()]
        );
        assert_eq!(
            worse_log_lrs(0.0, 10.0, 0.0, 10.0, 2.0),
            vec![0.0; ABOVE.len()]
        );
    }
}
