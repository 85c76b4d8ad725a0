//! Roster file → `Roster`, or every problem as `FILE:LINE:COLUMN: message`.
//!
//! YAML shape errors (syntax, unknown keys, wrong types) stop the parse,
//! so there is one of those at most; every semantic problem after that is
//! collected, so the author fixes the file in one pass. Coverage gaps and
//! overlapping slots are warnings: the roster still loads.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_saphyr::Spanned;

use super::raw::{RawOverride, RawRoster, Text};
use super::slots::{resolve_local, Override, Slot};
use super::{Person, Roster};
use crate::config::{Diagnostic, Diagnostics};

/// Reads and loads a roster file. `Ok` carries warnings (coverage gaps,
/// overlapping slots, overrides that change nothing); `Err` carries every
/// error found.
pub fn load_file(path: &Path) -> Result<(Roster, Diagnostics), Diagnostics> {
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, path),
        Err(e) => Err(Diagnostics(vec![Diagnostic::error(
            path,
            1,
            1,
            format!("cannot read the roster file: {e}"),
        )])),
    }
}

/// Loads a roster from `text`; `file` is only used to label diagnostics.
pub fn load_str(text: &str, file: &Path) -> Result<(Roster, Diagnostics), Diagnostics> {
    let mut options = serde_saphyr::Options::default();
    // One-line messages: the diagnostic already says where.
    options.with_snippet = false;
    let raw: RawRoster = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| Diagnostics(vec![yaml_diagnostic(file, &e)]))?;
    let slots_key = top_level_key(text, "slots").unwrap_or(pos(&raw.slots));
    build(raw, file, slots_key)
}

/// A roster written inline in `sena.yaml` (`roster: { timezone: ..., ... }`)
/// rather than in a file of its own. Deserialize it as the `roster:` value
/// with serde-saphyr, then `load_inline` checks it; positions are those in
/// `sena.yaml`. (Inside an untagged or flattened enum the positions are
/// lost: read `roster:` with a visitor that takes a string as a path and a
/// mapping as this.)
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct InlineRoster(Spanned<RawRoster>);

/// Checks an inline roster; warnings point at the `roster:` value.
pub fn load_inline(
    inline: InlineRoster,
    file: &Path,
) -> Result<(Roster, Diagnostics), Diagnostics> {
    let anchor = pos(&inline.0);
    build(inline.0.value, file, anchor)
}

/// Checks a parsed roster. Whole-week warnings are reported at `anchor`.
fn build(
    raw: RawRoster,
    file: &Path,
    (line, column): (u64, u64),
) -> Result<(Roster, Diagnostics), Diagnostics> {
    let mut checker = Checker {
        file,
        diagnostics: Diagnostics::default(),
    };
    let roster = checker.roster(raw);
    let mut diagnostics = checker.diagnostics;
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let zone = roster.timezone_name();
    let gaps = roster.coverage_gaps();
    if !gaps.is_empty() {
        let hours: Vec<String> = gaps.iter().map(ToString::to_string).collect();
        let message = format!(
            "coverage gap: nobody is paged {} ({zone})",
            hours.join(", ")
        );
        diagnostics.push(Diagnostic::warning(file, line, column, message));
    }
    for overlap in roster.overlaps() {
        diagnostics.push(Diagnostic::warning(
            file,
            line,
            column,
            overlap.message(zone),
        ));
    }
    Ok((roster, diagnostics))
}

pub(super) fn pos<T>(spanned: &Spanned<T>) -> (u64, u64) {
    let at = spanned.referenced;
    if at.line() == 0 {
        (1, 1)
    } else {
        (at.line(), at.column())
    }
}

/// Where the roster's top-level `key:` is written: the least indented line
/// that starts with it (a roster written inline in `sena.yaml` is indented).
/// Warnings about the whole week point at the `slots:` key, which `Spanned`
/// cannot give (it knows values only).
fn top_level_key(text: &str, key: &str) -> Option<(u64, u64)> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let body = line.trim_start_matches(' ');
            let rest = body.strip_prefix(key)?;
            let indent = line.len() - body.len();
            rest.trim_start()
                .starts_with(':')
                .then_some((indent, index))
        })
        .min()
        .map(|(indent, index)| (index as u64 + 1, indent as u64 + 1))
}

