//! The identity table: which token is whose, what each may do, and that
//! comparison neither stops early nor confuses near-misses.

use super::*;

fn person(name: &str) -> Identity {
    Identity {
        principal: Principal::Person(name.into()),
        can: Capabilities::all(),
    }
}

fn table() -> TokenTable {
    TokenTable::new(vec![
        (TokenDigest::of("lubit-secret-0123456789"), person("lubit")),
        (TokenDigest::of("sena-secret-0123456789"), person("sena")),
        (
            TokenDigest::of("ci-secret-0123456789"),
            Identity {
                principal: Principal::Machine("deploy-pipeline".into()),
                can: Capabilities::of(&[Capability::Read]),
            },
        ),
    ])
}

#[test]
fn constant_time_eq_compares_every_byte() {
    let a = [7u8; 32];
    assert!(constant_time_eq(&a, &a));
    for i in 0..32 {
        let mut b = a;
        b[i] ^= 0x80;
        assert!(!constant_time_eq(&a, &b), "difference at byte {i} missed");
    }
    let mut last_bit = a;
    last_bit[31] ^= 1;
    assert!(!constant_time_eq(&a, &last_bit));
}

#[test]
fn each_token_authenticates_as_its_own_identity() {
    let t = table();
    assert_eq!(
        t.authenticate("lubit-secret-0123456789")
            .map(|i| i.principal.name()),
        Some("lubit")
    );
    assert_eq!(
        t.authenticate("sena-secret-0123456789")
            .map(|i| i.principal.name()),
        Some("sena")
    );
    let ci = t.authenticate("ci-secret-0123456789").unwrap();
    assert_eq!(ci.principal, Principal::Machine("deploy-pipeline".into()));
    assert!(ci.can.contains(Capability::Read));
    assert!(!ci.can.contains(Capability::Ack));
}

#[test]
fn near_misses_and_hostile_tokens_authenticate_as_no_one() {
    let t = table();
    for presented in [
        "",
        "lubit-secret-012345678",
        "lubit-secret-01234567890",
        "Lubit-secret-0123456789",
        " lubit-secret-0123456789",
        "lubit-secret-0123456789\n",
        "ключ-🔑",
        &"x".repeat(1 << 20),
    ] {
        assert!(
            t.authenticate(presented).is_none(),
            "{:?} authenticated",
            presented.chars().take(40).collect::<String>()
        );
    }
    assert!(TokenTable::default()
        .authenticate("lubit-secret-0123456789")
        .is_none());
}

#[test]
fn a_person_can_do_everything_a_machine_what_it_lists() {
    let all = Capabilities::all();
    for c in Capability::ALL {
        assert!(all.contains(*c), "{c}");
    }
    let read = Capabilities::of(&[Capability::Read]);
    assert_eq!(read.to_string(), "read");
    assert_eq!(all.to_string(), "read, ack, decide, reload");
    assert_eq!(Capabilities::default().to_string(), "nothing");
    assert_eq!(Capability::parse("decide"), Some(Capability::Decide));
    assert_eq!(Capability::parse("Decide"), None);
}

#[test]
fn debug_shows_identities_never_digests() {
    let shown = format!("{:?}", table());
    assert_eq!(
        shown,
        r#"["lubit: read, ack, decide, reload", "sena: read, ack, decide, reload", "deploy-pipeline: read"]"#
    );
}

#[test]
fn the_local_caller_is_named_local() {
    assert_eq!(Identity::local().principal.name(), "local");
    assert!(Identity::local().can.contains(Capability::Reload));
}
