//! `sena check` on broken files: every fixture in `tests/fixtures/rules/*-bad.yaml`
//! with the exact `FILE:LINE:COLUMN: message` lines it must produce, in the
//! style of vmalert's `config/testdata/rules*-bad.rules`; every
//! `*-warn.yaml` with the exact warnings it loads with. Good fixtures and
//! the shipped examples must load.
//!
//! A fixture named `sena-*-bad.yaml` is a whole `sena.yaml`; any other is a
//! rules file, loaded through a one-rollout config placed (virtually) beside
//! it, so its diagnostics name it exactly as `sena check` would.

use std::path::Path;
use std::process::Command;

use sena::config::{self, Diagnostics};

const DIR: &str = "tests/fixtures/rules";

/// (fixture, every diagnostic line it produces, in order).
const BAD: &[(&str, &[&str])] = &[
(
    "counts-bad.yaml",
    &[
        "tests/fixtures/rules/counts-bad.yaml:3:5: a check has `query:` or count queries (`bad:`/`good:` with `total:`), not both; remove one",
        "tests/fixtures/rules/counts-bad.yaml:8:10: `bad` needs `{{ window }}` where its range goes, like `sum(increase(http_requests_total{...}[{{ window }}]))`: Sena asks for the counts over the windows it judges",
        "tests/fixtures/rules/counts-bad.yaml:14:12: a `bad:` count check limits the bad share from above: write `below:` (for example `below: 0.1%`)",
        "tests/fixtures/rules/counts-bad.yaml:15:5: a count check needs `total:`, the query counting every request that `good:` is a share of",
        "tests/fixtures/rules/counts-bad.yaml:21:12: a count check's limit is a share of requests, not a duration; for latency count the requests slower than it (`below: 5%` of requests over 2s)",
        "tests/fixtures/rules/counts-bad.yaml:26:21: `track` has no `track=\"...\"` matcher in `bad:` to swap; write the baseline's own `vs: {bad: ..., total: ...}` instead",
        "tests/fixtures/rules/counts-bad.yaml:28:23: `{{ window }}` is only for count queries (`bad:`, `good:`, `total:`); a plain `query:` has a fixed range",
        "tests/fixtures/rules/counts-bad.yaml:34:17: `confidence` must be between 50% and 99.9999%; 95% is the usual choice",
        "tests/fixtures/rules/counts-bad.yaml:35:49: `max_ratio` must be a number of at least 1: how many times the baseline's bad share the canary may reach (2 allows twice as many)",
        "tests/fixtures/rules/counts-bad.yaml:39:5: `total` belongs to a count check; add `bad:` (or `good:`) and `total:` queries, or remove `total`",
        "tests/fixtures/rules/counts-bad.yaml:44:45: `floor` is a share strictly between 0% and 100%: a canary confidently on the healthy side of it is no regression, however it compares; leave it out for none",
    ],
),
    (
        "both-thresholds-bad.yaml",
        &[
        "tests/fixtures/rules/both-thresholds-bad.yaml:6:12: `below` and `above` are both set; a check has one threshold, keep one",
        ],
    ),
    (
        "duplicate-check-bad.yaml",
        &[
        "tests/fixtures/rules/duplicate-check-bad.yaml:8:11: duplicate check name `error_rate`; first defined at tests/fixtures/rules/duplicate-check-bad.yaml:2",
        ],
    ),
    (
        "duplicate-key-bad.yaml",
        &[
        "tests/fixtures/rules/duplicate-key-bad.yaml:5:5: duplicate mapping key `below` is not allowed here",
        ],
    ),
    (
        "duration-bad.yaml",
        &[
        "tests/fixtures/rules/duration-bad.yaml:5:10: `soon` is not a duration (expected number at 0); write it like `30s`, `5m` or `1h30m`",
        "tests/fixtures/rules/duration-bad.yaml:9:10: `5 parsecs` is not a duration (unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)); write it like `30s`, `5m` or `1h30m`",
        ],
    ),
    (
        "empty-bad.yaml",
        &[
        "tests/fixtures/rules/empty-bad.yaml:1:1: the rules file is empty; it needs a `checks:` list",
        ],
    ),
    (
        "for-bad.yaml",
        &[
        "tests/fixtures/rules/for-bad.yaml:7:10: `for: 2562047788015215h` is over 30d; a breach would have to outlast any rollout before the check failed, so it never would",
        "tests/fixtures/rules/for-bad.yaml:11:10: `for: 31d` is over 30d; a breach would have to outlast any rollout before the check failed, so it never would",
        ],
    ),
    (
        "max-series-bad.yaml",
        &[
        "tests/fixtures/rules/max-series-bad.yaml:5:17: `max_series` must be a whole number above 0, like 1000000",
        "tests/fixtures/rules/max-series-bad.yaml:9:17: `max_series` must be a whole number above 0, like 1000000",
        "tests/fixtures/rules/max-series-bad.yaml:13:5: unknown key `max_serie`, did you mean `max_series`?",
        ],
    ),
    (
        "missing-fields-bad.yaml",
        &[
        "tests/fixtures/rules/missing-fields-bad.yaml:2:5: missing required key `name`",
        "tests/fixtures/rules/missing-fields-bad.yaml:2:5: missing required key `query`",
        "tests/fixtures/rules/missing-fields-bad.yaml:5:12: `query` is empty",
        ],
    ),
    (
        "no-threshold-bad.yaml",
        &[
        "tests/fixtures/rules/no-threshold-bad.yaml:2:11: check has no threshold; add `below:` (healthy while the value stays under it) or `above:`",
        ],
    ),
    (
        "not-a-list-bad.yaml",
        &[
        "tests/fixtures/rules/not-a-list-bad.yaml:2:3: `checks` must be a list, found a mapping",
        ],
    ),
    (
        "on-fail-bad.yaml",
        &[
        "tests/fixtures/rules/on-fail-bad.yaml:5:14: unknown on_fail value `rolback`, did you mean `rollback`?",
        "tests/fixtures/rules/on-fail-bad.yaml:6:14: unknown no_data value `skip` (valid: hold, ignore)",
        "tests/fixtures/rules/on-fail-bad.yaml:10:14: unknown on_fail value `page` (valid: rollback, hold)",
        ],
    ),
    (
        "placeholder-bad.yaml",
        &[
        "tests/fixtures/rules/placeholder-bad.yaml:4:61: unknown placeholder `{{ env }}` in query; only `{{ rollout }}` is substituted",
        "tests/fixtures/rules/placeholder-bad.yaml:5:45: unknown placeholder `{{ service }}` in query; only `{{ rollout }}` is substituted",
        "tests/fixtures/rules/placeholder-bad.yaml:8:45: `{{` without a closing `}}` in query",
        ],
    ),
    (
        "runbook-bad.yaml",
        &[
        "tests/fixtures/rules/runbook-bad.yaml:5:18: `runbook_url` must be an http:// or https:// URL",
        "tests/fixtures/rules/runbook-bad.yaml:6:18: `description` must be text, found a list",
        ],
    ),
    (
        "sena-empty-bad.yaml",
        &[
        "tests/fixtures/rules/sena-empty-bad.yaml:1:1: the config is empty; it needs at least `prometheus:` and `rollouts:`",
        ],
    ),
    (
        "sena-flagger-bad.yaml",
        &[
        "tests/fixtures/rules/sena-flagger-bad.yaml:6:22: flagger name `Checkout_API` is not a Kubernetes name: use lowercase letters, digits, `-` and `.`",
        "tests/fixtures/rules/sena-flagger-bad.yaml:6:47: `namespace` must be text, found a list",
        "tests/fixtures/rules/sena-flagger-bad.yaml:11:30: unknown key `namspace`, did you mean `namespace`?",
        ],
    ),
    (
        "sena-limits-bad.yaml",
        &[
        "tests/fixtures/rules/sena-limits-bad.yaml:3:23: `max_response_bytes`: `16 parsecs` is not a size; write bytes (`16777216`) or a number with KiB, MiB, GiB, kB, MB or GB, like `16MiB`",
        "tests/fixtures/rules/sena-limits-bad.yaml:4:15: `max_series` must be a whole number above 0, like 1000000",
        "tests/fixtures/rules/sena-limits-bad.yaml:7:20: `max_connections` must be a whole number above 0, like 1000000",
        "tests/fixtures/rules/sena-limits-bad.yaml:8:24: `header_read_timeout` must be more than 0",
        "tests/fixtures/rules/sena-limits-bad.yaml:9:3: unknown key `max_conections`, did you mean `max_connections`?",
        "tests/fixtures/rules/sena-limits-bad.yaml:10:22: `body_read_timeout` must be more than 0",
        "tests/fixtures/rules/sena-limits-bad.yaml:11:18: `body_min_rate`: `fast` is not a size; write bytes (`16777216`) or a number with KiB, MiB, GiB, kB, MB or GB, like `16MiB`",
        "tests/fixtures/rules/sena-limits-bad.yaml:12:25: `reserved_connections` must be a whole number above 0, like 1000000",
        "tests/fixtures/rules/sena-limits-bad.yaml:19:16: `stuck_after` must be more than 0",
        ],
    ),
    (
        "sena-rollout-bad.yaml",
        &[
        "tests/fixtures/rules/sena-rollout-bad.yaml:4:11: `repeat` must be more than 0",
        "tests/fixtures/rules/sena-rollout-bad.yaml:5:3: unknown key `resolve-after`, did you mean `resolve_after`?",
        "tests/fixtures/rules/sena-rollout-bad.yaml:7:5: missing required key `approver`",
        "tests/fixtures/rules/sena-rollout-bad.yaml:7:11: rollout name `checkout api` may only use letters, digits, `_`, `.` and `-`",
        "tests/fixtures/rules/sena-rollout-bad.yaml:10:5: unknown key `intervall`, did you mean `interval`?",
        "tests/fixtures/rules/sena-rollout-bad.yaml:11:5: missing required key `name`",
        "tests/fixtures/rules/sena-rollout-bad.yaml:12:13: `stages` must be a list, found a mapping",
        "tests/fixtures/rules/sena-rollout-bad.yaml:13:12: `rules` must be a list, found text",
        ],
    ),
    (
        "sena-inline-roster-bad.yaml",
        &[
        "tests/fixtures/rules/sena-inline-roster-bad.yaml:5:3: unknown key `timout`, did you mean `timeout`?",
        "tests/fixtures/rules/sena-inline-roster-bad.yaml:10:21: `lubit.example.com` is not an email address",
        "tests/fixtures/rules/sena-inline-roster-bad.yaml:12:7: missing required key `escalation`",
        "tests/fixtures/rules/sena-inline-roster-bad.yaml:15:7: unknown key `escalaton`, did you mean `escalation`?",
        "tests/fixtures/rules/sena-inline-roster-bad.yaml:18:39: override ends (2025-10-22T12:00) before or when it starts (2025-10-22T12:00)",
        "tests/fixtures/rules/sena-inline-roster-bad.yaml:18:76: `copilot` is not in `people` (known: lubit, sena)",
        ],
    ),
    (
        "sena-interval-bad.yaml",
        &[
        "tests/fixtures/rules/sena-interval-bad.yaml:5:13: `interval: 1ns` is under 1s; each interval sends one query per check to Prometheus, so write at least `1s` (the default is `30s`)",
        "tests/fixtures/rules/sena-interval-bad.yaml:9:15: `interval: 500ms` is under 1s; each interval sends one query per check to Prometheus, so write at least `1s` (the default is `30s`)",
        "tests/fixtures/rules/sena-interval-bad.yaml:14:15: `interval: 2d` is over 24h; a rollout checked less than daily is not being watched",
        ],
    ),
    (
        "sena-roster-bad.yaml",
        &[
        "tests/fixtures/rules/sena-roster-bad.yaml:5:3: Web API mode needs `channel:` too, like `channel: \"#deploys\"`",
        "tests/fixtures/rules/sena-roster-bad.yaml:8:15: approver `nobody` is not one of the roster's people",
        ],
    ),
    (
        "sena-rules-files-bad.yaml",
        &[
        "tests/fixtures/rules/sena-rules-files-bad.yaml:9:9: rules file `missing.yaml` does not exist (looked for tests/fixtures/rules/missing.yaml)",
        "tests/fixtures/rules/sena-rules-files-bad.yaml:10:9: rules file `good.yaml` is listed twice",
        "tests/fixtures/rules/sena-rules-files-bad.yaml:12:11: duplicate rollout name `checkout-api`; first defined on line 4",
        "tests/fixtures/rules/sena-rules-files-bad.yaml:15:12: `rules` is empty; list at least one rules file",
        "tests/fixtures/rules/more.yaml:6:11: duplicate check name `error_rate`; first defined at tests/fixtures/rules/good.yaml:4",
        ],
    ),
    (
        "sena-secret-control-bad.yaml",
        &[
        "tests/fixtures/rules/sena-secret-control-bad.yaml:8:20: `password_file`: tests/fixtures/rules/secrets/tab-password holds a control character (a line break, tab or similar) besides one final newline; a secret file must hold the secret alone, on one line",
        "tests/fixtures/rules/sena-secret-control-bad.yaml:9:3: set `basic_auth` or `bearer_token_file`, not both: each sets the Authorization header",
        "tests/fixtures/rules/sena-secret-control-bad.yaml:9:22: `bearer_token_file`: tests/fixtures/rules/secrets/two-lines-token holds a control character (a line break, tab or similar) besides one final newline; a secret file must hold the secret alone, on one line",
        "tests/fixtures/rules/sena-secret-control-bad.yaml:11:15: `token_file`: tests/fixtures/rules/secrets/escape-token holds a control character (a line break, tab or similar) besides one final newline; a secret file must hold the secret alone, on one line",
        "tests/fixtures/rules/sena-secret-control-bad.yaml:13:1: warning: `email` is set but there is no `roster:` naming people's addresses, so no mail will be sent",
        "tests/fixtures/rules/sena-secret-control-bad.yaml:18:20: `password_file`: tests/fixtures/rules/secrets/crlf-crlf-password holds a control character (a line break, tab or similar) besides one final newline; a secret file must hold the secret alone, on one line",
        ],
    ),
    (
        "sena-secrets-bad.yaml",
        &[
        "tests/fixtures/rules/sena-secrets-bad.yaml:4:5: `X Scope` is not a valid HTTP header name",
        "tests/fixtures/rules/sena-secrets-bad.yaml:7:20: `password_file`: tests/fixtures/rules/no-such-password does not exist",
        "tests/fixtures/rules/sena-secrets-bad.yaml:8:3: set `basic_auth` or `bearer_token_file`, not both: each sets the Authorization header",
        "tests/fixtures/rules/sena-secrets-bad.yaml:8:22: `bearer_token_file`: tests/fixtures/rules/no-such-token does not exist",
        "tests/fixtures/rules/sena-secrets-bad.yaml:11:3: set `webhook_url` (incoming-webhook mode) or `token_file` with `channel` (Web API mode), not both",
        "tests/fixtures/rules/sena-secrets-bad.yaml:12:1: warning: `email` is set but there is no `roster:` naming people's addresses, so no mail will be sent",
        "tests/fixtures/rules/sena-secrets-bad.yaml:15:11: `port` must be a number from 1 to 65535",
        "tests/fixtures/rules/sena-secrets-bad.yaml:16:10: `tls: none` sends mail and password in clear text; it is only allowed for loopback hosts (127.0.0.1, ::1, localhost) unless `allow_insecure: true`",
        "tests/fixtures/rules/sena-secrets-bad.yaml:17:5: `username` needs `password_file` too (SMTP authentication uses both)",
        "tests/fixtures/rules/sena-secrets-bad.yaml:18:9: `from` must be an email address, like sena@example.com",
        ],
    ),
    (
        "sena-server-bad.yaml",
        &[
        "tests/fixtures/rules/sena-server-bad.yaml:1:1: missing required key `rollouts`",
        "tests/fixtures/rules/sena-server-bad.yaml:2:8: `url` must be an http:// or https:// URL",
        "tests/fixtures/rules/sena-server-bad.yaml:3:12: `timeout` must be more than 0",
        "tests/fixtures/rules/sena-server-bad.yaml:4:17: `external_url` has no host",
        "tests/fixtures/rules/sena-server-bad.yaml:6:13: `often` is not a duration (expected number at 0); write it like `30s`, `5m` or `1h30m`",
        "tests/fixtures/rules/sena-server-bad.yaml:8:11: `localhost:9464` is not a listen address; write IP:PORT like `127.0.0.1:9464` (or `0.0.0.0:9464` for every interface)",
        "tests/fixtures/rules/sena-server-bad.yaml:10:22: `forever` is not a duration (expected number at 0); write it like `30s`, `5m` or `1h30m`",
        "tests/fixtures/rules/sena-server-bad.yaml:11:1: unknown key `rollout`, did you mean `rollouts`?",
        ],
    ),
    (
        "sena-signing-control-bad.yaml",
        &[
        "tests/fixtures/rules/sena-signing-control-bad.yaml:7:24: `signing_secret_file`: tests/fixtures/rules/secrets/escape-signing-secret holds a control character (a line break, tab or similar) besides one final newline; a secret file must hold the secret alone, on one line",
        ],
    ),
    (
        "sena-signing-empty-bad.yaml",
        &[
        "tests/fixtures/rules/sena-signing-empty-bad.yaml:8:24: `signing_secret_file`: tests/fixtures/rules/secrets/empty-signing-secret is empty",
        ],
    ),
    (
        "sena-signing-missing-bad.yaml",
        &[
        "tests/fixtures/rules/sena-signing-missing-bad.yaml:7:24: `signing_secret_file`: tests/fixtures/rules/secrets/no-such-signing-secret does not exist",
        ],
    ),
    (
        "sena-signing-webhook-bad.yaml",
        &[
        "tests/fixtures/rules/sena-signing-webhook-bad.yaml:7:3: `signing_secret_file` turns on Slack's buttons, which need Web API mode: set `token_file` and `channel` instead of `webhook_url` (the NO-GO form and the message updates use the bot token)",
        ],
    ),
    (
        "sena-stages-bad.yaml",
        &[
        "tests/fixtures/rules/sena-stages-bad.yaml:8:9: stage 2 (5%) needs `bake:`, how long it must run clean before expanding; only the last stage has none",
        "tests/fixtures/rules/sena-stages-bad.yaml:8:20: traffic 5% must be more than the previous stage's 10%; stages only widen",
        "tests/fixtures/rules/sena-stages-bad.yaml:9:31: `a while` is not a duration (expected number at 0); write it like `30s`, `5m` or `1h30m`",
        "tests/fixtures/rules/sena-stages-bad.yaml:10:20: traffic `150%` must be between 0% and 100%",
        "tests/fixtures/rules/sena-stages-bad.yaml:14:13: `stages` is empty; add at least one, like `- { traffic: 100% }`",
        ],
    ),
    (
        "sena-tokens-bad.yaml",
        &[
        "tests/fixtures/rules/sena-tokens-bad.yaml:7:17: person `lubt` is not one of the roster's people; did you mean `lubit`?",
        "tests/fixtures/rules/sena-tokens-bad.yaml:8:23: set `person` (a roster person) or `name` (a machine identity), not both",
        "tests/fixtures/rules/sena-tokens-bad.yaml:9:7: machine token `deploy-pipeline` needs `can:`, the list of what it may do (read, ack, decide, reload); a machine gets nothing by default",
        "tests/fixtures/rules/sena-tokens-bad.yaml:10:35: `token_file`: tests/fixtures/rules/tokens/lubit-copy holds the same token as tests/fixtures/rules/tokens/lubit (line 7); give every identity its own token",
        "tests/fixtures/rules/sena-tokens-bad.yaml:11:35: `token_file`: tests/fixtures/rules/tokens/empty is empty",
        "tests/fixtures/rules/sena-tokens-bad.yaml:12:61: unknown capability `aprove` (valid: read, ack, decide, reload)",
        "tests/fixtures/rules/sena-tokens-bad.yaml:13:15: `lubit` is a roster person; write `person: lubit` for them, or give the machine a name of its own",
        "tests/fixtures/rules/sena-tokens-bad.yaml:14:7: a token needs `person:` (a roster person) or `name:` (a machine, like a deploy pipeline)",
        "tests/fixtures/rules/sena-tokens-bad.yaml:15:35: `token_file`: tests/fixtures/rules/tokens/spaced holds spaces or non-ASCII characters, which an `Authorization: Bearer` header cannot carry; use printable ASCII, as `openssl rand -hex 32` writes",
        "tests/fixtures/rules/sena-tokens-bad.yaml:15:55: `can` is empty; list what the token may do (read, ack, decide, reload)",
        "tests/fixtures/rules/sena-tokens-bad.yaml:16:36: `token_file`: tests/fixtures/rules/tokens/gate is already used on line 12; give every identity its own token",
        ],
    ),
    (
        "syntax-bad.yaml",
        &[
        "tests/fixtures/rules/syntax-bad.yaml:5:8: illegal placement of ':' indicator",
        ],
    ),
    (
        "threshold-bad.yaml",
        &[
        "tests/fixtures/rules/threshold-bad.yaml:4:12: `low` is not a threshold; write a number (`0.95`), a percentage (`95%`) or a duration (`2s`, `250ms`)",
        "tests/fixtures/rules/threshold-bad.yaml:7:12: `ninety%` is not a percentage; write a number before `%`, like `0.1%`",
        "tests/fixtures/rules/threshold-bad.yaml:10:12: `below` must be a number, a percentage or a duration, found a list",
        ],
    ),
    (
        "threshold-nonfinite-bad.yaml",
        &[
        "tests/fixtures/rules/threshold-nonfinite-bad.yaml:6:12: `.nan` is not a finite number, so no value can be compared with it; write a limit like `0.95`, `0.1%` or `2s`",
        "tests/fixtures/rules/threshold-nonfinite-bad.yaml:9:12: `.inf` is not a finite number, so no value can be compared with it; write a limit like `0.95`, `0.1%` or `2s`",
        "tests/fixtures/rules/threshold-nonfinite-bad.yaml:12:12: `1e400` is too large to be a limit: it reads as infinity; write a finite number",
        "tests/fixtures/rules/threshold-nonfinite-bad.yaml:15:12: `1e-400` is too small to be a limit: it reads as 0, so the check would compare against 0; write `0` if that is what you mean",
        "tests/fixtures/rules/threshold-nonfinite-bad.yaml:18:12: `-inf%` is not a finite number, so no value can be compared with it; write a limit like `0.95`, `0.1%` or `2s`",
        ],
    ),
    (
        "type-bad.yaml",
        &[
        "tests/fixtures/rules/type-bad.yaml:4:7: `query` must be text, found a list",
        "tests/fixtures/rules/type-bad.yaml:6:10: `for` must be a duration like `30s` or `5m`, found a mapping",
        "tests/fixtures/rules/type-bad.yaml:7:5: a check must be a mapping, found text",
        ],
    ),
    (
        "unknown-key-bad.yaml",
        &[
        "tests/fixtures/rules/unknown-key-bad.yaml:2:11: check has no threshold; add `below:` (healthy while the value stays under it) or `above:`",
        "tests/fixtures/rules/unknown-key-bad.yaml:4:5: unknown key `belo`, did you mean `below`?",
        "tests/fixtures/rules/unknown-key-bad.yaml:5:5: unknown key `on_fial`, did you mean `on_fail`?",
        "tests/fixtures/rules/unknown-key-bad.yaml:6:5: unknown key `threshold` (valid: name, query, below, above, for, on_fail, no_data, description, runbook_url, max_series, bad, good, total, confidence, min_total, vs)",
        ],
    ),
];

