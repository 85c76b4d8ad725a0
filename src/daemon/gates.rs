//! The daemon's side of the gates: find the rollout (by name or by its
//! Flagger canary), read its stage, hold and last decision from the store
//! and its latest evaluation from memory, and hand them to the pure
//! `domain::gate::judge`. Runs inside `spawn_blocking` (the store call).
//!
//! The store is read before memory: a GO committing in between moves the
//! stage past the evaluation read, which the judgement takes as "not yet
//! evaluated" and waits; it never pairs a new stage with an old verdict.

use crate::domain::{judge_gate, Evaluated, GateInput, GateView, StagePosition};
use crate::server::GateTarget;
use crate::state::StoreError;

use super::engine::Shared;

pub fn gate(shared: &Shared, target: &GateTarget) -> Result<Option<GateView>, StoreError> {
    let config = shared.config();
    let rollout = match target {
        GateTarget::Rollout { name, .. } => config.rollout(name),
        GateTarget::Flagger { name, namespace } => config
            .rollouts
            .iter()
            .find(|r| r.flagger.matches(name, namespace)),
    };
    let Some(rollout) = rollout else {
        return Ok(None);
    };
    let state = shared.store.blocking().decision_state(&rollout.name)?;
    let latest = {
        let latest = shared.latest.read().unwrap_or_else(|p| p.into_inner());
        latest.get(&rollout.name).map(|l| Evaluated {
            stage: StagePosition {
                index: l.report.stage.index,
                started_at: l.report.stage.started_at,
            },
            advised: l.advised.clone(),
        })
    };
    // Before the first evaluation stores a stage there is none; the judge
    // then finds no evaluation of it and waits.
    let stage = state
        .stage
        .or(latest.as_ref().map(|l| l.stage))
        .unwrap_or(StagePosition {
            index: 0,
            started_at: shared.clock.now(),
        });
    let traffic = rollout
        .stages
        .get(stage.index)
        .or(rollout.stages.last())
        .map(|s| s.traffic.to_string())
        .unwrap_or_default();
    Ok(Some(judge_gate(&GateInput {
        rollout: &rollout.name,
        stage,
        traffic,
        latest: latest.as_ref(),
        hold: state.hold.as_ref(),
        last_accepted: state.last_accepted.as_ref(),
        expected_stage: match target {
            GateTarget::Rollout { expected_stage, .. } => *expected_stage,
            GateTarget::Flagger { .. } => None,
        },
    })))
}
