//! The registry's exposition text and the metric catalogue's rules.

use super::*;

#[test]
fn renders_counters_gauges_and_histograms() {
    let m = Metrics::new();
    m.inc(EVALUATIONS, &[("rollout", "a")]);
    m.inc(EVALUATIONS, &[("rollout", "a")]);
    m.set(VERDICT, &[("rollout", "a\"b")], 2.0);
    m.observe(EVALUATION_DURATION, &[("rollout", "a")], 0.03);
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
    m.inc(EVALUATIONS, &[("rollout", "ab")]);
    m.forget_label("rollout", "a");
    let text = m.render();
    assert!(!text.contains("rollout=\"a\""), "{text}");
    assert!(
        text.contains("sena_evaluations_total{rollout=\"ab\"} 1"),
        "{text}"
    );
}

#[test]
fn every_metric_is_declared_once_with_a_sena_name_and_help() {
    let mut names = std::collections::BTreeSet::new();
    for m in ALL {
        assert!(names.insert(m.name), "{} declared twice", m.name);
        assert!(m.name.starts_with("sena_"), "{}", m.name);
        assert!(!m.help.is_empty() && m.help.ends_with('.'), "{}", m.name);
        let counter = m.name.ends_with("_total");
        assert_eq!(
            counter,
            m.kind == Kind::Counter,
            "{}: _total iff counter",
            m.name
        );
    }
}

#[test]
fn set_exactly_replaces_one_scope_and_leaves_the_others() {
    let m = Metrics::new();
    let put = |rollout: &'static str, checks: &[&'static str]| {
        m.set_exactly(
            CHECK_VALUE,
            ("rollout", rollout),
            checks
                .iter()
                .map(|c| (vec![("rollout", rollout), ("check", *c)], 1.0)),
        )
    };
    put("a", &["errors", "latency"]);
    put("ab", &["errors"]);
    put("a", &["errors"]);
    let text = m.render();
    assert!(
        text.contains("sena_check_value{rollout=\"a\",check=\"errors\"} 1"),
        "{text}"
    );
    assert!(
        !text.contains("latency"),
        "a removed check disappears: {text}"
    );
    assert!(
        text.contains("sena_check_value{rollout=\"ab\",check=\"errors\"} 1"),
        "another rollout keeps its series: {text}"
    );
}

#[test]
fn non_finite_gauges_render_as_prometheus_writes_them() {
    let m = Metrics::new();
    m.set(CHECK_VALUE, &[("check", "nan")], f64::NAN);
    m.set(CHECK_VALUE, &[("check", "up")], f64::INFINITY);
    m.set(CHECK_VALUE, &[("check", "down")], f64::NEG_INFINITY);
    let text = m.render();
    for line in [
        "sena_check_value{check=\"nan\"} NaN",
        "sena_check_value{check=\"up\"} +Inf",
        "sena_check_value{check=\"down\"} -Inf",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}
