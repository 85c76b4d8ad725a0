//! A test file once read: every value typed and checked, the rules files
//! loaded and each test's rollout built exactly as `sena.yaml` would build
//! it, so the runner only has to load the series, query and compare.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Diagnostic, Rollout};
use crate::domain::evidence::Finding;
use crate::domain::{CheckStatus, Verdict};

use super::notation::Point;
use super::selector::Labels;

#[derive(Debug)]
pub struct TestFile {
    /// As given on the command line; rules files resolve beside it.
    pub path: PathBuf,
    pub tests: Vec<TestCase>,
    /// Problems that do not stop the file (a stage's ignored `bake`).
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug)]
pub struct TestCase {
    pub name: String,
    /// The line the test starts on, for messages.
    pub line: u64,
    /// Spacing of the input samples: sample `i` is at `i × interval`.
    pub interval: Duration,
    /// The rollout under test: its name substituted into every query, its
    /// stages and approver (for readiness), its checks from `rule_files`
    /// and `evaluation_interval` as its interval.
    pub rollout: Rollout,
    /// The stage the rollout is at (0-based, as `sena stage` counts) and
    /// when it entered it, as a time from the test's start.
    pub stage: usize,
    pub stage_entered_at: Duration,
    pub series: Vec<InputSeries>,
    pub expect: Vec<Expectation>,
}

#[derive(Debug)]
pub struct InputSeries {
    pub labels: Labels,
    /// One point per `interval`, from time 0.
    pub points: Vec<Point>,
}

/// What Sena must say at one instant. Each field left out is not checked.
#[derive(Debug)]
pub struct Expectation {
    /// Time from the test's start.
    pub at: Duration,
    /// Where the expectation is written, for the failure report.
    pub line: u64,
    pub column: u64,
    pub verdict: Option<Verdict>,
    /// Check name → status, in the order written.
    pub checks: Vec<(String, CheckStatus)>,
    /// A count check's finding and counts since the stage began, for the
    /// checks written as a mapping (`{status: failing, finding: exceeds,
    /// bad: 30, total: 3000}`), in the order written.
    pub evidence: Vec<ExpectedEvidence>,
    pub reason_contains: Option<String>,
    /// Whether the stage is ready to expand (baked, every check passing).
    pub ready: Option<bool>,
}

impl Expectation {
    pub fn is_empty(&self) -> bool {
        self.verdict.is_none()
            && self.checks.is_empty()
            && self.evidence.is_empty()
            && self.reason_contains.is_none()
            && self.ready.is_none()
    }
}

/// What a count check's evidence must say; each field left out is not checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedEvidence {
    pub check: String,
    pub finding: Option<Finding>,
    /// Counts since the stage began, compared approximately
    /// ([`counts_match`]): `increase()` extrapolates.
    pub counts: Vec<(Counted, f64)>,
}

/// Which count an expectation states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Bad,
    Good,
    Total,
}

impl Counted {
    pub fn as_str(self) -> &'static str {
        match self {
            Counted::Bad => "bad",
            Counted::Good => "good",
            Counted::Total => "total",
        }
    }

    /// This count in `e` (a `good:` check's bad count is total − good).
    pub fn of(self, e: &crate::domain::evidence::Evidence) -> f64 {
        use crate::domain::Share;
        match (self, e.share) {
            (Counted::Total, _) => e.total,
            (Counted::Bad, Share::Bad) | (Counted::Good, Share::Good) => e.part,
            (Counted::Bad, Share::Good) | (Counted::Good, Share::Bad) => e.total - e.part,
        }
    }
}

/// A count Prometheus gave matches the one written when they round to the
/// same whole number or are within 1% of each other: `increase()`
/// extrapolates to the window's edges, so 2,997.5 requests stand for 3,000.
pub fn counts_match(actual: f64, expected: f64) -> bool {
    actual.round() == expected.round() || (actual - expected).abs() <= 0.01 * expected.abs()
}
