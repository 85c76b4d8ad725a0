//! Hostile free text, first through the escaping functions, then through
//! every renderer: a page must carry it as inert, bounded text.

use std::collections::BTreeMap;

use super::super::fixtures::*;
use super::*;
use crate::domain::SeriesValue;
use crate::notify::{Advisory, AdvisoryKind};

#[test]
fn bounds_cut_with_an_ellipsis_and_flatten_controls() {
    assert_eq!(name(""), "");
    assert_eq!(name("lubit"), "lubit");
    let huge = "x".repeat(1_000_000);
    let cut = name(&huge);
    assert_eq!(cut.chars().count(), NAME_MAX);
    assert!(cut.ends_with('…'));
    assert_eq!(name(&"é".repeat(NAME_MAX)).chars().count(), NAME_MAX);
    assert_eq!(name("a\r\nBcc: x@example.com"), "a  Bcc: x@example.com");
    assert_eq!(name("\u{1b}[31mred\u{7}"), " [31mred ");
    assert_eq!(name("txt\u{202E}exe.\u{2028}"), "txt exe. ");
    assert_eq!(prose("one\ntwo\r\n"), "one\ntwo \n");
    assert_eq!(line("one\ntwo"), "one two");
    assert_eq!(bounded("abc", 0, false), "");
}

#[test]
fn mrkdwn_defuses_mentions_and_formatting() {
    assert_eq!(mrkdwn(""), "");
    assert_eq!(mrkdwn("<!channel>"), "&lt;!channel&gt;");
    assert_eq!(mrkdwn("<@U0SENA>"), "&lt;@U0SENA&gt;");
    assert_eq!(mrkdwn("a & b"), "a &amp; b");
    assert_eq!(mrkdwn("&lt;"), "&amp;lt;");
    assert_eq!(mrkdwn("*bold*"), "∗bold∗");
    assert_eq!(mrkdwn("_it_ ~gone~ `code`"), "ˍitˍ ∼gone∼ ˋcodeˋ");
    // Slack never italicises inside a word: identifiers stay as written.
    assert_eq!(mrkdwn("error_rate p95_latency"), "error_rate p95_latency");
    assert_eq!(
        mrkdwn("@channel @Here @everyone!"),
        "＠channel ＠Here ＠everyone!"
    );
    assert_eq!(
        mrkdwn("@channels lubit@here.com"),
        "@channels lubit@here.com"
    );
    assert_eq!(mrkdwn("NaN +Inf -Inf"), "NaN +Inf -Inf");
}

#[test]
fn code_spans_cannot_be_closed_or_mention() {
    assert_eq!(mrkdwn_code("a`b"), "aˋb");
    assert_eq!(mrkdwn_code("x=\"<!here>\" *y*"), "x=\"&lt;!here&gt;\" *y*");
    assert_eq!(mrkdwn_code("@here"), "＠here");
}

#[test]
fn html_escapes_markup_and_quotes() {
    assert_eq!(
        html("<a href='x'>\"&\"</a>"),
        "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
    );
}

const HOSTILE: &str =
    "<!channel> *boss* _x_ ~y~ `z` @here <@U0SENA> <b>\r\nBcc: evil@example.com\u{1b}[2J";

/// An acknowledgement by a hostile name, with a hostile reason and label.
fn hostile_advisory() -> Advisory {
    let mut a = rollback_advisory();
    a.kind = AdvisoryKind::Acknowledged;
    a.incident.as_mut().unwrap().acknowledged_by = Some(format!("{HOSTILE}{}", "n".repeat(10_000)));
    a.reason = format!("{HOSTILE}{}", "r".repeat(100_000));
    a.checks[0].series.push(SeriesValue {
        labels: BTreeMap::from([(
            "pod".to_string(),
            format!("{HOSTILE}{}", "p".repeat(10_000)),
        )]),
        value: f64::NAN,
        breaching: true,
    });
    a
}

#[test]
fn every_renderer_bounds_and_escapes_free_text() {
    let a = hostile_advisory();

    let slack = serde_json::to_string(&slack_message_for_test(&a)).unwrap();
    for raw in ["<!channel>", "`z`", "@here", "\\r", "\\u001b"] {
        assert!(!slack.contains(raw), "slack carries {raw}: {slack}");
    }
    // Outside code spans formatting is defused; inside one it is inert.
    assert!(
        slack.contains("by &lt;!channel&gt; ∗boss∗ ˍxˍ ∼y∼ ˋzˋ ＠here"),
        "{slack}"
    );
    assert!(
        slack.contains("`pod=\\\"&lt;!channel&gt; *boss* _x_ ~y~ ˋzˋ"),
        "{slack}"
    );
    assert_eq!(
        slack.matches("<@U0SENA>").count(),
        2,
        "only Sena's own mentions"
    );
    assert!(!slack.contains(&"n".repeat(NAME_MAX)), "`by` is bounded");
    assert!(
        !slack.contains(&"p".repeat(NAME_MAX)),
        "label values are bounded"
    );

    let page = super::super::html(&a, &[]);
    assert!(
        !page.contains("<!channel>") && !page.contains("<@U0SENA>"),
        "{page}"
    );
    assert!(page.contains("&lt;b&gt;  Bcc: evil@example.com"), "{page}");
    assert!(!page.contains('\r') && !page.contains('\u{1b}'));
    assert!(
        !page.contains(&"r".repeat(PROSE_MAX)),
        "the reason is bounded"
    );

    let text = super::super::text(&a, &[]);
    assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text}");
    assert!(!text.contains(&"n".repeat(NAME_MAX)));

    let subject = super::super::email_subject(&a);
    assert!(!subject.contains(['\r', '\n', '\u{1b}']), "{subject}");
    assert!(subject.chars().count() <= 140);
}

/// A NO-GO's comment is free text from whoever holds a token: it reaches
/// the channel inside the reason, inert.
#[test]
fn a_hostile_decision_comment_is_inert_in_every_format() {
    let mut a = rollback_advisory();
    a.kind = AdvisoryKind::Decided;
    a.incident = None;
    a.reason = format!("NO-GO by lubit: {HOSTILE}{}", "c".repeat(100_000));
    let slack = serde_json::to_string(&slack_message_for_test(&a)).unwrap();
    for raw in ["<!channel>", "@here", "\\r", "\\u001b"] {
        assert!(!slack.contains(raw), "slack carries {raw}: {slack}");
    }
    assert!(!slack.contains(&"c".repeat(PROSE_MAX)), "bounded");
    let page = super::super::html(&a, &[]);
    assert!(
        !page.contains("<!channel>") && !page.contains('\r'),
        "{page}"
    );
    let subject = super::super::email_subject(&a);
    assert!(!subject.contains(['\r', '\n', '\u{1b}']), "{subject}");
}

fn slack_message_for_test(a: &Advisory) -> slack_morphism::prelude::SlackMessageContent {
    super::super::slack_message(a, &[person("sena", "U0SENA")], true)
}
