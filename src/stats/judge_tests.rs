use super::*;

fn spec() -> Spec {
    Spec {
        limit: 0.001,
        alpha: 0.05,
        ratio: None,
        floor: None,
        min_total: 0.0,
    }
}

fn track(bad: f64, total: f64) -> Track {
    Track {
        cumulative: Counts { bad, total },
        buckets: Vec::new(),
    }
}

#[test]
fn few_requests_are_insufficient_and_say_how_many_would_do() {
    let j = judge(&spec(), &track(0.0, 37.0), None);
    assert_eq!(j.finding, Finding::Insufficient);
    let needed = j.total_needed.unwrap();
    assert!((3_000.0..6_000.0).contains(&needed), "{needed}");
}

#[test]
fn one_error_in_three_hundred_is_insufficient_not_a_rollback() {
    let j = judge(&spec(), &track(1.0, 300.0), None);
    assert_eq!(j.finding, Finding::Insufficient);
    assert!(j.lower < 0.001 && j.upper > 0.001, "{j:?}");
}

#[test]
fn enough_clean_requests_are_within_with_the_upper_bound_below_the_limit() {
    let j = judge(&spec(), &track(41.0, 86_412.0), None);
    assert_eq!(j.finding, Finding::Within);
    assert!(j.upper < 0.001, "{j:?}");
    assert!(j.total_needed.is_none());
}

#[test]
fn min_total_holds_within_back() {
    let s = Spec {
        min_total: 100_000.0,
        ..spec()
    };
    let j = judge(&s, &track(41.0, 86_412.0), None);
    assert_eq!(j.finding, Finding::Insufficient);
    assert_eq!(j.total_needed, Some(100_000.0));
}

#[test]
fn a_clear_regression_exceeds_over_the_stage() {
    let j = judge(&spec(), &track(30.0, 3_000.0), None);
    assert_eq!(j.finding, Finding::ExceedsLimit(Window::Stage));
    assert!(j.lower > 0.001, "{j:?}");
}

/// Three healthy days, then a tenfold regression for 30 minutes: the
/// cumulative evidence is still far below, the detector sees it from the
/// bucket it began at.
#[test]
fn a_late_regression_is_not_diluted_by_the_healthy_past() {
    let healthy = Counts {
        bad: 0.15,
        total: 300.0,
    };
    let broken = Counts {
        bad: 3.0,
        total: 300.0,
    };
    let mut buckets = vec![healthy; BUCKETS_PER_DAY - 6];
    buckets.extend([broken; 6]);
    let total = 3.0 * 86_400.0;
    let t = Track {
        cumulative: Counts {
            bad: total * 0.0005 + 18.0,
            total,
        },
        buckets,
    };
    let j = judge(&spec(), &t, None);
    match j.finding {
        Finding::ExceedsLimit(Window::Since { start, counts }) => {
            assert!(start >= BUCKETS_PER_DAY - 8, "{start}");
            assert!(counts.bad >= 18.0, "{counts:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn both_tracks_past_the_limit_is_a_shared_failure() {
    let s = Spec {
        ratio: Some(2.0),
        ..spec()
    };
    let canary = track(30.0, 3_000.0);
    let stable = track(600.0, 57_000.0);
    let j = judge(&s, &canary, Some(&stable));
    assert_eq!(j.finding, Finding::Shared(Window::Stage));
    assert!(j.baseline_exceeds);
    // The same canary against a healthy stable is the canary's fault.
    let j = judge(&s, &canary, Some(&track(5.0, 57_000.0)));
    assert!(matches!(j.finding, Finding::WorseThanBaseline(_)), "{j:?}");
}

#[test]
fn under_the_limit_but_far_worse_than_stable_is_a_regression() {
    let s = Spec {
        ratio: Some(2.0),
        ..spec()
    };
    let j = judge(&s, &track(90.0, 100_000.0), Some(&track(19.0, 1_900_000.0)));
    assert_eq!(j.finding, Finding::WorseThanBaseline(Window::Stage));
    // A floor above the canary's rate forgives it; 0.09% is too near the
    // limit to be confidently within it, so it is not ready either.
    let s = Spec {
        floor: Some(0.002),
        ..s
    };
    let j = judge(&s, &track(90.0, 100_000.0), Some(&track(19.0, 1_900_000.0)));
    assert_eq!(j.finding, Finding::Insufficient);
}

#[test]
fn a_clean_canary_against_a_noisier_stable_is_fine() {
    let s = Spec {
        ratio: Some(2.0),
        ..spec()
    };
    let j = judge(&s, &track(0.0, 10_000.0), Some(&track(3.0, 190_000.0)));
    assert_eq!(j.finding, Finding::Within);
}

#[test]
fn nonsense_counts_are_read_as_no_evidence_not_as_healthy() {
    for (bad, total) in [
        (f64::NAN, 100.0),
        (1.0, f64::NAN),
        (f64::INFINITY, f64::INFINITY),
        (-5.0, -10.0),
        (5.0, 0.0),
    ] {
        let j = judge(&spec(), &track(bad, total), None);
        assert!(
            !matches!(j.finding, Finding::Within),
            "{bad}/{total}: {j:?}"
        );
    }
}

#[test]
fn levels_grow_with_what_is_tested() {
    let plain = spec();
    let with_baseline = Spec {
        ratio: Some(2.0),
        ..spec()
    };
    assert!((plain.cumulative_level() - 40f64.ln()).abs() < 1e-9);
    assert!(with_baseline.cumulative_level() > plain.cumulative_level());
    assert!(plain.detector_level() > plain.cumulative_level());
    assert!((plain.within_level() - 20f64.ln()).abs() < 1e-9);
}
