//! The `sena backtest` tests' setup: a config for rollout `checkout` with a
//! Tokyo roster (sena, then mira after 5m unacknowledged; approver lubit),
//! the current rules (`error_rate < 10% for 2m`, rollback; `p95_latency <
//! 1s`) and a stricter candidate (`< 1%`), and the command with the range
//! 2026-11-02 09:00 to 11:00 in Tokyo.

use std::fs;
use std::path::PathBuf;

use super::sena::sena_cmd;

pub fn rules(error_limit: &str) -> String {
    format!(
        "checks:\n  - name: error_rate\n    query: canary_error_ratio{{app=\"{{{{ rollout }}}}\"}}\n    below: {error_limit}\n    for: 2m\n    on_fail: rollback\n  - name: p95_latency\n    query: canary_p95_seconds{{app=\"{{{{ rollout }}}}\"}}\n    below: 1s\n"
    )
}

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

pub fn setup(prometheus_url: &str, slack_webhook: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("current.yaml"), rules("10%")).unwrap();
    fs::write(dir.path().join("strict.yaml"), rules("1%")).unwrap();
    let config = dir.path().join("sena.yaml");
    fs::write(
        &config,
        format!(
            "prometheus: {{url: \"{prometheus_url}\"}}\n\
state: {{path: state}}\n\
slack: {{webhook_url: \"{slack_webhook}\"}}\n\
rollouts:\n  - name: checkout\n    approver: lubit\n    stages: [{{traffic: 5%, bake: 1h}}, {{traffic: 100%}}]\n    rules: [current.yaml]\n\
roster:\n  timezone: Asia/Tokyo\n  people:\n    sena: {{slack: U0SENA}}\n    mira: {{slack: U0MIRA}}\n    lubit: {{slack: U0LUBIT}}\n  slots:\n    - name: all-day\n      from: \"00:00\"\n      to: \"24:00\"\n      escalation:\n        - notify: [sena]\n        - {{after: 5m, notify: [mira]}}\n"
        ),
    )
    .unwrap();
    Setup { dir, config }
}

pub fn backtest(s: &Setup, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "backtest",
        "--config",
        s.config.to_str().unwrap(),
        "--from",
        "2026-11-02T09:00:00+09:00",
        "--to",
        "2026-11-02T11:00:00+09:00",
    ];
    args.extend_from_slice(extra);
    sena_cmd(&args)
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `(minutes after T0, page kind, level, to)` of a JSON timeline's pages.
/// The stricter candidate rules file.
pub fn strict(s: &Setup) -> PathBuf {
    s.dir.path().join("strict.yaml")
}
