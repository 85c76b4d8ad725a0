//! The state changes that are not an evaluation, through the same door:
//! read the rollout's state with its version, compute the pure transition
//! (`notify::policy`), commit its whole output (incident, outbox rows) in one
//! transaction guarded by the version, and recompute on a conflict. Also the
//! one place an advisory becomes outbox rows, for every transition.

use crate::config::Config;
use crate::decide::Decision;
use crate::notify::policy::{self, Outgoing, PolicyInput};
use crate::notify::Delivery;
use crate::state::{EvaluationCommit, Incident, StoreError};

use super::engine::{Shared, MAX_ATTEMPTS};

/// One row per configured channel for each advisory. Mail needs an address:
/// without one the send would fail permanently and fall back to a second
/// Slack copy, so people without one are not mailed.
pub fn outbox_rows(config: &Config, outgoing: &[Outgoing]) -> Vec<(&'static str, Delivery)> {
    let channels = Shared::channels(config);
    let mut rows = Vec::new();
    for o in outgoing {
        for channel in &channels {
            if *channel == "email" && !o.recipients.iter().any(|p| p.email.is_some()) {
                tracing::debug!(rollout = %o.advisory.rollout, "no recipient has an email address; not mailing");
                continue;
            }
            rows.push((
                *channel,
                Delivery {
                    advisory: o.advisory.clone(),
                    recipients: o.recipients.clone(),
                    dedup_key: format!("{}:{channel}", o.dedup_key),
                    thread: None,
                },
            ));
        }
    }
    rows
}

/// Acknowledges incident `id` for `by`: escalation stops and the people
/// paged so far hear who took it. `None` when there is no such incident;
/// an incident already acknowledged or resolved is returned unchanged.
pub fn acknowledge(shared: &Shared, id: i64, by: &str) -> Result<Option<Incident>, StoreError> {
    let now = jiff::Timestamp::from_millisecond(shared.clock.now().as_millisecond())
        .unwrap_or_else(|_| shared.clock.now());
    let Some(target) = shared.store.incident(id)? else {
        return Ok(None);
    };
    let config = shared.config();
    let Some(rollout) = config.rollout(&target.rollout) else {
        // Its rollout left the config; nobody is paged for it any more.
        return Ok(Some(target));
    };
    // What the people paged last read: the latest evaluation's words.
    let (stage_index, reason, checks) = {
        let latest = shared.latest.read().unwrap_or_else(|p| p.into_inner());
        match latest.get(&target.rollout) {
            Some(l) => (
                l.report.stage.index,
                l.report.reason.clone(),
                l.checks.clone(),
            ),
            None => (0, String::new(), Vec::new()),
        }
    };
    for _ in 0..MAX_ATTEMPTS {
        let state = shared.store.rollout_state(&target.rollout)?;
        if state.incident.as_ref().map(|i| i.id) != Some(id) {
            // Not the open incident (resolved meanwhile): nothing to stop.
            return shared.store.incident(id);
        }
        let decision = Decision {
            verdict: target.verdict,
            reason: reason.clone(),
            ready_to_expand: None,
        };
        let out = policy::acknowledge(
            &PolicyInput {
                rollout,
                stage_index,
                decision: &decision,
                checks: &checks,
                now,
                memory: state.memory.as_ref(),
                incident: state.incident.as_ref(),
                roster: config.roster.as_ref(),
                notify: &config.notify,
                next_incident_id: 0,
                prometheus_url: &config.prometheus.external_url,
            },
            by,
        );
        if out.outgoing.is_empty() {
            return Ok(out.incident);
        }
        let outbox = outbox_rows(&config, &out.outgoing);
        let committed = shared.store.commit_evaluation(&EvaluationCommit {
            rollout: &target.rollout,
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
                tracing::info!(incident = id, by, rollout = %target.rollout, "incident acknowledged");
                return Ok(out.incident);
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict {
        rollout: target.rollout,
    })
}
