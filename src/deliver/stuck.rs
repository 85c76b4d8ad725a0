//! Saying when a channel is stuck. Retrying in order is right while a
//! channel fails for minutes; it is silent when it fails for hours. A Slack
//! behind a proxy that answered `Retry-After: 86400` delivered nothing for a
//! day while `/readyz` said ready. So each channel's oldest undelivered
//! message is watched: older than `notify.stuck_after`, the channel is
//! stuck. That shows in `/readyz` (503, with the reason), in `/metrics`
//! (`sena_channel_stuck`, `sena_channel_oldest_undelivered_age_seconds`)
//! and, once per episode, as an advisory on the other channels, the way a
//! message refused for good falls back to them. The episode ends when the
//! oldest message is young again (delivered, or nothing waits).
//!
//! The episode lives in [`Health`], which outlives a reload's new
//! dispatcher, so a reload does not page about the same episode twice.

use std::collections::HashSet;

use super::*;
use crate::domain::format::format_duration;
use crate::state::Waiting;

/// How often each channel's oldest waiting message is looked at.
const WATCH_EVERY: Duration = Duration::from_secs(5);

/// What one look at a channel's queue means for its stuck episode.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Change {
    Started,
    Ended,
    Same,
}

/// Pure: whether the channel was stuck, and how long its oldest waiting
/// message has waited (`None`: nothing waits).
pub(super) fn judge(
    was_stuck: bool,
    oldest_age: Option<Duration>,
    stuck_after: Duration,
) -> Change {
    let stuck = oldest_age.is_some_and(|age| age > stuck_after);
    match (was_stuck, stuck) {
        (false, true) => Change::Started,
        (true, false) => Change::Ended,
        _ => Change::Same,
    }
}

impl Dispatcher {
    /// Looks at every channel's queue every [`WATCH_EVERY`] until shutdown.
    pub(super) async fn watch_stuck(&self, mut shutdown: watch::Receiver<bool>) {
        let channels: Vec<Channel> = self.channels.iter().map(|n| n.channel()).collect();
        // A channel a reload removed is no longer anyone's problem.
        for (component, _) in self.health.problems() {
            if let crate::health::Component::Channel(name) = component {
                if !channels.iter().any(|c| c.as_str() == name) {
                    self.health.recover(component);
                }
            }
        }
        loop {
            if *shutdown.borrow() {
                return;
            }
            for &channel in &channels {
                self.look(channel).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(WATCH_EVERY) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn look(&self, channel: Channel) {
        // A store that cannot answer is reported by the sends' own reads.
        let Ok(waiting) = self.store.call(move |s| s.oldest_waiting(channel)).await else {
            return;
        };
        let now = self.clock.now();
        let age = waiting.as_ref().map(|w| {
            Duration::try_from(now.duration_since(w.oldest_created_at)).unwrap_or_default()
        });
        let labels = [("channel", channel.as_str())];
        self.metrics.set(
            crate::metrics::CHANNEL_OLDEST_AGE,
            &labels,
            age.unwrap_or_default().as_secs_f64(),
        );
        let component = Component::Channel(channel.as_str());
        let was_stuck = self.health.problem(component).is_some();
        let stuck = match (judge(was_stuck, age, self.stuck_after), waiting, age) {
            (Change::Started, Some(waiting), Some(age)) => {
                self.health
                    .fail(component, self.why(channel, &waiting, age));
                self.tell_others(channel, &waiting, age).await;
                true
            }
            // The reason follows the age; only the start was logged.
            (Change::Same, Some(waiting), Some(age)) if was_stuck => {
                self.health
                    .fail(component, self.why(channel, &waiting, age));
                true
            }
            (Change::Ended, _, _) => {
                self.health.recover(component);
                false
            }
            _ => false,
        };
        self.metrics.set(
            crate::metrics::CHANNEL_STUCK,
            &labels,
            if stuck { 1.0 } else { 0.0 },
        );
    }

    fn why(&self, channel: Channel, waiting: &Waiting, age: Duration) -> String {
        format!(
            "{channel} has delivered nothing for {}: its oldest queued notification (#{}) is older than notify.stuck_after ({}), {} wait; Sena keeps retrying",
            format_duration(whole_seconds(age)),
            waiting.oldest_id,
            format_duration(self.stuck_after),
            waiting.depth
        )
    }

    /// The advisory on every other channel, once per episode (its key names
    /// the oldest row, so a restart while it waits queues nothing new),
    /// addressed to the people the oldest waiting message is for.
    async fn tell_others(&self, channel: Channel, waiting: &Waiting, age: Duration) {
        let others: HashSet<Channel> = self
            .channels
            .iter()
            .map(|n| n.channel())
            .filter(|c| *c != channel)
            .collect();
        if others.is_empty() {
            tracing::error!(channel = channel.as_str(), "the only channel is stuck; /readyz and sena_channel_stuck say so, no other channel can");
            return;
        }
        let mut notice = stuck_notice(channel, waiting, age, self.stuck_after, self.clock.now());
        // Addressed to whoever the oldest waiting message was for: they are
        // the people who are missing it.
        if let Ok(due) = self.store.call(move |s| s.due(channel, 1)).await {
            if let Some(oldest) = due.items.into_iter().next() {
                notice.recipients = oldest.delivery.recipients;
                notice.advisory.rollout = oldest.delivery.advisory.rollout;
            }
        }
        let items: Vec<(Channel, Delivery)> = others
            .into_iter()
            .map(|c| {
                let mut d = notice.clone();
                d.dedup_key = notice.dedup_key.on(c);
                d.fallback_from = Some(channel);
                (c, d)
            })
            .collect();
        self.enqueue_or_remember(items).await;
    }
}

fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// The advisory that `channel` is stuck.
fn stuck_notice(
    channel: Channel,
    waiting: &Waiting,
    age: Duration,
    stuck_after: Duration,
    now: jiff::Timestamp,
) -> Delivery {
    let age = format_duration(whole_seconds(age));
    let advisory = Advisory {
        kind: AdvisoryKind::ChannelStuck,
        at: now,
        rollout: "Sena".to_string(),
        stage_index: 0,
        traffic: Default::default(),
        // What the waiting messages advise is not known here: blind means hold.
        verdict: Verdict::Hold,
        reason: format!("{channel} has delivered nothing for {age}"),
        ready_to_expand: None,
        checks: Vec::new(),
        approver: String::new(),
        incident: None,
        prometheus_url: String::new(),
        notice: Some(format!(
            "Sena's oldest queued {channel} notification (#{}) has waited {age}, longer than notify.stuck_after ({}); {} {channel} notifications wait. Sena keeps retrying and sends them in order once {channel} answers; its log says why they fail, and `sena_channel_stuck` in /metrics returns to 0 when they go out.",
            waiting.oldest_id,
            format_duration(stuck_after),
            waiting.depth,
        )),
    };
    Delivery {
        advisory,
        recipients: Vec::new(),
        dedup_key: DedupKey::stuck(channel, waiting.oldest_id),
        fallback_from: None,
        thread: None,
    }
}
