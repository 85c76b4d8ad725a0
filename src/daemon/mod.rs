//! The long-running daemon: one task per rollout on its own interval, the
//! outbox dispatcher, the HTTP server, and a supervisor that reloads the
//! config on SIGHUP / `POST /-/reload` and shuts down on SIGTERM/SIGINT
//! after in-flight evaluations finish.

mod api;
mod decisions;
pub mod engine;
mod gates;
mod gauges;
mod pages;
mod slack_actions;
pub mod transition;
mod unsaved;
mod workers;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

pub use engine::Shared;

use crate::clock::Clock;
use crate::config::{self, Config};
use crate::metrics::Metrics;
use crate::state::Store;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] crate::state::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

/// Asks the supervisor to act; the server and signal handlers send these.
pub enum Command {
    /// Reply: `Ok` or every diagnostic of the rejected config.
    Reload(Option<oneshot::Sender<Result<(), String>>>),
    Shutdown,
}

pub async fn run(
    config_path: PathBuf,
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<(), DaemonError> {
    // Before anything else touches the store: a second daemon must not
    // even open it for writing.
    let _lock = crate::state::StateLock::acquire(&config.state.path)?;
    let store = Store::open(&config.state.path)?;
    store.check_integrity(&config.state.path)?;
    let store = crate::state::StoreHandle::spawn(store)
        .map_err(|e| DaemonError::Setup(format!("cannot start the state store's thread: {e}")))?;
    let metrics = Arc::new(Metrics::new());
    let listen = config.server.listen;
    let shared = Arc::new(Shared::new(config, store, metrics.clone(), clock));
    metrics.set(crate::metrics::RELOAD_SUCCESSFUL, &[], 1.0);
    metrics.set(
        crate::metrics::RELOAD_SUCCESS_TIMESTAMP,
        &[],
        shared.clock.now().as_second() as f64,
    );

    let (commands, mut inbox) = mpsc::channel::<Command>(8);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: listen,
            source,
        })?;
    let server_config = &shared.config().server;
    let limits = crate::server::Limits {
        max_connections: server_config.max_connections,
        header_read_timeout: server_config.header_read_timeout,
        body: crate::server::BodyLimits {
            read_timeout: server_config.body_read_timeout,
            min_rate: server_config.body_min_rate,
        },
        reserved_connections: server_config.reserved_connections,
    };
    let server = tokio::spawn(crate::server::serve(
        listener,
        Arc::new(api::DaemonApi {
            shared: shared.clone(),
            commands: commands.clone(),
        }),
        limits,
        shared.health.clone(),
        shared.metrics.clone(),
    ));
    tokio::spawn(forward_signals(commands.clone()));

    let parts = workers::Parts::build(&shared.config())?;
    let mut workers = workers::Workers::start(&shared, parts);
    tracing::info!(%listen, config = %config_path.display(), rollouts = shared.config().rollouts.len(), "sena is running");

    while let Some(cmd) = inbox.recv().await {
        match cmd {
            Command::Reload(reply) => {
                let outcome = reload(&shared, &config_path, &mut workers).await;
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
            }
            Command::Shutdown => break,
        }
    }
    tracing::info!("shutting down: finishing in-flight evaluations and sends");
    workers.stop().await;
    server.abort();
    if let Err(e) = shared.store.call(|s| s.checkpoint()).await {
        tracing::warn!(error = %e, "could not checkpoint the state store at shutdown");
    }
    Ok(())
}

async fn reload(
    shared: &Arc<Shared>,
    path: &std::path::Path,
    workers: &mut workers::Workers,
) -> Result<(), String> {
    let rejected = |shared: &Arc<Shared>, why: String| {
        tracing::error!("configuration reload rejected; the previous configuration keeps running");
        shared
            .metrics
            .set(crate::metrics::RELOAD_SUCCESSFUL, &[], 0.0);
        Err(why)
    };
    let loaded = match config::load(path) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            for d in &diagnostics.0 {
                tracing::error!("{d}");
            }
            return rejected(shared, diagnostics.to_string());
        }
    };
    for w in loaded.warnings.warnings() {
        tracing::warn!("{w}");
    }
    let old = shared.config();
    let mut new = loaded.config;
    if new.state.path != old.state.path || !new.server.same_listener(&old.server) {
        tracing::warn!(
            "state.path and server.* (except server.tokens, server.public_gates and server.public_reads) take effect only at restart"
        );
    }
    new.state.path = old.state.path.clone();
    // The new tokens apply at once: a reload is how a leaked one is revoked.
    new.server = crate::config::ServerConfig {
        tokens: new.server.tokens.clone(),
        public_gates: new.server.public_gates,
        public_reads: new.server.public_reads,
        ..old.server.clone()
    };
    // Clients first: a Slack or SMTP setup that fails rejects the reload
    // before the running workers are stopped.
    let parts = match workers::Parts::build(&new) {
        Ok(parts) => parts,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up the new configuration");
            return rejected(shared, e.to_string());
        }
    };
    workers.stop().await;
    // Rollouts that left the configuration: their open incidents close with
    // a message saying so (the old workers are stopped, so none can reopen
    // them), and their series leave /metrics: a stale gauge would alert.
    for gone in old
        .rollouts
        .iter()
        .filter(|r| new.rollout(&r.name).is_none())
    {
        // The transition reads and writes SQLite: off the async workers.
        let (s, config, rollout) = (shared.clone(), new.clone(), gone.clone());
        let retired =
            tokio::task::spawn_blocking(move || transition::retire(&s, &config, &rollout)).await;
        match retired {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(rollout = %gone.name, error = %e, "cannot close the incident of a removed rollout")
            }
            Err(e) => {
                tracing::error!(rollout = %gone.name, error = %e, "closing the incident of a removed rollout failed")
            }
        }
        shared.metrics.forget_label("rollout", &gone.name);
        shared
            .unsaved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&gone.name);
    }
    *shared.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
    {
        let config = shared.config();
        let mut latest = shared.latest.write().unwrap_or_else(|p| p.into_inner());
        latest.retain(|name, _| config.rollout(name).is_some());
    }
    *workers = workers::Workers::start(shared, parts);
    shared
        .metrics
        .set(crate::metrics::RELOAD_SUCCESSFUL, &[], 1.0);
    shared.metrics.set(
        crate::metrics::RELOAD_SUCCESS_TIMESTAMP,
        &[],
        shared.clock.now().as_second() as f64,
    );
    tracing::info!(config = %path.display(), "configuration reloaded");
    Ok(())
}

async fn forward_signals(commands: mpsc::Sender<Command>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        let cmd = tokio::select! {
            _ = hup.recv() => { tracing::info!("SIGHUP: reloading configuration"); Command::Reload(None) }
            _ = term.recv() => Command::Shutdown,
            _ = int.recv() => Command::Shutdown,
        };
        let stop = matches!(cmd, Command::Shutdown);
        if commands.send(cmd).await.is_err() || stop {
            return;
        }
    }
}

#[cfg(test)]
#[path = "transition_tests.rs"]
mod transition_tests;
