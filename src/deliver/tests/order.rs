//! Per-channel backoff and per-recipient progress: a channel that fails
//! for now waits as a whole and then delivers in the order queued; a
//! message refused for good does not hold the channel; what an attempt
//! achieved for some recipients is kept for the retry, in the store and in
//! memory. Scripted channels answer attempt by attempt and remember each
//! attempt (which message, what progress it was given, when), under
//! tokio's paused clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

pub(super) type Answer =
    Box<dyn FnOnce(&mut RecipientProgress) -> Result<Sent, NotifyError> + Send>;

struct Attempt {
    key: String,
    progress: RecipientProgress,
    at: Instant,
}

/// Answers attempts from a script; once it runs out, accepts everything.
pub(super) struct Scripted {
    name: Channel,
    script: Mutex<VecDeque<Answer>>,
    attempts: Mutex<Vec<Attempt>>,
}

impl Scripted {
    pub(super) fn new(name: Channel, script: Vec<Answer>) -> Arc<Scripted> {
        Arc::new(Scripted {
            name,
            script: Mutex::new(script.into()),
            attempts: Mutex::new(Vec::new()),
        })
    }

    pub(super) fn keys(&self) -> Vec<String> {
        let attempts = self.attempts.lock().unwrap();
        attempts.iter().map(|a| a.key.clone()).collect()
    }

    /// The progress each attempt was given.
    fn progress_seen(&self) -> Vec<RecipientProgress> {
        let attempts = self.attempts.lock().unwrap();
        attempts.iter().map(|a| a.progress.clone()).collect()
    }

    /// Time between consecutive attempts, in whole-ish seconds.
    fn gaps(&self) -> Vec<f64> {
        let attempts = self.attempts.lock().unwrap();
        attempts
            .windows(2)
            .map(|w| (w[1].at - w[0].at).as_secs_f64())
            .collect()
    }
}

impl Notifier for Scripted {
    fn channel(&self) -> Channel {
        self.name
    }

    fn send<'a>(&'a self, _: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        unreachable!("the dispatcher sends through send_pending")
    }

    fn send_pending<'a>(
        &'a self,
        d: &'a Delivery,
        progress: &'a mut RecipientProgress,
    ) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        self.attempts.lock().unwrap().push(Attempt {
            key: d.dedup_key.to_string(),
            progress: progress.clone(),
            at: Instant::now(),
        });
        let answer = self.script.lock().unwrap().pop_front();
        let outcome = match answer {
            Some(answer) => answer(progress),
            None => Ok(Sent::default()),
        };
        Box::pin(async move { outcome })
    }
}

fn transient() -> Answer {
    Box::new(|_| {
        Err(NotifyError::Transient {
            message: "451 try later".into(),
            retry_after: None,
        })
    })
}

fn permanent() -> Answer {
    Box::new(|_| Err(NotifyError::Permanent("550 no".into())))
}

