//! The long-running daemon: one task per rollout on its own interval, the
//! outbox dispatcher, the HTTP server, and a supervisor that reloads the
//! config on SIGHUP / `POST /-/reload` and shuts down on SIGTERM/SIGINT
//! after in-flight evaluations finish.

pub mod engine;
mod workers;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot, Notify};

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

const RELOAD_OK_HELP: &str = "Whether the last configuration reload succeeded (1) or was rejected, keeping the previous configuration (0).";
const RELOAD_TS_HELP: &str = "Unix time of the last successful configuration reload.";

pub async fn run(
    config_path: PathBuf,
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<(), DaemonError> {
    let store = Arc::new(Store::open(&config.state.path)?);
    let metrics = Arc::new(Metrics::new());
    let listen = config.server.listen;
    let shared = Arc::new(Shared {
        config: RwLock::new(Arc::new(config)),
        store,
        metrics: metrics.clone(),
        clock,
        latest: RwLock::new(Default::default()),
        prometheus_seen: AtomicBool::new(false),
        outbox_wake: Arc::new(Notify::new()),
        health: Arc::new(crate::health::Health::new()),
    });
    metrics.set(
        "sena_config_last_reload_successful",
        RELOAD_OK_HELP,
        &[],
        1.0,
    );
    metrics.set(
        "sena_config_last_reload_success_timestamp_seconds",
        RELOAD_TS_HELP,
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
    let server = tokio::spawn(crate::server::serve(
        listener,
        shared.clone(),
        commands.clone(),
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
    Ok(())
}

async fn reload(
    shared: &Arc<Shared>,
    path: &std::path::Path,
    workers: &mut workers::Workers,
) -> Result<(), String> {
    let rejected = |shared: &Arc<Shared>, why: String| {
        tracing::error!("configuration reload rejected; the previous configuration keeps running");
        shared.metrics.set(
            "sena_config_last_reload_successful",
            RELOAD_OK_HELP,
            &[],
            0.0,
        );
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
    if new.state.path != old.state.path || new.server != old.server {
        tracing::warn!("state.path and server.* take effect only at restart");
    }
    new.state.path = old.state.path.clone();
    new.server = old.server.clone();
    // Clients first: a Slack or SMTP setup that fails rejects the reload
    // before the running workers are stopped.
    let parts = match workers::Parts::build(&new) {
        Ok(parts) => parts,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up the new configuration");
            return rejected(shared, e.to_string());
        }
    };
    for gone in old
        .rollouts
        .iter()
        .filter(|r| new.rollout(&r.name).is_none())
    {
        // A removed rollout has no verdict any more; a stale gauge would alert.
        shared
            .metrics
            .forget("sena_verdict", &[("rollout", &gone.name)]);
    }
    workers.stop().await;
    *shared.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
    {
        let config = shared.config();
        let mut latest = shared.latest.write().unwrap_or_else(|p| p.into_inner());
        latest.retain(|name, _| config.rollout(name).is_some());
    }
    *workers = workers::Workers::start(shared, parts);
    shared.metrics.set(
        "sena_config_last_reload_successful",
        RELOAD_OK_HELP,
        &[],
        1.0,
    );
    shared.metrics.set(
        "sena_config_last_reload_success_timestamp_seconds",
        RELOAD_TS_HELP,
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
