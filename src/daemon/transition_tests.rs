//! Property test of the one-door rule: random interleavings of evaluations,
//! acknowledgements (also landing in the middle of an evaluation, between
//! its read of the state and its commit) and clock steps, through the real
//! engine, policy and SQLite store. Whatever the order:
//! - no level is paged after its incident was acknowledged;
//! - no level of an incident is paged twice, and an acknowledgement is told
//!   once;
//! - no page is lost: every incident has its opening, every level it reached
//!   its escalation, every acknowledgement its message.
//!
//! Schedules come from a seeded generator (hand-rolled rather than proptest,
//! to keep the dependency list short); a failure prints the seed and steps.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;

use super::engine::{self, Shared};
use super::transition;
use crate::clock::{Clock, ManualClock};
use crate::datasource::{Datasource, DatasourceError, RangeSeries, Sample};
use crate::domain::Channel;
use crate::metrics::Metrics;
use crate::notify::{AdvisoryKind, BoxFuture, Delivery};
use crate::state::Store;

/// A Prometheus that answers one value and can run an action mid-query.
#[derive(Default)]
struct Scripted {
    value: Mutex<f64>,
    during_query: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Datasource for Scripted {
    fn query<'a>(
        &'a self,
        _promql: &'a str,
        _at: Timestamp,
        _max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<Sample>, DatasourceError>> {
        if let Some(action) = self.during_query.lock().unwrap().take() {
            action();
        }
        let value = *self.value.lock().unwrap();
        Box::pin(async move {
            Ok(vec![Sample {
                labels: Default::default(),
                value,
            }])
        })
    }

    fn query_range<'a>(
        &'a self,
        _promql: &'a str,
        _start: Timestamp,
        _end: Timestamp,
        _step: f64,
        _max_series: usize,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, DatasourceError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DatasourceError>> {
        Box::pin(async { Ok(()) })
    }
}

const CONFIG: &str = "prometheus: { url: 'http://127.0.0.1:9' }
notify: { repeat: 1h, resolve_after: 5m }
roster: roster.yaml
rollouts:
  - name: r
    approver: lubit
    stages: [{ traffic: 5%, bake: 1h }, { traffic: 100% }]
    rules: [rules.yaml]
";

const RULES: &str = "checks:
  - name: errors
    query: q
    below: 0.5
    on_fail: rollback
";

const ROSTER: &str = "timezone: UTC
people:
  a:     { slack: U0A, email: a@example.com }
  b:     { slack: U0B, email: b@example.com }
  c:     { slack: U0C, email: c@example.com }
  lubit: { slack: U0L, email: l@example.com }
slots:
  - name: all-day
    from: '00:00'
    to: '24:00'
    escalation:
      - notify: [a]
      - after: 10m
        notify: [b]
      - after: 20m
        notify: [c]
";

/// xorshift64*: small, seeded, good enough to shuffle schedules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Advance(u64),
    SetBreaching(bool),
    Evaluate,
    EvaluateWithAckMidway,
    Ack,
}

fn schedule(rng: &mut Rng, len: usize) -> Vec<Step> {
    (0..len)
        .map(|_| match rng.below(10) {
            0..=2 => Step::Advance(rng.below(13 * 60)),
            3 => Step::SetBreaching(rng.below(10) < 7),
            4..=6 => Step::Evaluate,
            7 | 8 => Step::EvaluateWithAckMidway,
            _ => Step::Ack,
        })
        .collect()
}

fn open_incident(shared: &Shared) -> Option<i64> {
    shared
        .store
        .blocking()
        .open_incident("r")
        .unwrap()
        .map(|i| i.id)
}

