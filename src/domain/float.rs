//! Sample values as Prometheus writes them. A canary with no traffic answers
//! `0/0 = NaN`; a p95 in the `+Inf` bucket is `+Inf`. JSON has no word for
//! either (serde_json writes `null` and then refuses to read it back as a
//! number), so every stored or queued value goes through this module: finite
//! numbers stay JSON numbers, the rest become the strings `"NaN"`, `"+Inf"`
//! and `"-Inf"`, exactly as the Prometheus API spells them.

use serde::{Deserialize, Deserializer, Serializer};

/// `NaN`, `+Inf`, `-Inf`, or `None` for a finite value.
pub fn non_finite_text(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Parses Prometheus's spelling of a non-finite value (case-insensitive, as
/// Go's `strconv.ParseFloat` accepts it).
pub fn parse_non_finite(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "+inf" | "inf" | "+infinity" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Wire {
    Number(f64),
    Text(String),
}

fn from_wire<E: serde::de::Error>(w: Wire) -> Result<f64, E> {
    match w {
        Wire::Number(n) => Ok(n),
        Wire::Text(t) => parse_non_finite(&t)
            .ok_or_else(|| E::custom(format!("`{t}` is not a number, NaN, +Inf or -Inf"))),
    }
}

/// `#[serde(with = "crate::domain::float::always")]` for an `f64`.
pub mod always {
    use super::*;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match non_finite_text(*v) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_f64(*v),
        }
    }

    /// Also reads `null` as NaN: records queued by Sena before this module
    /// existed hold `null` where a NaN was, and must not block their queue.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Option::<Wire>::deserialize(d)? {
            Some(w) => from_wire(w),
            None => Ok(f64::NAN),
        }
    }
}

/// `#[serde(with = "crate::domain::float::optional", default)]` for an `Option<f64>`.
pub mod optional {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => always::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<Wire>::deserialize(d)?.map(from_wire).transpose()
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct Both {
        #[serde(with = "super::always")]
        v: f64,
        #[serde(with = "super::optional", default)]
        o: Option<f64>,
    }

    fn round_trip(v: f64, o: Option<f64>) -> (String, Both) {
        let json = serde_json::to_string(&Both { v, o }).unwrap();
        let back: Both = serde_json::from_str(&json).unwrap();
        (json, back)
    }

    #[test]
    fn non_finite_values_round_trip_in_prometheus_spelling() {
        let (json, back) = round_trip(f64::NAN, Some(f64::INFINITY));
        assert_eq!(json, r#"{"v":"NaN","o":"+Inf"}"#);
        assert!(back.v.is_nan());
        assert_eq!(back.o, Some(f64::INFINITY));
        let (json, back) = round_trip(f64::NEG_INFINITY, Some(f64::NAN));
        assert_eq!(json, r#"{"v":"-Inf","o":"NaN"}"#);
        assert_eq!(back.v, f64::NEG_INFINITY);
        assert!(back.o.unwrap().is_nan());
        let (json, back) = round_trip(0.0042, None);
        assert_eq!(json, r#"{"v":0.0042,"o":null}"#);
        assert_eq!((back.v, back.o), (0.0042, None));
        let (_, back) = round_trip(f64::MAX, Some(-f64::MIN_POSITIVE));
        assert_eq!((back.v, back.o), (f64::MAX, Some(-f64::MIN_POSITIVE)));
    }

    #[test]
    fn legacy_null_reads_as_nan_and_junk_is_an_error() {
        let back: Both = serde_json::from_str(r#"{"v":null}"#).unwrap();
        assert!(back.v.is_nan());
        assert_eq!(back.o, None);
        let err = serde_json::from_str::<Both>(r#"{"v":"lots"}"#).unwrap_err();
        assert!(err.to_string().contains("`lots` is not a number"), "{err}");
        assert!(serde_json::from_str::<Both>(r#"{"v":true}"#).is_err());
    }
}
