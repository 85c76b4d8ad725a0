//! Decoding a Prometheus HTTP API answer (`{status, data: {resultType,
//! result}}` or `{status: "error", errorType, error}`) into samples, with a
//! cap on how many series are decoded.
//!
//! Why by hand rather than a client crate's types: a check may bring in at
//! most `max_series` series, and the point of the cap is memory. The serde
//! visitors below keep the first `max_series` series, then only *count* the
//! rest (`IgnoredAny` allocates nothing), so an answer of 100,000 series costs
//! the bytes of the body (already capped by `max_response_bytes`) and a
//! thousand decoded series, never 100,000 label maps.
//!
//! Values arrive as strings (`[1712345678.9, "0.5"]`); Prometheus writes the
//! non-finite ones as `NaN`, `+Inf` and `-Inf`, which become the f64 values
//! of the same name. Anything else that is not a number is a protocol error,
//! never a panic and never a silent zero.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{DatasourceError, RangeSeries, Sample};

/// What a successful answer held, once decoded.
#[derive(Debug, PartialEq)]
pub(crate) enum Decoded {
    Vector(Vec<Sample>),
    Scalar(f64),
    Matrix(Vec<RangeSeries>),
}

/// Decodes `body`, keeping at most `max_series` series. More series than
/// that is [`DatasourceError::TooManySeries`] with the full count.
pub(crate) fn decode(body: &[u8], max_series: usize) -> Result<Decoded, DatasourceError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let envelope = EnvelopeSeed { max_series }
        .deserialize(&mut de)
        .map_err(|e| protocol(format!("the answer is not Prometheus API JSON: {e}")))?;
    de.end()
        .map_err(|e| protocol(format!("trailing data after the JSON answer: {e}")))?;
    envelope.into_decoded(max_series)
}

/// Reads Prometheus's error fields from a non-2xx body, if it has them.
pub(crate) fn error_of(body: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(rename = "errorType")]
        error_type: Option<String>,
        error: Option<String>,
    }
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    Some((
        parsed.error_type.unwrap_or_else(|| "error".into()),
        parsed.error?,
    ))
}

fn protocol(why: String) -> DatasourceError {
    DatasourceError::Protocol(why)
}

/// The envelope as read, before its parts are checked against each other.
#[derive(Default)]
struct Envelope {
    status: Option<String>,
    error_type: Option<String>,
    error: Option<String>,
    result_type: Option<String>,
    result: Option<Items>,
}

