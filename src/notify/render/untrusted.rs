//! Text that reaches a page but was not written by Sena or the rule author:
//! who acknowledged (`by`, from the API or `sena ack`), the reason (which
//! quotes Prometheus's errors and label values), and label values
//! themselves. Such text is bounded here, stripped of control characters,
//! and escaped for each format — Slack mrkdwn, HTML, a mail header — so a
//! name like `<!channel>` cannot page a whole channel, `*x*` cannot restyle
//! a page, a 10 MB label cannot blow up a message, and a CR/LF cannot fold
//! a mail header. One module, so a new renderer cannot forget one of them.

/// Names: who acknowledged, label names and values.
pub(crate) const NAME_MAX: usize = 200;
/// One-line messages such as a query's error.
pub(crate) const LINE_MAX: usize = 1000;
/// Multi-line prose such as the reason.
pub(crate) const PROSE_MAX: usize = 2000;

/// A name on one line, at most `NAME_MAX` characters.
pub(crate) fn name(s: &str) -> String {
    bounded(s, NAME_MAX, false)
}

/// A message on one line, at most `LINE_MAX` characters.
pub(crate) fn line(s: &str) -> String {
    bounded(s, LINE_MAX, false)
}

/// Prose that may keep its line breaks, at most `PROSE_MAX` characters.
pub(crate) fn prose(s: &str) -> String {
    bounded(s, PROSE_MAX, true)
}

/// `s` with every control character (line breaks too, unless
/// `keep_newlines`) and every invisible direction or line-separator mark
/// turned into a space, cut to `max` characters with an ellipsis.
pub(crate) fn bounded(s: &str, max: usize, keep_newlines: bool) -> String {
    let clean = s.chars().map(|c| match c {
        '\n' if keep_newlines => '\n',
        c if is_hostile(c) => ' ',
        c => c,
    });
    let mut out: String = clean.clone().take(max).collect();
    if max > 0 && clean.count() > max {
        out.pop();
        out.push('…');
    }
    out
}

/// Control characters (a terminal escape, CR/LF), Unicode line separators,
/// and the invisible marks that reorder or hide text (`U+202E` makes
/// `exe.txt` read `txt.exe`).
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Text for Slack mrkdwn outside a code span. `&`, `<` and `>` are the
/// escapes Slack defines, and they also defuse `<!channel>` and `<@U…>`.
/// Slack has no escape for `*`, `~` and `` ` ``, so they become look-alikes
/// (`∗`, `∼`, `ˋ`); `_` does too except inside a word, where Slack never
/// italicises (so `error_rate` stays as written). `@channel`, `@here` and
/// `@everyone`, which Slack may turn into mentions on its own, get a
/// full-width `＠`.
pub(crate) fn mrkdwn(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        match c {
            '_' if word(i.checked_sub(1)) && word(Some(i + 1)) => out.push('_'),
            '_' => out.push('ˍ'),
            '*' => out.push('∗'),
            '~' => out.push('∼'),
            _ => push_common(&mut out, &chars, i),
        }
    }
    out
}

/// Text inside a Slack code span, where formatting is off but a backtick
/// would end the span and `<…>` would still be read.
pub(crate) fn mrkdwn_code(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for i in 0..chars.len() {
        push_common(&mut out, &chars, i);
    }
    out
}

/// The escapes both Slack contexts share.
fn push_common(out: &mut String, chars: &[char], i: usize) {
    match chars[i] {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '`' => out.push('ˋ'),
        '@' if !starts_word(chars, i) => out.push('@'),
        '@' if mass_mention(&chars[i + 1..]) => out.push('＠'),
        c => out.push(c),
    }
}

/// Whether `chars[i]` begins a word (an `@` inside `lubit@here.com` does not).
fn starts_word(chars: &[char], i: usize) -> bool {
    i == 0 || !chars[i - 1].is_alphanumeric()
}

/// `channel`, `here` or `everyone`, as a whole word, at the start of `rest`.
fn mass_mention(rest: &[char]) -> bool {
    ["channel", "here", "everyone"].iter().any(|word| {
        let n = word.chars().count();
        rest.len() >= n
            && rest[..n]
                .iter()
                .zip(word.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
            && !rest.get(n).is_some_and(|c| c.is_alphanumeric())
    })
}

pub(crate) use crate::domain::format::escape_html as html;

#[cfg(test)]
#[path = "untrusted_tests.rs"]
mod tests;
