//! `server.tokens`: the bearer tokens of the HTTP API, each standing for a
//! roster person or a named machine, with what it may do.
//!
//! ```yaml
//! server:
//!   tokens:
//!     - { person: lubit, token_file: /etc/sena/tokens/lubit }
//!     - { name: deploy-pipeline, token_file: /etc/sena/tokens/ci, can: [read] }
//! ```
//!
//! Secrets are read with `secret_file` (content never shown); only their
//! digests leave this file. A duplicate token would make one identity act
//! as another, so it is an error naming both files, never the token.

use std::path::Path;

use super::raw::{line_col, Node};
use super::reader::{closest, list, secret_file, text, unknown, Fields, FileDiags};
use crate::domain::{Capabilities, Capability, Identity, Principal, TokenDigest, TokenTable};
use crate::roster::Roster;

const TOKEN_KEYS: &[&str] = &["person", "name", "token_file", "can"];

/// Shorter than this and a token could be guessed; a warning, since it is
/// the operator's risk to take.
const MIN_TOKEN_CHARS: usize = 16;

/// Reads the `tokens` list; `None` after an error (already reported).
pub(super) fn tokens(
    d: &mut FileDiags,
    node: &Node,
    dir: &Path,
    roster: Option<&Roster>,
) -> Option<TokenTable> {
    let items = list(d, "tokens", node)?;
    if items.is_empty() {
        d.error(
            &node.referenced,
            "`tokens` is empty; list at least one, or remove it so that only callers on this host may change anything",
        );
        return None;
    }
    let mut entries = Vec::new();
    // (digest, file as shown, line) of every token read so far.
    let mut seen: Vec<(TokenDigest, String, u64)> = Vec::new();
    let mut complete = true;
    for item in items {
        match token(d, item, dir, roster, &mut seen) {
            Some(entry) => entries.push(entry),
            None => complete = false,
        }
    }
    complete.then(|| TokenTable::new(entries))
}

fn token(
    d: &mut FileDiags,
    item: &Node,
    dir: &Path,
    roster: Option<&Roster>,
    seen: &mut Vec<(TokenDigest, String, u64)>,
) -> Option<(TokenDigest, Identity)> {
    let f = Fields::read(d, item, "a token", TOKEN_KEYS)?;
    let principal = principal(d, &f, roster);
    let can = match (&principal, f.get("can")) {
        (_, Some(node)) => capabilities(d, node),
        (Some(Principal::Machine(name)), None) => {
            d.error(
                &f.at,
                format!(
                    "machine token `{name}` needs `can:`, the list of what it may do ({}); a machine gets nothing by default",
                    Capabilities::all()
                ),
            );
            None
        }
        (_, None) => Some(Capabilities::all()),
    };
    let secret = f
        .required(d, "token_file")
        .and_then(|_| secret_file(d, &f, "token_file", dir));
    let digest = secret.and_then(|secret| {
        let name = f.text(d, "token_file")?;
        let shown = dir.join(&name.value).display().to_string();
        let line = line_col(&name.referenced).0;
        if !secret.expose().chars().all(|c| c.is_ascii_graphic()) {
            d.error(
                &name.referenced,
                format!("`token_file`: {shown} holds spaces or non-ASCII characters, which an `Authorization: Bearer` header cannot carry; use printable ASCII, as `openssl rand -hex 32` writes"),
            );
            return None;
        }
        if secret.expose().chars().count() < MIN_TOKEN_CHARS {
            d.warning(
                &name.referenced,
                format!("`token_file`: {shown} holds fewer than {MIN_TOKEN_CHARS} characters, short enough to guess; generate one with `openssl rand -hex 32`"),
            );
        }
        let digest = TokenDigest::of(secret.expose());
        if let Some((_, first, first_line)) = seen.iter().find(|(known, ..)| *known == digest) {
            let message = if *first == shown {
                format!("`token_file`: {shown} is already used on line {first_line}; give every identity its own token")
            } else {
                format!("`token_file`: {shown} holds the same token as {first} (line {first_line}); give every identity its own token")
            };
            d.error(&name.referenced, message);
            return None;
        }
        seen.push((digest, shown, line));
        Some(digest)
    });
    Some((
        digest?,
        Identity {
            principal: principal?,
            can: can?,
        },
    ))
}

/// `person:` (checked against the roster when there is one, like an
/// approver) or `name:`, exactly one.
fn principal(d: &mut FileDiags, f: &Fields, roster: Option<&Roster>) -> Option<Principal> {
    let person = f.get("person").and_then(|n| text(d, "person", n));
    let name = f.get("name").and_then(|n| text(d, "name", n));
    let people: Vec<&str> =
        roster.map_or_else(Vec::new, |r| r.people.keys().map(String::as_str).collect());
    match (person, name) {
        (Some(_), Some(_)) => {
            let (p, n) = (f.key("person")?, f.key("name")?);
            let second = if line_col(&n.referenced) > line_col(&p.referenced) {
                n
            } else {
                p
            };
            d.error(
                &second.referenced,
                "set `person` (a roster person) or `name` (a machine identity), not both",
            );
            None
        }
        (None, None) => {
            if f.key("person").is_none() && f.key("name").is_none() {
                d.error(
                    &f.at,
                    "a token needs `person:` (a roster person) or `name:` (a machine, like a deploy pipeline)",
                );
            }
            None
        }
        (Some(person), None) => {
            if roster.is_some() && !people.contains(&person.value.as_str()) {
                let hint = match closest(&person.value, &people) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("known: {}", people.join(", ")),
                };
                d.error(
                    &person.referenced,
                    format!(
                        "person `{}` is not one of the roster's people; {hint}",
                        person.value
                    ),
                );
                return None;
            }
            Some(Principal::Person(person.value))
        }
        (None, Some(name)) => {
            if people.contains(&name.value.as_str()) {
                d.error(
                    &name.referenced,
                    format!("`{0}` is a roster person; write `person: {0}` for them, or give the machine a name of its own", name.value),
                );
                return None;
            }
            Some(Principal::Machine(name.value))
        }
    }
}

/// `can: [read, ack]`: every word a known capability, at least one.
fn capabilities(d: &mut FileDiags, node: &Node) -> Option<Capabilities> {
    let items = list(d, "can", node)?;
    if items.is_empty() {
        d.error(
            &node.referenced,
            format!(
                "`can` is empty; list what the token may do ({})",
                Capabilities::all()
            ),
        );
        return None;
    }
    let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
    let mut found = Vec::new();
    let mut complete = true;
    for item in items {
        let Some(word) = text(d, "can", item) else {
            complete = false;
            continue;
        };
        match Capability::parse(word.value.trim()) {
            Some(capability) => found.push(capability),
            None => {
                d.error(&word.referenced, unknown("capability", &word.value, &names));
                complete = false;
            }
        }
    }
    complete.then(|| Capabilities::of(&found))
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
