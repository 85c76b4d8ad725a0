//! Slack's buttons end to end (issue 9): the real binary with
//! `slack.signing_secret_file`, the Slack stand-in as Slack's Web API and
//! `response_url`, and interactions posted the way Slack signs them. A
//! forged or stale request must change nothing; a GO from the approver's
//! Slack ID must move the stage exactly once and replace the message; a
//! bystander must be told no and recorded. Every wait polls a deadline.

mod common;

use std::time::Duration;

use common::config::RolloutSpec;
use common::http;
use common::people::{self, PASSING};
use common::sena::{timestamp_ms, Sena};
use common::slack::{
    post_signed, press, press_on, records, request_button, responses, submit, wait_response,
    SlackStandIn,
};
use common::ConfigBuilder;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn now() -> i64 {
    common::sena::now_ms() / 1000
}

fn post(sena: &Sena, secret: &str, ts: i64, body: &str) -> http::Response {
    post_signed(&sena.base_url(), secret, ts, body)
}

#[test]
fn signed_buttons_decide_once_and_forged_ones_change_nothing() {
    let slack = SlackStandIn::start();
    let rollout = RolloutSpec::new("sl-go", PASSING)
        .deputies(&["maestro"])
        .stages(&[("5%", Some("2s")), ("10%", Some("1h")), ("100%", None)]);
    let cfg = people::with_people(ConfigBuilder::new())
        .slack_web_api(&slack.api_url(), "xoxb-test", "#deploys")
        .slack_signing_secret(SECRET)
        .rollout_with(rollout)
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_rollout("sl-go", "to be ready to expand", DEADLINE, |r| {
        !r["ready_to_expand"].is_null()
    });
    // The value the request message's button carries (rollout, stage and
    // the stage's start), as a press sends it back.
    let value = request_button(&slack, "sena_go", "sl-go");
    let go = |user: &str, id: &str| press(user, "sena_go", &value, &slack.response_url(id));

    // Forged, stale and unsigned requests: 401, counted, nothing recorded.
    let forged = post(&sena, "not-the-secret", now(), &go("U0LUBIT", "forged"));
    assert_eq!(forged.status, 401, "{}", forged.body);
    for stale in [now() - 301, now() + 301] {
        assert_eq!(
            post(&sena, SECRET, stale, &go("U0LUBIT", "stale")).status,
            401
        );
    }
    let unsigned = http::request(
        "POST",
        &format!("{}/api/v1/slack/interactions", sena.base_url()),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        go("U0LUBIT", "unsigned").as_bytes(),
    )
    .unwrap();
    assert_eq!(unsigned.status, 401);
    let invalid = [("reason", "slack_signature_invalid")];
    assert_eq!(
        sena.metric("sena_http_unauthorized_total", &invalid),
        Some(1.0)
    );
    let stale = [("reason", "slack_timestamp_stale")];
    assert_eq!(
        sena.metric("sena_http_unauthorized_total", &stale),
        Some(2.0)
    );
    assert!(records(&sena, "sl-go").is_empty());
    assert_eq!(sena.rollout("sl-go")["stage"]["index"], 0);

    // A bystander: an ephemeral refusal, recorded as refused.
    assert_eq!(
        post(&sena, SECRET, now(), &go("U0MIRA", "mira")).status,
        200
    );
    let told = wait_response(&slack, "mira", 1);
    assert_eq!(told[0]["response_type"], "ephemeral", "{told:?}");
    let text = told[0]["text"].as_str().unwrap();
    assert!(
        text.contains("only lubit or maestro can approve sl-go"),
        "{text}"
    );
    let refused = records(&sena, "sl-go");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["outcome"], "refused");
    assert_eq!(
        (refused[0]["by"].as_str(), refused[0]["via"].as_str()),
        (Some("mira"), Some("slack"))
    );
    assert_eq!(
        (&refused[0]["slack_user"], &refused[0]["token"]),
        (&Value::from("U0MIRA"), &Value::Null),
        "the member ID has its own field"
    );

    // lubit's GO, clicked twice: the stage moves once, the message is replaced.
    assert_eq!(
        post(&sena, SECRET, now(), &go("U0LUBIT", "go1")).status,
        200
    );
    let replaced = wait_response(&slack, "go1", 1);
    assert_eq!(replaced[0]["replace_original"], true, "{replaced:?}");
    let text = replaced[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("GO by lubit at ") && text.ends_with(" UTC → now at 10%"),
        "{text}"
    );
    sena.wait_for_rollout("sl-go", "to be at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });
    assert_eq!(
        post(&sena, SECRET, now(), &go("U0LUBIT", "go2")).status,
        200
    );
    let again = wait_response(&slack, "go2", 1);
    assert_eq!(again[0]["response_type"], "ephemeral", "{again:?}");
    let all = records(&sena, "sl-go");
    let accepted: Vec<_> = all.iter().filter(|r| r["outcome"] == "accepted").collect();
    assert_eq!(accepted.len(), 1, "{all:?}");
    assert_eq!(
        (
            accepted[0]["via"].as_str(),
            accepted[0]["to_stage"].as_u64()
        ),
        (Some("slack"), Some(1))
    );
    assert_eq!(sena.rollout("sl-go")["stage"]["index"], 1);
    assert!(
        !sena.logs().contains(SECRET),
        "the signing secret reached the log"
    );
}

