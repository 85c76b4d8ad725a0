//! Slack's signature and payload, checked without a network: a forged,
//! stale or tampered request and every hostile body must be refused, and
//! a genuine one accepted, or Slack's buttons are either useless or open.

use axum::http::HeaderMap;

use super::{parse, verify, BadSignature, SlackAction, MAX_BODY_BYTES};
use crate::domain::Choice;

const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
const NOW: i64 = 1_700_000_000;

fn key(secret: &[u8]) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret)
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(NOW).unwrap()
}

fn sign(secret: &[u8], ts: &str, body: &[u8]) -> String {
    let mut base = format!("v0:{ts}:").into_bytes();
    base.extend_from_slice(body);
    let tag = ring::hmac::sign(&key(secret), &base);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

fn headers(ts: Option<&str>, sig: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(ts) = ts {
        h.insert("x-slack-request-timestamp", ts.parse().unwrap());
    }
    if let Some(sig) = sig {
        h.insert("x-slack-signature", sig.parse().unwrap());
    }
    h
}

const BODY: &[u8] = b"payload=%7B%22type%22%3A%22block_actions%22%7D";

#[test]
fn a_genuine_signature_passes() {
    let ts = NOW.to_string();
    let h = headers(Some(&ts), Some(&sign(SECRET, &ts, BODY)));
    assert_eq!(verify(&key(SECRET), &h, BODY, now()), Ok(()));
    // 300 s either way is still fresh.
    for ts in [NOW - 300, NOW + 300] {
        let ts = ts.to_string();
        let h = headers(Some(&ts), Some(&sign(SECRET, &ts, BODY)));
        assert_eq!(verify(&key(SECRET), &h, BODY, now()), Ok(()), "{ts}");
    }
}

#[test]
fn forged_stale_tampered_or_missing_signatures_fail() {
    let ts = NOW.to_string();
    let good = sign(SECRET, &ts, BODY);
    let k = key(SECRET);
    let wrong = sign(b"another-secret", &ts, BODY);
    assert_eq!(
        verify(&k, &headers(Some(&ts), Some(&wrong)), BODY, now()),
        Err(BadSignature::Invalid)
    );
    for stale in [NOW - 301, NOW + 301] {
        let st = stale.to_string();
        let h = headers(Some(&st), Some(&sign(SECRET, &st, BODY)));
        assert_eq!(
            verify(&k, &h, BODY, now()),
            Err(BadSignature::Stale),
            "{stale}"
        );
    }
    // A timestamp swapped under a valid signature, and a tampered body.
    let later = (NOW + 1).to_string();
    assert_eq!(
        verify(&k, &headers(Some(&later), Some(&good)), BODY, now()),
        Err(BadSignature::Invalid)
    );
    let tampered = b"payload=%7B%22type%22%3A%22block_actionz%22%7D";
    assert_eq!(
        verify(&k, &headers(Some(&ts), Some(&good)), tampered, now()),
        Err(BadSignature::Invalid)
    );
    assert_eq!(
        verify(&k, &headers(None, Some(&good)), BODY, now()),
        Err(BadSignature::Missing)
    );
    assert_eq!(
        verify(&k, &headers(Some(&ts), None), BODY, now()),
        Err(BadSignature::Missing)
    );
    assert_eq!(
        verify(&k, &headers(Some("soon"), Some(&good)), BODY, now()),
        Err(BadSignature::Stale)
    );
    assert_eq!(
        verify(
            &k,
            &headers(Some("99999999999999999999999"), Some(&good)),
            BODY,
            now()
        ),
        Err(BadSignature::Stale)
    );
    let upper = format!("v0={}", good[3..].to_uppercase());
    let hostile = [
        "v0=zz".to_string(),
        format!("v0={}", "g".repeat(64)),
        format!("v1={}", &good[3..]),
        good[3..].to_string(),
        format!("{good}00"),
        format!("v0={}", "é".repeat(32)),
        upper.replace(|c: char| c.is_ascii_digit(), "0"),
    ];
    for sig in hostile {
        let h = headers(Some(&ts), Some(&sig));
        assert_eq!(
            verify(&k, &h, BODY, now()),
            Err(BadSignature::Invalid),
            "{sig}"
        );
    }
}

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
        Ok(Some(SlackAction {
            user: "U0LUBIT".into(),
            choice: Choice::Go,
            rollout: "checkout-api".into(),
            stage: 0,
            response_url: "https://hooks.slack.com/actions/T/1/x".into(),
        }))
    );
    let no_go = parse(&form(&press("sena_no_go", "a:b:2")))
        .unwrap()
        .unwrap();
    assert_eq!(
        (no_go.choice, no_go.rollout.as_str(), no_go.stage),
        (Choice::NoGo, "a:b", 2)
    );
    // Someone else's button or another interaction type: ignored, not an error.
    assert_eq!(parse(&form(&press("other", "x:0"))), Ok(None));
    let modal = r#"{"type":"view_submission","user":{"id":"U1"},"actions":[],"response_url":""}"#;
    assert_eq!(parse(&form(modal)), Ok(None));
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
    ];
    for body in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        assert!(parse(&body).is_err(), "accepted {shown}");
    }
}
