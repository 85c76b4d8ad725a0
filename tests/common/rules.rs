//! Rules files for the tests: the three mission checks over the test app's
//! series, with short windows (`[10s]`) and short `for` so a test sees a
//! breach become failing within seconds.
//!
//! ```ignore
//! let rules = rules::file(&[rules::error_rate("3s"), rules::satisfaction("0s")]);
//! ```

/// `error_rate`: share of canary requests answered 5xx, below 0.1 %,
/// `on_fail: rollback`.
pub fn error_rate(for_: &str) -> String {
    format!(
        r#"  - name: error_rate
    query: |
      sum(rate(http_requests_total{{app="{{{{ rollout }}}}",track="canary",code=~"5.."}}[10s]))
      / sum(rate(http_requests_total{{app="{{{{ rollout }}}}",track="canary"}}[10s]))
    below: 0.1%
    for: {for_}
    on_fail: rollback
    description: Share of canary requests answered 5xx
    runbook_url: https://wiki.example.com/runbooks/canary-errors
"#
    )
}

/// `latency_p95`: p95 canary latency, below 2 s, `on_fail: rollback`.
pub fn latency_p95(for_: &str) -> String {
    format!(
        r#"  - name: latency_p95
    query: |
      histogram_quantile(0.95,
        sum by (le) (rate(http_request_duration_seconds_bucket{{app="{{{{ rollout }}}}",track="canary"}}[10s])))
    below: 2s
    for: {for_}
    on_fail: rollback
    description: 95th percentile latency of canary requests
"#
    )
}

/// `satisfaction`: share of satisfied users on the canary, above 95 %,
/// `on_fail: hold`.
pub fn satisfaction(for_: &str) -> String {
    format!(
        r#"  - name: satisfaction
    query: |
      sum(rate(user_satisfaction_total{{app="{{{{ rollout }}}}",track="canary",outcome="satisfied"}}[10s]))
      / sum(rate(user_satisfaction_total{{app="{{{{ rollout }}}}",track="canary"}}[10s]))
    above: 95%
    for: {for_}
    on_fail: hold
    description: Share of canary users who said they were satisfied
"#
    )
}

/// A rules file made of check entries such as [`error_rate`] returns.
pub fn file(checks: &[String]) -> String {
    let mut out = String::from("checks:\n");
    for check in checks {
        out.push_str(check);
    }
    out
}

/// The three mission checks, each with `for: 3s`.
pub fn mission() -> String {
    file(&[error_rate("3s"), latency_p95("3s"), satisfaction("3s")])
}

/// `error_count`: the canary's 5xx share judged from its counts (`bad:` /
/// `total:`), below 0.1 % at 95 % confidence, `on_fail: rollback`.
pub fn error_count() -> String {
    r#"  - name: error_count
    bad: sum(increase(http_requests_total{app="{{ rollout }}",track="canary",code=~"5.."}[{{ window }}]))
    total: sum(increase(http_requests_total{app="{{ rollout }}",track="canary"}[{{ window }}]))
    below: 0.1%
    on_fail: rollback
    description: Share of canary requests answered 5xx, from their counts
"#
    .to_string()
}
