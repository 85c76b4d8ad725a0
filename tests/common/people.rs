//! The people and tokens of the approval tests: one roster with an approver
//! (lubit), a deputy (maestro), a bystander (mira) and the on-call person
//! (sena), each with a Slack ID and an API token, plus a read-only machine
//! token, and the two constant rules files a gate or decision test needs.

use super::ConfigBuilder;

pub const LUBIT: &str = "lubit-4a1c2e3f5b6d7a8c9e0f1a2b3c4d5e6f";
pub const MAESTRO: &str = "maestro-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
pub const MIRA: &str = "mira-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
/// The `deploy-pipeline` machine's token: `can: [read]`.
pub const CI: &str = "ci-77e1d2c3b4a5968778695a4b3c2d1e0f";

/// Everyone around the clock; level 0 is sena.
pub const ROSTER: &str = r#"timezone: UTC
people:
  sena:    { slack: U0SENA }
  lubit:   { slack: U0LUBIT }
  maestro: { slack: U0MAESTRO }
  mira:    { slack: U0MIRA }
slots:
  - name: around-the-clock
    from: "00:00"
    to: "24:00"
    escalation:
      - notify: [sena]
"#;

/// One check that always passes (`vector(0)` below 0.1).
pub const PASSING: &str = "checks:\n  - name: errors\n    query: vector(0)\n    below: 0.1\n";

/// One check that always fails and rolls back.
pub const FAILING: &str =
    "checks:\n  - name: errors\n    query: vector(1)\n    below: 0.1\n    on_fail: rollback\n";

/// The roster and `server.tokens` for all four tokens, written as files
/// `tokens/{lubit,maestro,mira,ci}` beside the config.
pub fn with_people(builder: ConfigBuilder) -> ConfigBuilder {
    builder
        .roster(ROSTER)
        .server_key("tokens:")
        .server_key("  - { person: lubit, token_file: tokens/lubit }")
        .server_key("  - { person: maestro, token_file: tokens/maestro }")
        .server_key("  - { person: mira, token_file: tokens/mira }")
        .server_key("  - { name: deploy-pipeline, token_file: tokens/ci, can: [read] }")
        .file("tokens/lubit", &format!("{LUBIT}\n"))
        .file("tokens/maestro", &format!("{MAESTRO}\n"))
        .file("tokens/mira", &format!("{MIRA}\n"))
        .file("tokens/ci", &format!("{CI}\n"))
}
