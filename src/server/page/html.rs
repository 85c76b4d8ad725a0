//! The one place untrusted text becomes HTML.
//!
//! Why plain Rust and not maud or askama: the pages are a handful of
//! tables and forms, and a proc-macro template crate would add a build
//! step (and minutes of compile on a small machine) to save little. What a
//! template engine really buys is escaping by default, and [`Html`] keeps
//! that property by construction: markup goes in only as `&'static str`
//! ([`Html::raw`]), so text that arrived at run time (a rule description,
//! a comment, a reason, a name) can reach the page only through
//! [`Html::text`], which escapes it. No other function in the crate writes
//! run-time text into a page.

use std::fmt::Write as _;

use crate::domain::format::escape_html_into as escape_into;

/// A page being built. See the module doc for the one rule it keeps.
#[derive(Default)]
pub struct Html {
    out: String,
}

impl Html {
    pub fn with_capacity(bytes: usize) -> Html {
        Html {
            out: String::with_capacity(bytes),
        }
    }

    /// Markup written in the source: never run-time text.
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Run-time text, escaped for element content and quoted attribute
    /// values alike (`& < > " '`).
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.out, text);
        self
    }

    /// A number or other `Display` value, escaped like text (a `Display`
    /// of a type from elsewhere is run-time text too).
    pub fn display(&mut self, value: impl std::fmt::Display) -> &mut Self {
        let mut s = String::new();
        let _ = write!(s, "{value}");
        self.text(&s)
    }

    /// Another fragment built by these same rules.
    pub fn append(&mut self, other: &Html) -> &mut Self {
        self.out.push_str(&other.out);
        self
    }

    /// Bytes written so far (to size the page around a body).
    pub fn bytes(&self) -> usize {
        self.out.len()
    }

    pub fn into_string(self) -> String {
        self.out
    }
}

/// Percent-encoding of a URL query value (RFC 3986 unreserved kept), so a
/// PromQL expression or a rollout name can sit in a link. The link as a
/// whole still goes through [`Html::text`].
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A link target from configuration (a runbook) only when it is plainly
/// `http(s)://`: a `javascript:` or `data:` URL in a rule file must not
/// become a clickable script.
pub fn safe_link(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_markup_is_not() {
        let mut h = Html::default();
        h.raw("<p title=\"")
            .text("\"><script>alert('x')</script>&")
            .raw("\">");
        assert_eq!(
            h.into_string(),
            "<p title=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;\">"
        );
    }

    #[test]
    fn query_values_and_links() {
        assert_eq!(
            query_value("sum(rate(x{a=\"b\"}[5m])) > 0.1"),
            "sum%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29%20%3E%200.1"
        );
        assert_eq!(query_value("ü"), "%C3%BC");
        assert_eq!(safe_link("https://wiki/x"), Some("https://wiki/x"));
        assert_eq!(safe_link("HTTP://wiki"), Some("HTTP://wiki"));
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("data:text/html,x"), None);
        assert_eq!(safe_link(""), None);
    }
}