/// Runs one schedule; returns every queued delivery in queue order.
fn run(steps: &[Step], dir: &std::path::Path) -> (Arc<Shared>, Vec<Delivery>) {
    std::fs::write(dir.join("sena.yaml"), CONFIG).unwrap();
    std::fs::write(dir.join("rules.yaml"), RULES).unwrap();
    std::fs::write(dir.join("roster.yaml"), ROSTER).unwrap();
    let config = crate::config::load(&dir.join("sena.yaml"))
        .unwrap_or_else(|d| panic!("{d}"))
        .config;
    let store = Arc::new(Store::open(&dir.join("state")).unwrap());
    let clock = ManualClock::new("2025-10-22T05:00:00Z".parse().unwrap());
    let shared = Arc::new(Shared::new(
        config,
        crate::state::StoreHandle::inline(store.clone()),
        Arc::new(Metrics::new()),
        Arc::new(clock.clone()),
    ));
    let ds = Scripted::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let config = shared.config();
    let rollout = config.rollout("r").unwrap().clone();
    let mut breaches = Default::default();
    for step in steps {
        match *step {
            Step::Advance(secs) => clock.advance(Duration::from_secs(secs)),
            Step::SetBreaching(b) => *ds.value.lock().unwrap() = if b { 1.0 } else { 0.0 },
            Step::Evaluate | Step::EvaluateWithAckMidway => {
                if matches!(step, Step::EvaluateWithAckMidway) {
                    let shared = shared.clone();
                    *ds.during_query.lock().unwrap() = Some(Box::new(move || {
                        if let Some(id) = open_incident(&shared) {
                            transition::acknowledge(&shared, id, "b").unwrap();
                        }
                    }));
                }
                runtime
                    .block_on(engine::evaluate(
                        &shared,
                        &config,
                        &ds,
                        &rollout,
                        &mut breaches,
                    ))
                    .unwrap();
            }
            Step::Ack => {
                if let Some(id) = open_incident(&shared) {
                    transition::acknowledge(&shared, id, "a").unwrap();
                }
            }
        }
    }
    let queued = store
        .due(Channel::Console, 100_000)
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.delivery)
        .collect();
    let _ = clock.now();
    (shared, queued)
}

fn check_invariants(shared: &Shared, queued: &[Delivery]) -> Result<(), String> {
    // Per incident: the kinds said, in queue order, with their levels.
    let mut said: BTreeMap<i64, Vec<(AdvisoryKind, usize)>> = BTreeMap::new();
    for d in queued {
        if let Some(view) = &d.advisory.incident {
            said.entry(view.id)
                .or_default()
                .push((d.advisory.kind, view.level));
        }
    }
    for (id, messages) in &said {
        let incident = shared
            .store
            .blocking()
            .incident(*id)
            .unwrap()
            .ok_or(format!("incident {id} was paged but is not stored"))?;
        let first_ack = messages
            .iter()
            .position(|(k, _)| *k == AdvisoryKind::Acknowledged);
        let acks = messages
            .iter()
            .filter(|(k, _)| *k == AdvisoryKind::Acknowledged)
            .count();
        if acks != usize::from(incident.acked_by.is_some()) {
            return Err(format!(
                "incident {id}: {acks} ack messages, acked_by {:?}: {messages:?}",
                incident.acked_by
            ));
        }
        let mut levels = BTreeSet::new();
        for (i, (kind, level)) in messages.iter().enumerate() {
            if *kind != AdvisoryKind::Escalated {
                continue;
            }
            if first_ack.is_some_and(|a| i > a) {
                return Err(format!(
                    "incident {id}: level {level} paged after the ack: {messages:?}"
                ));
            }
            if !levels.insert(*level) {
                return Err(format!(
                    "incident {id}: level {level} paged twice: {messages:?}"
                ));
            }
        }
        if messages.first().map(|(k, _)| *k) != Some(AdvisoryKind::Opened) {
            return Err(format!(
                "incident {id}: no opening page first: {messages:?}"
            ));
        }
        let highest = levels.iter().next_back().copied().unwrap_or(0);
        if highest != incident.level {
            return Err(format!(
                "incident {id} reached level {} but its pages reach {highest}: {messages:?}",
                incident.level
            ));
        }
        let resolved = messages
            .iter()
            .filter(|(k, _)| *k == AdvisoryKind::Resolved)
            .count();
        if resolved != usize::from(incident.resolved_at.is_some()) {
            return Err(format!(
                "incident {id}: {resolved} resolved messages, resolved_at {:?}",
                incident.resolved_at
            ));
        }
    }
    Ok(())
}

#[test]
fn random_interleavings_never_page_after_an_ack_twice_or_lose_a_page() {
    let runs: u64 = std::env::var("SENA_PROPERTY_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut acked_midway = 0;
    for seed in 1..=runs {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let steps = schedule(&mut rng, 40);
        let dir = tempfile::tempdir().unwrap();
        let (shared, queued) = run(&steps, dir.path());
        if let Err(why) = check_invariants(&shared, &queued) {
            panic!("seed {seed}: {why}\nsteps: {steps:?}");
        }
        acked_midway += queued
            .iter()
            .filter(|d| {
                d.advisory.kind == AdvisoryKind::Acknowledged
                    && d.advisory
                        .incident
                        .as_ref()
                        .and_then(|i| i.acknowledged_by.as_deref())
                        == Some("b")
            })
            .count();
    }
    // The interesting interleaving happened, not only the easy ones.
    assert!(acked_midway > 0, "no ack ever landed mid-evaluation");
}
