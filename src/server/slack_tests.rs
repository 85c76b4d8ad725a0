//! Slack's signature, checked without a network: a forged,
//! stale or tampered request and every hostile body must be refused, and
//! a genuine one accepted, or Slack's buttons are either useless or open.

use axum::http::HeaderMap;

use super::BadSignature;

/// The signature check without the replay key, which
/// `the_replay_key_is_the_decoded_signature` looks at.
fn verify(
    key: &ring::hmac::Key,
    headers: &HeaderMap,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<(), BadSignature> {
    super::verify(key, headers, body, now).map(|_| ())
}

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

/// The timestamp is read before the signature: the extremes of an `i64`
/// must be stale, not an overflow (it panicked the connection's task).
#[test]
fn timestamps_at_the_ends_of_i64_are_stale_not_a_panic() {
    let k = key(SECRET);
    for ts in [i64::MIN, i64::MIN + 1, i64::MAX, -NOW] {
        let ts = ts.to_string();
        let h = headers(Some(&ts), Some(&sign(SECRET, &ts, BODY)));
        assert_eq!(
            verify(&k, &h, BODY, now()),
            Err(BadSignature::Stale),
            "{ts}"
        );
    }
}

#[test]
fn the_replay_key_is_the_decoded_signature() {
    let ts = NOW.to_string();
    let lower = sign(SECRET, &ts, BODY);
    let upper = format!("v0={}", lower[3..].to_uppercase());
    let k = key(SECRET);
    let a = super::verify(&k, &headers(Some(&ts), Some(&lower)), BODY, now()).unwrap();
    let b = super::verify(&k, &headers(Some(&ts), Some(&upper)), BODY, now()).unwrap();
    assert_eq!(
        a, b,
        "the same request in other hex case is the same request"
    );
    assert_eq!(a.at, now());
    let other = b"payload=%7B%22type%22%3A%22view_submission%22%7D";
    let c = super::verify(
        &k,
        &headers(Some(&ts), Some(&sign(SECRET, &ts, other))),
        other,
        now(),
    )
    .unwrap();
    assert_ne!(a.digest, c.digest);
}