/// (fixture, every warning it produces, in order): files that load, but
/// with something `sena check` must point out.
const WARN: &[(&str, &[&str])] = &[
    (
        "sena-listen-warn.yaml",
        &[
        "tests/fixtures/rules/sena-listen-warn.yaml:6:11: warning: `0.0.0.0:9464` is reachable from other hosts but `server.tokens` is not set: anyone who can reach it reads status and incidents, and acks and reloads are refused unless they come from this host; configure `server.tokens`",
        ],
    ),
    (
        "sena-short-token-warn.yaml",
        &[
        "tests/fixtures/rules/sena-short-token-warn.yaml:7:36: warning: `token_file`: tests/fixtures/rules/tokens/short holds fewer than 16 characters, short enough to guess; generate one with `openssl rand -hex 32`",
        ],
    ),
    (
    "threshold-warn.yaml",
    &[
        "tests/fixtures/rules/threshold-warn.yaml:6:12: warning: `above: -5%` can never fail: a ratio written as a percentage is never under 0%, so every value is over -5% and the check always says continue; check the sign and the unit",
        "tests/fixtures/rules/threshold-warn.yaml:9:12: warning: `below: -1` can never pass: the check is healthy only while the value is under -1, and rates, ratios, counts and latencies are never negative (if this query can be, ignore this warning), so it always breaches; check the sign, the unit and whether you meant `above`",
        "tests/fixtures/rules/threshold-warn.yaml:12:12: warning: `above: 150%` can never pass: the check is healthy only while the value is over 150%, and a ratio written as a percentage is never over 100%, so it always breaches; check the sign, the unit and whether you meant `below`",
        "tests/fixtures/rules/threshold-warn.yaml:15:12: warning: `above: 100%` can never pass: the check is healthy only while the value is over 100%, and a ratio written as a percentage is never over 100%, so it always breaches; check the sign, the unit and whether you meant `below`",
        "tests/fixtures/rules/threshold-warn.yaml:18:12: warning: `below: 150%` can never fail: a ratio written as a percentage is never over 100%, so every value is under 150% and the check always says continue; check the sign and the unit",
        "tests/fixtures/rules/threshold-warn.yaml:21:12: warning: `below: 0s` can never pass: the check is healthy only while the value is under 0s, and a duration is never under 0s, so it always breaches; check the sign, the unit and whether you meant `above`",
    ],
),
];

