//! When to speak, and to whom: the incident lifecycle and escalation, as a
//! pure function of the decision, what was said before, the roster and now.
//!
//! - An incident opens when a rollout leaves `continue`; its slot's level 0
//!   is paged at once, and the approver too on `rollback`.
//! - A verdict change inside an incident (hold ↔ rollback) is one message to
//!   everyone paged so far; checks changing underneath an unchanged verdict
//!   are not (one message per rollout state change, not per check).
//! - Not acknowledged within a level's `after` (counted from when the current
//!   slot took the incident) → that level is paged.
//! - An incident that crosses into another slot is handed to the new slot's
//!   level 0 as well, and escalation then follows the new slot's chain from
//!   the hand-over: the people now on duty are the ones who can act, and the
//!   earlier pages are not withdrawn.
//! - Anti-flap: the incident resolves only after `resolve_after` back at
//!   `continue`; a breach inside that window continues the same incident
//!   without a new page.
//! - While not `continue`, a reminder every `repeat`.
//! - The approver and the deputies hear "ready to expand" once per stage.
//! - A hold caused only by blind checks (no data, query errors) opens an
//!   incident only once it has lasted `blind_after`; a failing check pages
//!   at once.
//! - A hold that is only a person's NO-GO pages nobody.

use jiff::Timestamp;

use crate::config::{NotifyConfig, Rollout};
use crate::domain::{
    Advisory, AdvisoryKind, CheckResult, CheckStatus, Decision, DedupKey, Incident, Person,
    RolloutMemory, Verdict,
};
use crate::roster::{OnCall, Roster};

pub struct PolicyInput<'a> {
    pub rollout: &'a Rollout,
    pub stage_index: usize,
    pub decision: &'a Decision,
    pub checks: &'a [CheckResult],
    pub now: Timestamp,
    pub memory: Option<&'a RolloutMemory>,
    pub incident: Option<&'a Incident>,
    pub roster: Option<&'a Roster>,
    pub notify: &'a NotifyConfig,
    /// The hold is only a person's NO-GO over checks that advise
    /// `continue`: no incident opens and nobody is paged for it (the
    /// decider chose it and the channel already heard).
    pub decided_hold: bool,
    /// Id to use if an incident opens now.
    pub next_incident_id: i64,
    pub prometheus_url: &'a str,
}

/// An advisory addressed to people, with a key that identifies it for dedup.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub advisory: Advisory,
    pub recipients: Vec<Person>,
    pub dedup_key: DedupKey,
}

#[derive(Clone, Debug)]
pub struct PolicyOutput {
    pub memory: RolloutMemory,
    /// The incident as it now stands, when there is one to write.
    pub incident: Option<Incident>,
    pub outgoing: Vec<Outgoing>,
}

pub fn apply(input: &PolicyInput<'_>) -> PolicyOutput {
    let now = input.now;
    let verdict = input.decision.verdict;
    let mut memory = match input.memory {
        Some(m) if m.verdict == verdict => m.clone(),
        Some(m) => RolloutMemory {
            verdict,
            since: now,
            ..m.clone()
        },
        None => RolloutMemory {
            verdict,
            since: now,
            last_notified_at: None,
            ready_notified_stage: None,
        },
    };
    let mut out = Vec::new();
    let on_call = input.roster.and_then(|r| r.on_call(now));
    let incident = match (input.incident.cloned(), verdict) {
        (None, Verdict::Continue) => None,
        (None, Verdict::Hold) if input.decided_hold => None,
        // Blind, and not for long yet: hold without paging anyone.
        (None, Verdict::Hold) if only_blind(input.checks) && !blind_long_enough(input, &memory) => {
            None
        }
        (None, bad) => {
            let inc = Incident {
                id: input.next_incident_id,
                rollout: input.rollout.name.clone(),
                opened_at: now,
                verdict: bad,
                slot: on_call.as_ref().map(|o| o.slot.clone()),
                slot_since: now,
                level: 0,
                acked_by: None,
                acked_at: None,
                calm_since: None,
                resolved_at: None,
                thread: None,
            };
            out.push(page(
                input,
                &inc,
                AdvisoryKind::Opened,
                on_call.as_ref(),
                0..=0,
            ));
            memory.last_notified_at = Some(now);
            Some(inc)
        }
        (Some(mut inc), Verdict::Continue) => {
            let calm_since = *inc.calm_since.get_or_insert(now);
            if now.duration_since(calm_since).as_secs_f64()
                >= input.notify.resolve_after.as_secs_f64()
            {
                inc.resolved_at = Some(now);
                let all = 0..=inc.level;
                out.push(page(
                    input,
                    &inc,
                    AdvisoryKind::Resolved,
                    on_call_of(input, &inc).as_ref(),
                    all,
                ));
                memory.last_notified_at = Some(now);
            }
            Some(inc)
        }
        (Some(mut inc), bad) => {
            inc.calm_since = None;
            if bad != inc.verdict {
                inc.verdict = bad;
                let so_far = 0..=inc.level;
                out.push(page(
                    input,
                    &inc,
                    AdvisoryKind::Opened,
                    on_call_of(input, &inc).as_ref(),
                    so_far,
                ));
                memory.last_notified_at = Some(now);
            } else if let Some(o) = escalate(&mut inc, on_call.as_ref(), now) {
                out.push(page(
                    input,
                    &inc,
                    AdvisoryKind::Escalated,
                    on_call.as_ref(),
                    o,
                ));
                memory.last_notified_at = Some(now);
            } else if memory.last_notified_at.is_none_or(|t| {
                now.duration_since(t).as_secs_f64() >= input.notify.repeat.as_secs_f64()
            }) {
                let so_far = 0..=inc.level;
                out.push(page(
                    input,
                    &inc,
                    AdvisoryKind::Reminder,
                    on_call_of(input, &inc).as_ref(),
                    so_far,
                ));
                memory.last_notified_at = Some(now);
            }
            Some(inc)
        }
    };
    let open = incident.as_ref().is_some_and(|i| i.resolved_at.is_none());
    if let (Some(exp), false) = (&input.decision.ready_to_expand, open) {
        if memory.ready_notified_stage != Some(input.stage_index) {
            memory.ready_notified_stage = Some(input.stage_index);
            // The approver and the deputies: any of them may answer.
            let approver: Vec<Person> = std::iter::once(&exp.approver)
                .chain(&input.rollout.deputies)
                .filter_map(|name| input.roster.and_then(|r| r.person(name)))
                .cloned()
                .collect();
            out.push(Outgoing {
                advisory: advisory(input, AdvisoryKind::ReadyToExpand, None),
                recipients: approver,
                dedup_key: DedupKey::ready(&input.rollout.name, input.stage_index, now),
            });
        }
    }
    PolicyOutput {
        memory,
        incident,
        outgoing: out,
    }
}

