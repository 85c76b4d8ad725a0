//! GO / NO-GO through the one door: read the rollout's stage, hold, last
//! decision and version; gather Sena's advice from the latest evaluation of
//! that stage; compute the pure transition (`notify::policy::decision`);
//! commit it whole with its outbox rows if the version still holds, else
//! re-read and recompute (two GOs at once decide once). Refusals are
//! appended to the record too. Runs inside `spawn_blocking`.

use crate::config::Rollout;
use crate::domain::{
    Advice, CheckEvidence, DecisionAnswer, DecisionRecord, DecisionRequest, StagePosition,
};
use crate::notify::policy::decision::{decide_stage, DecisionInput, DecisionOutput, HoldChange};
use crate::state::{DecisionCommit, StoreError};

use super::engine::{Shared, MAX_ATTEMPTS};

pub fn decide(
    shared: &Shared,
    rollout_name: &str,
    request: &DecisionRequest,
    can_decide: bool,
) -> Result<DecisionAnswer, StoreError> {
    let config = shared.config();
    let Some(rollout) = config.rollout(rollout_name) else {
        return Ok(DecisionAnswer::UnknownRollout);
    };
    let now = jiff::Timestamp::from_millisecond(shared.clock.now().as_millisecond())
        .unwrap_or_else(|_| shared.clock.now());
    for _ in 0..MAX_ATTEMPTS {
        let state = shared.store.blocking().decision_state(&rollout.name)?;
        let mut stage = state.stage.unwrap_or(StagePosition {
            index: 0,
            started_at: now,
        });
        stage.index = stage.index.min(rollout.stages.len().saturating_sub(1));
        let (advice, checks) = advice(shared, rollout, stage, now)?;
        let out = decide_stage(&DecisionInput {
            rollout,
            stage,
            hold: state.hold.as_ref(),
            last_accepted: state.last_accepted.as_ref(),
            advice: &advice,
            checks: &checks,
            request,
            can_decide,
            roster: config.roster.as_ref(),
            now,
            prometheus_url: &config.prometheus.external_url,
        });
        let (record, stage, hold, outgoing) = match out {
            DecisionOutput::Duplicate(first) => return Ok(DecisionAnswer::Duplicate(first)),
            DecisionOutput::Refused(record) => {
                let stored = shared.store.blocking().append_refusal(&record)?;
                log(&stored, "decision refused");
                return Ok(DecisionAnswer::Refused(stored));
            }
            DecisionOutput::Decided {
                record,
                stage,
                hold,
                outgoing,
            } => (record, stage, hold, outgoing),
        };
        let outbox = super::transition::outbox_rows(&config, &outgoing);
        let hold = match &hold {
            HoldChange::Keep => None,
            HoldChange::Clear => Some(None),
            HoldChange::Set(h) => Some(Some(h)),
        };
        let committed = shared.store.blocking().commit_decision(&DecisionCommit {
            expected_version: state.version,
            record: &record,
            stage,
            hold,
            outbox: &outbox,
        });
        match committed {
            Ok(stored) => {
                shared.outbox_wake.notify_waiters();
                log(&stored, "decision taken");
                return Ok(DecisionAnswer::Decided(stored));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict {
        rollout: rollout.name.clone(),
    })
}

fn log(r: &DecisionRecord, what: &str) {
    tracing::info!(id = r.id, rollout = %r.rollout, by = %r.by, decision = r.decision.as_str(), stage = r.stage_named, outcome = ?r.outcome, "{what}");
}

/// Sena's advice on `stage` now: the latest evaluation's, when it judged
/// this very stage (after a GO or `sena stage` there is none until the
/// next evaluation, and no advice is not a GO's licence).
fn advice(
    shared: &Shared,
    rollout: &Rollout,
    stage: StagePosition,
    now: jiff::Timestamp,
) -> Result<(Advice, Vec<crate::domain::CheckResult>), StoreError> {
    let (verdict, reason, ready, checks) = {
        let latest = shared.latest.read().unwrap_or_else(|p| p.into_inner());
        match latest.get(&rollout.name) {
            Some(l)
                if l.report.stage.index == stage.index
                    && l.report.stage.started_at == stage.started_at =>
            {
                (
                    Some(l.advised.verdict),
                    l.advised.reason.clone(),
                    l.advised.ready_to_expand.is_some(),
                    l.checks.clone(),
                )
            }
            _ => (None, String::new(), false, Vec::new()),
        }
    };
    let incidents = shared
        .store
        .blocking()
        .incidents_since(&rollout.name, stage.started_at)?;
    let evidence = checks
        .iter()
        .map(|c| CheckEvidence {
            name: c.name.clone(),
            status: c.status,
            value: c.value,
            value_text: c.value_text.clone(),
            threshold: c.threshold,
            evidence: c.evidence.clone(),
        })
        .collect();
    let advice = Advice {
        verdict,
        reason,
        ready,
        checks: evidence,
        bake_elapsed_seconds: crate::saturating::elapsed(stage.started_at, now).as_secs(),
        incidents_during_stage: incidents,
        rules_hash: rules_hash(rollout),
    };
    Ok((advice, checks))
}

/// SHA-256 of every check's name, query, threshold, `for` and `on_fail`,
/// so a record says which rules it was judged by without copying them.
pub fn rules_hash(rollout: &Rollout) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for c in &rollout.checks {
        let line = format!(
            "{}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\n",
            c.name, c.query, c.threshold, c.for_duration, c.on_fail
        );
        ctx.update(line.as_bytes());
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The records, oldest first.
pub fn list(
    shared: &Shared,
    rollout: Option<&str>,
    since: Option<jiff::Timestamp>,
    limit: usize,
) -> Result<Vec<DecisionRecord>, StoreError> {
    shared.store.blocking().decisions(rollout, since, limit)
}
