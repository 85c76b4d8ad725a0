//! The `series:` of an input series: a metric name and its labels written
//! as in PromQL and promtool (`http_requests_total{app="web",code="500"}`,
//! or `{__name__="up", job="x"}`), and their OpenMetrics spelling for
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! Only equality is allowed: an input series names one series, so `=~` or
//! `!=` would be a mistake worth saying, not a pattern to expand.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Every label of one series, `__name__` included.
pub type Labels = BTreeMap<String, String>;

/// Parses `name{label="value", ...}`; errors say where (1-based character).
pub fn parse(text: &str) -> Result<Labels, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        at: 0,
    };
    let mut labels = Labels::new();
    p.skip_space();
    if p.peek().is_some_and(|c| c != '{') {
        let name = p.name(true);
        if name.is_empty() {
            return Err(p.error("expected a metric name or `{`"));
        }
        labels.insert("__name__".to_string(), name);
    }
    p.skip_space();
    if p.eat('{') {
        loop {
            p.skip_space();
            if p.eat('}') {
                break;
            }
            let label_at = p.at;
            let label = p.name(false);
            if label.is_empty() {
                return Err(p.error("expected a label name"));
            }
            p.skip_space();
            if !p.eat('=') {
                return Err(p.error("expected `=` after the label name"));
            }
            if matches!(p.peek(), Some('~' | '=')) {
                return Err(p.error("an input series names one series: only `=` is allowed"));
            }
            p.skip_space();
            let value = p.quoted()?;
            if labels.insert(label.clone(), value).is_some() {
                p.at = label_at;
                return Err(p.error(&format!("label `{label}` is given twice")));
            }
            p.skip_space();
            if p.eat(',') {
                continue;
            }
            if p.eat('}') {
                break;
            }
            return Err(p.error("expected `,` or `}`"));
        }
    }
    p.skip_space();
    if p.peek().is_some() {
        return Err(p.error("unexpected text after the series"));
    }
    match labels.get("__name__") {
        None => Err("the series has no metric name; write `name{...}` or `{__name__=\"name\", ...}`".into()),
        Some(name) if !valid_name(name, true) => Err(format!(
            "`{name}` is not a metric name (letters, digits, `_` and `:`, not starting with a digit)"
        )),
        Some(_) => Ok(labels),
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        self.at += usize::from(found);
        found
    }
    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }
    fn name(&mut self, colons: bool) -> String {
        let start = self.at;
        while let Some(c) = self.peek() {
            let ok = c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':');
            if !ok || (self.at == start && c.is_ascii_digit()) {
                break;
            }
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }
    /// A PromQL string: `"..."` or `'...'` with backslash escapes.
    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek().filter(|c| *c == '"' || *c == '\'') else {
            return Err(self.error("expected a quoted label value"));
        };
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("the label value has no closing quote")),
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.at += 1;
                    let escaped = match self.peek() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some(c @ ('\\' | '"' | '\'')) => c,
                        _ => {
                            return Err(
                                self.error("unknown escape; use \\\\, \\\", \\', \\n or \\t")
                            )
                        }
                    };
                    out.push(escaped);
                    self.at += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }
    fn error(&self, what: &str) -> String {
        format!("{what} at character {}", self.at + 1)
    }
}

fn valid_name(name: &str, colons: bool) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':'))
}

/// `name{a="1",b="x\"y"}` as OpenMetrics writes a sample's series. `labels`
/// holds `__name__`, as [`parse`] returns it.
pub fn openmetrics(labels: &Labels) -> String {
    let mut out = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<_> = labels.iter().filter(|(k, _)| *k != "__name__").collect();
    if !rest.is_empty() {
        out.push('{');
        for (i, (k, v)) in rest.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"");
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_promql_series() {
        assert_eq!(
            parse(r#"http_requests_total{app="web", code='500'}"#).unwrap(),
            labels(&[
                ("__name__", "http_requests_total"),
                ("app", "web"),
                ("code", "500")
            ])
        );
        assert_eq!(parse("up").unwrap(), labels(&[("__name__", "up")]));
        assert_eq!(
            parse(r#" {__name__="a:b", x="1",} "#).unwrap(),
            labels(&[("__name__", "a:b"), ("x", "1")])
        );
        assert_eq!(parse(r#"m{v="a\"b\\c\nd"}"#).unwrap()["v"], "a\"b\\c\nd");
    }

    #[test]
    fn mistakes_are_located() {
        for (text, says) in [
            ("", "no metric name"),
            (r#"{a="1"}"#, "no metric name"),
            ("9lives", "expected a metric name"),
            (r#"m{a=1}"#, "expected a quoted label value at character 5"),
            (
                r#"m{a="1"}x"#,
                "unexpected text after the series at character 9",
            ),
            (r#"m{a=~"1"}"#, "only `=` is allowed"),
            (r#"m{a!="1"}"#, "expected `=` after the label name"),
            (
                r#"m{a="1",a="2"}"#,
                "label `a` is given twice at character 9",
            ),
            (r#"m{a="1""#, "expected `,` or `}`"),
            (r#"m{a="1"#, "no closing quote"),
            (r#"m{a="\q"}"#, "unknown escape"),
            (r#"{__name__="1x"}"#, "`1x` is not a metric name"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn writes_openmetrics_with_escapes() {
        let l = parse(r#"m{b="x\"y", a="p\\q\nr"}"#).unwrap();
        assert_eq!(openmetrics(&l), r#"m{a="p\\q\nr",b="x\"y"}"#);
        assert_eq!(openmetrics(&parse("up").unwrap()), "up");
    }
}
