//! The replay: walk the window step by step through the daemon's own code,
//! carrying what the daemon carries from one evaluation to the next —
//! `eval::evaluate_rollout` with the breach memory it returned last time,
//! `decide::decide` at the stage position, and `notify::policy::apply`
//! with the last rollout memory and open incident and the roster at that
//! instant. Nobody acknowledges a page in history, so escalation runs its
//! course. Only events come out: this module has no store to write and no
//! notifier to call (`tests/architecture.rs` keeps it so).

use jiff::Timestamp;

use super::events::{CheckTrace, Event, PageKind, RolloutTimeline, What};
use super::window::Window;
use crate::config::{Config, Rollout};
use crate::datasource::Datasource;
use crate::decide::{decide, StagePosition, Verdict};
use crate::domain::{BreachMemory, CheckStatus, Incident, RolloutMemory};
use crate::eval::evaluate_rollout;
use crate::notify::policy::{self, Outgoing, PolicyInput};

/// Where the rollout stands when the replay starts, and what happens when
/// a stage becomes ready.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    pub stage: StagePosition,
    /// Take each stage the moment it is ready (an immediate GO), so every
    /// stage's readiness is replayed; otherwise the rollout stays put, as it
    /// would with nobody answering.
    pub assume_go: bool,
}

/// Replays `rollout` over `window`, answering its queries from `ds`.
pub async fn replay(
    ds: &dyn Datasource,
    config: &Config,
    rollout: &Rollout,
    window: Window,
    start: Start,
) -> RolloutTimeline {
    let steps = window.steps() as usize;
    let mut timeline = RolloutTimeline {
        rollout: rollout.name.clone(),
        stage: start.stage.index,
        stage_entered_at: start.stage.started_at,
        events: Vec::new(),
        checks: rollout
            .checks
            .iter()
            .map(|c| CheckTrace {
                check: c.name.clone(),
                threshold: c.threshold,
                values: Vec::with_capacity(steps),
                statuses: Vec::with_capacity(steps),
            })
            .collect(),
        verdicts: Vec::with_capacity(steps),
        first_step: window.from,
        step: window.step,
    };
    let mut stage = start.stage;
    let mut breaches = BreachMemory::new();
    let mut memory: Option<RolloutMemory> = None;
    let mut incident: Option<Incident> = None;
    let mut next_incident_id = 1;
    let mut last_statuses: Vec<Option<CheckStatus>> = vec![None; rollout.checks.len()];
    let mut last_verdict: Option<Verdict> = None;
    let mut was_ready = false;
    for t in window.instants() {
        let Ok(now) = Timestamp::from_second(t) else {
            continue;
        };
        let (checks, new_breaches) =
            evaluate_rollout(ds, rollout, stage.started_at, now, &breaches).await;
        let decision = decide(rollout, stage, &checks, now);
        let id = if incident.is_some() || decision.verdict == Verdict::Continue {
            0
        } else {
            next_incident_id
        };
        let out = policy::apply(&PolicyInput {
            rollout,
            stage_index: stage.index,
            decision: &decision,
            checks: &checks,
            now,
            memory: memory.as_ref(),
            incident: incident.as_ref(),
            roster: config.roster.as_ref(),
            notify: &config.notify,
            decided_hold: false,
            next_incident_id: id,
            prometheus_url: &config.prometheus.external_url,
        });
        if id != 0 && out.incident.as_ref().is_some_and(|i| i.id == id) {
            next_incident_id += 1;
        }

        let mut at = |what: What| timeline.events.push(Event { at: now, what });
        for (i, c) in checks.iter().enumerate() {
            if last_statuses[i] != Some(c.status) {
                last_statuses[i] = Some(c.status);
                at(What::Check {
                    check: c.name.clone(),
                    status: c.status,
                    value: c.value,
                    value_text: c.value_text.clone(),
                });
            }
        }
        if last_verdict != Some(decision.verdict) {
            last_verdict = Some(decision.verdict);
            at(What::Verdict {
                verdict: decision.verdict,
                reason: decision.reason.clone(),
            });
        }
        let ready = decision.ready_to_expand.clone();
        if let (Some(exp), false) = (&ready, was_ready) {
            at(What::Ready {
                stage: stage.index,
                next_stage: exp.next_index,
                next_traffic: exp.next_traffic.clone(),
            });
        }
        for o in &out.outgoing {
            at(page(config, o));
        }
        was_ready = ready.is_some();

        for (trace, c) in timeline.checks.iter_mut().zip(&checks) {
            trace.values.push(c.value);
            trace.statuses.push(c.status);
        }
        timeline.verdicts.push(decision.verdict);
        // What the daemon keeps for its next evaluation: an incident that
        // resolved is no longer read back as open.
        breaches = new_breaches;
        memory = Some(out.memory);
        incident = out.incident.filter(|i| i.resolved_at.is_none());
        if let (Some(exp), true) = (ready, start.assume_go) {
            stage = StagePosition {
                index: exp.next_index,
                started_at: now,
            };
            was_ready = false;
            timeline.events.push(Event {
                at: now,
                what: What::Stage {
                    stage: exp.next_index,
                    traffic: exp.next_traffic,
                },
            });
        }
    }
    timeline
}

fn page(config: &Config, o: &Outgoing) -> What {
    let view = o.advisory.incident.as_ref();
    What::Page {
        page: PageKind::of(o.advisory.kind),
        verdict: o.advisory.verdict,
        incident: view.map(|v| v.id),
        level: view.map(|v| v.level),
        to: o.recipients.iter().map(|p| p.name.clone()).collect(),
        channels: crate::notify::policy::routing::routes(config, o),
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
