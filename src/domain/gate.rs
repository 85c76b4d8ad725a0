//! Gates for the tools that move traffic (Flagger webhooks, an Argo
//! Rollouts web metric, `sena gate` in CI): may the rollout's current stage
//! carry traffic forward? Sena stays an advisor; these only answer.
//!
//! Pure, so every path that could turn missing data into a pass is a unit
//! test: no evaluation of the current stage yet, a blind check (its verdict
//! is already `hold`), a NO-GO hold, a GO for another stage: each waits.

use serde::Serialize;

use super::approval::{with_hold, Choice, DecisionRecord, Hold};
use super::verdict::{Decision, StagePosition, Verdict};

/// The latest evaluation, as the gate needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluated {
    /// The stage it judged.
    pub stage: StagePosition,
    /// What the checks advised, before any NO-GO.
    pub advised: Decision,
}

/// What the gate weighs, read from memory and the store.
#[derive(Clone, Debug)]
pub struct GateInput<'a> {
    pub rollout: &'a str,
    /// Where the rollout is now (the store's stage; the evaluation's when
    /// the store has none yet).
    pub stage: StagePosition,
    /// The current stage's traffic, as configured (`25%`).
    pub traffic: String,
    pub latest: Option<&'a Evaluated>,
    pub hold: Option<&'a Hold>,
    pub last_accepted: Option<&'a DecisionRecord>,
    /// The stage the asker is about to move traffic into (an Argo step's
    /// `?stage=N`, `sena gate --stage N`). With it, each step asks about
    /// its own stage: stage 0 needs no GO, a stage the rollout has already
    /// passed had its GO, and a later stage waits for the GO into it.
    /// Without it, the current stage's own GO decides.
    pub expected_stage: Option<usize>,
}

/// The answer every gate gives, in the JSON the Argo web metric reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateView {
    pub rollout: String,
    pub stage: usize,
    pub traffic: String,
    /// `null` until the current stage has been evaluated.
    pub verdict: Option<Verdict>,
    /// The latest accepted GO moved the rollout into this stage and no
    /// NO-GO is in force.
    pub approved: bool,
    pub reason: String,
}

/// What a gate concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatePass {
    /// `continue` with the approver's GO: the traffic may move.
    Pass,
    /// Hold, or waiting for an evaluation or for the approver.
    Wait,
    /// Sena advises rollback.
    Rollback,
}

impl GateView {
    pub fn pass(&self) -> GatePass {
        match (self.verdict, self.approved) {
            (Some(Verdict::Rollback), _) => GatePass::Rollback,
            (Some(Verdict::Continue), true) => GatePass::Pass,
            _ => GatePass::Wait,
        }
    }
}

/// The gate's judgement of one rollout now.
pub fn judge(input: &GateInput<'_>) -> GateView {
    let current = input.latest.filter(|l| l.stage == input.stage);
    let verdict = current.map(|l| with_hold(l.advised.clone(), input.hold));
    let go_into_current = input.last_accepted.is_some_and(|r| {
        r.decision == Choice::Go
            && r.to_stage == input.stage.index
            && r.from_stage != r.to_stage
            && r.at == input.stage.started_at
    });
    let index = input.stage.index;
    let approved = input.hold.is_none()
        && match input.expected_stage {
            None => go_into_current,
            Some(expected) if index < expected => false,
            Some(0) => true,
            Some(expected) if index > expected => true,
            Some(_) => go_into_current,
        };
    let reason = match (&verdict, approved) {
        (None, _) => format!(
            "stage {} ({}) has not been evaluated yet; a gate passes only on an evaluation of the current stage",
            input.stage.index, input.traffic
        ),
        (Some(d), _) if d.verdict != Verdict::Continue => d.reason.clone(),
        (Some(d), true) => match input.expected_stage {
            Some(expected) if index > expected => format!(
                "{}; stage {expected} was approved (the rollout is at stage {index})",
                d.reason
            ),
            Some(0) if !go_into_current => format!("{}; stage 0 needs no GO", d.reason),
            _ => format!("{}; GO given for stage {index}", d.reason),
        },
        (Some(d), false) => match (input.hold, input.expected_stage) {
            (Some(h), _) => h.reason(),
            (None, Some(expected)) if index < expected => format!(
                "{}; waiting for the approver's GO into stage {expected} (the rollout is at stage {index}, {})",
                d.reason, input.traffic
            ),
            (None, _) => format!(
                "{}; waiting for the approver's GO into stage {} ({})",
                d.reason, input.stage.index, input.traffic
            ),
        },
    };
    GateView {
        rollout: input.rollout.to_string(),
        stage: input.stage.index,
        traffic: input.traffic.clone(),
        verdict: verdict.map(|d| d.verdict),
        approved,
        reason,
    }
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
