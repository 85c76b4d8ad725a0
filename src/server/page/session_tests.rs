use super::*;
use crate::domain::{Capabilities, Principal, TokenDigest};

fn person(name: &str) -> Identity {
    Identity {
        principal: Principal::Person(name.into()),
        can: Capabilities::all(),
    }
}

fn table(names: &[&str]) -> TokenTable {
    TokenTable::new(
        names
            .iter()
            .map(|n| (TokenDigest::of(&format!("token-{n}")), person(n)))
            .collect(),
    )
}

/// The token `table` configures for `name`.
fn digest(name: &str) -> TokenDigest {
    TokenDigest::of(&format!("token-{name}"))
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

#[test]
fn a_session_lives_until_its_expiry_and_not_a_second_longer() {
    let sessions = Sessions::default();
    let tokens = table(&["lubit"]);
    let (id, s) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    assert_eq!(id.len(), 64);
    assert_eq!(s.csrf.len(), 64);
    assert_ne!(id, s.csrf);
    assert!(sessions.find(&id, at(3600), Some(&tokens)).is_some());
    let lifetime = LIFETIME.as_secs() as i64;
    assert!(sessions
        .find(&id, at(lifetime - 1), Some(&tokens))
        .is_some());
    assert!(sessions.find(&id, at(lifetime), Some(&tokens)).is_none());
    // Gone for good, not only hidden.
    assert!(sessions.find(&id, at(0), Some(&tokens)).is_none());
    assert_eq!(sessions.count(), 0);
}

#[test]
fn ids_are_random_and_unknown_ids_find_nothing() {
    let sessions = Sessions::default();
    let tokens = table(&["lubit"]);
    let (a, _) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    let (b, _) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    assert_ne!(a, b);
    assert!(sessions.find("", at(1), Some(&tokens)).is_none());
    assert!(sessions.find(&a[..63], at(1), Some(&tokens)).is_none());
}

#[test]
fn a_revoked_token_or_sign_out_ends_the_session() {
    let sessions = Sessions::default();
    let (id, _) = sessions
        .start(person("mira"), digest("mira"), at(0))
        .unwrap();
    // A reload removed mira's token: her session goes with it.
    assert!(sessions
        .find(&id, at(1), Some(&table(&["lubit"])))
        .is_none());
    let (id, _) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    assert!(
        sessions.find(&id, at(1), None).is_none(),
        "no tokens at all"
    );
    let (id, _) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    sessions.end(&id);
    assert!(sessions
        .find(&id, at(1), Some(&table(&["lubit"])))
        .is_none());
}

/// Rotating a leaked token (same person, new token file, reload) must
/// sign out whoever signed in with the old one, not only refuse it as a
/// bearer token; a session from the new token lives on.
#[test]
fn a_rotated_token_ends_the_sessions_made_with_the_old_one() {
    let sessions = Sessions::default();
    let (old, _) = sessions
        .start(person("mira"), digest("mira"), at(0))
        .unwrap();
    let rotated = TokenTable::new(vec![(TokenDigest::of("token-mira-new"), person("mira"))]);
    let (new, _) = sessions
        .start(person("mira"), TokenDigest::of("token-mira-new"), at(0))
        .unwrap();
    assert!(sessions.find(&old, at(1), Some(&rotated)).is_none());
    assert!(sessions.find(&new, at(1), Some(&rotated)).is_some());
    // The same token for another identity (reassigned) does not carry it.
    let reassigned = TokenTable::new(vec![(digest("mira"), person("lubit"))]);
    let (id, _) = sessions
        .start(person("mira"), digest("mira"), at(0))
        .unwrap();
    assert!(sessions.find(&id, at(1), Some(&reassigned)).is_none());
}

#[test]
fn flash_messages_show_once() {
    let sessions = Sessions::default();
    let (id, _) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    sessions.set_flash(&id, "GO recorded".into());
    assert_eq!(sessions.take_flash(&id).as_deref(), Some("GO recorded"));
    assert_eq!(sessions.take_flash(&id), None);
}

#[test]
fn sessions_are_bounded() {
    let sessions = Sessions::default();
    // Many tokens: one token holds one session at a time.
    for i in 0..(MAX_SESSIONS + 5) {
        let name = format!("p{i}");
        sessions
            .start(person(&name), digest(&name), at(i as i64))
            .unwrap();
    }
    assert_eq!(sessions.count(), MAX_SESSIONS);
}

#[test]
fn csrf_compares_whole_strings_in_constant_time() {
    let sessions = Sessions::default();
    let (_, s) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    assert!(csrf_ok(&s, &s.csrf.clone()));
    assert!(!csrf_ok(&s, ""));
    assert!(!csrf_ok(&s, &s.csrf[..63]));
    let mut wrong = s.csrf.clone().into_bytes();
    wrong[63] ^= 1;
    assert!(!csrf_ok(&s, std::str::from_utf8(&wrong).unwrap()));
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
}

#[test]
fn cookies_carry_the_flags_and_are_read_back() {
    let set = set_cookie("abc", false);
    assert_eq!(
        set,
        format!(
            "sena_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
            LIFETIME.as_secs()
        )
    );
    let https = set_cookie("abc", true);
    assert!(https.starts_with("__Host-sena_session=abc;"), "{https}");
    assert!(https.ends_with("; Secure") && https.contains("; Path=/;"));
    assert!(!https.contains("Domain"));
    assert!(clear_cookie(false).contains("Max-Age=0"));
    assert!(clear_cookie(true).starts_with("__Host-sena_session=;"));
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::COOKIE,
        "theme=dark; sena_session=abc123; x=y".parse().unwrap(),
    );
    assert_eq!(cookie_value(&headers).as_deref(), Some("abc123"));
    headers.insert("x-forwarded-proto", "HTTPS".parse().unwrap());
    assert!(behind_https(&headers));
    headers.insert(
        axum::http::header::COOKIE,
        "sena_session=plain; __Host-sena_session=secure"
            .parse()
            .unwrap(),
    );
    assert_eq!(cookie_value(&headers).as_deref(), Some("secure"));
}

