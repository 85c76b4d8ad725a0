//! Two replays of the same history compared, in the terms a rule author
//! weighs a change by: which pages the candidate adds or removes, whether
//! each check's breach is confirmed earlier or later, and whether each
//! stage becomes ready earlier or later (and by how long).

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

use super::events::{PageKind, RolloutTimeline, What};
use crate::domain::Verdict;

/// One page, as compared: the same message at the same instant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PageKey {
    pub at: Timestamp,
    pub page: PageKind,
    pub verdict: Verdict,
    pub level: Option<usize>,
    pub to: Vec<String>,
}

/// When something happened in each replay; `shift_seconds` is candidate
/// minus current (negative: the candidate is earlier).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Shift {
    pub current: Option<Timestamp>,
    pub candidate: Option<Timestamp>,
    pub shift_seconds: Option<i64>,
}

impl Shift {
    fn new(current: Option<Timestamp>, candidate: Option<Timestamp>) -> Shift {
        Shift {
            current,
            candidate,
            shift_seconds: match (current, candidate) {
                (Some(a), Some(b)) => Some(b.as_second() - a.as_second()),
                _ => None,
            },
        }
    }

    /// `14m earlier`, `same time`, `only in the candidate`, ...
    pub fn describe(&self) -> String {
        match (self.current, self.candidate, self.shift_seconds) {
            (None, None, _) => "in neither".into(),
            (Some(_), None, _) => "only with the current rules".into(),
            (None, Some(_), _) => "only with the candidate rules".into(),
            (_, _, Some(0)) => "at the same instant".into(),
            (_, _, Some(s)) => {
                let by = crate::domain::format::format_elapsed(s.abs());
                if s < 0 {
                    format!("{by} earlier")
                } else {
                    format!("{by} later")
                }
            }
            _ => String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckShift {
    pub check: String,
    #[serde(flatten)]
    pub failing: Shift,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageShift {
    pub stage: usize,
    #[serde(flatten)]
    pub ready: Shift,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RolloutDiff {
    pub rollout: String,
    pub pages_current: usize,
    pub pages_candidate: usize,
    pub pages_added: Vec<PageKey>,
    pub pages_removed: Vec<PageKey>,
    /// First instant each check became failing, per check in either replay.
    pub breach: Vec<CheckShift>,
    /// First instant each stage became ready, per stage ready in either.
    pub ready: Vec<StageShift>,
}

fn page_keys(t: &RolloutTimeline) -> Vec<PageKey> {
    t.pages()
        .filter_map(|(at, what)| match what {
            What::Page {
                page,
                verdict,
                level,
                to,
                ..
            } => Some(PageKey {
                at: *at,
                page: *page,
                verdict: *verdict,
                level: *level,
                to: to.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// Compares the same rollout replayed with the current and candidate rules.
pub fn compare(current: &RolloutTimeline, candidate: &RolloutTimeline) -> RolloutDiff {
    let (a, b) = (page_keys(current), page_keys(candidate));
    let added = minus(&b, &a);
    let removed = minus(&a, &b);
    let mut names: Vec<String> = current.checks.iter().map(|c| c.check.clone()).collect();
    for c in &candidate.checks {
        if !names.contains(&c.check) {
            names.push(c.check.clone());
        }
    }
    let breach = names
        .into_iter()
        .map(|check| CheckShift {
            failing: Shift::new(
                current.first_failing(&check),
                candidate.first_failing(&check),
            ),
            check,
        })
        .collect();
    let stages: BTreeSet<usize> = current
        .ready_stages()
        .into_iter()
        .chain(candidate.ready_stages())
        .collect();
    let ready = stages
        .into_iter()
        .map(|stage| StageShift {
            stage,
            ready: Shift::new(current.first_ready(stage), candidate.first_ready(stage)),
        })
        .collect();
    RolloutDiff {
        rollout: current.rollout.clone(),
        pages_current: a.len(),
        pages_candidate: b.len(),
        pages_added: added,
        pages_removed: removed,
        breach,
        ready,
    }
}

/// The pages of `x` not matched one for one in `y` (a multiset difference:
/// two identical pages against one leaves one).
fn minus(x: &[PageKey], y: &[PageKey]) -> Vec<PageKey> {
    let mut unmatched: Vec<&PageKey> = y.iter().collect();
    x.iter()
        .filter(|p| match unmatched.iter().position(|q| q == p) {
            Some(i) => {
                unmatched.swap_remove(i);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}
