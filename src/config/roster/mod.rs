//! Roster YAML → `roster::Roster`, or every problem as `FILE:LINE:COLUMN`.
//!
//! Read from the same located tree, with the same helpers, as the rest of
//! the config: an unknown key is reported at the key with the closest valid
//! one, a wrong type or a bad value at the value, and reading goes on, so
//! the author fixes the whole file in one pass. A roster written inline in
//! `sena.yaml` is read from the config's own tree, so its positions are
//! simply where it is written. Once everything checks out, the roster is
//! built through `Roster::new`, which holds the on-call logic and knows
//! nothing of YAML. Coverage gaps and overlapping slots are warnings: the
//! roster still loads.

mod overrides;
mod slots;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_many;

use std::collections::BTreeMap;
use std::path::Path;

use jiff::tz::TimeZone;
use serde_saphyr::{Location, Spanned};

use super::raw::{parse, Node, Value};
use super::reader::{scalar, Fields, FileDiags};
use super::{Diagnostic, Diagnostics};
use crate::roster::{Person, Roster};

type Text = Spanned<String>;

const ROSTER_KEYS: &[&str] = &["timezone", "people", "slots", "overrides"];
const PERSON_KEYS: &[&str] = &["slack", "email"];

/// Reads and loads a roster file. `Ok` carries warnings (coverage gaps,
/// overlapping slots, overrides that change nothing); `Err` carries every
/// error found, and the warnings, in file order.
pub fn load_file(path: &Path) -> Result<(Roster, Diagnostics), Diagnostics> {
    match crate::config::text_file::read(path) {
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
    let root = parse(text, file).map_err(|syntax| Diagnostics(vec![syntax]))?;
    let mut d = FileDiags::new(file);
    let roster = read(&mut d, &root);
    let mut found = d.list;
    found.sort_by_key(|x| (x.line, x.column));
    let found = Diagnostics(found);
    match roster {
        Some(roster) if !found.has_errors() => Ok((roster, found)),
        _ => Err(found),
    }
}

/// The `roster:` value of `sena.yaml`: a file name relative to `dir`, or a
/// mapping written inline, read where it stands (its diagnostics go to `d`,
/// the config's own). A roster file's diagnostics go to `others`.
pub(crate) fn read_entry(
    d: &mut FileDiags,
    others: &mut Vec<Diagnostic>,
    node: &Node,
    dir: &Path,
) -> Option<Roster> {
    if let Value::Map(_) = node.value {
        return read(d, node);
    }
    let Some(rel) = node.value.scalar_text() else {
        d.error(
            &node.referenced,
            format!(
                "`roster` must be a file name or a mapping, found {}",
                node.value.kind()
            ),
        );
        return None;
    };
    let path = dir.join(&rel);
    if !path.exists() {
        d.error(
            &node.referenced,
            format!(
                "roster file `{rel}` does not exist (looked for {})",
                path.display()
            ),
        );
        return None;
    }
    match load_file(&path) {
        Ok((roster, warnings)) => {
            others.extend(warnings.0);
            Some(roster)
        }
        Err(found) => {
            others.extend(found.0);
            None
        }
    }
}

/// Reads the roster mapping at `node` into `d`. `None` when anything was
/// wrong, each problem reported; whole-week warnings point at `slots:`.
pub(crate) fn read(d: &mut FileDiags, node: &Node) -> Option<Roster> {
    let errors_before = error_count(d);
    let f = Fields::read(d, node, "the roster", ROSTER_KEYS)?;
    let zone = timezone(d, &f);
    let people = people(d, &f);
    let slots = slots::slots(d, &f, &people);
    let overrides = overrides::overrides(d, &f, zone.as_ref(), &people, &slots);
    if error_count(d) > errors_before {
        return None;
    }
    let (tz, zone_name) = zone?;
    let roster = Roster::new(
        tz,
        zone_name,
        people.into_values().collect(),
        slots,
        overrides,
    );
    let roster = match roster {
        Ok(roster) => roster,
        Err(e) => {
            // Every rule of `Roster::new` is checked above at its position;
            // reaching this is a reader bug, still said rather than panicked.
            let message = format!("internal error: the roster passed every check, but {e}");
            d.error(&node.referenced, message);
            return None;
        }
    };
    let at = f.key("slots").map_or(node.referenced, |k| k.referenced);
    week_warnings(d, &roster, &at);
    Some(roster)
}

fn error_count(d: &FileDiags) -> usize {
    d.list.iter().filter(|x| x.is_error()).count()
}

/// Hours nobody is paged and hours two slots claim: properties of the
/// whole week, so reported at the `slots:` key.
fn week_warnings(d: &mut FileDiags, roster: &Roster, at: &Location) {
    let zone = roster.timezone_name();
    let gaps = roster.coverage_gaps();
    if !gaps.is_empty() {
        let hours: Vec<String> = gaps.iter().map(ToString::to_string).collect();
        let message = format!(
            "coverage gap: nobody is paged {} ({zone})",
            hours.join(", ")
        );
        d.warning(at, message);
    }
    for overlap in roster.overlaps() {
        d.warning(at, overlap.message(zone));
    }
}

fn timezone(d: &mut FileDiags, f: &Fields) -> Option<(TimeZone, String)> {
    let written = f.required_text(d, "timezone")?;
    let name = written.value.trim();
    match TimeZone::get(name) {
        Ok(tz) => Some((tz, name.to_string())),
        Err(_) => {
            let message = format!(
                "unknown time zone `{}`; write an IANA name such as `Asia/Seoul` or `America/New_York`",
                written.value
            );
            d.error(&written.referenced, message);
            None
        }
    }
}

/// `people:`, by name. A person whose entry is unreadable is still listed
/// (without contacts), so the chains naming them do not add errors of
/// their own; the roster is not built anyway.
fn people(d: &mut FileDiags, f: &Fields) -> BTreeMap<String, Person> {
    let mut people = BTreeMap::new();
    if f.key("people").is_none() {
        f.required(d, "people");
        return people;
    }
    let entries: &[_] = match f.get("people").map(|n| (n, &n.value)) {
        None => &[],
        Some((_, Value::Map(entries))) => entries,
        Some((node, other)) => {
            let message = format!(
                "`people` must be a mapping of names to contacts, like `sena: {{ slack: U0SENA }}`, found {}",
                other.kind()
            );
            d.error(&node.referenced, message);
            return people;
        }
    };
    // A Slack member ID → the person who has it and where: the ID is how
    // a button press becomes a person, so it must name exactly one.
    let mut slack_ids: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for (name, node) in entries {
        let (person, slack) = person(d, name, node);
        if let (Some(id), Some(at)) = (&person.slack, slack) {
            match slack_ids.get(id) {
                Some((first, line)) => d.error(
                    &at.referenced,
                    format!(
                        "`{id}` is already {first}'s Slack member ID (line {line}); one Slack member is one person, or a button press could act as either"
                    ),
                ),
                None => {
                    let line = super::raw::line_col(&at.referenced).0;
                    slack_ids.insert(id.clone(), (name.value.clone(), line));
                }
            }
        }
        people.insert(name.value.clone(), person);
    }
    people
}

/// The person, and where their `slack:` value is written.
fn person(d: &mut FileDiags, name: &Text, node: &Node) -> (Person, Option<Text>) {
    let mut person = Person {
        name: name.value.clone(),
        slack: None,
        email: None,
    };
    let what = format!("person `{}`", name.value);
    let Some(f) = Fields::read(d, node, &what, PERSON_KEYS) else {
        return (person, None);
    };
    let email = f.get("email").and_then(|n| scalar(d, "email", n));
    let slack = f.get("slack").and_then(|n| scalar(d, "slack", n));
    if let Some(email) = &email {
        if !email.value.contains('@') {
            let message = format!("`{}` is not an email address", email.value);
            d.error(&email.referenced, message);
        }
    }
    if let Some(id) = &slack {
        if let Err(message) = check_slack_id(id.value.trim()) {
            d.error(&id.referenced, message);
        }
    }
    let present = |v: Option<Text>| {
        v.map(|t| t.value.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    person.slack = present(slack.clone());
    person.email = present(email);
    if person.slack.is_none() && person.email.is_none() {
        let message = format!(
            "person `{}` has neither `slack` nor `email`; add at least one so they can be paged",
            name.value
        );
        d.error(&name.referenced, message);
    }
    (person, slack)
}

/// Checks that `name` is a person in `people`, reporting it at `name`.
fn known(d: &mut FileDiags, name: &Text, people: &BTreeMap<String, Person>) -> bool {
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
    d.error(&name.referenced, message);
    false
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
