//! One rollout's evaluation, end to end: stage from the store → checks
//! against the datasource → decision → incident policy → one atomic commit
//! (journal, breach memory, incident, outbox) → status and metrics.

use crate::domain::Channel;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::{Config, Rollout};
use crate::datasource::Datasource;
use crate::decide::{decide, Verdict};
use crate::eval::{evaluate_rollout, BreachMemory, CheckStatus};
use crate::health::Component;
use crate::metrics::Metrics;
use crate::notify::policy::{self, PolicyInput};
use crate::report::{JournalRecord, RolloutReport, StatusReport};
use crate::state::{EvaluationCommit, StoreError, StoreHandle};

pub use super::unsaved::Unsaved;

pub struct Latest {
    pub report: RolloutReport,
    pub checks: Vec<crate::eval::CheckResult>,
    /// What the checks advised, before any NO-GO: a decision weighs a GO
    /// against this, so a later GO can release a NO-GO hold.
    pub advised: crate::decide::Decision,
}

/// What the daemon's parts share: the HTTP server reads it, rollout tasks write it.
pub struct Shared {
    pub config: RwLock<Arc<Config>>,
    /// Async code calls it through its thread (`store.call`), never directly.
    pub store: StoreHandle,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Latest evaluation per rollout, for `/api/v1/status` and for the
    /// acknowledgement message.
    pub latest: RwLock<BTreeMap<String, Latest>>,
    /// Prometheus answered at least once.
    pub prometheus_seen: AtomicBool,
    /// Wakes the outbox dispatcher when something is queued.
    pub outbox_wake: Arc<Notify>,
    /// Sena's own problems (store, resources), for `/readyz` and the logs.
    pub health: Arc<crate::health::Health>,
    /// Send outcomes and deliveries the store could not take.
    pub delivery_memory: Arc<crate::deliver::memory::DeliveryMemory>,
    /// Per rollout, what the last evaluations decided but could not commit
    /// (the store failing): the next evaluation starts from it, so a full
    /// disk neither re-pages every interval nor forgets an incident.
    pub unsaved: std::sync::Mutex<std::collections::HashMap<String, Unsaved>>,
    /// The highest incident id this process handed out (reserved in the
    /// store or, while it failed, from memory); the next id comes after it.
    pub incident_id_floor: Arc<std::sync::Mutex<i64>>,
}