/// Loads a fixture as `sena check` would: a whole `sena.yaml`, or a rules
/// file through a one-rollout config beside it.
fn load_fixture(fixture: &str) -> Result<config::Loaded, Diagnostics> {
    let path = Path::new(DIR).join(fixture);
    if fixture.starts_with("sena-") {
        config::load(&path)
    } else {
        let sena_yaml = format!(
            "prometheus: {{ url: http://127.0.0.1:9090 }}\nrollouts:\n  - name: web\n    approver: lubit\n    stages: [{{ traffic: 100% }}]\n    rules: [{fixture}]\n"
        );
        config::load_str(&sena_yaml, &Path::new(DIR).join("sena.yaml"))
    }
}

/// The diagnostic lines of a fixture that must not load.
fn diagnostics_of(fixture: &str) -> Vec<String> {
    let diagnostics: Diagnostics = match load_fixture(fixture) {
        Ok(loaded) => panic!("{fixture} loaded, with warnings {:?}", loaded.warnings),
        Err(d) => d,
    };
    diagnostics.0.iter().map(ToString::to_string).collect()
}

#[test]
fn every_bad_fixture_reports_its_exact_errors() {
    let mut failures = Vec::new();
    for (fixture, expected) in BAD {
        let actual = diagnostics_of(fixture);
        if actual != *expected {
            failures.push(format!(
                "{fixture}:\n  expected:\n    {}\n  actual:\n    {}",
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A new `*-bad.yaml` must be added to the table, or it tests nothing.
#[test]
fn every_bad_fixture_is_in_the_table() {
    let mut on_disk: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-bad.yaml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = BAD.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert!(listed.len() >= 12);
}

#[test]
fn every_warn_fixture_loads_with_its_exact_warnings() {
    let mut failures = Vec::new();
    for (fixture, expected) in WARN {
        match load_fixture(fixture) {
            Ok(loaded) => {
                let actual: Vec<String> =
                    loaded.warnings.0.iter().map(ToString::to_string).collect();
                if actual != *expected {
                    failures.push(format!(
                        "{fixture}:\n  expected:\n    {}\n  actual:\n    {}",
                        expected.join("\n    "),
                        actual.join("\n    ")
                    ));
                }
            }
            Err(e) => failures.push(format!("{fixture} does not load:\n{e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A new `*-warn.yaml` must be added to its table too.
#[test]
fn every_warn_fixture_is_in_the_table() {
    let mut on_disk: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-warn.yaml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = WARN.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn good_fixtures_and_shipped_examples_load() {
    for path in [
        "deploy/sena.yaml",
        "tests/fixtures/config/minimal.yaml",
        "tests/fixtures/config/full.yaml",
    ] {
        if let Err(e) = config::load(Path::new(path)) {
            panic!("{path} does not load:\n{e}");
        }
    }
}

#[test]
fn the_binary_prints_every_error_and_exits_1() {
    let output = Command::new(env!("CARGO_BIN_EXE_sena"))
        .args([
            "check",
            "--config",
            "tests/fixtures/rules/sena-rules-files-bad.yaml",
        ])
        .output()
        .expect("run sena");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    let config = "tests/fixtures/rules/sena-rules-files-bad.yaml";
    let expected = [
        format!("{config}:9:9: rules file `missing.yaml` does not exist (looked for tests/fixtures/rules/missing.yaml)"),
        format!("{config}:10:9: rules file `good.yaml` is listed twice"),
        format!("{config}:12:11: duplicate rollout name `checkout-api`; first defined on line 4"),
        format!("{config}:15:12: `rules` is empty; list at least one rules file"),
        "tests/fixtures/rules/more.yaml:6:11: duplicate check name `error_rate`; first defined at tests/fixtures/rules/good.yaml:4".to_string(),
        "5 errors".to_string(),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected);
    assert!(output.stdout.is_empty());
}

#[test]
fn the_binary_summarises_a_valid_config() {
    let output = Command::new(env!("CARGO_BIN_EXE_sena"))
        .args(["check", "--config", "deploy/sena.yaml"])
        .output()
        .expect("run sena");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(stderr, "", "the example has no warnings");
    assert_eq!(
        stdout,
        "checkout-api: 3 checks every 30s; stages 5% (bake 24h) → 10% (bake 5d) → 50% (bake 16d) → 100%; approver lubit\n\
         \x20 error_rate < 0.1% from counts (bad/total, 95% confident, at most 2× the baseline), on fail rollback, no data hold (../rules/canary.yaml:49)\n\
         \x20 p95_latency > 95% from counts (good/total, 95% confident), on fail rollback, no data hold (../rules/canary.yaml:66)\n\
         \x20 satisfaction > 95% from counts (good/total, 95% confident), on fail hold, no data hold (../rules/canary.yaml:78)\n"
    );
}

/// `sena check` names token files, never their content: not in errors
/// (duplicates, bad characters), not in warnings, not in the summary.
#[test]
fn sena_check_never_shows_a_token() {
    let mut printed = String::new();
    for fixture in [
        "sena-tokens-bad.yaml",
        "sena-short-token-warn.yaml",
        "sena-listen-warn.yaml",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_sena"))
            .args(["check", "--config", &format!("{DIR}/{fixture}")])
            .output()
            .expect("run sena");
        printed.push_str(&String::from_utf8_lossy(&output.stdout));
        printed.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    assert!(printed.contains("tokens/lubit-copy"), "{printed}");
    for entry in std::fs::read_dir(Path::new(DIR).join("tokens")).unwrap() {
        let token = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let token = token.trim();
        if !token.is_empty() {
            assert!(!printed.contains(token), "a token was printed:\n{printed}");
        }
    }
}
