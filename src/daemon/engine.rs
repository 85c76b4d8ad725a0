//! One rollout's evaluation, end to end: stage from the store → checks
//! against the datasource → decision → incident policy → one atomic commit
//! (journal, breach memory, incident, outbox) → status and metrics.

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
use crate::metrics::Metrics;
use crate::notify::policy::{self, PolicyInput};
use crate::notify::{AdvisoryKind, Delivery, IncidentView};
use crate::report::{JournalRecord, RolloutReport, StatusReport};
use crate::state::{EvaluationCommit, Incident, Store};

pub struct Latest {
    pub report: RolloutReport,
    pub checks: Vec<crate::eval::CheckResult>,
}

/// What the daemon's parts share: the HTTP server reads it, rollout tasks write it.
pub struct Shared {
    pub config: RwLock<Arc<Config>>,
    pub store: Arc<Store>,
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
}

impl Shared {
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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

    /// Channels deliveries go to, by configuration: console when neither
    /// Slack nor email is set up.
    pub fn channels(config: &Config) -> Vec<&'static str> {
        let mut channels = Vec::new();
        if config.slack.is_some() {
            channels.push("slack");
        }
        if config.email.is_some() {
            channels.push("email");
        }
        if channels.is_empty() {
            channels.push("console");
        }
        channels
    }
}

