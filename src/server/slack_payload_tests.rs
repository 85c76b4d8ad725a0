//! Slack's payloads, read without a network: every button and the NO-GO
//! form come out typed, and every hostile body is refused without a panic.

use super::*;

fn form(json: &str) -> Vec<u8> {
    let mut out = String::from("payload=");
    for b in json.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.into_bytes()
}

fn press(action_id: &str, value: &str) -> String {
    format!(
        r#"{{"type":"block_actions","user":{{"id":"U0LUBIT","name":"lubit"}},"actions":[{{"action_id":"{action_id}","value":"{value}","block_id":"b"}}],"response_url":"https://hooks.slack.com/actions/T/1/x","trigger_id":"t"}}"#
    )
}

#[test]
fn a_button_press_is_read() {
    assert_eq!(
        parse(&form(&press("sena_go", "checkout-api:0"))),
        Ok(Some(SlackInteraction::Press(SlackAction {
            user: "U0LUBIT".into(),
            button: Button::Go(ApprovalRequest {
                rollout: "checkout-api".into(),
                stage: 0,
                stage_started_at: None,
            }),
            response_url: "https://hooks.slack.com/actions/T/1/x".into(),
            trigger_id: Some("t".into()),
            message: None,
            blocks: None,
        })))
    );
    let Ok(Some(SlackInteraction::Press(no_go))) =
        parse(&form(&press("sena_no_go", "a:2:1764860000123")))
    else {
        panic!("a NO-GO press is read");
    };
    assert_eq!(
        no_go.button,
        Button::NoGo(ApprovalRequest {
            rollout: "a".into(),
            stage: 2,
            stage_started_at: Some(jiff::Timestamp::from_millisecond(1_764_860_000_123).unwrap()),
        })
    );
    let Ok(Some(SlackInteraction::Press(ack))) = parse(&form(&press("sena_ack", "42"))) else {
        panic!("an Acknowledge press is read");
    };
    assert_eq!(ack.button, Button::Ack { incident: 42 });
    // Someone else's button or another interaction type: ignored, not an error.
    assert_eq!(parse(&form(&press("other", "x:0"))), Ok(None));
    let other_view = r#"{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"theirs","state":{"values":{}}}}"#;
    assert_eq!(parse(&form(other_view)), Ok(None));
    let closed = r#"{"type":"view_closed","user":{"id":"U1"}}"#;
    assert_eq!(parse(&form(closed)), Ok(None));
}

#[test]
fn the_message_a_button_is_on_is_kept_for_the_update() {
    let json = r#"{"type":"block_actions","user":{"id":"U0LUBIT"},"actions":[{"action_id":"sena_no_go","value":"a:0"}],"response_url":"https://hooks.slack.com/x","trigger_id":"13345224609.738474920.8088930838d88f008e0","container":{"type":"message","channel_id":"C0DEPLOY","message_ts":"1700000000.000100"},"message":{"ts":"1700000000.000100","blocks":[{"type":"section"}]}}"#;
    let Ok(Some(SlackInteraction::Press(a))) = parse(&form(json)) else {
        panic!("read");
    };
    assert_eq!(
        a.message,
        Some(MessageRef {
            channel: "C0DEPLOY".into(),
            ts: "1700000000.000100".into()
        })
    );
    assert_eq!(a.blocks.map(|b| b.len()), Some(1));
    // A channel or ts that is not Slack's shape is dropped, not echoed.
    let odd = json.replace("C0DEPLOY", "C0 <!here>");
    let Ok(Some(SlackInteraction::Press(a))) = parse(&form(&odd)) else {
        panic!("read");
    };
    assert_eq!(a.message, None);
}

fn submit(user: &str, metadata: &str, value: &str) -> Vec<u8> {
    let payload = serde_json::json!({
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "callback_id": NO_GO_CALLBACK,
            "private_metadata": metadata,
            "state": {"values": {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": serde_json::from_str::<serde_json::Value>(value).unwrap()}}}},
        },
    });
    form(&payload.to_string())
}

#[test]
fn the_no_go_form_is_read_with_its_reason_and_message() {
    let meta = r#"{"rollout":"checkout-api","stage":1,"stage_started_at":"2026-12-04T18:00:00Z","message":{"channel":"C0DEPLOY","ts":"1.2"}}"#;
    assert_eq!(
        parse(&submit("U0LUBIT", meta, "\"  p99 is creeping up \\n \"")),
        Ok(Some(SlackInteraction::NoGoReason(SlackNoGo {
            user: "U0LUBIT".into(),
            rollout: "checkout-api".into(),
            stage: 1,
            stage_started_at: Some("2026-12-04T18:00:00Z".parse().unwrap()),
            reason: "p99 is creeping up".into(),
            message: Some(MessageRef {
                channel: "C0DEPLOY".into(),
                ts: "1.2".into()
            }),
        })))
    );
    // Blank or null: read as empty, for the daemon to refuse in the form.
    for blank in [r#""   ""#, "null"] {
        let Ok(Some(SlackInteraction::NoGoReason(n))) = parse(&submit("U0LUBIT", meta, blank))
        else {
            panic!("read {blank}");
        };
        assert_eq!(n.reason, "");
    }
    for (user, meta, value) in [
        ("U0LUBIT", "not json", r#""x""#),
        ("U0LUBIT", r#"{"rollout":"","stage":0}"#, r#""x""#),
        ("U0LUBIT", r#"{"rollout":"a","stage":-1}"#, r#""x""#),
        ("U0LUBIT", meta, "7"),
        ("U0 <!channel>", meta, r#""x""#),
    ] {
        assert!(
            parse(&submit(user, meta, value)).is_err(),
            "accepted {user} {meta} {value}"
        );
    }
}

#[test]
fn hostile_payloads_are_refused_without_panicking() {
    let huge = form(&press("sena_go", &"x".repeat(MAX_BODY_BYTES)));
    let cases: Vec<Vec<u8>> = vec![
        b"\xff\xfepayload=1".to_vec(),
        b"payload=%FF%FE".to_vec(),
        b"payload=%".to_vec(),
        b"payload=%4".to_vec(),
        b"payload=%zz".to_vec(),
        b"other=1".to_vec(),
        b"".to_vec(),
        huge,
        form("[]"),
        form("null"),
        form(r#"{"type":1,"user":{"id":"U1"},"actions":[],"response_url":""}"#),
        form(
            r#"{"type":"block_actions","user":{"id":7},"actions":[{"action_id":"sena_go","value":"a:0"}],"response_url":""}"#,
        ),
        form(r#"{"type":"block_actions","user":{"id":"U1"},"actions":[],"response_url":""}"#),
        form(r#"{"type":"block_actions","user":{"id":"U1"},"actions":{"a":1},"response_url":""}"#),
        form(&press("sena_go", "checkout-api")),
        form(&press("sena_go", "checkout-api:-1")),
        form(&press("sena_go", ":0")),
        form(&press("sena_go", "a:99999999999999999999999999")),
        form(&press("sena_go", "a:NaN")),
        form(&press("sena_go", "a:0").replace("U0LUBIT", "U0 <!channel>")),
        form(&press("sena_ack", "0")),
        form(&press("sena_ack", "-3")),
        form(&press("sena_ack", "3; DROP TABLE incident")),
        form(&press("sena_ack", "")),
        form(&press("sena_ack", "1").replace("U0LUBIT", "")),
        form(
            r#"{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"sena_no_go","private_metadata":"{\"rollout\":\"a\",\"stage\":0}","state":{"values":{}}}}"#,
        ),
    ];
    for body in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        assert!(parse(&body).is_err(), "accepted {shown}");
    }
}
