//! The roster file exactly as written, every value wrapped in `Spanned` so
//! a semantic error can point at its line and column. Nothing here is
//! checked beyond YAML shape and key names; `parse` turns it into a
//! `Roster` or diagnostics.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

pub type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoster {
    pub timezone: Text,
    pub people: Entries<RawPerson>,
    pub slots: Spanned<Vec<RawSlot>>,
    #[serde(default)]
    pub overrides: Vec<Spanned<RawOverride>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    #[serde(default)]
    pub slack: Option<Text>,
    #[serde(default)]
    pub email: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlot {
    pub name: Text,
    #[serde(default)]
    pub days: Option<Spanned<Vec<Text>>>,
    pub from: Text,
    pub to: Text,
    pub escalation: Spanned<Vec<Spanned<RawLevel>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLevel {
    #[serde(default)]
    pub after: Option<Text>,
    pub notify: Spanned<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverride {
    pub from: Text,
    pub to: Text,
    #[serde(default)]
    pub slot: Option<Text>,
    pub replace: Spanned<Entries<Text>>,
}

/// A YAML mapping read as ordered `(key, value)` pairs, keeping each key's
/// position: people and replacements are named by their keys, and errors
/// about them belong on the key. (Duplicate keys are rejected by the YAML
/// options before they get here.)
#[derive(Debug)]
pub struct Entries<V>(pub Vec<(Text, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Text>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }

            // An empty `people:` is null in YAML; let the checks say what is missing.
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(Entries(Vec::new()))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}
