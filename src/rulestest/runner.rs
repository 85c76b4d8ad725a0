//! Runs one test: its series into a scratch Prometheus, then at each
//! expectation's instant the judgement of `sena eval`
//! (`evaluate_rollout_stateless`, then `decide`), so `for`, `no_data`, NaN,
//! "the worst series decides" and readiness are the daemon's own code.
//! [`compare`] is the pure part: what was expected against what was said.

use std::time::Duration;

use jiff::Timestamp;

use crate::config::load::{DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_SERIES};
use crate::config::PrometheusConfig;
use crate::datasource::PrometheusDatasource;
use crate::decide::{decide, Decision, StagePosition, Verdict};
use crate::domain::{CheckResult, CheckStatus};
use crate::eval::evaluate_rollout_stateless;

use super::model::{counts_match, Counted, Expectation, TestCase};
use super::scratch::{ScratchPrometheus, Tools};
use crate::domain::evidence::Finding;

/// What one test found.
#[derive(Debug)]
pub struct TestOutcome {
    pub name: String,
    pub line: u64,
    /// One per expectation, in the order written.
    pub instants: Vec<Instant>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.instants.iter().all(|i| i.mismatches.is_empty())
    }
}

/// What Sena said at one expectation's instant, and where it differs.
#[derive(Debug)]
pub struct Instant {
    pub at: Duration,
    pub line: u64,
    pub column: u64,
    pub decision: Decision,
    pub checks: Vec<CheckResult>,
    pub mismatches: Vec<Mismatch>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Mismatch {
    Verdict {
        expected: Verdict,
        actual: Verdict,
    },
    Check {
        name: String,
        expected: CheckStatus,
        actual: CheckStatus,
    },
    /// A count check's finding; `actual` is `None` when the check has no
    /// evidence (blind, or an error).
    Finding {
        name: String,
        expected: Finding,
        actual: Option<Finding>,
    },
    /// A count since the stage began, not within [`counts_match`].
    Count {
        name: String,
        counted: Counted,
        expected: f64,
        actual: Option<f64>,
    },
    Reason {
        expected_to_contain: String,
    },
    Ready {
        expected: bool,
        actual: bool,
    },
}

/// Runs `test` against a fresh Prometheus holding only its series. `Err`
/// is a failure to run (Prometheus would not start), not a failed test.
pub async fn run(tools: &Tools, test: &TestCase) -> Result<TestOutcome, String> {
    let prometheus = ScratchPrometheus::start(tools, &test.series, test.interval).await?;
    let ds = PrometheusDatasource::new(&PrometheusConfig {
        url: prometheus.url.clone(),
        external_url: prometheus.url.clone(),
        timeout: Duration::from_secs(30),
        headers: Vec::new(),
        basic_auth: None,
        bearer_token: None,
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        max_series: DEFAULT_MAX_SERIES,
        tls: None,
    })
    .map_err(|e| e.to_string())?;
    let stage = StagePosition {
        index: test.stage,
        started_at: instant(test.stage_entered_at),
    };
    let mut instants = Vec::with_capacity(test.expect.len());
    for expectation in &test.expect {
        let now = instant(expectation.at);
        let checks = evaluate_rollout_stateless(&ds, &test.rollout, stage.started_at, now).await;
        let decision = decide(&test.rollout, stage, &checks, now);
        let mismatches = compare(expectation, &decision, &checks);
        instants.push(Instant {
            at: expectation.at,
            line: expectation.line,
            column: expectation.column,
            decision,
            checks,
            mismatches,
        });
    }
    drop(prometheus);
    Ok(TestOutcome {
        name: test.name.clone(),
        line: test.line,
        instants,
    })
}

/// A time from the test's start as an instant: the test starts at the Unix
/// epoch, as promtool's do. The reader keeps every time within a month.
fn instant(from_start: Duration) -> Timestamp {
    let ms = i64::try_from(from_start.as_millis()).unwrap_or(i64::MAX);
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

/// Every way the decision and the checks differ from `expected`.
pub fn compare(
    expected: &Expectation,
    decision: &Decision,
    checks: &[CheckResult],
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(verdict) = expected.verdict.filter(|v| *v != decision.verdict) {
        out.push(Mismatch::Verdict {
            expected: verdict,
            actual: decision.verdict,
        });
    }
    for (name, status) in &expected.checks {
        // The reader only accepts names of the rules' checks, and every
        // check is judged, so the lookup finds it.
        let Some(actual) = checks.iter().find(|c| &c.name == name) else {
            continue;
        };
        if actual.status != *status {
            out.push(Mismatch::Check {
                name: name.clone(),
                expected: *status,
                actual: actual.status,
            });
        }
    }
    for e in &expected.evidence {
        let Some(actual) = checks.iter().find(|c| c.name == e.check) else {
            continue;
        };
        let evidence = actual.evidence.as_ref();
        if let Some(finding) = e.finding {
            let said = evidence.map(|x| x.finding);
            if said != Some(finding) {
                out.push(Mismatch::Finding {
                    name: e.check.clone(),
                    expected: finding,
                    actual: said,
                });
            }
        }
        for &(counted, n) in &e.counts {
            let said = evidence.map(|x| counted.of(x));
            if !said.is_some_and(|a| counts_match(a, n)) {
                out.push(Mismatch::Count {
                    name: e.check.clone(),
                    counted,
                    expected: n,
                    actual: said,
                });
            }
        }
    }
    if let Some(part) = &expected.reason_contains {
        if !decision.reason.contains(part.as_str()) {
            out.push(Mismatch::Reason {
                expected_to_contain: part.clone(),
            });
        }
    }
    let ready = decision.ready_to_expand.is_some();
    if let Some(expected) = expected.ready.filter(|r| *r != ready) {
        out.push(Mismatch::Ready {
            expected,
            actual: ready,
        });
    }
    out
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