impl Shared {
    pub fn new(
        config: Config,
        store: StoreHandle,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
    ) -> Shared {
        Shared {
            config: RwLock::new(Arc::new(config)),
            store,
            metrics,
            clock,
            latest: RwLock::new(Default::default()),
            prometheus_seen: AtomicBool::new(false),
            outbox_wake: Arc::new(Notify::new()),
            health: Arc::new(crate::health::Health::new()),
            delivery_memory: Arc::new(crate::deliver::memory::DeliveryMemory::new()),
            unsaved: Default::default(),
            incident_id_floor: Default::default(),
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Counts a failed store operation and marks the store unwell (logged
    /// once per change of state, not per evaluation).
    pub fn store_failed(&self, op: &'static str, e: &StoreError) {
        self.metrics
            .inc(crate::metrics::STORE_ERRORS, &[("op", op)]);
        self.health
            .fail(Component::Store, crate::notify::error_chain(e));
    }

    pub fn status(&self) -> StatusReport {
        let latest = self.latest.read().unwrap_or_else(|p| p.into_inner());
        let config = self.config();
        StatusReport {
            at: self.clock.now(),
            // In config order, only rollouts still configured.
            rollouts: config
                .rollouts
                .iter()
                .filter_map(|r| latest.get(&r.name).map(|l| l.report.clone()))
                .collect(),
        }
    }

    /// Channels deliveries go to, by configuration
    /// (`notify::policy::routing::channels`).
    pub fn channels(config: &Config) -> Vec<Channel> {
        crate::notify::policy::routing::channels(config)
    }
}

/// An [`EvaluationCommit`] that owns its parts, to send to the store's thread.
struct OwnedCommit {
    rollout: String,
    expected_version: i64,
    at: jiff::Timestamp,
    journal: Option<String>,
    breaches: Option<BreachMemory>,
    memory: Option<crate::state::RolloutMemory>,
    incident: Option<crate::state::Incident>,
    outbox: Vec<(Channel, crate::notify::Delivery)>,
    stage: Option<crate::decide::StagePosition>,
}

impl OwnedCommit {
    fn borrowed(&self) -> EvaluationCommit<'_> {
        EvaluationCommit {
            rollout: &self.rollout,
            expected_version: self.expected_version,
            at: self.at,
            journal: self.journal.clone(),
            breaches: self.breaches.as_ref(),
            memory: self.memory.as_ref(),
            incident: self.incident.as_ref(),
            outbox: &self.outbox,
            stage: self.stage,
        }
    }
}

/// Recomputations of one state change lost to concurrent ones before giving up.
pub(super) const MAX_ATTEMPTS: u32 = 5;

/// Evaluates one rollout once, records the result, queues what must be said.
pub async fn evaluate(
    shared: &Shared,
    config: &Config,
    ds: &dyn Datasource,
    rollout: &Rollout,
    breaches: &mut BreachMemory,
) -> Result<RolloutReport, crate::state::StoreError> {
    let started = Instant::now();
    // Milliseconds are what the store keeps: truncating here makes a breach
    // start read the same before and after a restart.
    let now = jiff::Timestamp::from_millisecond(shared.clock.now().as_millisecond())
        .unwrap_or_else(|_| shared.clock.now());
    // What earlier evaluations decided but could not commit comes first: the
    // store does not have it.
    let unsaved = shared.unsaved_state(&rollout.name);
    // One door: the state is read with its version before the queries; the
    // transition is computed after them and committed whole only if nobody
    // changed the rollout meanwhile (an ack while Prometheus answered), else
    // re-read and recomputed. The queries are not repeated, only the policy.
    let ((mut stage, stage_unsaved), mut state) = match &unsaved {
        Some(u) if u.stage_unsaved => ((u.stage, true), u.state()),
        Some(u) => (shared.stage_or_default(&rollout.name, now).await, u.state()),
        // The common path: stage and state in one trip to the store.
        None => shared.stage_and_state(&rollout.name, now).await,
    };
    if stage.index >= rollout.stages.len() {
        // The config lost stages since this was stored: judge the last one.
        stage.index = rollout.stages.len() - 1;
    }
    let (checks, new_breaches) =
        evaluate_rollout(ds, rollout, stage.started_at, now, breaches).await;
    report_local_resources(shared, &checks);
    // What the checks advise; a NO-GO in force is applied on top (inside
    // the loop: a NO-GO committed meanwhile is seen on the recomputation).
    let advised = decide(rollout, stage, &checks, now);

    // State carried in memory must reach the store whole with the first
    // commit that works, changed or not.
    let from_memory = unsaved.is_some();
    let mut reserved_id = None;
    let mut attempt = 0;
    let (out, outbox, committed, decision, report) = loop {
        attempt += 1;
        let decision = crate::domain::approval::with_hold(advised.clone(), state.hold.as_ref());
        let report = RolloutReport::new(rollout, stage, &decision, &checks, now);
        let journal = match serde_json::to_string(&JournalRecord::new(&report)) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!(rollout = %rollout.name, error = %e, "cannot write this evaluation's journal record; it is missing from the journal");
                None
            }
        };
        let next_incident_id = match reserved_id {
            _ if state.incident.is_some() || decision.verdict == Verdict::Continue => 0,
            Some(id) => id,
            None => {
                let id = shared.reserve_incident_id().await;
                reserved_id = Some(id);
                id
            }
        };
        let out = policy::apply(&PolicyInput {
            rollout,
            stage_index: stage.index,
            decision: &decision,
            checks: &checks,
            now,
            memory: state.memory.as_ref(),
            incident: state.incident.as_ref(),
            roster: config.roster.as_ref(),
            notify: &config.notify,
            decided_hold: state.hold.is_some() && advised.verdict == Verdict::Continue,
            next_incident_id,
            prometheus_url: &config.prometheus.external_url,
        });
        let outbox = super::transition::outbox_rows(config, &out.outgoing);
        let breaches_changed = from_memory || new_breaches != *breaches;
        let memory_changed = from_memory || state.memory.as_ref() != Some(&out.memory);
        let incident_to_write = match (&out.incident, &unsaved) {
            (Some(i), _) if from_memory || out.incident != state.incident => Some(i),
            (None, Some(u)) => u.incident.as_ref(),
            _ => None,
        };
        // The commit runs on the store's thread with its own copies; a
        // conflict comes back with the fresh state to recompute from.
        let commit = OwnedCommit {
            rollout: rollout.name.clone(),
            expected_version: state.version,
            at: now,
            journal,
            breaches: breaches_changed.then(|| new_breaches.clone()),
            memory: memory_changed.then(|| out.memory.clone()),
            incident: incident_to_write.cloned(),
            outbox: outbox.clone(),
            stage: stage_unsaved.then_some(stage),
        };
        let result = shared
            .store
            .call(move |s| match s.commit_evaluation(&commit.borrowed()) {
                Err(StoreError::Conflict { .. }) => s.rollout_state(&commit.rollout).map(Some),
                other => other.map(|()| None),
            })
            .await;
        match result {
            Ok(Some(fresh)) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(rollout = %rollout.name, attempt, "rollout changed during the evaluation; recomputing");
                state = fresh;
            }
            Ok(Some(_)) => {
                let conflict = StoreError::Conflict {
                    rollout: rollout.name.clone(),
                };
                break (out, outbox, Err(conflict), decision, report);
            }
            Ok(None) => break (out, outbox, Ok(()), decision, report),
            Err(e) => break (out, outbox, Err(e), decision, report),
        }
    };
    let said = !matches!(committed, Err(StoreError::Conflict { .. }));
    match committed {
        Ok(()) => shared.committed(&rollout.name),
        // Others kept changing the rollout (acks, decisions): not a store
        // failure. Nothing of this evaluation is said; the next one decides
        // from the state as it then is.
        Err(StoreError::Conflict { .. }) => {
            tracing::warn!(rollout = %rollout.name, attempts = MAX_ATTEMPTS, "the rollout changed during every try of this evaluation; dropping its result");
        }
        Err(e) => {
            // Nothing of this evaluation is recorded. Keep its state in
            // memory for the next one and page from memory, saying so: a
            // failing disk must not silence a rollback.
            shared.store_failed("commit_evaluation", &e);
            shared.keep_unsaved(
                &rollout.name,
                Unsaved {
                    stage,
                    stage_unsaved,
                    memory: out.memory.clone(),
                    incident: out
                        .incident
                        .clone()
                        .or_else(|| unsaved.as_ref().and_then(|u| u.incident.clone())),
                    version: state.version,
                },
            );
            shared.page_from_memory(outbox.clone(), &e);
        }
    }
    for o in out.outgoing.iter().filter(|_| said) {
        if let Some(view) = &o.advisory.incident {
            shared.metrics.add(
                crate::metrics::PAGES,
                &[("level", &view.level.to_string())],
                view.paged.len() as f64,
            );
        }
    }
    *breaches = new_breaches;
    if said && !outbox.is_empty() {
        shared.outbox_wake.notify_waiters();
        for o in &out.outgoing {
            tracing::info!(rollout = %rollout.name, kind = ?o.advisory.kind, verdict = o.advisory.verdict.as_str(), reason = %o.advisory.reason, "advisory queued");
        }
    }

    let name = rollout.name.as_str();
    let m = &shared.metrics;
    m.inc(crate::metrics::EVALUATIONS, &[("rollout", name)]);
    m.observe(
        crate::metrics::EVALUATION_DURATION,
        &[("rollout", name)],
        started.elapsed().as_secs_f64(),
    );
    m.set(
        crate::metrics::VERDICT,
        &[("rollout", name)],
        decision.verdict.gauge() as f64,
    );
    super::gauges::publish(m, rollout, stage, &decision, &checks, now);
    let errors = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Error)
        .count();
    m.add(
        crate::metrics::QUERY_ERRORS,
        &[("rollout", name)],
        errors as f64,
    );
    if errors == 0 {
        shared.prometheus_seen.store(true, Ordering::Relaxed);
        m.set(
            crate::metrics::LAST_SUCCESSFUL_EVALUATION,
            &[("rollout", name)],
            now.as_millisecond() as f64 / 1000.0,
        );
    }
    shared
        .latest
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            rollout.name.clone(),
            Latest {
                report: report.clone(),
                checks,
                advised,
            },
        );
    Ok(report)
}

/// Out of file descriptors is Sena's problem, not the canary's: the checks
/// that could not be asked stay `error` (blind means hold), and `/readyz`
/// says why. An evaluation with an answered query shows the resource is back.
fn report_local_resources(shared: &Shared, checks: &[crate::eval::CheckResult]) {
    if let Some(failed) = checks.iter().find(|c| c.local_failure) {
        let why = failed.error.clone().unwrap_or_default();
        shared.health.fail(crate::health::Component::Resources, why);
    } else if checks.iter().any(|c| c.status != CheckStatus::Error) {
        shared.health.recover(crate::health::Component::Resources);
    }
}
