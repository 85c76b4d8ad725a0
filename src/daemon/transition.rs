//! The state changes that are not an evaluation, through the same door:
//! read the rollout's state with its version, compute the pure transition
//! (`notify::policy`), commit its whole output (incident, outbox rows) in one
//! transaction guarded by the version, and recompute on a conflict. Also the
//! one place an advisory becomes outbox rows, for every transition.

use crate::config::{Config, Rollout};
use crate::decide::Decision;
use crate::domain::Channel;
use crate::notify::policy::{self, Outgoing, PolicyInput};
use crate::notify::Delivery;
use crate::state::{EvaluationCommit, Incident, StoreError};

use super::engine::{Shared, MAX_ATTEMPTS};

/// The outbox rows of a transition's messages (`notify::policy::routing`).
pub fn outbox_rows(config: &Config, outgoing: &[Outgoing]) -> Vec<(Channel, Delivery)> {
    policy::routing::deliveries(config, outgoing)
}

/// Acknowledges incident `id` for `by`: escalation stops and the people
/// paged so far hear who took it. `None` when there is no such incident;
/// an incident already acknowledged or resolved is returned unchanged.
pub fn acknowledge(shared: &Shared, id: i64, by: &str) -> Result<Option<Incident>, StoreError> {
    let Some(target) = shared.store.blocking().incident(id)? else {
        return Ok(None);
    };
    let config = shared.config();
    let Some(rollout) = config.rollout(&target.rollout) else {
        // Its rollout left the config (and the incident was closed then).
        return Ok(Some(target));
    };
    let changed = change_incident(shared, &config, rollout, Some(id), |input| {
        policy::acknowledge(input, by)
    })?;
    if changed.is_some() {
        tracing::info!(incident = id, by, rollout = %target.rollout, "incident acknowledged");
    }
    // Whatever happened, the incident as it now stands.
    shared.store.blocking().incident(id)
}

/// Closes the open incident of a rollout that left the configuration
/// (`removed`, as it was configured), telling the people paged so far.
/// Channels are those of `config`, the configuration now in force.
pub fn retire(
    shared: &Shared,
    config: &Config,
    removed: &Rollout,
) -> Result<Option<Incident>, StoreError> {
    let closed = change_incident(shared, config, removed, None, policy::retire)?;
    if let Some(inc) = &closed {
        tracing::info!(incident = inc.id, rollout = %removed.name, "rollout removed from the configuration; its incident is closed");
    }
    Ok(closed)
}

/// The shared door for changes to a rollout's open incident: read the
/// state with its version, compute `change` (pure), commit its incident and
/// outbox rows if the version still holds, else re-read and recompute.
/// `only`: the incident the change is meant for; another (or none) open
/// means there is nothing to change. Returns the changed incident, or
/// `None` when the change said nothing.
fn change_incident(
    shared: &Shared,
    config: &Config,
    rollout: &Rollout,
    only: Option<i64>,
    change: impl Fn(&PolicyInput<'_>) -> policy::PolicyOutput,
) -> Result<Option<Incident>, StoreError> {
    let now = jiff::Timestamp::from_millisecond(shared.clock.now().as_millisecond())
        .unwrap_or_else(|_| shared.clock.now());
    // What the people paged last read: the latest evaluation's words.
    let (stage_index, reason, checks) = {
        let latest = shared.latest.read().unwrap_or_else(|p| p.into_inner());
        match latest.get(&rollout.name) {
            Some(l) => (
                l.report.stage.index,
                l.report.reason.clone(),
                l.checks.clone(),
            ),
            None => (0, String::new(), Vec::new()),
        }
    };
    for _ in 0..MAX_ATTEMPTS {
        let state = shared.store.blocking().rollout_state(&rollout.name)?;
        let Some(open) = state.incident.as_ref() else {
            return Ok(None);
        };
        if only.is_some_and(|id| id != open.id) {
            return Ok(None);
        }
        let decision = Decision {
            verdict: open.verdict,
            reason: reason.clone(),
            ready_to_expand: None,
        };
        let out = change(&PolicyInput {
            rollout,
            stage_index,
            decision: &decision,
            checks: &checks,
            now,
            memory: state.memory.as_ref(),
            incident: state.incident.as_ref(),
            roster: config.roster.as_ref(),
            notify: &config.notify,
            decided_hold: false,
            next_incident_id: 0,
            prometheus_url: &config.prometheus.external_url,
        });
        if out.outgoing.is_empty() {
            return Ok(None);
        }
        let outbox = outbox_rows(config, &out.outgoing);
        let committed = shared
            .store
            .blocking()
            .commit_evaluation(&EvaluationCommit {
                rollout: &rollout.name,
                expected_version: state.version,
                at: now,
                journal: None,
                breaches: None,
                memory: None,
                incident: out.incident.as_ref(),
                outbox: &outbox,
                stage: None,
            });
        match committed {
            Ok(()) => {
                shared.outbox_wake.notify_waiters();
                return Ok(out.incident);
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict {
        rollout: rollout.name.clone(),
    })
}
