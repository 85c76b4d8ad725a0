//! The YAML document as a tree of spanned nodes, before any meaning is
//! given to it.
//!
//! Why a tree and not `#[derive(Deserialize)]` straight into typed structs:
//! serde stops at the first structural error (an unknown key, a wrong type,
//! a missing field), so a rules file with three mistakes would take three
//! runs of `sena check`. Parsing into this tree leaves only YAML *syntax*
//! errors fatal; everything else is found by the readers in `reader.rs` in
//! one pass, each at its own line and column. serde-saphyr's `Spanned` gives
//! every node and every key its location, and its duplicate-key policy
//! still applies because it is enforced by the parser, not by serde derive.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Location, MessageFormatter, NonFiniteFloatPolicy, Spanned};

use super::Diagnostic;

/// A YAML node and where it is written (`referenced`: for an alias, the
/// alias itself, which is where the author looks).
pub(crate) type Node = Spanned<Value>;

#[derive(Debug)]
pub(crate) enum Value {
    /// Entries in document order; keys carry their own location so an
    /// unknown key is reported at the key, not at its value.
    Map(Vec<(Spanned<String>, Node)>),
    Seq(Vec<Node>),
    Str(String),
    /// A number as text: callers decide whether they want an integer, a
    /// float, or a name that happens to look like a number (`approver: 42`).
    Number(String),
    Bool(bool),
    Null,
}

impl Value {
    /// How the value reads in an error message: "found a list".
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Map(_) => "a mapping",
            Value::Seq(_) => "a list",
            Value::Str(_) => "text",
            Value::Number(_) => "a number",
            Value::Bool(_) => "true/false",
            Value::Null => "nothing",
        }
    }

    /// The text of a scalar (strings, numbers, booleans); `None` for
    /// mappings, lists and null.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Str(s) | Value::Number(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Value::Map(entries))
    }
}

/// Parses one YAML document. The only error left at this stage is a
/// syntax error (or a duplicate key), reported at its own location with
/// serde-saphyr's plain message, without the rendered source snippet.
pub(crate) fn parse(src: &str, file: &Path) -> Result<Node, Diagnostic> {
    // Non-finite numbers (`.nan`, `1e400`) pass through so the reader of the
    // key can reject them at their line with a reason, instead of the whole
    // file failing as if it were a syntax error.
    let options = serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::Error,
        non_finite_float_policy: NonFiniteFloatPolicy::PassThrough,
    };
    serde_saphyr::from_str_with_options::<Node>(src, options).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| line_col(&l));
        Diagnostic::error(file, line, column, plain_message(&e))
    })
}

/// The error text alone: `UserMessageFormatter` drops serde-saphyr's
/// developer hints ("set DuplicateKeyPolicy in Options") and, applied to the
/// error without its snippet, gives one line with no location suffix.
fn plain_message(e: &serde_saphyr::Error) -> String {
    let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
    let first_line = message.lines().next().unwrap_or("invalid YAML").trim();
    // The formatter leaves control characters to the renderer; a message
    // quoting the input must not be able to move a terminal's cursor.
    first_line
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A scalar exactly as written in `src` (`1e-400`, `.nan`): a YAML number
/// arrives already converted, and the conversion can lose what was meant.
pub(crate) fn source_text<'s>(src: &'s str, at: &Location) -> Option<&'s str> {
    let span = at.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    src.get(start..start.checked_add(len)?)
}

/// 1-based line and column; an unknown location (0:0) becomes 1:1 so every
/// diagnostic still reads as `FILE:LINE:COLUMN`.
pub(crate) fn line_col(at: &Location) -> (u64, u64) {
    (at.line().max(1), at.column().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> &'static Path {
        Path::new("x.yaml")
    }

    #[test]
    fn keys_and_values_carry_their_locations() {
        let node = parse("a: 1\nb:\n  - c: true\n", file()).unwrap();
        let Value::Map(entries) = &node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.value, "a");
        assert!(matches!(&entries[0].1.value, Value::Number(n) if n == "1"));
        assert_eq!(line_col(&entries[1].0.referenced), (2, 1));
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a seq")
        };
        assert_eq!(line_col(&items[0].referenced), (3, 5));
    }

    #[test]
    fn syntax_errors_have_a_location_and_no_snippet() {
        let d = parse("a: 1\nb: [1, 2\nc: 3\n", file()).unwrap_err();
        assert_eq!((d.line, d.column), (3, 2));
        assert!(!d.message.contains('\n'), "{}", d.message);
        assert!(!d.message.contains("line 3"), "{}", d.message);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let d = parse("a: 1\nb: 2\na: 3\n", file()).unwrap_err();
        assert_eq!((d.line, d.column), (3, 1));
        assert!(d.message.contains("duplicate"), "{}", d.message);
    }

    #[test]
    fn empty_document_is_null() {
        assert!(matches!(parse("", file()).unwrap().value, Value::Null));
    }
}
