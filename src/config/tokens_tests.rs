//! `server.tokens` that load: who each token is and what it may do. The
//! broken ones are in `tests/fixtures/rules/sena-tokens-bad.yaml`.

use std::path::Path;

use crate::config::load_str;
use crate::domain::{Capabilities, Capability, Principal};

const LUBIT: &str = "lubit-0123456789abcdef0123456789";
const CI: &str = "ci-0123456789abcdef0123456789";

fn load(server: &str, roster: bool) -> Result<crate::config::Loaded, crate::config::Diagnostics> {
    let roster = if roster {
        "roster: ../config/roster.yaml\n"
    } else {
        ""
    };
    let text = format!(
        "prometheus: {{ url: http://127.0.0.1:9090 }}\nserver:\n{server}{roster}rollouts:\n  - {{ name: web, approver: lubit, stages: [{{ traffic: 100% }}], rules: [good.yaml] }}\n"
    );
    load_str(&text, Path::new("tests/fixtures/rules/sena.yaml"))
}

#[test]
fn a_person_can_do_everything_a_machine_only_what_it_lists() {
    let loaded = load(
        "  listen: 0.0.0.0:9464\n  tokens:\n    - { person: lubit, token_file: tokens/lubit }\n    - { name: deploy-pipeline, token_file: tokens/ci, can: [read] }\n",
        true,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        loaded.warnings.is_empty(),
        "tokens set: no listen warning: {}",
        loaded.warnings
    );
    let tokens = loaded.config.server.tokens.clone().expect("tokens");
    let lubit = tokens.authenticate(LUBIT).expect("lubit's token");
    assert_eq!(lubit.principal, Principal::Person("lubit".into()));
    assert_eq!(lubit.can, Capabilities::all());
    let ci = tokens.authenticate(CI).expect("the pipeline's token");
    assert_eq!(ci.principal, Principal::Machine("deploy-pipeline".into()));
    assert_eq!(ci.can, Capabilities::of(&[Capability::Read]));
    assert!(tokens.authenticate("lubit").is_none());
    let debug = format!("{:?}", loaded.config.server);
    assert!(!debug.contains(LUBIT) && !debug.contains(CI), "{debug}");
    assert!(debug.contains("deploy-pipeline: read"), "{debug}");
}

#[test]
fn a_person_may_be_narrowed_with_can() {
    let loaded = load(
        "  tokens: [{ person: sena, token_file: tokens/lubit, can: [read, ack] }]\n",
        true,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let tokens = loaded.config.server.tokens.unwrap();
    let sena = tokens.authenticate(LUBIT).unwrap();
    assert!(sena.can.contains(Capability::Ack) && !sena.can.contains(Capability::Reload));
}

#[test]
fn without_a_roster_a_person_is_any_name_like_an_approver() {
    let loaded = load(
        "  tokens: [{ person: mira, token_file: tokens/lubit }]\n",
        false,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let tokens = loaded.config.server.tokens.unwrap();
    assert_eq!(tokens.authenticate(LUBIT).unwrap().principal.name(), "mira");
}

#[test]
fn no_tokens_means_loopback_only_and_an_empty_list_is_an_error() {
    let loaded = load("  listen: 127.0.0.1:9464\n", true).unwrap();
    assert!(loaded.config.server.tokens.is_none());
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
    let empty = load("  tokens: []\n", true).unwrap_err().to_string();
    assert!(empty.contains("`tokens` is empty"), "{empty}");
}

/// `deputies:` are roster people, like the approver; a stranger is an
/// error at its own line and column.
#[test]
fn deputies_are_roster_people_checked_at_their_line() {
    let text = |deputies: &str| {
        format!(
            "prometheus: {{ url: http://127.0.0.1:9090 }}\nroster: ../config/roster.yaml\nrollouts:\n  - name: web\n    approver: lubit\n    deputies: {deputies}\n    stages: [{{ traffic: 100% }}]\n    rules: [good.yaml]\n"
        )
    };
    let path = Path::new("tests/fixtures/rules/sena.yaml");
    let loaded = load_str(&text("[sena]"), path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.rollouts[0].deputies, ["sena"]);
    let err = load_str(&text("[sena, stranger]"), path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sena.yaml:6:22: deputy `stranger` is not one of the roster's people"),
        "{err}"
    );
    let err = load_str(&text("maestro"), path).unwrap_err().to_string();
    assert!(err.contains("`deputies` must be a list"), "{err}");
}
