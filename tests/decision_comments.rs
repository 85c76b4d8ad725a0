//! Control characters in decision comments (issue 16): a comment is printed
//! again by `sena decisions`, written into `sena dataset`'s CSV and shown on
//! the dashboard, so ESC, NUL, a lone CR or a bidirectional override is
//! refused at every door, against the real daemon: the API with a JSON
//! error, Slack's NO-GO form with an error inside the form (the dashboard's
//! form is in `dashboard_http.rs`). Line breaks stay allowed: Slack's
//! multi-line reason field sends them.

mod common;

use std::time::Duration;

use common::config::RolloutSpec;
use common::http;
use common::people::{self, LUBIT, PASSING};
use common::sena::Sena;
use common::slack::{post_signed, records, submit, SlackStandIn};
use common::ConfigBuilder;

const DEADLINE: Duration = Duration::from_secs(40);
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn api_no_go(sena: &Sena, rollout: &str, comment: &str) -> http::Response {
    let auth = format!("Bearer {LUBIT}");
    let body = serde_json::json!({ "decision": "no_go", "stage": 0, "comment": comment });
    http::request(
        "POST",
        &format!("{}/api/v1/rollouts/{rollout}/decisions", sena.base_url()),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", auth.as_str()),
        ],
        body.to_string().as_bytes(),
    )
    .unwrap()
}

#[test]
fn control_characters_in_comments_are_refused_at_every_door_and_line_breaks_are_kept() {
    let slack = SlackStandIn::start();
    let cfg = people::with_people(ConfigBuilder::new())
        .slack_web_api(&slack.api_url(), "xoxb-test", "#deploys")
        .slack_signing_secret(SECRET)
        .rollout_with(
            RolloutSpec::new("cm-api", PASSING).stages(&[("5%", Some("1h")), ("100%", None)]),
        )
        .rollout_with(
            RolloutSpec::new("cm-slack", PASSING).stages(&[("5%", Some("1h")), ("100%", None)]),
        )
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict("cm-api", "continue", DEADLINE);
    sena.wait_for_verdict("cm-slack", "continue", DEADLINE);

    // The API: a 400 with a JSON error naming the character; nothing recorded.
    for (comment, shown) in [
        (
            "clear\u{1b}[2J",
            "control characters (U+001B at character 6)",
        ),
        ("nul\u{0}byte", "control characters (U+0000 at character 4)"),
        ("over\rwrite", "line breaks (at character 5)"),
        ("fine\u{202e}txt.exe", "bidirectional overrides (U+202E"),
    ] {
        let r = api_no_go(&sena, "cm-api", comment);
        assert_eq!(r.status, 400, "{comment:?}: {}", r.body);
        let why = r.json()["error"].as_str().unwrap().to_string();
        assert!(
            why.contains(&format!("the comment cannot contain {shown}")),
            "{comment:?}: {why}"
        );
    }
    assert!(records(&sena, "cm-api").is_empty());
    // Line breaks, as a form sends them, are kept whole.
    let multi = "p99 up\r\nsee the graph\nand the runbook";
    let r = api_no_go(&sena, "cm-api", multi);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(records(&sena, "cm-api")[0]["comment"], multi);

    // Slack's NO-GO form: the error shows under the reason field.
    let metadata = serde_json::json!({
        "rollout": "cm-slack",
        "stage": 0,
        "stage_started_at": sena.rollout("cm-slack")["stage"]["started_at"],
    })
    .to_string();
    let now = common::sena::now_ms() / 1000;
    let bad = submit("U0LUBIT", &metadata, "looks off\u{1b}]0;pwned\u{7}");
    let r = post_signed(&sena.base_url(), SECRET, now, &bad);
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = r.json();
    assert_eq!(shown["response_action"], "errors", "{shown}");
    let why = shown["errors"]["sena_reason"].as_str().unwrap();
    assert!(
        why.contains("cannot contain control characters (U+001B at character 10)"),
        "{why}"
    );
    assert!(records(&sena, "cm-slack").is_empty());
    let good = submit("U0LUBIT", &metadata, "line one\nline two");
    let r = post_signed(&sena.base_url(), SECRET, now, &good);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("errors"), "{}", r.body);
    let held = records(&sena, "cm-slack");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["comment"], "line one\nline two");
}
