//! Typed reading of the spanned YAML tree, collecting every problem instead
//! of stopping at the first. Each reader reports at the most useful place:
//! an unknown key at the key (with the closest valid key), a bad value at
//! the value, a missing key at the start of the mapping that lacks it.
//!
//! Readers return what they could read; after an error the caller may get a
//! default back so that one mistake does not cascade into others. The config
//! is only built when the whole load produced no error, so a default that
//! stands in for a bad value is never used.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::raw::{line_col, Node, Value};
use super::value::parse_duration;
use super::{Diagnostic, Secret};

/// The diagnostics of one file; every location below is in it.
pub(crate) struct FileDiags {
    pub file: PathBuf,
    pub list: Vec<Diagnostic>,
}

impl FileDiags {
    pub fn new(file: &Path) -> Self {
        FileDiags {
            file: file.to_path_buf(),
            list: Vec::new(),
        }
    }
    pub fn error(&mut self, at: &Location, message: impl Into<String>) {
        let (line, column) = line_col(at);
        self.list
            .push(Diagnostic::error(&self.file, line, column, message));
    }
    pub fn warning(&mut self, at: &Location, message: impl Into<String>) {
        let (line, column) = line_col(at);
        self.list
            .push(Diagnostic::warning(&self.file, line, column, message));
    }
}

/// A mapping whose unknown keys have already been reported.
pub(crate) struct Fields<'n> {
    entries: &'n [(Spanned<String>, Node)],
    /// Where the mapping starts: missing keys are reported here.
    pub at: Location,
}

impl<'n> Fields<'n> {
    /// Reads `node` as a mapping allowed to hold `keys`. A null node (`server:`
    /// with nothing under it) reads as an empty mapping, so defaults apply.
    pub fn read(d: &mut FileDiags, node: &'n Node, what: &str, keys: &[&str]) -> Option<Self> {
        let entries: &[_] = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            other => {
                d.error(
                    &node.referenced,
                    format!("{what} must be a mapping, found {}", other.kind()),
                );
                return None;
            }
        };
        for (key, _) in entries {
            if !keys.contains(&key.value.as_str()) {
                d.error(&key.referenced, unknown("key", &key.value, keys));
            }
        }
        Some(Fields {
            entries,
            at: node.referenced,
        })
    }

    /// The value of `key`; `None` when absent or written empty (`key:`).
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v.value, Value::Null))
    }

    /// The key itself, for errors about the key rather than its value.
    pub fn key(&self, key: &str) -> Option<&'n Spanned<String>> {
        self.entry(key).map(|(k, _)| k)
    }

    fn entry(&self, key: &str) -> Option<&'n (Spanned<String>, Node)> {
        self.entries.iter().find(|(k, _)| k.value == key)
    }

    pub fn required(&self, d: &mut FileDiags, key: &str) -> Option<&'n Node> {
        match self.entry(key) {
            None => {
                d.error(&self.at, format!("missing required key `{key}`"));
                None
            }
            Some((_, v)) if matches!(v.value, Value::Null) => {
                d.error(&v.referenced, format!("`{key}` is empty"));
                None
            }
            Some((_, v)) => Some(v),
        }
    }

    /// Optional non-empty text.
    pub fn text(&self, d: &mut FileDiags, key: &str) -> Option<Spanned<String>> {
        self.get(key).and_then(|node| text(d, key, node))
    }

    /// A required list. An empty one is reported ("`key` is empty; `add`",
    /// where `add` says what to write) and still returned, so the caller
    /// goes on checking the rest of the file.
    pub fn required_list(&self, d: &mut FileDiags, key: &str, add: &str) -> Option<&'n [Node]> {
        let node = self.required(d, key)?;
        let items = list(d, key, node)?;
        if items.is_empty() {
            d.error(&node.referenced, format!("`{key}` is empty; {add}"));
        }
        Some(items)
    }

    pub fn required_text(&self, d: &mut FileDiags, key: &str) -> Option<Spanned<String>> {
        self.required(d, key).and_then(|node| text(d, key, node))
    }

    /// A duration, `default` when absent (or after an error, already reported).
    pub fn duration(&self, d: &mut FileDiags, key: &str, default: Duration) -> Duration {
        self.optional_duration(d, key).unwrap_or(default)
    }

    pub fn optional_duration(&self, d: &mut FileDiags, key: &str) -> Option<Duration> {
        let node = self.get(key)?;
        if node.value.scalar_text().is_none() {
            let found = node.value.kind();
            d.error(
                &node.referenced,
                format!("`{key}` must be a duration like `30s` or `5m`, found {found}"),
            );
            return None;
        }
        let text = text(d, key, node)?;
        parse_duration(&text.value)
            .map_err(|e| d.error(&text.referenced, e))
            .ok()
    }

    /// A duration that must be more than zero: periods and timeouts.
    pub fn period(&self, d: &mut FileDiags, key: &str, default: Duration) -> Duration {
        let value = self.duration(d, key, default);
        if value.is_zero() {
            if let Some(node) = self.get(key) {
                d.error(&node.referenced, format!("`{key}` must be more than 0"));
            }
            return default;
        }
        value
    }

    /// A whole number of at least 1, `default` when absent (or after an error).
    pub fn count(&self, d: &mut FileDiags, key: &str, default: usize) -> usize {
        let Some(node) = self.get(key) else {
            return default;
        };
        match node
            .value
            .scalar_text()
            .map(|t| t.trim().replace('_', "").parse::<usize>())
        {
            Some(Ok(n)) if n > 0 => n,
            _ => {
                d.error(
                    &node.referenced,
                    format!("`{key}` must be a whole number above 0, like 1000000"),
                );
                default
            }
        }
    }

    /// A size in bytes (`16MiB`, `16777216`), `default` when absent (or
    /// after an error, already reported).
    pub fn byte_size(&self, d: &mut FileDiags, key: &str, default: u64) -> u64 {
        let Some(node) = self.get(key) else {
            return default;
        };
        let Some(written) = node.value.scalar_text() else {
            let found = node.value.kind();
            d.error(
                &node.referenced,
                format!("`{key}` must be a size like `16MiB`, found {found}"),
            );
            return default;
        };
        super::value::parse_byte_size(&written).unwrap_or_else(|e| {
            d.error(&node.referenced, format!("`{key}`: {e}"));
            default
        })
    }

    pub fn boolean(&self, d: &mut FileDiags, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Node {
                value: Value::Bool(b),
                ..
            }) => *b,
            Some(node) => {
                let found = node.value.kind();
                d.error(
                    &node.referenced,
                    format!("`{key}` must be true or false, found {found}"),
                );
                default
            }
        }
    }

    /// One of a fixed set of words (`on_fail: rollback`), `default` when absent.
    pub fn choice<T: Copy>(
        &self,
        d: &mut FileDiags,
        key: &str,
        valid: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(text) = self.text(d, key) else {
            return default;
        };
        if let Some((_, v)) = valid.iter().find(|(name, _)| *name == text.value) {
            return *v;
        }
        let names: Vec<&str> = valid.iter().map(|(name, _)| *name).collect();
        d.error(
            &text.referenced,
            unknown(&format!("{key} value"), &text.value, &names),
        );
        default
    }
}

