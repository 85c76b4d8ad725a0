//! Replayed Slack requests against the real daemon (issue 16). A signed
//! request verifies for Slack's whole 300 s window, so a captured one could
//! be sent again: a GO refused for a short bake, sent once the bake is
//! over, moved the stage; a NO-GO form sent again after a GO and a stage
//! move held the rollout anew. Each signed request is now used once (even
//! across a restart), and a button or form answers only the request that
//! is current. Every wait polls a deadline.

mod common;

use std::time::Duration;

use common::config::RolloutSpec;
use common::http;
use common::people::{self, PASSING};
use common::sena::{sena_cmd, timestamp_ms, Sena};
use common::slack::{
    post_signed, press, press_on, records, request_button, submit, wait_response, SlackStandIn,
};
use common::ConfigBuilder;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn now() -> i64 {
    common::sena::now_ms() / 1000
}

fn post(sena: &Sena, ts: i64, body: &str) -> http::Response {
    post_signed(&sena.base_url(), SECRET, ts, body)
}

fn accepted(sena: &Sena, rollout: &str) -> Vec<Value> {
    records(sena, rollout)
        .into_iter()
        .filter(|r| r["outcome"] == "accepted")
        .collect()
}

#[test]
fn a_refused_go_sent_again_after_the_bake_is_refused_even_after_a_restart() {
    let slack = SlackStandIn::start();
    let rollout = RolloutSpec::new("rp-go", PASSING).stages(&[
        ("5%", Some("6s")),
        ("10%", Some("1h")),
        ("100%", None),
    ]);
    let cfg = people::with_people(ConfigBuilder::new())
        .slack_web_api(&slack.api_url(), "xoxb-test", "#deploys")
        .slack_signing_secret(SECRET)
        .rollout_with(rollout)
        .write();
    let mut sena = Sena::start(cfg.path());
    sena.wait_for_verdict("rp-go", "continue", DEADLINE);
    let started = timestamp_ms(&sena.rollout("rp-go")["stage"]["started_at"]);
    let value = format!("rp-go:0:{started}");

    // Pressed before the stage has baked: refused.
    let early = press("U0LUBIT", "sena_go", &value, &slack.response_url("early"));
    let signed_at = now();
    assert_eq!(post(&sena, signed_at, &early).status, 200);
    let told = wait_response(&slack, "early", 1);
    let text = told[0]["text"].as_str().unwrap();
    assert!(text.contains("does not advise expanding rp-go"), "{text}");

    // Baked: the request is posted, and its button names the same request.
    assert_eq!(request_button(&slack, "sena_go", "rp-go"), value);

    // The refused press, sent again byte for byte: refused as a replay.
    let replay = post(&sena, signed_at, &early);
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(replay.body.contains("already received"), "{}", replay.body);
    assert_eq!(
        sena.metric(
            "sena_http_unauthorized_total",
            &[("reason", "slack_replayed")]
        ),
        Some(1.0)
    );

    // A restart does not reopen the window.
    sena.kill9();
    let sena = Sena::start(cfg.path());
    sena.wait_for_rollout("rp-go", "to be ready to expand again", DEADLINE, |r| {
        !r["ready_to_expand"].is_null()
    });
    let after_restart = post(&sena, signed_at, &early);
    assert_eq!(after_restart.status, 401, "{}", after_restart.body);
    assert!(accepted(&sena, "rp-go").is_empty());
    assert_eq!(sena.rollout("rp-go")["stage"]["index"], 0);
    assert_eq!(
        responses_to(&slack, "early"),
        1,
        "a replay is not answered through the captured response_url"
    );

    // A new press of the same button is a new request: it decides.
    let fresh = press("U0LUBIT", "sena_go", &value, &slack.response_url("fresh"));
    assert_eq!(post(&sena, now(), &fresh).status, 200);
    let replaced = wait_response(&slack, "fresh", 1);
    assert_eq!(replaced[0]["replace_original"], true, "{replaced:?}");
    sena.wait_for_rollout("rp-go", "to be at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });
    assert_eq!(accepted(&sena, "rp-go").len(), 1);
}

fn responses_to(slack: &SlackStandIn, id: &str) -> usize {
    common::slack::responses(slack, id).len()
}

#[test]
fn a_no_go_form_sent_again_after_a_go_and_a_stage_move_holds_nothing() {
    let slack = SlackStandIn::start();
    let rollout = RolloutSpec::new("rp-nogo", PASSING).stages(&[
        ("5%", Some("2s")),
        ("10%", Some("1h")),
        ("100%", None),
    ]);
    let cfg = people::with_people(ConfigBuilder::new())
        .slack_web_api(&slack.api_url(), "xoxb-test", "#deploys")
        .slack_signing_secret(SECRET)
        .rollout_with(rollout)
        .write();
    let sena = Sena::start(cfg.path());
    let value = request_button(&slack, "sena_no_go", "rp-nogo");

    // NO-GO from the request: the form opens, the reason holds the rollout.
    let opened = press_on(
        "U0LUBIT",
        "sena_no_go",
        &value,
        &slack.response_url("nogo"),
        "trig-1",
        "1700000000.000001",
        serde_json::json!([]),
    );
    assert_eq!(post(&sena, now(), &opened).status, 200);
    let form = common::wait_until(
        "views.open",
        DEADLINE,
        || slack.api_calls("views.open").into_iter().next(),
        || format!("{:#?}", slack.requests()),
    );
    let metadata = form["view"]["private_metadata"]
        .as_str()
        .unwrap()
        .to_string();
    let no_go = submit("U0LUBIT", &metadata, "p99 creeping up");
    let signed_at = now();
    let decided = post(&sena, signed_at, &no_go);
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert!(!decided.body.contains("errors"), "{}", decided.body);
    sena.wait_for_verdict("rp-nogo", "hold", DEADLINE);

    // A later GO (API), then `sena stage` back to stage 0.
    let auth = format!("Bearer {}", people::LUBIT);
    let go = http::request(
        "POST",
        &format!("{}/api/v1/rollouts/rp-nogo/decisions", sena.base_url()),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", auth.as_str()),
        ],
        br#"{"decision": "go", "stage": 0, "override": true, "comment": "fixed"}"#,
    )
    .unwrap();
    assert_eq!(go.status, 200, "{}", go.body);
    sena.wait_for_rollout("rp-nogo", "to be at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });
    let config = cfg.path().to_str().unwrap();
    let moved = sena_cmd(&["stage", "rp-nogo", "0", "--config", config]);
    assert!(moved.status.success(), "{moved:?}");
    sena.wait_for_rollout("rp-nogo", "to be back at stage 0", DEADLINE, |r| {
        r["stage"]["index"] == 0 && r["verdict"] == "continue"
    });
    let before = accepted(&sena, "rp-nogo").len();
    assert_eq!(before, 2, "the NO-GO and the GO");

    // The captured submission, sent again: refused as a replay.
    let replay = post(&sena, signed_at, &no_go);
    assert_eq!(replay.status, 401, "{}", replay.body);

    // The same old form, signed anew (as a second submission would be):
    // its request is not the current one, and the answer says so in the form.
    let resent = post(&sena, signed_at + 1, &no_go);
    assert_eq!(resent.status, 200, "{}", resent.body);
    let shown = resent.json();
    assert_eq!(shown["response_action"], "errors", "{shown}");
    let why = shown["errors"]["sena_reason"].as_str().unwrap();
    assert!(why.contains("no longer current"), "{why}");

    assert_eq!(accepted(&sena, "rp-nogo").len(), before);
    assert_eq!(sena.rollout("rp-nogo")["verdict"], "continue");
}

#[test]
fn an_older_button_without_its_request_is_refused_with_a_way_forward() {
    let slack = SlackStandIn::start();
    let cfg = people::with_people(ConfigBuilder::new())
        .slack_web_api(&slack.api_url(), "xoxb-test", "#deploys")
        .slack_signing_secret(SECRET)
        .rollout_with(
            RolloutSpec::new("rp-old", PASSING).stages(&[("5%", Some("1s")), ("100%", None)]),
        )
        .write();
    let sena = Sena::start(cfg.path());
    request_button(&slack, "sena_go", "rp-old");
    let old = press("U0LUBIT", "sena_go", "rp-old:0", &slack.response_url("old"));
    assert_eq!(post(&sena, now(), &old).status, 200);
    let told = wait_response(&slack, "old", 1);
    assert_eq!(told[0]["response_type"], "ephemeral", "{told:?}");
    let text = told[0]["text"].as_str().unwrap();
    assert!(
        text.contains("older Sena message") && text.contains("sena approve rp-old --stage 0"),
        "{text}"
    );
    assert!(records(&sena, "rp-old").is_empty());
    assert_eq!(sena.rollout("rp-old")["stage"]["index"], 0);
}