const EVALS_HELP: &str = "Evaluations of a rollout's checks.";
const DURATION_HELP: &str = "Time to evaluate all of a rollout's checks and record the decision.";
const QUERY_ERRORS_HELP: &str = "Check queries that failed (Prometheus down, slow, or bad PromQL).";
const VERDICT_HELP: &str = "Current verdict per rollout: 0 continue, 1 hold, 2 rollback.";
const LAST_OK_HELP: &str = "Unix time of the last evaluation whose queries all answered.";
const PAGES_HELP: &str = "People paged, by escalation level.";

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
    let store = &shared.store;
    let mut stage = store.stage_or_start(&rollout.name, now)?;
    if stage.index >= rollout.stages.len() {
        // The config lost stages since this was stored: judge the last one.
        stage.index = rollout.stages.len() - 1;
    }

    let (checks, new_breaches) = evaluate_rollout(ds, rollout, now, breaches).await;
    report_local_resources(shared, &checks);
    let decision = decide(rollout, stage, &checks, now);

    let memory = store.memory(&rollout.name)?;
    let incident = store.open_incident(&rollout.name)?;
    let next_incident_id = if incident.is_none() && decision.verdict != Verdict::Continue {
        store.next_incident_id()?
    } else {
        0
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
        next_incident_id,
        prometheus_url: &config.prometheus.external_url,
    });

    let channels = Shared::channels(config);
    let mut outbox = Vec::new();
    for o in &out.outgoing {
        if let Some(view) = &o.advisory.incident {
            shared.metrics.add(
                "sena_pages_total",
                PAGES_HELP,
                &[("level", &view.level.to_string())],
                view.paged.len() as f64,
            );
        }
        for channel in &channels {
            // Mail needs an address; without one the send would fail
            // permanently and fall back to a second Slack copy.
            if *channel == "email" && !o.recipients.iter().any(|p| p.email.is_some()) {
                tracing::debug!(rollout = %rollout.name, "no recipient has an email address; not mailing");
                continue;
            }
            outbox.push((
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

    let report = RolloutReport::new(rollout, stage, &decision, &checks, now);
    let journal = serde_json::to_string(&JournalRecord::new(&report)).ok();
    let breaches_changed = new_breaches != *breaches;
    let memory_changed = memory.as_ref() != Some(&out.memory);
    let incident_changed = out.incident.as_ref() != incident.as_ref();
    store.commit_evaluation(&EvaluationCommit {
        rollout: &rollout.name,
        at: now,
        journal,
        breaches: breaches_changed.then_some(&new_breaches),
        memory: memory_changed.then_some(&out.memory),
        incident: if incident_changed {
            out.incident.as_ref()
        } else {
            None
        },
        outbox: &outbox,
    })?;
    *breaches = new_breaches;
    if !outbox.is_empty() {
        shared.outbox_wake.notify_waiters();
        for o in &out.outgoing {
            tracing::info!(rollout = %rollout.name, kind = ?o.advisory.kind, verdict = o.advisory.verdict.as_str(), reason = %o.advisory.reason, "advisory queued");
        }
    }

    let name = rollout.name.as_str();
    let m = &shared.metrics;
    m.inc("sena_evaluations_total", EVALS_HELP, &[("rollout", name)]);
    m.observe(
        "sena_evaluation_duration_seconds",
        DURATION_HELP,
        &[("rollout", name)],
        started.elapsed().as_secs_f64(),
    );
    m.set(
        "sena_verdict",
        VERDICT_HELP,
        &[("rollout", name)],
        decision.verdict.gauge() as f64,
    );
    let errors = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Error)
        .count();
    m.add(
        "sena_query_errors_total",
        QUERY_ERRORS_HELP,
        &[("rollout", name)],
        errors as f64,
    );
    if errors == 0 {
        shared.prometheus_seen.store(true, Ordering::Relaxed);
        m.set(
            "sena_last_successful_evaluation_timestamp_seconds",
            LAST_OK_HELP,
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

/// Acknowledges an incident: stops its escalation and tells the people
/// already paged who took it.
pub fn acknowledge(
    shared: &Shared,
    id: i64,
    by: &str,
) -> Result<Option<Incident>, crate::state::StoreError> {
    let now = shared.clock.now();
    let Some(before) = shared.store.incident(id)? else {
        return Ok(None);
    };
    let Some(inc) = shared.store.ack_incident(id, by, now)? else {
        return Ok(None);
    };
    if before.acked_by.is_some() || inc.resolved_at.is_some() {
        return Ok(Some(inc));
    }
    let config = shared.config();
    let latest = {
        let latest = shared.latest.read().unwrap_or_else(|p| p.into_inner());
        latest.get(&inc.rollout).map(|l| {
            (
                l.report.stage.clone(),
                l.report.reason.clone(),
                l.checks.clone(),
            )
        })
    };
    let (Some(rollout), Some((stage, reason, mut checks))) = (config.rollout(&inc.rollout), latest)
    else {
        return Ok(Some(inc));
    };
    checks.sort_by_key(|c| c.status.severity_rank());
    let paged: Vec<crate::roster::Person> = config
        .roster
        .as_ref()
        .and_then(|r| r.on_call(inc.slot_since))
        .map(|o| {
            o.levels
                .iter()
                .take(inc.level + 1)
                .flat_map(|l| l.people.clone())
                .collect()
        })
        .unwrap_or_default();
    let advisory = crate::notify::Advisory {
        kind: AdvisoryKind::Acknowledged,
        at: now,
        rollout: inc.rollout.clone(),
        stage_index: stage.index,
        traffic: stage.traffic,
        verdict: inc.verdict,
        reason,
        ready_to_expand: None,
        checks,
        approver: rollout.approver.clone(),
        incident: Some(IncidentView {
            id,
            opened_at: inc.opened_at,
            slot: inc.slot.clone(),
            level: inc.level,
            paged: paged.clone(),
            next: None,
            acknowledged_by: Some(by.to_string()),
        }),
        prometheus_url: config.prometheus.external_url.clone(),
    };
    let items: Vec<(&str, Delivery)> = Shared::channels(&config)
        .into_iter()
        .map(|c| {
            (
                c,
                Delivery {
                    advisory: advisory.clone(),
                    recipients: paged.clone(),
                    dedup_key: format!("{}:{id}:ack:{c}", inc.rollout),
                    thread: None,
                },
            )
        })
        .collect();
    shared.store.enqueue(&items, now)?;
    shared.outbox_wake.notify_waiters();
    tracing::info!(incident = id, by, rollout = %inc.rollout, "incident acknowledged");
    Ok(Some(inc))
}
