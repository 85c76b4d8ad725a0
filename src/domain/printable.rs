//! One policy for text a person or a file supplies and Sena prints again:
//! check names (rules files, printed in terminals, Slack and metric
//! labels) and decision comments (printed by `sena decisions`, written into
//! `sena dataset`'s CSV, shown on the dashboard and in Slack). Such text
//! must not carry a control character (ESC makes a terminal run what
//! follows as a command, NUL cuts a C string, a lone CR overwrites the
//! line a reader sees) or a bidirectional override that shows the text as
//! something else. It is refused where it comes in, with where the
//! character is, rather than cleaned later in some places and not others.
//!
//! Line breaks: a name is one line. A comment may have several: Slack's
//! multi-line reason field sends `\n`, a browser's textarea sends `\r\n`,
//! and CSV quoting keeps both; a tab is allowed too (pasted log lines).
//! A CR anywhere but before a LF is refused: alone, it moves the cursor
//! back over what was printed.

/// How many lines the text may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Names: no line break, no tab.
    One,
    /// Comments: `\n`, `\r\n` and tabs allowed.
    Many,
}

/// The first character that makes a text unprintable; `at` counts
/// characters from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unprintable {
    #[error("control characters (U+{code:04X} at character {at})")]
    Control { code: u32, at: usize },
    #[error("line breaks (at character {at})")]
    LineBreak { at: usize },
    #[error("bidirectional overrides (U+{code:04X} at character {at}; U+202A-U+202E and U+2066-U+2069 are refused)")]
    Bidi { code: u32, at: usize },
}

/// `None` when `text` may be printed as it is under `lines`.
pub fn unprintable(text: &str, lines: Lines) -> Option<Unprintable> {
    let mut chars = text.chars().peekable();
    let mut at = 0;
    while let Some(c) = chars.next() {
        at += 1;
        let code = u32::from(c);
        let allowed_break = match c {
            '\n' | '\t' => lines == Lines::Many,
            '\r' => lines == Lines::Many && chars.peek() == Some(&'\n'),
            _ => false,
        };
        if allowed_break {
            continue;
        }
        if c == '\n' || c == '\r' {
            return Some(Unprintable::LineBreak { at });
        }
        if c.is_control() {
            return Some(Unprintable::Control { code, at });
        }
        if is_bidi_override(c) {
            return Some(Unprintable::Bidi { code, at });
        }
    }
    None
}

fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A character refused in any text, whatever its lines: a control
/// character other than a line break or tab, or a bidirectional override.
/// For outputs that escape character by character (HTML), where a CR is
/// only white space.
pub fn never_printed(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_override(c)
}

/// `text` with every character `unprintable` would refuse under `lines`
/// replaced by U+FFFD: for text already stored before a door refused it
/// (records written by an older Sena), at the outputs a terminal shows.
pub fn replace_unprintable(text: &str, lines: Lines) -> std::borrow::Cow<'_, str> {
    if unprintable(text, lines).is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(bad) = unprintable(rest, lines) {
        let at = match bad {
            Unprintable::Control { at, .. }
            | Unprintable::LineBreak { at }
            | Unprintable::Bidi { at, .. } => at,
        };
        let (start, c) = rest.char_indices().nth(at - 1).unwrap_or((rest.len(), ' '));
        out.push_str(&rest[..start]);
        out.push('\u{fffd}');
        rest = &rest[(start + c.len_utf8()).min(rest.len())..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_keep_their_lines_and_lose_nothing_else() {
        for fine in [
            "p99 up",
            "two\nlines",
            "crlf\r\nfrom a form",
            "tab\there",
            "café ✓",
        ] {
            assert_eq!(unprintable(fine, Lines::Many), None, "{fine:?}");
        }
        for (bad, expected) in [
            ("x\u{1b}[2J", Unprintable::Control { code: 0x1b, at: 2 }),
            ("nul\0", Unprintable::Control { code: 0, at: 4 }),
            ("\u{9b}31m", Unprintable::Control { code: 0x9b, at: 1 }),
            ("over\rwrite", Unprintable::LineBreak { at: 5 }),
            ("end\r", Unprintable::LineBreak { at: 4 }),
            (
                "a\u{202e}b",
                Unprintable::Bidi {
                    code: 0x202e,
                    at: 2,
                },
            ),
            (
                "a\u{2067}b",
                Unprintable::Bidi {
                    code: 0x2067,
                    at: 2,
                },
            ),
        ] {
            assert_eq!(unprintable(bad, Lines::Many), Some(expected), "{bad:?}");
        }
    }

    #[test]
    fn stored_text_is_shown_with_the_refused_characters_replaced() {
        assert_eq!(
            replace_unprintable("fine\nlines", Lines::Many),
            "fine\nlines"
        );
        assert_eq!(
            replace_unprintable("a\u{1b}[2Jb\0c\rd\r\ne\u{202e}", Lines::Many),
            "a\u{fffd}[2Jb\u{fffd}c\u{fffd}d\r\ne\u{fffd}"
        );
    }

    #[test]
    fn names_are_one_line() {
        assert_eq!(unprintable("error_rate", Lines::One), None);
        assert_eq!(
            unprintable("a\nb", Lines::One),
            Some(Unprintable::LineBreak { at: 2 })
        );
        assert_eq!(
            unprintable("a\tb", Lines::One),
            Some(Unprintable::Control { code: 9, at: 2 })
        );
        let shown = unprintable("x\u{1b}", Lines::One).unwrap().to_string();
        assert_eq!(shown, "control characters (U+001B at character 2)");
    }
}
