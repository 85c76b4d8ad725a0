//! The access decision on its own: tokens, capabilities, the loopback rule
//! and hostile Authorization headers, without a socket.

use axum::http::HeaderValue;

use super::*;
use crate::domain::{Principal, TokenDigest};

const LUBIT: &str = "lubit-token-0123456789abcdef";
const CI: &str = "ci-token-0123456789abcdef";

fn tokens() -> TokenTable {
    TokenTable::new(vec![
        (
            TokenDigest::of(LUBIT),
            Identity {
                principal: Principal::Person("lubit".into()),
                can: Capabilities::all(),
            },
        ),
        (
            TokenDigest::of(CI),
            Identity {
                principal: Principal::Machine("deploy-pipeline".into()),
                can: Capabilities::of(&[Capability::Read]),
            },
        ),
    ])
}

fn headers(values: &[&[u8]]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(header::AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
    }
    map
}

fn peer(addr: &str) -> Option<SocketAddr> {
    Some(addr.parse().unwrap())
}

const ACK: Need = Need::Capability(Capability::Ack);

#[test]
fn a_token_acts_as_its_identity_only_within_its_capabilities() {
    let t = tokens();
    let lubit = check(
        Some(&t),
        &headers(&[b"Bearer lubit-token-0123456789abcdef"]),
        None,
        ACK,
    );
    assert_eq!(lubit.unwrap().unwrap().principal.name(), "lubit");
    let lower = check(
        Some(&t),
        &headers(&[b"bearer lubit-token-0123456789abcdef"]),
        None,
        ACK,
    );
    assert!(lower.is_ok(), "the scheme is case-insensitive");
    let ci = check(
        Some(&t),
        &headers(&[b"Bearer ci-token-0123456789abcdef"]),
        None,
        ACK,
    );
    let denied = ci.unwrap_err();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        denied.to_string(),
        "deploy-pipeline may not ack (the token allows: read)"
    );
}

#[test]
fn with_tokens_a_mutation_needs_one_even_from_loopback() {
    let t = tokens();
    let denied = check(Some(&t), &HeaderMap::new(), peer("127.0.0.1:5000"), ACK).unwrap_err();
    assert_eq!(denied, Denied::MissingToken);
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let wrong = check(Some(&t), &headers(&[b"Bearer nope"]), None, ACK);
    assert_eq!(wrong.unwrap_err(), Denied::InvalidToken);
}

#[test]
fn reads_take_a_token_of_any_capability_but_need_none() {
    let t = tokens();
    assert_eq!(
        check(Some(&t), &HeaderMap::new(), None, Need::Nothing),
        Ok(None)
    );
    let ci = check(
        Some(&t),
        &headers(&[b"Bearer ci-token-0123456789abcdef"]),
        None,
        Need::Nothing,
    );
    assert!(ci.unwrap().is_some());
    let wrong = check(Some(&t), &headers(&[b"Bearer nope"]), None, Need::Nothing);
    assert_eq!(wrong.unwrap_err(), Denied::InvalidToken);
}

