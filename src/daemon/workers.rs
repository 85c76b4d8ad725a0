//! The tasks a configuration runs: one evaluation loop per rollout and the
//! outbox dispatcher. A reload stops them (letting in-flight work finish)
//! and starts a new set; breach memory and stages live in the store.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::{DaemonError, Shared};
use crate::config::{Config, Rollout};
use crate::datasource::{Datasource, PrometheusDatasource};
use crate::deliver::Dispatcher;
use crate::notify::Notifier;
use crate::saturating;

pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

/// Window over which rollouts' first evaluations are spread at start.
const FIRST_EVALUATION_SPREAD: Duration = Duration::from_secs(5);

/// The outside-world clients a configuration needs, built before anything
/// runs: a reload whose Slack or email setup fails is rejected while the
/// old workers keep going.
pub struct Parts {
    ds: Arc<dyn Datasource>,
    channels: Vec<Arc<dyn Notifier>>,
}

impl Parts {
    pub fn build(config: &Config) -> Result<Parts, DaemonError> {
        let ds: Arc<dyn Datasource> = Arc::new(
            PrometheusDatasource::new(&config.prometheus)
                .map_err(|e| DaemonError::Setup(e.to_string()))?,
        );
        Ok(Parts {
            ds,
            channels: notifiers(config)?,
        })
    }
}

impl Workers {
    /// Starts the tasks of the configuration in `shared`.
    pub fn start(shared: &Arc<Shared>, parts: Parts) -> Workers {
        let config = shared.config();
        let Parts { ds, channels } = parts;
        let (stop, stopped) = watch::channel(false);
        let mut handles = Vec::new();
        for rollout in &config.rollouts {
            let task = rollout_loop(
                shared.clone(),
                config.clone(),
                ds.clone(),
                rollout.clone(),
                stopped.clone(),
            );
            handles.push(tokio::spawn(task));
        }
        let dispatcher = Dispatcher {
            store: shared.store.clone(),
            channels,
            metrics: shared.metrics.clone(),
            clock: shared.clock.clone(),
            wake: shared.outbox_wake.clone(),
            memory: shared.delivery_memory.clone(),
            health: shared.health.clone(),
            stuck_after: config.notify.stuck_after,
        };
        handles.extend(dispatcher.spawn(stopped.clone()));
        handles.push(tokio::spawn(housekeeping(
            shared.clone(),
            config,
            ds,
            stopped,
        )));
        Workers { stop, handles }
    }

    /// Signals every task and waits for in-flight work to finish.
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for h in self.handles.drain(..) {
            let _ = h.await;
        }
    }
}

/// The channels of a configuration, each built from its own section: Slack
/// and email when configured, the console when neither is (the same rule as
/// [`Shared::channels`], which the outbox rows follow).
fn notifiers(config: &Config) -> Result<Vec<Arc<dyn Notifier>>, DaemonError> {
    let mut channels: Vec<Arc<dyn Notifier>> = Vec::new();
    if let Some(cfg) = &config.slack {
        let n = crate::notify::slack::SlackNotifier::new(cfg)
            .map_err(|e| DaemonError::Setup(format!("slack: {e}")))?;
        channels.push(Arc::new(n));
    }
    if let Some(cfg) = &config.email {
        let n = crate::notify::email::EmailNotifier::new(cfg)
            .map_err(|e| DaemonError::Setup(format!("email: {e}")))?;
        channels.push(Arc::new(n));
    }
    if channels.is_empty() {
        channels.push(Arc::new(crate::notify::console::ConsoleNotifier));
    }
    debug_assert_eq!(
        channels.iter().map(|n| n.channel()).collect::<Vec<_>>(),
        Shared::channels(config)
    );
    Ok(channels)
}