/// NO-GO from Slack (issue 9): the button opens a form asking why (the
/// stand-in records `views.open`); the signed submission decides through
/// the same door as the API, and the request message is replaced. A
/// blank reason and a refusal come back inside the form; a stale
/// signature changes nothing.
#[test]
fn no_go_asks_for_a_reason_in_a_form_and_holds_with_it() {
    let slack = SlackStandIn::start();
    let rollout = RolloutSpec::new("sl-nogo", PASSING)
        .deputies(&["maestro"])
        .stages(&[("5%", Some("1h")), ("100%", None)]);
    let cfg = people::with_people(ConfigBuilder::new())
        .slack_web_api(&slack.api_url(), "xoxb-test", "#deploys")
        .slack_signing_secret(SECRET)
        .rollout_with(rollout)
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict("sl-nogo", "continue", DEADLINE);
    let message_ts = "1700000000.000042";
    // The stage never finishes baking, so no request is posted: the value
    // is built as the request's button would carry it.
    let started = timestamp_ms(&sena.rollout("sl-nogo")["stage"]["started_at"]);
    let value = format!("sl-nogo:0:{started}");
    let no_go = |trigger: &str, id: &str| {
        press_on(
            "U0LUBIT",
            "sena_no_go",
            &value,
            &slack.response_url(id),
            trigger,
            message_ts,
            serde_json::json!([]),
        )
    };

    // Slack refuses the form (the trigger expired): the presser is told
    // how else to say NO-GO, and nothing is recorded.
    slack.api_error_next("views.open", "expired_trigger_id");
    assert_eq!(
        post(&sena, SECRET, now(), &no_go("trig-old", "expired")).status,
        200
    );
    let told = wait_response(&slack, "expired", 1);
    let text = told[0]["text"].as_str().unwrap();
    assert!(
        text.contains("expired_trigger_id") && text.contains("sena reject sl-nogo --stage 0"),
        "{text}"
    );

    // The press opens the form with its trigger_id.
    assert_eq!(
        post(&sena, SECRET, now(), &no_go("trig-123", "form")).status,
        200
    );
    let opened = common::wait_until(
        "a second views.open",
        DEADLINE,
        || {
            let calls = slack.api_calls("views.open");
            (calls.len() >= 2).then_some(calls)
        },
        || format!("{:#?}", slack.requests()),
    );
    let form_call = &opened[1];
    assert_eq!(form_call["trigger_id"], "trig-123", "{form_call:#}");
    let view = &form_call["view"];
    assert_eq!(
        (view["type"].as_str(), view["callback_id"].as_str()),
        (Some("modal"), Some("sena_no_go"))
    );
    let input = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "input")
        .expect("an input block");
    assert_eq!(input["block_id"], "sena_reason");
    assert_eq!(input["label"]["text"], "Why NO-GO?");
    assert_eq!(input["element"]["multiline"], true);
    assert_ne!(input["optional"], true, "the reason is required");
    let metadata = view["private_metadata"].as_str().unwrap().to_string();
    let meta: Value = serde_json::from_str(&metadata).unwrap();
    assert_eq!(
        (meta["rollout"].as_str(), meta["stage"].as_u64()),
        (Some("sl-nogo"), Some(0))
    );
    assert!(
        responses(&slack, "form").is_empty(),
        "the form is the answer"
    );
    assert!(records(&sena, "sl-nogo").is_empty());

    // A blank reason: shown in the form, nothing recorded.
    let blank = post(&sena, SECRET, now(), &submit("U0LUBIT", &metadata, "  \n "));
    assert_eq!(blank.status, 200, "{}", blank.body);
    let shown = blank.json();
    assert_eq!(shown["response_action"], "errors", "{shown}");
    assert!(
        shown["errors"]["sena_reason"]
            .as_str()
            .unwrap()
            .contains("needs a reason"),
        "{shown}"
    );
    assert!(records(&sena, "sl-nogo").is_empty());

    // A bystander: refused in the form, recorded as refused.
    let mira = post(
        &sena,
        SECRET,
        now(),
        &submit("U0MIRA", &metadata, "looks off"),
    );
    assert_eq!(mira.status, 200, "{}", mira.body);
    let shown = mira.json();
    assert_eq!(shown["response_action"], "errors", "{shown}");
    let why = shown["errors"]["sena_reason"].as_str().unwrap();
    assert!(
        why.contains("only lubit or maestro can reject sl-nogo"),
        "{why}"
    );
    let refused = records(&sena, "sl-nogo");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (
            refused[0]["outcome"].as_str(),
            refused[0]["decision"].as_str(),
            refused[0]["by"].as_str(),
            refused[0]["slack_user"].as_str(),
            refused[0]["via"].as_str()
        ),
        (
            Some("refused"),
            Some("no_go"),
            Some("mira"),
            Some("U0MIRA"),
            Some("slack")
        )
    );

    // A stale signature: 401, nothing changes.
    let reason = "p99 creeping up <!channel>";
    let stale = post(
        &sena,
        SECRET,
        now() - 400,
        &submit("U0LUBIT", &metadata, reason),
    );
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_eq!(records(&sena, "sl-nogo").len(), 1);

    // lubit's reason: the form closes (an empty 200), the rollout holds
    // with it, the decision is recorded and the request message replaced.
    let decided = post(&sena, SECRET, now(), &submit("U0LUBIT", &metadata, reason));
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert!(!decided.body.contains("errors"), "{}", decided.body);
    let held = sena.wait_for_verdict("sl-nogo", "hold", DEADLINE);
    assert_eq!(held["reason"], format!("NO-GO by lubit: {reason}"));
    let all = records(&sena, "sl-nogo");
    let accepted: Vec<_> = all.iter().filter(|r| r["outcome"] == "accepted").collect();
    assert_eq!(accepted.len(), 1, "{all:?}");
    assert_eq!(
        (
            accepted[0]["decision"].as_str(),
            accepted[0]["comment"].as_str(),
            accepted[0]["via"].as_str(),
            accepted[0]["slack_user"].as_str(),
        ),
        (Some("no_go"), Some(reason), Some("slack"), Some("U0LUBIT"))
    );
    assert!(accepted[0]["token"].is_null());
    let updated = common::wait_until(
        "chat.update of the request message",
        DEADLINE,
        || {
            let calls = slack.api_calls("chat.update");
            (!calls.is_empty()).then_some(calls)
        },
        || format!("{:#?}", slack.requests()),
    );
    assert_eq!(
        (updated[0]["channel"].as_str(), updated[0]["ts"].as_str()),
        (Some("C0TEST"), Some(message_ts))
    );
    let text = updated[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("NO-GO by lubit at ") && text.contains(" UTC: p99 creeping up"),
        "{text}"
    );
    assert!(
        !text.contains("<!channel>"),
        "the reason is escaped: {text}"
    );
    assert_eq!(sena.rollout("sl-nogo")["stage"]["index"], 0);
}

/// Without `slack.signing_secret_file` there are no buttons and no
/// endpoint: even a correctly signed request finds nothing (404), and
/// nothing is decided.
#[test]
fn without_a_signing_secret_the_endpoint_is_absent() {
    let slack = SlackStandIn::start();
    let cfg = people::with_people(ConfigBuilder::new())
        .slack_web_api(&slack.api_url(), "xoxb-test", "#deploys")
        .rollout_with(RolloutSpec::new("sl-off", PASSING))
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict("sl-off", "continue", DEADLINE);
    let go = press("U0LUBIT", "sena_go", "sl-off:0", &slack.response_url("off"));
    let answer = post(&sena, SECRET, now(), &go);
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert!(
        answer.body.contains("signing_secret_file"),
        "says how to turn it on: {}",
        answer.body
    );
    assert!(records(&sena, "sl-off").is_empty());
    assert!(slack.requests().is_empty(), "{:#?}", slack.requests());
}
