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
use common::sena::Sena;
use common::slack::SlackStandIn;
use common::ConfigBuilder;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn now() -> i64 {
    common::sena::now_ms() / 1000
}

fn sign(secret: &str, ts: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("v0:{ts}:{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

fn press(user: &str, action_id: &str, value: &str, response_url: &str) -> String {
    let json = serde_json::json!({
        "type": "block_actions",
        "user": {"id": user, "name": "someone"},
        "actions": [{"action_id": action_id, "value": value, "block_id": "b"}],
        "response_url": response_url,
        "trigger_id": "t",
    })
    .to_string();
    let mut body = String::from("payload=");
    for b in json.bytes() {
        if b.is_ascii_alphanumeric() {
            body.push(b as char);
        } else {
            body.push_str(&format!("%{b:02X}"));
        }
    }
    body
}

fn post(sena: &Sena, secret: &str, ts: i64, body: &str) -> http::Response {
    let sig = sign(secret, ts, body);
    let ts = ts.to_string();
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Slack-Request-Timestamp", ts.as_str()),
        ("X-Slack-Signature", sig.as_str()),
    ];
    let url = format!("{}/api/v1/slack/interactions", sena.base_url());
    http::request("POST", &url, &headers, body.as_bytes()).expect("POST interactions")
}

fn records(sena: &Sena, rollout: &str) -> Vec<Value> {
    let (status, body) = sena.get(&format!("/api/v1/rollouts/{rollout}/decisions"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["decisions"]
        .as_array()
        .unwrap()
        .clone()
}

fn responses(slack: &SlackStandIn, id: &str) -> Vec<Value> {
    let path = format!("/response/{id}");
    slack
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| r.body)
        .collect()
}

fn wait_response(slack: &SlackStandIn, id: &str, n: usize) -> Vec<Value> {
    common::wait_until(
        &format!("{n} post(s) to response_url {id}"),
        DEADLINE,
        || {
            let got = responses(slack, id);
            (got.len() >= n).then_some(got)
        },
        || format!("{:#?}", slack.requests()),
    )
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
    let go = |user: &str, id: &str| press(user, "sena_go", "sl-go:0", &slack.response_url(id));

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

    // NO-GO by button: told how to give a reason, nothing recorded.
    let no_go = press(
        "U0LUBIT",
        "sena_no_go",
        "sl-go:0",
        &slack.response_url("nogo"),
    );
    assert_eq!(post(&sena, SECRET, now(), &no_go).status, 200);
    let told = wait_response(&slack, "nogo", 1);
    assert!(told[0]["text"]
        .as_str()
        .unwrap()
        .contains("sena reject sl-go --stage 0 --comment"));
    assert_eq!(records(&sena, "sl-go").len(), 1);

    // lubit's GO, clicked twice: the stage moves once, the message is replaced.
    assert_eq!(
        post(&sena, SECRET, now(), &go("U0LUBIT", "go1")).status,
        200
    );
    let replaced = wait_response(&slack, "go1", 1);
    assert_eq!(replaced[0]["replace_original"], true, "{replaced:?}");
    assert_eq!(replaced[0]["text"], "GO by lubit → now at 10%");
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
