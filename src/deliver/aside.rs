//! What the dispatcher does beside sending: it sets aside an outbox row
//! that cannot be read (and tells people a message was lost), and hands a
//! delivery a channel refused for good to the other channels. Both queue new
//! deliveries, in the store or, when it refuses, in memory.

use super::*;

impl Dispatcher {
    /// Sets an unreadable row aside so the rows behind it go out, and tells
    /// people on every channel that a message was lost.
    pub(super) async fn quarantine(&self, bad: Unreadable) {
        let channel = bad.channel;
        self.metrics.inc(
            crate::metrics::OUTBOX_QUARANTINED,
            &[("channel", channel.as_str())],
        );
        tracing::error!(channel = channel.as_str(), outbox_id = bad.id, reason = %bad.reason, "quarantined an unreadable outbox row; the rows after it go on");
        let (id, why) = (bad.id, format!("quarantined: {}", bad.reason));
        let quarantined = self.store.call(move |s| s.mark_failed(id, &why)).await;
        if let Err(e) = quarantined {
            self.store_failed("quarantine", &e);
            self.memory.remember_outcome(
                bad.id,
                channel,
                Outcome::Failed {
                    error: format!("quarantined: {}", bad.reason),
                },
            );
        }
        let notice = lost_notice(&bad, self.clock.now());
        let items: Vec<(Channel, Delivery)> = self
            .channels
            .iter()
            .map(|n| n.channel())
            .map(|c| {
                let mut d = notice.clone();
                d.dedup_key = DedupKey::lost(bad.id).on(c);
                (c, d)
            })
            .collect();
        self.enqueue_or_remember(items).await;
    }

    /// Hands a permanently failed delivery to the other channels, once.
    pub(super) async fn fall_back(&self, failed: Channel, delivery: &Delivery) {
        if delivery.fallback_from.is_some() {
            return;
        }
        let others: Vec<(Channel, Delivery)> = self
            .channels
            .iter()
            .map(|n| n.channel())
            .filter(|c| *c != failed)
            .map(|c| {
                let mut d = delivery.clone();
                d.dedup_key = delivery.dedup_key.fallback_from(failed);
                d.fallback_from = Some(failed);
                (c, d)
            })
            .collect();
        self.enqueue_or_remember(others).await;
    }

    /// Queues in the store, or in memory when the store refuses.
    pub(super) async fn enqueue_or_remember(&self, items: Vec<(Channel, Delivery)>) {
        if items.is_empty() {
            return;
        }
        let now = self.clock.now();
        let queued = items.clone();
        if let Err(e) = self.store.call(move |s| s.enqueue(&queued, now)).await {
            self.store_failed("enqueue", &e);
            for (channel, delivery) in items {
                self.memory.push(
                    channel,
                    MemoryItem {
                        delivery,
                        attempts: 0,
                        progress: RecipientProgress::default(),
                    },
                );
            }
        }
        self.wake.notify_waiters();
    }
}

/// The message that replaces a lost one: what it was about, as far as can be
/// read, and where to look.
fn lost_notice(bad: &Unreadable, now: jiff::Timestamp) -> Delivery {
    let s = &bad.salvage;
    let look = match &s.rollout {
        Some(r) => format!(
            "`sena journal --rollout {r}` shows what Sena saw, and `sena eval` what it sees now"
        ),
        None => "`sena journal` shows what Sena saw, and `sena eval` what it sees now".to_string(),
    };
    let rollout = s
        .rollout
        .clone()
        .unwrap_or_else(|| "an unknown rollout".into());
    let what = match (&s.kind, &s.verdict) {
        (Some(kind), Some(verdict)) => format!("a `{kind}` advisory ({verdict})"),
        (Some(kind), None) => format!("a `{kind}` advisory"),
        _ => "an advisory".to_string(),
    };
    let advisory = Advisory {
        kind: AdvisoryKind::Undeliverable,
        at: now,
        rollout: rollout.clone(),
        stage_index: 0,
        traffic: s.traffic.clone().unwrap_or_default(),
        // Sena cannot say what the lost message advised: blind means hold.
        verdict: Verdict::Hold,
        reason: format!("queued notification #{} could not be read", bad.id),
        ready_to_expand: None,
        checks: Vec::new(),
        approver: String::new(),
        incident: None,
        prometheus_url: String::new(),
        notice: Some(format!(
            "Sena could not read queued notification #{} ({what} about {rollout}) and set it aside: {}. Its content is lost; {look}.",
            bad.id, bad.reason
        )),
    };
    Delivery {
        advisory,
        recipients: Vec::new(),
        dedup_key: DedupKey::lost(bad.id),
        fallback_from: None,
        thread: None,
    }
}