/// Someone took the incident: escalation stops and everyone paged so far
/// hears who. The same door as an evaluation: the engine commits this output
/// with the rollout's version, so an evaluation computed before the ack can
/// no longer page the next level after it. Acknowledging an incident that is
/// not open, or already acknowledged, changes nothing and says nothing.
pub fn acknowledge(input: &PolicyInput<'_>, by: &str) -> PolicyOutput {
    change_open_incident(input, AdvisoryKind::Acknowledged, |inc| {
        if inc.acked_by.is_some() {
            return false;
        }
        inc.acked_by = Some(by.to_string());
        inc.acked_at = Some(input.now);
        true
    })
}

/// Applies `change` to the open incident; when it says it changed
/// something, everyone paged so far hears it as a `kind` message. What was
/// said before stays as it was.
fn change_open_incident(
    input: &PolicyInput<'_>,
    kind: AdvisoryKind,
    change: impl FnOnce(&mut Incident) -> bool,
) -> PolicyOutput {
    let memory = input.memory.cloned().unwrap_or(RolloutMemory {
        verdict: input.decision.verdict,
        since: input.now,
        last_notified_at: None,
        ready_notified_stage: None,
    });
    let mut incident = input.incident.cloned();
    let mut outgoing = Vec::new();
    if let Some(inc) = incident.as_mut().filter(|i| i.resolved_at.is_none()) {
        if change(inc) {
            let so_far = 0..=inc.level;
            outgoing.push(page(
                input,
                inc,
                kind,
                on_call_of(input, inc).as_ref(),
                so_far,
            ));
        }
    }
    PolicyOutput {
        memory,
        incident,
        outgoing,
    }
}

/// A hold caused only by checks Sena cannot see (no data, query errors),
/// none failing on a value.
fn only_blind(checks: &[CheckResult]) -> bool {
    !checks.iter().any(|c| c.status == CheckStatus::Failing)
        && checks
            .iter()
            .any(|c| matches!(c.status, CheckStatus::NoData | CheckStatus::Error))
}

/// Whether the current hold has lasted `notify.blind_after`.
fn blind_long_enough(input: &PolicyInput<'_>, memory: &RolloutMemory) -> bool {
    crate::saturating::elapsed(memory.since, input.now) >= input.notify.blind_after
}

/// The rollout left the configuration: its open incident closes, and
/// everyone paged so far (and the approver) hears that nobody watches it any
/// more, rather than being left with an incident that never resolves.
pub fn retire(input: &PolicyInput<'_>) -> PolicyOutput {
    change_open_incident(input, AdvisoryKind::Removed, |inc| {
        inc.resolved_at = Some(input.now);
        true
    })
}

/// The chain of the incident's slot now (it may have been reloaded).
fn on_call_of(input: &PolicyInput<'_>, inc: &Incident) -> Option<OnCall> {
    let current = input.roster.and_then(|r| r.on_call(input.now))?;
    if inc.slot.as_deref() == Some(current.slot.as_str()) {
        Some(current)
    } else {
        input.roster.and_then(|r| r.on_call(inc.slot_since))
    }
}

/// Hand-over to a new slot, or the next due level. Returns the levels to page.
fn escalate(
    inc: &mut Incident,
    on_call: Option<&OnCall>,
    now: Timestamp,
) -> Option<std::ops::RangeInclusive<usize>> {
    if inc.acked_by.is_some() {
        return None;
    }
    let on_call = on_call?;
    if inc.slot.as_deref() != Some(on_call.slot.as_str()) {
        inc.slot = Some(on_call.slot.clone());
        inc.slot_since = now;
        inc.level = 0;
        return Some(0..=0);
    }
    let waited = now.duration_since(inc.slot_since).as_secs_f64();
    let due = on_call
        .levels
        .iter()
        .rposition(|l| l.after.as_secs_f64() <= waited)
        .unwrap_or(0);
    if due > inc.level {
        let first = inc.level + 1;
        inc.level = due;
        Some(first..=due)
    } else {
        None
    }
}

pub mod decision;
mod page;
pub mod routing;

use page::{advisory, page};

#[cfg(test)]
mod tests;
