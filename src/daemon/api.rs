//! The daemon's side of the HTTP surface: `server::Api` over the shared
//! state. Reads come from memory (status) or the store's thread
//! (incidents); an acknowledgement is a transition, run off the async
//! workers, like a GO / NO-GO; a reload is a command to the supervisor.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::{decisions, transition, Command, Shared};
use crate::domain::{
    DecisionAnswer, DecisionRecord, DecisionRequest, GateView, Incident, TokenTable,
};
use crate::report::StatusReport;
use crate::server::page::view::{Board, JournalPoint, OnCallView};
use crate::server::{Api, GateTarget, NotReady, Reload, SlackAction, SlackNoGo};

pub struct DaemonApi {
    pub shared: Arc<Shared>,
    pub commands: mpsc::Sender<Command>,
}

impl Api for DaemonApi {
    fn status(&self) -> StatusReport {
        self.shared.status()
    }

    fn board(&self) -> Board {
        let not_ready = self.not_ready().iter().map(ToString::to_string).collect();
        super::pages::board(&self.shared, not_ready)
    }

    fn journal(
        &self,
        rollout: String,
        since: jiff::Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<JournalPoint>, String>> {
        Box::pin(super::pages::journal(&self.shared, rollout, since, limit))
    }

    fn on_call(&self) -> Option<OnCallView> {
        super::pages::on_call(&self.shared)
    }

    fn not_ready(&self) -> Vec<NotReady> {
        let mut reasons = Vec::new();
        if !self.shared.prometheus_seen.load(Ordering::Relaxed) {
            reasons.push(NotReady {
                summary: "Prometheus has not answered yet".to_string(),
                detail: None,
            });
        }
        for (component, why) in self.shared.health.problems() {
            reasons.push(NotReady {
                summary: format!("{} failing", component.as_str()),
                detail: Some(why.to_string()),
            });
        }
        reasons
    }

    fn incidents(&self, limit: usize) -> BoxFuture<'_, Result<Vec<Incident>, String>> {
        Box::pin(async move {
            self.shared
                .store
                .call(move |s| s.incidents(limit))
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn acknowledge(&self, id: i64, by: String) -> BoxFuture<'_, Result<Option<Incident>, String>> {
        let shared = self.shared.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || transition::acknowledge(&shared, id, &by))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        })
    }

    fn decide(
        &self,
        rollout: String,
        request: DecisionRequest,
        can_decide: bool,
    ) -> BoxFuture<'_, Result<DecisionAnswer, String>> {
        let shared = self.shared.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                decisions::decide(&shared, &rollout, &request, can_decide)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
        })
    }

    fn decisions(
        &self,
        rollout: Option<String>,
        since: Option<jiff::Timestamp>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DecisionRecord>, String>> {
        let shared = self.shared.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                decisions::list(&shared, rollout.as_deref(), since, limit)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
        })
    }

    fn gate(&self, target: GateTarget) -> BoxFuture<'_, Result<Option<GateView>, String>> {
        let shared = self.shared.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || super::gates::gate(&shared, &target))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        })
    }

    fn tokens(&self) -> Option<Arc<TokenTable>> {
        self.shared.config().server.tokens.clone()
    }

    fn public_gates(&self) -> bool {
        self.shared.config().server.public_gates
    }

    fn public_reads(&self) -> bool {
        self.shared.config().server.public_reads
    }

    fn slack_signing_key(&self) -> Option<ring::hmac::Key> {
        let config = self.shared.config();
        let secret = config.slack.as_ref()?.signing_secret.as_ref()?;
        Some(ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            secret.expose().as_bytes(),
        ))
    }

    fn now(&self) -> jiff::Timestamp {
        self.shared.clock.now()
    }

    fn slack_first_use(
        &self,
        digest: [u8; 32],
        signed_at: jiff::Timestamp,
    ) -> BoxFuture<'_, Result<bool, String>> {
        let now = self.shared.clock.now();
        let window = std::time::Duration::from_secs(crate::server::SLACK_MAX_SKEW_SECONDS);
        Box::pin(async move {
            self.shared
                .store
                .call(move |store| store.first_use_of_signature(&digest, signed_at, now, window))
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn slack_action(&self, action: SlackAction) -> BoxFuture<'_, ()> {
        Box::pin(super::slack_actions::act(self.shared.clone(), action))
    }

    fn slack_no_go(&self, no_go: SlackNoGo) -> BoxFuture<'_, Result<(), String>> {
        // Its own task: if the server stops waiting (Slack's 3 s), the
        // decision and the message update still finish.
        let task = tokio::spawn(super::slack_actions::submitted(self.shared.clone(), no_go));
        Box::pin(async move { task.await.map_err(|e| e.to_string())? })
    }

    fn reload(&self) -> BoxFuture<'_, Reload> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            if self.commands.send(Command::Reload(Some(tx))).await.is_err() {
                return Reload::ShuttingDown;
            }
            match rx.await {
                Ok(Ok(())) => Reload::Done,
                Ok(Err(diagnostics)) => Reload::Rejected(diagnostics),
                Err(_) => Reload::ShuttingDown,
            }
        })
    }
}