/// Slack notifies a person only for `<@ID>` with their member ID (`U…`, or
/// `W…` on Enterprise Grid); a display name, `@name` or `<!channel>` would
/// be sent as text and nobody would be paged.
fn check_slack_id(id: &str) -> Result<(), String> {
    const HOW: &str = "use the U… ID from the person's Slack profile (⋮ → Copy member ID)";
    if id.is_empty() {
        return Err(format!("`slack` is empty; {HOW}, or remove the key"));
    }
    let valid = |id: &str| {
        id.len() >= 2
            && id.starts_with(['U', 'W'])
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if valid(id) {
        return Ok(());
    }
    let shown = id.escape_debug();
    if valid(&id.to_ascii_uppercase()) {
        return Err(format!(
            "`{shown}` is not a Slack member ID: member IDs are upper case, did you mean `{}`?",
            id.to_ascii_uppercase()
        ));
    }
    Err(format!("`{shown}` is not a Slack member ID; {HOW}"))
}

fn yaml_diagnostic(file: &Path, error: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = error
        .location()
        .filter(|l| l.line() > 0)
        .map_or((1, 1), |l| (l.line(), l.column()));
    let text = error.to_string();
    let suffix = format!(" at line {line}, column {column}");
    let mut message = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
    // saphyr's advice names its own API, which a roster author cannot use.
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        message = format!("duplicate key `{key}`; each key may appear once");
    }
    Diagnostic::error(file, line, column, message)
}

/// Collects every semantic problem while building the roster; the slot
/// checks live in `parse_slots`.
pub(super) struct Checker<'a> {
    file: &'a Path,
    diagnostics: Diagnostics,
}

