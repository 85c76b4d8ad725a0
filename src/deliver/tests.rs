//! The dispatcher against a real SQLite store and recording channels (the
//! harness here; ordering and per-recipient progress in `order`):
//! unreadable rows are quarantined without blocking the queue, and a send
//! whose outcome the store refuses is never sent again. Tokio's clock is
//! paused, so "the dispatcher ran many passes" takes no wall time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{watch, Notify};

use super::*;
use crate::clock::ManualClock;
use crate::notify::{BoxFuture, Sent};
use crate::state::Store;

#[test]
fn backoff_grows_and_caps_with_jitter() {
    for attempts in 0..20 {
        let b = backoff(attempts).as_secs_f64();
        let base = (2f64.powi(attempts.min(9) as i32)).min(300.0);
        assert!(
            b >= base * 0.8 - 1e-9 && b <= base * 1.2 + 1e-9,
            "{attempts}: {b}"
        );
    }
}

/// A channel that accepts everything and remembers what it got.
struct Recording {
    name: Channel,
    got: Mutex<Vec<Delivery>>,
}

impl Recording {
    fn new(name: Channel) -> Arc<Recording> {
        Arc::new(Recording {
            name,
            got: Mutex::new(Vec::new()),
        })
    }

    fn keys(&self) -> Vec<String> {
        let got = self.got.lock().unwrap();
        got.iter().map(|d| d.dedup_key.to_string()).collect()
    }
}

impl Notifier for Recording {
    fn channel(&self) -> Channel {
        self.name
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        self.got.lock().unwrap().push(d.clone());
        Box::pin(async { Ok(Sent::default()) })
    }
}

fn t0() -> Timestamp {
    "2025-10-22T14:00:00Z".parse().unwrap()
}

fn delivery(key: &str, value: f64) -> Delivery {
    let json = serde_json::json!({
        "advisory": {
            "kind": "opened", "at": "2025-10-22T14:00:00Z", "rollout": "checkout-api",
            "stage_index": 0, "traffic": "5%", "verdict": "hold", "reason": "no traffic",
            "ready_to_expand": null, "approver": "lubit", "incident": null,
            "prometheus_url": "http://prom",
            "checks": [{
                "name": "error_rate", "status": "no_data", "value": null, "value_text": "NaN",
                "threshold": {"text": "< 0.1%", "bound": "below", "value": 0.001},
                "on_fail": "rollback",
                "series": [{"labels": {}, "value": 0.5, "breaching": false}],
                "breach_started_at": null, "for_seconds": 0, "error": null,
                "description": null, "runbook_url": null, "query": "vector(0)/0"
            }]
        },
        "recipients": [], "dedup_key": key, "thread": null
    });
    let mut d: Delivery = serde_json::from_value(json).unwrap();
    d.advisory.checks[0].series[0].value = value;
    d
}

struct World {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    memory: Arc<DeliveryMemory>,
    clock: Arc<ManualClock>,
    health: Arc<Health>,
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

fn world(channels: Vec<Arc<dyn Notifier>>, prepare: impl FnOnce(&Store)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    prepare(&store);
    let metrics = Arc::new(Metrics::new());
    let memory = Arc::new(DeliveryMemory::new());
    let (stop, stopped) = watch::channel(false);
    let clock = Arc::new(ManualClock::new(t0()));
    let health = Arc::new(Health::new());
    let handles = Dispatcher {
        store: crate::state::StoreHandle::inline(store.clone()),
        channels,
        metrics: metrics.clone(),
        clock: clock.clone(),
        wake: Arc::new(Notify::new()),
        memory: memory.clone(),
        health: health.clone(),
        stuck_after: Duration::from_secs(600),
    }
    .spawn(stopped);
    World {
        store,
        metrics,
        memory,
        clock,
        health,
        stop,
        handles,
        _dir: dir,
    }
}

impl World {
    async fn stop(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            h.await.unwrap();
        }
    }
}

/// Lets the dispatcher run for `secs` of (paused, instantly passing) time.
async fn run_for(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_row_is_quarantined_and_the_rows_after_it_go_out() {
    let slack = Recording::new(Channel::Slack);
    let email = Recording::new(Channel::Email);
    let w = world(vec![slack.clone(), email.clone()], |store| {
        let items = [
            (Channel::Slack, delivery("k1", 0.5)),
            (Channel::Slack, delivery("k2", f64::NAN)),
            (Channel::Slack, delivery("k3", f64::INFINITY)),
            (Channel::Slack, delivery("k4", f64::NEG_INFINITY)),
        ];
        store.enqueue(&items, t0()).unwrap();
        // Damaged by hand: k1 cut short; k2 as an older Sena wrote NaN.
        store.execute_for_tests(
            r#"UPDATE outbox SET delivery = '{"advisory":{"rollout":"checkout-api","kind":"opened","verdict":"rollback"' WHERE dedup_key = 'k1';
               UPDATE outbox SET delivery = replace(delivery, '"value":"NaN"', '"value":null') WHERE dedup_key = 'k2';"#,
        );
    });
    run_for(5).await;

    assert_eq!(
        slack.keys(),
        ["k2", "k3", "k4", "outbox-1:unreadable:slack"],
        "the rows after the bad one went out, in order, then the notice"
    );
    assert_eq!(email.keys(), ["outbox-1:unreadable:email"]);
    let got = slack.got.lock().unwrap().clone();
    assert!(got[0].advisory.checks[0].series[0].value.is_nan());
    assert_eq!(got[1].advisory.checks[0].series[0].value, f64::INFINITY);
    assert_eq!(got[2].advisory.checks[0].series[0].value, f64::NEG_INFINITY);
    let notice = &got[3].advisory;
    assert_eq!(notice.kind, AdvisoryKind::Undeliverable);
    let text = notice.notice.as_deref().unwrap_or_default();
    assert!(
        text.contains("notification #1") && text.contains("checkout-api"),
        "{text}"
    );
    let stats = w.store.outbox_stats().unwrap();
    assert_eq!((stats.depth, stats.failed), (0, 1), "{stats:?}");
    assert_eq!(
        w.metrics
            .value("sena_outbox_quarantined_total", &[("channel", "slack")]),
        Some(1.0)
    );
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_send_the_store_cannot_record_is_never_sent_again() {
    let slack = Recording::new(Channel::Slack);
    let w = world(vec![slack.clone()], |store| {
        store
            .enqueue(&[(Channel::Slack, delivery("k1", 0.5))], t0())
            .unwrap();
        // As on a full disk: the row is there, its removal will fail.
        store.fail_writes(true);
    });
    run_for(30).await;
    assert_eq!(slack.keys(), ["k1"], "sent once in 30 s of retries");
    assert_eq!(
        w.memory.unrecorded_count(),
        1,
        "the outcome waits in memory"
    );
    assert_eq!(w.store.outbox_stats().unwrap().depth, 1);
    assert!(
        w.metrics
            .value("sena_store_errors_total", &[("op", "record_delivery")])
            .unwrap_or(0.0)
            >= 1.0
    );

    // Room again: the outcome is written and nothing is sent twice.
    w.store.fail_writes(false);
    run_for(5).await;
    assert_eq!(w.store.outbox_stats().unwrap().depth, 0);
    assert_eq!(w.memory.unrecorded_count(), 0);
    assert_eq!(slack.keys(), ["k1"]);
    w.stop().await;
}

mod order;
mod stuck;
