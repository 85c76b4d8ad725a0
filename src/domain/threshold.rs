//! A check's limit, typed from the YAML to the message: which side is
//! healthy, the number, and the author's unit, so every renderer says
//! `0.42% > 0.1%` from the same value without reading text back.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the value must stay on the right side of. `unit` keeps the author's
/// notation so messages say `0.42% > 0.1%`, not `0.0042 > 0.001`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub bound: Bound,
    #[serde(with = "super::float::always")]
    pub value: f64,
    /// Missing in rows queued before thresholds travelled typed (they
    /// carried only text): such a row reads as plain numbers, not lost.
    #[serde(default)]
    pub unit: Unit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// Healthy while value < limit.
    Below,
    /// Healthy while value > limit.
    Above,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Plain,
    Percent,
    Seconds,
}

impl Threshold {
    /// True when a finite value is on the wrong side of the limit.
    pub fn is_breached_by(&self, value: f64) -> bool {
        match self.bound {
            Bound::Below => value >= self.value,
            Bound::Above => value <= self.value,
        }
    }

    /// A value in the threshold's own notation: `0.42%`, `2.31s`, `17`.
    pub fn format_value(&self, value: f64) -> String {
        super::format::format_in_unit(value, self.unit)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.bound.healthy_op(),
            self.format_value(self.value)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    Rollback,
    Hold,
}

impl Bound {
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Below => "below",
            Bound::Above => "above",
        }
    }

    /// The comparison that holds while healthy: `<` for below, `>` for above.
    pub fn healthy_op(self) -> &'static str {
        match self {
            Bound::Below => "<",
            Bound::Above => ">",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_travels_typed_and_old_rows_still_read() {
        let t = Threshold {
            bound: Bound::Below,
            value: 2.0,
            unit: Unit::Seconds,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"bound":"below","value":2.0,"unit":"seconds"}"#);
        assert_eq!(serde_json::from_str::<Threshold>(&json).unwrap(), t);
        assert_eq!(t.to_string(), "< 2s");
        assert_eq!(t.format_value(2.31), "2.31s");
        // A row queued before thresholds were typed: text, bound, value.
        let legacy: Threshold =
            serde_json::from_str(r#"{"text":"< 0.1%","bound":"below","value":0.001}"#).unwrap();
        assert_eq!((legacy.bound, legacy.unit), (Bound::Below, Unit::Plain));
    }
}