impl Checker<'_> {
    pub(super) fn error<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        let (line, column) = pos(at);
        self.diagnostics
            .push(Diagnostic::error(self.file, line, column, message));
    }

    fn warning<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        let (line, column) = pos(at);
        self.diagnostics
            .push(Diagnostic::warning(self.file, line, column, message));
    }

    fn roster(&mut self, raw: RawRoster) -> Roster {
        let (timezone, zone_name) = match TimeZone::get(raw.timezone.value.trim()) {
            Ok(tz) => (tz, raw.timezone.value.trim().to_string()),
            Err(_) => {
                let message = format!(
                    "unknown time zone `{}`; write an IANA name such as `Asia/Seoul` or `America/New_York`",
                    raw.timezone.value
                );
                self.error(&raw.timezone, message);
                // Keep checking the rest; this roster is discarded anyway.
                (TimeZone::UTC, "the roster's `timezone`".to_string())
            }
        };
        let people = self.people(raw.people.0);
        let slots = self.slots(raw.slots.value, &people);
        let overrides = raw
            .overrides
            .iter()
            .filter_map(|o| self.override_(o, (&timezone, &zone_name), &people, &slots))
            .collect();
        Roster {
            timezone,
            timezone_name: zone_name,
            people,
            slots,
            overrides,
        }
    }

    fn people(&mut self, raw: Vec<(Text, super::raw::RawPerson)>) -> BTreeMap<String, Person> {
        let mut people = BTreeMap::new();
        for (name, person) in raw {
            let present = |v: Option<Text>| v.map(|t| t.value.trim().to_string());
            if let Some(email) = &person.email {
                if !email.value.contains('@') {
                    let message = format!("`{}` is not an email address", email.value);
                    self.error(email, message);
                }
            }
            if let Some(id) = &person.slack {
                if let Err(message) = check_slack_id(id.value.trim()) {
                    self.error(id, message);
                }
            }
            let slack = present(person.slack).filter(|s| !s.is_empty());
            let email = present(person.email).filter(|s| !s.is_empty());
            if slack.is_none() && email.is_none() {
                let message = format!(
                    "person `{}` has neither `slack` nor `email`; add at least one so they can be paged",
                    name.value
                );
                self.error(&name, message);
            }
            let person = Person {
                name: name.value.clone(),
                slack,
                email,
            };
            people.insert(name.value, person);
        }
        people
    }

    /// Checks that `name` is a person in `people`.
    pub(super) fn known(&mut self, name: &Text, people: &BTreeMap<String, Person>) -> bool {
        if people.contains_key(&name.value) {
            return true;
        }
        let known: Vec<&str> = people.keys().map(String::as_str).collect();
        let message = if known.is_empty() {
            format!(
                "`{}` is not in `people` (nobody is defined there)",
                name.value
            )
        } else {
            format!(
                "`{}` is not in `people` (known: {})",
                name.value,
                known.join(", ")
            )
        };
        self.error(name, message);
        false
    }

    fn override_(
        &mut self,
        raw: &Spanned<RawOverride>,
        (tz, zone_name): (&TimeZone, &str),
        people: &BTreeMap<String, Person>,
        slots: &[Slot],
    ) -> Option<Override> {
        let o = &raw.value;
        let from = self.local_datetime(&o.from, zone_name);
        let to = self.local_datetime(&o.to, zone_name);
        let mut slot_ok = true;
        if let Some(slot) = &o.slot {
            if !slots.iter().any(|s| s.name == slot.value.trim()) {
                let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
                let message = format!(
                    "override names slot `{}`, which is not defined (slots: {})",
                    slot.value,
                    names.join(", ")
                );
                self.error(slot, message);
                slot_ok = false;
            }
        }
        if o.replace.value.0.is_empty() {
            self.error(
                &o.replace,
                "`replace` is empty; write it like `{ sena: copilot }`",
            );
        }
        let mut replace = Vec::new();
        for (replaced, replacement) in &o.replace.value.0 {
            let known = self.known(replaced, people) & self.known(replacement, people);
            if known {
                replace.push((replaced.value.clone(), replacement.value.clone()));
            }
            let slot_name = o.slot.as_ref().map(|s| s.value.trim());
            let paged = slots
                .iter()
                .filter(|s| slot_name.is_none_or(|n| n == s.name))
                .flat_map(|s| &s.levels)
                .any(|l| l.people.contains(&replaced.value));
            if known && slot_ok && !paged {
                let scope = slot_name.map_or("any slot".to_string(), |n| format!("slot `{n}`"));
                let message = format!(
                    "override replaces `{}`, who is not paged in {scope}; it changes nothing",
                    replaced.value
                );
                self.warning(replaced, message);
            }
        }
        let (from_local, to_local) = (from?, to?);
        if to_local <= from_local {
            let message = format!(
                "override ends ({}) before or when it starts ({})",
                o.to.value.trim(),
                o.from.value.trim()
            );
            self.error(&o.to, message);
            return None;
        }
        Some(Override {
            from_local,
            to_local,
            from: resolve_local(tz, from_local)?,
            to: resolve_local(tz, to_local)?,
            slot: o.slot.as_ref().map(|s| s.value.trim().to_string()),
            replace,
        })
    }

    /// Override times are wall-clock times in the roster's zone; an offset
    /// or `Z` would contradict it, so it is refused rather than ignored.
    fn local_datetime(&mut self, text: &Text, zone_name: &str) -> Option<DateTime> {
        let t = text.value.trim();
        let time_part = t.get(10..).unwrap_or("");
        if time_part.contains(['+', '-', 'Z', 'z', '[']) {
            let message =
                format!("`{t}` carries a zone or offset; write the local time in {zone_name}, like `2025-10-22T12:00`");
            self.error(text, message);
            return None;
        }
        match t.parse::<DateTime>() {
            Ok(dt) => Some(dt),
            Err(_) => {
                let message = format!(
                    "`{t}` is not a local date and time; write it like `2025-10-22T12:00` (in {zone_name})"
                );
                self.error(text, message);
                None
            }
        }
    }
}
