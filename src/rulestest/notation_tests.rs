use super::*;
use Point::{Missing, Stale, Value};

fn values(text: &str) -> Vec<Point> {
    expand(text, MAX_SAMPLES).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn error(text: &str) -> String {
    expand(text, MAX_SAMPLES).expect_err(text)
}

#[test]
fn plain_numbers_in_every_notation() {
    assert_eq!(
        values("1 -2 +3 1.5 .5 2e3 2E-1 -1e+2"),
        [1.0, -2.0, 3.0, 1.5, 0.5, 2000.0, 0.2, -100.0].map(Value)
    );
}

#[test]
fn non_finite_values() {
    let v = values("NaN nan +Inf -Inf inf");
    assert!(matches!(v[0], Value(x) if x.is_nan()));
    assert!(matches!(v[1], Value(x) if x.is_nan()));
    assert_eq!(
        v[2..],
        [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY].map(Value)
    );
}

#[test]
fn expanding_counts_match_promtool() {
    assert_eq!(values("0+10x3"), [0.0, 10.0, 20.0, 30.0].map(Value));
    assert_eq!(values("5-2x2"), [5.0, 3.0, 1.0].map(Value));
    assert_eq!(values("-1-1x1"), [-1.0, -2.0].map(Value));
    assert_eq!(values("7x2"), [7.0; 3].map(Value));
    assert_eq!(values("1x0"), [Value(1.0)]);
    assert_eq!(values("1e3+1e3x1"), [1000.0, 2000.0].map(Value));
    assert_eq!(values("1e-3+1x1"), [0.001, 1.001].map(Value));
    // `_xN` is N gaps, not N+1: promtool's own count.
    assert_eq!(values("_x3"), [Missing; 3]);
    assert_eq!(values("_x0"), []);
    assert_eq!(values("stale stalex1"), [Stale; 3]);
    assert_eq!(
        values("1 _ 2x1 _x2 stale"),
        [
            Value(1.0),
            Missing,
            Value(2.0),
            Value(2.0),
            Missing,
            Missing,
            Stale
        ]
    );
    assert_eq!(values("   "), []);
}

#[test]
fn steps_do_not_accumulate_rounding() {
    let v = values("0+0.1x10");
    assert_eq!(v[10], Value(1.0));
}

#[test]
fn malformed_items_say_what_is_wrong() {
    for (text, says) in [
        ("abc", "`abc` is not a value"),
        ("1+2", "a step needs a repeat count"),
        ("1x", "`x` must be followed by a whole number"),
        ("1x-3", "`x` must be followed by a whole number"),
        ("1x2.5", "`x` must be followed by a whole number"),
        ("1+x3", "the step after `+`/`-` must be a number"),
        ("1+NaNx3", "the step must be a finite number"),
        ("_+1x3", "only a number can have a step"),
        ("_5", "unexpected `5`"),
        ("1q", "unexpected `q`"),
        ("x5", "is not a value"),
        ("1e400", "is not a value"),
        ("", ""),
    ] {
        if text.is_empty() {
            continue;
        }
        let e = error(text);
        assert!(e.contains(says), "{text}: {e}");
    }
}

#[test]
fn huge_repeat_counts_are_refused_before_allocating() {
    let e = error("0+1x99999999999");
    assert!(e.contains("expands to 100000000000 samples"), "{e}");
    assert!(e.contains("1000000"), "{e}");
    assert!(error("0x18446744073709551615").contains("too large"));
    assert!(error("0x99999999999999999999999").contains("too large"));
    assert!(error("_x18446744073709551615").contains("expands to"));
    // The budget is shared: what is left, not the whole.
    assert!(expand("0x9", 10).is_ok());
    assert!(expand("0x10", 10).is_err());
    assert!(expand("1 2 3", 2).is_err());
}