/// The text of a scalar; numbers and booleans read as written (`approver: 42`).
pub(crate) fn text(d: &mut FileDiags, key: &str, node: &Node) -> Option<Spanned<String>> {
    let text = scalar(d, key, node)?;
    if text.value.trim().is_empty() {
        d.error(&node.referenced, format!("`{key}` is empty"));
        return None;
    }
    Some(text)
}

/// The text of a scalar, empty allowed: for values whose emptiness deserves
/// its own message (`slack: ''` says how to find a member ID).
pub(crate) fn scalar(d: &mut FileDiags, key: &str, node: &Node) -> Option<Spanned<String>> {
    match node.value.scalar_text() {
        Some(s) => Some(Spanned {
            value: s,
            referenced: node.referenced,
            defined: node.defined,
        }),
        None => {
            d.error(
                &node.referenced,
                format!("`{key}` must be text, found {}", node.value.kind()),
            );
            None
        }
    }
}

pub(crate) fn list<'n>(d: &mut FileDiags, key: &str, node: &'n Node) -> Option<&'n [Node]> {
    match &node.value {
        Value::Seq(items) => Some(items),
        other => {
            d.error(
                &node.referenced,
                format!("`{key}` must be a list, found {}", other.kind()),
            );
            None
        }
    }
}

/// "unknown key `belo`, did you mean `below`?" — or the valid choices when
/// nothing is close, so the author never has to open the docs to fix a typo.
pub(crate) fn unknown(what: &str, word: &str, valid: &[&str]) -> String {
    match closest(word, valid) {
        Some(near) => format!("unknown {what} `{word}`, did you mean `{near}`?"),
        None => format!("unknown {what} `{word}` (valid: {})", valid.join(", ")),
    }
}

/// The candidate within a small edit distance of `word`, ignoring case and
/// `-`/`_`: close enough to be a typo, not a different word.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_lowercase().replace('-', "_");
    let word_n = norm(word);
    candidates
        .iter()
        .map(|c| (edit_distance(&word_n, &norm(c)), *c))
        .filter(|(dist, c)| *dist <= (word.chars().count().max(c.chars().count()) / 3).max(1))
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (`fro` →
/// `for`), the commonest typo; keys are short, so a full table is cheap.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in t.iter_mut().enumerate() {
        row[0] = i;
    }
    t[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            t[i][j] = (t[i - 1][j] + 1)
                .min(t[i][j - 1] + 1)
                .min(t[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                t[i][j] = t[i][j].min(t[i - 2][j - 2] + 1);
            }
        }
    }
    t[a.len()][b.len()]
}