#[test]
fn hostile_headers_are_refused_not_panicked_on() {
    let t = tokens();
    let huge = format!("Bearer {}", "a".repeat(1 << 16));
    let cases: &[&[&[u8]]] = &[
        &[b""],
        &[b"Bearer"],
        &[b"Bearer "],
        &[b"Bearer    "],
        &[b"Basic bHViaXQ6cHc="],
        &[b"Bearer \xff\xfe\xfd"],
        &["Bearer ключ".as_bytes()],
        &[huge.as_bytes()],
        &[
            b"Bearer lubit-token-0123456789abcdef",
            b"Bearer ci-token-0123456789abcdef",
        ],
    ];
    for values in cases {
        let result = check(Some(&t), &headers(values), None, ACK);
        assert_eq!(
            result.unwrap_err().status(),
            StatusCode::UNAUTHORIZED,
            "{:?}",
            values.iter().map(|v| v.len()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn without_tokens_only_loopback_peers_may_change_anything() {
    for local in [
        "127.0.0.1:1",
        "127.8.9.10:1",
        "[::1]:1",
        "[::ffff:127.0.0.1]:1",
    ] {
        let who = check(None, &HeaderMap::new(), peer(local), ACK);
        assert_eq!(who, Ok(Some(Identity::local())), "{local}");
    }
    for remote in [
        "10.0.0.7:1",
        "0.0.0.0:1",
        "[::ffff:10.0.0.7]:1",
        "[2001:db8::1]:1",
    ] {
        let denied = check(None, &HeaderMap::new(), peer(remote), ACK).unwrap_err();
        assert_eq!(denied, Denied::NotLoopback, "{remote}");
        assert!(denied.to_string().contains("configure `server.tokens`"));
    }
    assert_eq!(
        check(None, &HeaderMap::new(), None, ACK),
        Err(Denied::NotLoopback),
        "an unknown peer counts as remote"
    );
    assert_eq!(
        check(None, &HeaderMap::new(), peer("10.0.0.7:1"), Need::Nothing),
        Ok(None),
        "reads stay open"
    );
}

#[test]
fn a_401_carries_the_bearer_challenge_and_a_json_error() {
    let response = Denied::InvalidToken.into_response();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let forbidden = Denied::NotLoopback.into_response();
    assert!(forbidden.headers().get(header::WWW_AUTHENTICATE).is_none());
    let every = [
        Denied::MissingToken,
        Denied::MalformedToken,
        Denied::InvalidToken,
        Denied::Forbidden {
            who: "x".into(),
            need: Capability::Ack,
            has: Capabilities::default(),
        },
        Denied::NotLoopback,
    ];
    let reasons: Vec<&str> = every.iter().map(Denied::reason).collect();
    assert_eq!(
        reasons,
        Denied::REASONS,
        "every reason is pre-registered at 0"
    );
}

#[test]
fn gates_need_a_read_token_when_tokens_are_configured_and_nothing_otherwise() {
    let t = tokens();
    let missing = check(
        Some(&t),
        &HeaderMap::new(),
        peer("127.0.0.1:5000"),
        Need::Read,
    );
    assert_eq!(missing.unwrap_err(), Denied::MissingToken);
    let ci = check(
        Some(&t),
        &headers(&[b"Bearer ci-token-0123456789abcdef"]),
        None,
        Need::Read,
    );
    assert_eq!(ci.unwrap().unwrap().principal.name(), "deploy-pipeline");
    let ack_only = TokenTable::new(vec![(
        TokenDigest::of(CI),
        Identity {
            principal: Principal::Machine("pager".into()),
            can: Capabilities::of(&[Capability::Ack]),
        },
    )]);
    let denied = check(
        Some(&ack_only),
        &headers(&[b"Bearer ci-token-0123456789abcdef"]),
        None,
        Need::Read,
    )
    .unwrap_err();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    // Without tokens a gate is open, from any host (Flagger is in the cluster).
    assert_eq!(
        check(None, &HeaderMap::new(), peer("10.0.0.7:5000"), Need::Read),
        Ok(None)
    );
}

#[test]
fn public_reads_open_reads_and_gates_and_public_gates_only_gates() {
    use super::opened;
    assert_eq!(opened(Need::Read, false, false), Need::Read);
    assert_eq!(opened(Need::Read, false, true), Need::Read);
    assert_eq!(opened(Need::Read, true, false), Need::Nothing);
    assert_eq!(opened(Need::Gate, false, false), Need::Gate);
    assert_eq!(opened(Need::Gate, false, true), Need::Nothing);
    assert_eq!(opened(Need::Gate, true, false), Need::Nothing);
    for flags in [(false, false), (true, true)] {
        let ack = Need::Capability(Capability::Ack);
        assert_eq!(opened(ack, flags.0, flags.1), ack, "nothing mutating opens");
    }
    // Closed reads need a token with tokens configured, as gates do.
    let t = tokens();
    assert_eq!(
        check(
            Some(&t),
            &HeaderMap::new(),
            peer("127.0.0.1:5000"),
            Need::Read
        )
        .unwrap_err(),
        Denied::MissingToken
    );
}

#[test]
fn readyz_details_go_to_a_reader_or_to_this_host_without_tokens() {
    use super::may_see_failures;
    let t = tokens();
    let none = HeaderMap::new();
    let ci = headers(&[b"Bearer ci-token-0123456789abcdef"]);
    let wrong = headers(&[b"Bearer not-a-token-at-all-0000"]);
    assert!(!may_see_failures(Some(&t), &none, peer("127.0.0.1:5000")));
    assert!(!may_see_failures(Some(&t), &wrong, peer("127.0.0.1:5000")));
    assert!(may_see_failures(Some(&t), &ci, peer("10.0.0.7:5000")));
    assert!(may_see_failures(None, &none, peer("127.0.0.1:5000")));
    assert!(!may_see_failures(None, &none, peer("10.0.0.7:5000")));
    assert!(!may_see_failures(None, &none, None));
}