impl Envelope {
    fn into_decoded(self, max_series: usize) -> Result<Decoded, DatasourceError> {
        match self.status.as_deref() {
            Some("success") => {}
            Some("error") => {
                let kind = self.error_type.unwrap_or_else(|| "error".into());
                let why = self.error.unwrap_or_default();
                return Err(DatasourceError::Query(format!("{kind}: {why}")));
            }
            other => return Err(protocol(format!("`status` is {other:?}"))),
        }
        let items = self
            .result
            .ok_or_else(|| protocol("no `data.result` in the answer".into()))?;
        // A scalar's two items are not series; every other result's are.
        if items.total > max_series && self.result_type.as_deref() != Some("scalar") {
            return Err(DatasourceError::TooManySeries {
                count: items.total,
                limit: max_series,
            });
        }
        match self.result_type.as_deref() {
            Some("vector") => items
                .kept
                .into_iter()
                .map(|item| match item {
                    Item::Series(Series {
                        metric,
                        value: Some(v),
                        ..
                    }) => Ok(Sample {
                        labels: metric,
                        value: v.1,
                    }),
                    Item::Series(_) => Err(protocol(
                        "a vector series has no `value` (native histograms are not supported)"
                            .into(),
                    )),
                    _ => Err(protocol(
                        "a vector result holds something other than series".into(),
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Decoded::Vector),
            Some("scalar") => match items.kept.as_slice() {
                [Item::Time, Item::Value(v)] => Ok(Decoded::Scalar(*v)),
                _ => Err(protocol(
                    "a scalar result is not `[time, \"value\"]`".into(),
                )),
            },
            Some("matrix") => items
                .kept
                .into_iter()
                .map(|item| match item {
                    Item::Series(Series { metric, values, .. }) => Ok(RangeSeries {
                        labels: metric,
                        points: values
                            .into_iter()
                            .map(|(t, v)| (t.floor() as i64, v))
                            .collect(),
                    }),
                    _ => Err(protocol(
                        "a matrix result holds something other than series".into(),
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Decoded::Matrix),
            Some(other) => Err(protocol(format!(
                "result type `{other}`; checks need an instant vector or a scalar"
            ))),
            None => Err(protocol("no `data.resultType` in the answer".into())),
        }
    }
}

/// `data.result` as read: the first `max_series` items, and how many there were.
struct Items {
    kept: Vec<Item>,
    total: usize,
}

/// One element of `data.result`: a series (vector, matrix), or one half of
/// a scalar's `[time, "value"]`.
enum Item {
    Series(Series),
    Time,
    Value(f64),
}

#[derive(Default)]
struct Series {
    metric: BTreeMap<String, String>,
    value: Option<(f64, f64)>,
    values: Vec<(f64, f64)>,
}

/// A sample value as Prometheus writes it.
pub(crate) fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        // Rust's parser also takes "inf" and "nan": Prometheus never writes
        // those, and a number that is not Prometheus's is not trusted.
        t if t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            t.parse().ok()
        }
        _ => None,
    }
}

struct EnvelopeSeed {
    max_series: usize,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Prometheus API answer object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut env = Envelope::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "status" => env.status = Some(map.next_value()?),
                "errorType" => env.error_type = map.next_value()?,
                "error" => env.error = map.next_value()?,
                "data" => {
                    let data = map.next_value_seed(DataSeed {
                        max_series: self.max_series,
                    })?;
                    env.result_type = data.0;
                    env.result = data.1;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

struct DataSeed {
    max_series: usize,
}

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = (Option<String>, Option<Items>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = (Option<String>, Option<Items>);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`data` with `resultType` and `result`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut result_type, mut result) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resultType" => result_type = Some(map.next_value::<String>()?),
                "result" => {
                    result = Some(map.next_value_seed(ItemsSeed {
                        max_series: self.max_series,
                    })?)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((result_type, result))
    }
}

struct ItemsSeed {
    max_series: usize,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = Items;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Items, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = Items;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of series")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
        let mut kept = Vec::new();
        let mut total = 0usize;
        // A scalar is two items; the cap is about series, so keep two.
        let keep = self.max_series.max(2);
        while total < keep {
            match seq.next_element::<Item>()? {
                Some(item) => kept.push(item),
                None => return Ok(Items { kept, total }),
            }
            total += 1;
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {
            total += 1;
        }
        Ok(Items { kept, total })
    }
}

impl<'de> de::Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a series object, a time or a value")
    }
    // A scalar's time says nothing the query's own time does not.
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Item, E> {
        Ok(Item::Time)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Item, E> {
        Ok(Item::Time)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Item, E> {
        Ok(Item::Time)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Item, E> {
        value_of::<E>(v).map(Item::Value)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut s = Series::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "metric" => s.metric = map.next_value()?,
                "value" => s.value = Some(map.next_value::<Point>()?.0),
                "values" => {
                    s.values = map
                        .next_value::<Vec<Point>>()?
                        .into_iter()
                        .map(|p| p.0)
                        .collect()
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Item::Series(s))
    }
}

fn value_of<E: de::Error>(text: &str) -> Result<f64, E> {
    parse_value(text).ok_or_else(|| {
        let shown: String = text.chars().take(40).collect();
        E::custom(format!("`{shown}` is not a sample value"))
    })
}

/// `[time, "value"]`.
struct Point((f64, f64));

impl<'de> de::Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Point, D::Error> {
        let (time, value): (f64, String) = de::Deserialize::deserialize(d)?;
        Ok(Point((time, value_of::<D::Error>(&value)?)))
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