#[test]
fn a_new_sign_in_ends_the_previous_session_of_the_same_token() {
    let sessions = Sessions::default();
    let tokens = table(&["lubit", "mira"]);
    let (first, _) = sessions
        .start(person("lubit"), digest("lubit"), at(0))
        .unwrap();
    let (mira, _) = sessions
        .start(person("mira"), digest("mira"), at(0))
        .unwrap();
    let (second, _) = sessions
        .start(person("lubit"), digest("lubit"), at(1))
        .unwrap();
    assert!(sessions.find(&first, at(2), Some(&tokens)).is_none());
    assert!(sessions.find(&second, at(2), Some(&tokens)).is_some());
    assert!(
        sessions.find(&mira, at(2), Some(&tokens)).is_some(),
        "another token's session stays"
    );
}

#[test]
fn concurrent_sign_ins_and_lookups_neither_panic_nor_lose_sessions() {
    let sessions = std::sync::Arc::new(Sessions::default());
    // One person per thread: a token holds one session at a time.
    let names: Vec<String> = (0..8).map(|n| format!("p{n}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let tokens = std::sync::Arc::new(table(&refs));
    let threads: Vec<_> = names
        .into_iter()
        .map(|name| {
            let (sessions, tokens) = (sessions.clone(), tokens.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let (id, _) = sessions.start(person(&name), digest(&name), at(0)).unwrap();
                    assert!(sessions.find(&id, at(1), Some(&tokens)).is_some());
                    sessions.set_flash(&id, "x".into());
                    assert_eq!(sessions.take_flash(&id).as_deref(), Some("x"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sessions.count(), 8);
}
