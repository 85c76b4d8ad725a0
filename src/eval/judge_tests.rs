//! The judgement sees every series; the result keeps only the worst few.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::config::{OnFail, Unit};

fn check(bound: Bound, value: f64) -> Check {
    Check {
        counts: None,
        name: "c".into(),
        query: "q".into(),
        threshold: Threshold {
            bound,
            value,
            unit: Unit::Plain,
        },
        for_duration: Duration::ZERO,
        on_fail: OnFail::Hold,
        no_data: NoData::Hold,
        description: None,
        runbook_url: None,
        max_series: 1000,
        defined_at: "r.yaml:1".into(),
    }
}

fn samples(values: impl IntoIterator<Item = f64>) -> Vec<Sample> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Sample {
            labels: BTreeMap::from([("i".to_string(), i.to_string())]),
            value,
        })
        .collect()
}

#[test]
fn a_thousand_series_keep_the_worst_ten_and_count_all() {
    // Healthy while below 100: series 500 (150), 900 (120) and 7 (101) breach.
    let values = (0..1000).map(|i| match i {
        500 => 150.0,
        900 => 120.0,
        7 => 101.0,
        42 => f64::NAN,
        _ => (i % 90) as f64,
    });
    let observed = observe(&check(Bound::Below, 100.0), Ok(samples(values)));
    assert_eq!(observed.observation, Observation::Breaching);
    assert_eq!(observed.value, Some(150.0), "the worst of all decides");
    assert_eq!((observed.series_total, observed.breaching_total), (1000, 3));
    assert_eq!(observed.series.len(), SERIES_KEPT);
    let order: Vec<&str> = observed.series[..5]
        .iter()
        .map(|s| s.labels["i"].as_str())
        .collect();
    assert_eq!(order, ["500", "900", "7", "42", order[4]]);
    assert_eq!(
        observed.series[4].value, 89.0,
        "then the closest to the limit"
    );
    let (result, _) = judge(
        &check(Bound::Below, 100.0),
        observed,
        None,
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(result.status, CheckStatus::Failing);
    assert_eq!(
        (result.series.len(), result.series_total),
        (SERIES_KEPT, 1000)
    );
}

#[test]
fn above_thresholds_rank_low_values_worst() {
    let observed = observe(
        &check(Bound::Above, 0.95),
        Ok(samples(
            (0..50)
                .map(|i| 0.96 + f64::from(i) / 1000.0)
                .chain([0.5, 0.9]),
        )),
    );
    assert_eq!(observed.value, Some(0.5));
    let kept: Vec<f64> = observed.series.iter().map(|s| s.value).collect();
    assert_eq!(&kept[..3], &[0.5, 0.9, 0.96]);
    assert_eq!(observed.series_total, 52);
}

#[test]
fn a_capped_answer_is_an_error_that_holds_with_its_reason() {
    let err = DatasourceError::TooManySeries {
        count: 100_000,
        limit: 1000,
    };
    let observed = observe(&check(Bound::Below, 1.0), Err(err));
    let (result, _) = judge(
        &check(Bound::Below, 1.0),
        observed,
        None,
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(result.status, CheckStatus::Error);
    assert!(!result.local_failure);
    let why = result.error.unwrap();
    assert!(
        why.contains("100000 series, more than max_series (1000)"),
        "{why}"
    );
}

#[test]
fn out_of_file_descriptors_is_an_error_marked_local() {
    let err = DatasourceError::LocalResource("Sena is out of file descriptors".into());
    let observed = observe(&check(Bound::Below, 1.0), Err(err));
    let (result, _) = judge(
        &check(Bound::Below, 1.0),
        observed,
        None,
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(result.status, CheckStatus::Error);
    assert!(result.local_failure);
}