/// `http(s)://host[:port][/path]`, without echoing the URL in the error:
/// URLs here may embed credentials (a Slack webhook is one).
pub(crate) fn check_http_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("must be an http:// or https:// URL")?;
    if url.chars().any(char::is_whitespace) {
        return Err("must not contain spaces".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_port.rsplit_once(':') {
        // `[::1]:9090` keeps its brackets in the host part.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (host_port, None),
    };
    if host.is_empty() || host == "[]" {
        return Err("has no host".into());
    }
    if let Some(port) = port {
        port.parse::<u16>()
            .map_err(|_| "has a port that is not a number from 0 to 65535")?;
    }
    Ok(())
}

/// Reads a secret from the file named by `key`, relative to the config's
/// directory; the one trailing newline editors add is not part of it. A
/// secret with any other control character (a second line, a tab, a stray
/// `\r`) would only fail at run time, as an HTTP header or SMTP login that
/// makes no sense ("unexpected answer from Prometheus"), so it is refused
/// here, naming the file and never its content.
pub(crate) fn secret_file(
    d: &mut FileDiags,
    f: &Fields,
    key: &str,
    config_dir: &Path,
) -> Option<Secret> {
    let name = f.text(d, key)?;
    let path = config_dir.join(&name.value);
    match super::text_file::read(&path) {
        Ok(s) if s.trim().is_empty() => {
            d.error(
                &name.referenced,
                format!("`{key}`: {} is empty", path.display()),
            );
            None
        }
        Ok(s) => {
            let secret = s
                .strip_suffix("\r\n")
                .or_else(|| s.strip_suffix('\n'))
                .unwrap_or(&s);
            if secret.chars().any(char::is_control) {
                d.error(
                    &name.referenced,
                    format!(
                        "`{key}`: {} holds a control character (a line break, tab or similar) besides one final newline; a secret file must hold the secret alone, on one line",
                        path.display()
                    ),
                );
                return None;
            }
            Some(Secret::new(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            d.error(
                &name.referenced,
                format!("`{key}`: {} does not exist", path.display()),
            );
            None
        }
        Err(e) => {
            d.error(
                &name.referenced,
                format!("`{key}`: cannot read {}: {e}", path.display()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::parse;

    #[test]
    fn suggests_the_closest_key_for_typos_only() {
        let keys = ["name", "query", "below", "above", "for", "on_fail"];
        assert_eq!(closest("belo", &keys), Some("below"));
        assert_eq!(closest("Below", &keys), Some("below"));
        assert_eq!(closest("on-fail", &keys), Some("on_fail"));
        assert_eq!(closest("onfail", &keys), Some("on_fail"));
        assert_eq!(closest("threshold", &keys), None);
        assert_eq!(closest("fro", &keys), Some("for"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_all_reported() {
        let file = Path::new("r.yaml");
        let node = parse("belo: 1\nfor: soon\non_fail: rolback\nx: 1\n", file).unwrap();
        let mut d = FileDiags::new(file);
        let f = Fields::read(&mut d, &node, "check", &["below", "for", "on_fail"]).unwrap();
        f.duration(&mut d, "for", Duration::ZERO);
        f.choice(&mut d, "on_fail", &[("rollback", 1), ("hold", 2)], 2);
        f.required(&mut d, "name_missing");
        let lines: Vec<String> = d.list.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines[0],
            "r.yaml:1:1: unknown key `belo`, did you mean `below`?"
        );
        assert_eq!(
            lines[1],
            "r.yaml:4:1: unknown key `x` (valid: below, for, on_fail)"
        );
        assert!(
            lines[2].starts_with("r.yaml:2:6: `soon` is not a duration"),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[3],
            "r.yaml:3:10: unknown on_fail value `rolback`, did you mean `rollback`?"
        );
        assert_eq!(lines[4], "r.yaml:1:1: missing required key `name_missing`");
    }

    #[test]
    fn urls() {
        assert!(check_http_url("http://127.0.0.1:9090").is_ok());
        assert!(check_http_url("https://prom.example.com/prefix").is_ok());
        assert!(check_http_url("http://[::1]:9090/").is_ok());
        assert!(check_http_url("127.0.0.1:9090").is_err());
        assert!(check_http_url("http://").is_err());
        assert!(check_http_url("http://host:port").is_err());
        assert!(check_http_url("http://a b").is_err());
    }
}