#[tokio::test(start_paused = true)]
async fn a_failing_channel_backs_off_as_a_whole_then_delivers_in_queue_order() {
    let email = Scripted::new(
        Channel::Email,
        vec![transient(), transient(), transient(), transient()],
    );
    let w = world(vec![email.clone()], |store| {
        store
            .enqueue(&[(Channel::Email, delivery("A", 0.5))], t0())
            .unwrap();
        store
            .enqueue(&[(Channel::Email, delivery("B", 0.5))], t0())
            .unwrap();
    });
    run_for(60).await;

    assert_eq!(
        email.keys(),
        ["A", "A", "A", "A", "A", "B"],
        "B is not tried while the channel waits, and goes after A"
    );
    // 1 s, 2 s, 4 s, 8 s (±20 %) between A's tries; B right after A.
    let gaps = email.gaps();
    for (i, base) in [1.0, 2.0, 4.0, 8.0].iter().enumerate() {
        assert!(
            gaps[i] >= base * 0.8 && gaps[i] <= base * 1.2 + 0.1,
            "gap {i} is {} s, expected about {base} s: {gaps:?}",
            gaps[i]
        );
    }
    assert!(gaps[4] < 0.1, "B follows A at once: {gaps:?}");
    assert_eq!(w.store.outbox_stats().unwrap().depth, 0);
    assert_eq!(
        w.metrics.value(
            "sena_notifications_failed_total",
            &[("channel", "email"), ("kind", "transient")]
        ),
        Some(4.0)
    );

    // A success resets the schedule: the next failure waits 1 s, not 16.
    email.script.lock().unwrap().push_back(transient());
    w.store
        .enqueue(&[(Channel::Email, delivery("C", 0.5))], t0())
        .unwrap();
    run_for(30).await;
    assert_eq!(&email.keys()[6..], ["C", "C"]);
    let gap = *email.gaps().last().unwrap();
    assert!((0.8..=1.3).contains(&gap), "after a success: {gap} s");
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_the_channels_wait() {
    let slack = Scripted::new(
        Channel::Slack,
        vec![Box::new(|_| {
            Err(NotifyError::Transient {
                message: "429".into(),
                retry_after: Some(Duration::from_secs(7)),
            })
        })],
    );
    let w = world(vec![slack.clone()], |store| {
        let items = [
            (Channel::Slack, delivery("A", 0.5)),
            (Channel::Slack, delivery("B", 0.5)),
        ];
        store.enqueue(&items, t0()).unwrap();
    });
    run_for(20).await;
    assert_eq!(slack.keys(), ["A", "A", "B"]);
    let gaps = slack.gaps();
    assert!((7.0..7.1).contains(&gaps[0]), "{gaps:?}");
    w.stop().await;
}

pub(super) fn too_many_requests(retry_after: Duration) -> Answer {
    Box::new(move |_| {
        Err(NotifyError::Transient {
            message: "429".into(),
            retry_after: Some(retry_after),
        })
    })
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_of_a_day_waits_five_minutes() {
    let slack = Scripted::new(
        Channel::Slack,
        vec![too_many_requests(Duration::from_secs(86_400))],
    );
    let w = world(vec![slack.clone()], |store| {
        let items = [
            (Channel::Slack, delivery("A", 0.5)),
            (Channel::Slack, delivery("B", 0.5)),
        ];
        store.enqueue(&items, t0()).unwrap();
    });
    run_for(400).await;
    assert_eq!(slack.keys(), ["A", "A", "B"], "delivered within 400 s");
    let gaps = slack.gaps();
    assert!((300.0..300.1).contains(&gaps[0]), "{gaps:?}");
    assert_eq!(w.store.outbox_stats().unwrap().depth, 0);
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_of_zero_waits_at_least_a_second() {
    let slack = Scripted::new(
        Channel::Slack,
        (0..100)
            .map(|_| too_many_requests(Duration::ZERO))
            .collect(),
    );
    let w = world(vec![slack.clone()], |store| {
        store
            .enqueue(&[(Channel::Slack, delivery("A", 0.5))], t0())
            .unwrap();
    });
    run_for(10).await;
    let tries = slack.keys().len();
    assert!((2..=11).contains(&tries), "{tries} attempts in 10 s");
    for gap in slack.gaps() {
        assert!(gap >= 1.0, "{gap} s between attempts");
    }
    w.stop().await;
}

#[test]
fn retry_after_is_clamped_and_says_so() {
    use crate::deliver::backoff::{honour_retry_after, Wait};
    let secs = Duration::from_secs;
    assert_eq!(
        honour_retry_after(secs(7)),
        Wait {
            wait: secs(7),
            clamped_from: None
        }
    );
    assert_eq!(
        honour_retry_after(secs(86_400)),
        Wait {
            wait: secs(300),
            clamped_from: Some(secs(86_400))
        }
    );
    assert_eq!(
        honour_retry_after(Duration::ZERO),
        Wait {
            wait: secs(1),
            clamped_from: Some(Duration::ZERO)
        }
    );
    assert_eq!(honour_retry_after(Duration::MAX).wait, secs(300));
}

#[tokio::test(start_paused = true)]
async fn a_message_refused_for_good_does_not_hold_the_channel() {
    let email = Scripted::new(Channel::Email, vec![permanent()]);
    let slack = Recording::new(Channel::Slack);
    let w = world(vec![email.clone(), slack.clone()], |store| {
        let items = [
            (Channel::Email, delivery("A", 0.5)),
            (Channel::Email, delivery("B", 0.5)),
        ];
        store.enqueue(&items, t0()).unwrap();
    });
    run_for(1).await;
    assert_eq!(email.keys(), ["A", "B"]);
    assert_eq!(slack.keys(), ["A:fallback-from-email"]);
    let stats = w.store.outbox_stats().unwrap();
    assert_eq!((stats.depth, stats.failed), (0, 1), "{stats:?}");
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn deliveries_held_in_memory_wait_for_their_channel_in_order() {
    let email = Scripted::new(Channel::Email, vec![transient(), transient()]);
    let w = world(vec![email.clone()], |store| {
        // The store refuses the queue: deliveries are held in memory.
        store.fail_writes(true);
    });
    for key in ["A", "B"] {
        let item = MemoryItem {
            delivery: delivery(key, 0.5),
            attempts: 0,
            progress: RecipientProgress::default(),
        };
        w.memory.push(Channel::Email, item);
    }
    run_for(30).await;
    assert_eq!(email.keys(), ["A", "A", "A", "B"]);
    assert_eq!(w.memory.queued_count(), 0);
    w.stop().await;
}

/// Reaches `address`, then fails for now: the others are still to come.
fn reach_then_defer(address: &'static str) -> Answer {
    Box::new(move |p| {
        p.reached.push(address.into());
        Err(NotifyError::Transient {
            message: "452 mailbox busy".into(),
            retry_after: None,
        })
    })
}

#[tokio::test(start_paused = true)]
async fn who_already_has_it_is_kept_for_the_retry_in_the_store() {
    let email = Scripted::new(Channel::Email, vec![reach_then_defer("sena@example.com")]);
    let w = world(vec![email.clone()], |store| {
        store
            .enqueue(&[(Channel::Email, delivery("A", 0.5))], t0())
            .unwrap();
    });
    // Between the attempts the row says so (what a restart would read).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let row = w.store.due(Channel::Email, 1).unwrap().items.remove(0);
    assert_eq!(row.progress.reached, ["sena@example.com"]);
    run_for(5).await;
    let seen = email.progress_seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].is_empty());
    assert_eq!(seen[1].reached, ["sena@example.com"]);
    assert_eq!(w.store.outbox_stats().unwrap().depth, 0);
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn who_already_has_it_is_kept_while_the_store_cannot_record_it() {
    let email = Scripted::new(Channel::Email, vec![reach_then_defer("sena@example.com")]);
    let w = world(vec![email.clone()], |store| {
        store
            .enqueue(&[(Channel::Email, delivery("A", 0.5))], t0())
            .unwrap();
        store.fail_writes(true);
    });
    run_for(5).await;
    let seen = email.progress_seen();
    assert_eq!(seen.len(), 2, "retried in place, not skipped");
    assert_eq!(seen[1].reached, ["sena@example.com"]);
    w.store.fail_writes(false);
    run_for(5).await;
    assert_eq!(email.keys(), ["A", "A"], "sent once the rest went out");
    assert_eq!(w.store.outbox_stats().unwrap().depth, 0);
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn one_refused_recipient_is_counted_and_not_handed_to_slack() {
    let email = Scripted::new(
        Channel::Email,
        vec![Box::new(|p| {
            p.reached.push("sena@example.com".into());
            p.refused.push(Refusal {
                address: "mira@example.com".into(),
                error: "550 no such user".into(),
            });
            Ok(Sent::default())
        })],
    );
    let slack = Recording::new(Channel::Slack);
    let w = world(vec![email.clone(), slack.clone()], |store| {
        store
            .enqueue(&[(Channel::Email, delivery("A", 0.5))], t0())
            .unwrap();
    });
    run_for(2).await;
    assert_eq!(email.keys(), ["A"]);
    assert_eq!(
        w.metrics.value(
            "sena_notifications_failed_total",
            &[("channel", "email"), ("kind", "permanent")]
        ),
        Some(1.0)
    );
    assert!(slack.keys().is_empty(), "{:?}", slack.keys());
    assert_eq!(w.store.outbox_stats().unwrap(), Default::default());
    w.stop().await;
}