/// Spreads rollouts over their interval (as Prometheus spreads rule groups)
/// so a thousand rollouts do not fire their queries in the same instant.
fn start_offset(name: &str, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    let nanos = u64::try_from(interval.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_nanos(h.finish() % nanos)
}

async fn rollout_loop(
    shared: Arc<Shared>,
    config: Arc<Config>,
    ds: Arc<dyn Datasource>,
    rollout: Rollout,
    mut stop: watch::Receiver<bool>,
) {
    let name = rollout.name.as_str();
    let owned_name = name.to_string();
    let mut breaches = match shared.store.call(move |s| s.breaches(&owned_name)).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(rollout = name, error = %e, "cannot read breach memory; starting empty");
            Default::default()
        }
    };
    shared
        .metrics
        .touch(crate::metrics::MISSED_ITERATIONS, &[("rollout", name)]);
    // The first evaluation comes within a few seconds, so /api/v1/status
    // fills quickly; later ones at the rollout's offset in its interval.
    // Both are spread by name: a thousand rollouts starting together must
    // not send their queries in the same instant.
    let started = Instant::now();
    let first_at = saturating::instant_after(
        started,
        start_offset(name, rollout.interval.min(FIRST_EVALUATION_SPREAD)),
    );
    let mut next_at = saturating::instant_after(started, start_offset(name, rollout.interval));
    if next_at <= first_at {
        next_at = saturating::instant_after(next_at, rollout.interval);
    }
    tokio::select! {
        _ = tokio::time::sleep_until(first_at) => {}
        _ = stop.changed() => return,
    }
    let mut ticker = tokio::time::interval_at(next_at, rollout.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut first = true;
    loop {
        if !first {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
        }
        first = false;
        if *stop.borrow() {
            return;
        }
        let started = Instant::now();
        match super::engine::evaluate(&shared, &config, ds.as_ref(), &rollout, &mut breaches).await
        {
            Ok(report) => {
                tracing::debug!(rollout = name, verdict = report.verdict.as_str(), reason = %report.reason, "evaluated")
            }
            Err(e) => {
                tracing::error!(rollout = name, error = %e, "evaluation could not be recorded")
            }
        }
        let took = started.elapsed();
        if took > rollout.interval {
            let missed = (took.as_secs_f64() / rollout.interval.as_secs_f64()).floor();
            shared.metrics.add(
                crate::metrics::MISSED_ITERATIONS,
                &[("rollout", name)],
                missed,
            );
            tracing::warn!(rollout = name, took = ?took, interval = ?rollout.interval, "evaluation slower than its interval; skipped {missed} tick(s)");
        }
    }
}

/// Journal pruning and the outbox/incident gauges.
async fn housekeeping(
    shared: Arc<Shared>,
    config: Arc<Config>,
    ds: Arc<dyn Datasource>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut since_prune = Duration::MAX;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        // Readiness means Prometheus answered at least once, even if every
        // rule's PromQL is broken (that shows as `error` checks instead).
        if !shared
            .prometheus_seen
            .load(std::sync::atomic::Ordering::Relaxed)
            && ds.ping().await.is_ok()
        {
            shared
                .prometheus_seen
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let now = shared.clock.now();
        if let Ok(stats) = shared.store.call(|s| s.outbox_stats()).await {
            let m = &shared.metrics;
            m.set(crate::metrics::OUTBOX_DEPTH, &[], stats.depth as f64);
            m.set(crate::metrics::OUTBOX_FAILED, &[], stats.failed as f64);
            let age = stats
                .oldest_created_at
                .map(|t| now.duration_since(t).as_secs_f64().max(0.0))
                .unwrap_or(0.0);
            m.set(crate::metrics::OUTBOX_OLDEST_AGE, &[], age);
        }
        if let Ok(n) = shared.store.call(|s| s.open_incident_count()).await {
            shared
                .metrics
                .set(crate::metrics::INCIDENTS_OPEN, &[], n as f64);
        }
        since_prune = since_prune.saturating_add(Duration::from_secs(5));
        if since_prune >= Duration::from_secs(600) {
            since_prune = Duration::ZERO;
            // A retention longer than the calendar keeps everything; it must
            // neither panic nor (as `unwrap_or_default` did) prune everything.
            let keep_since = crate::saturating::before(now, config.state.journal_retention);
            let keep = config.state.journal_max_records;
            match shared
                .store
                .call(move |s| s.prune_journal(keep_since, keep))
                .await
            {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "pruned the decision journal"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning the journal failed"),
            }
        }
    }
}
