//! A stuck channel (issue 16, finding 2): its oldest message older than
//! `notify.stuck_after` shows in health and metrics and is told to the
//! other channels once per episode; delivering ends the episode. The
//! store's timestamps follow the manual clock, the retries tokio's paused
//! one.

use super::order::{too_many_requests, Scripted};
use super::*;
use crate::deliver::stuck::{judge, Change};

#[test]
fn a_channel_is_stuck_once_its_oldest_message_is_older_than_stuck_after() {
    let after = Duration::from_secs(600);
    let min = |m: u64| Some(Duration::from_secs(m * 60));
    assert_eq!(judge(false, None, after), Change::Same);
    assert_eq!(judge(false, min(10), after), Change::Same, "not older yet");
    assert_eq!(judge(false, min(11), after), Change::Started);
    assert_eq!(judge(true, min(12), after), Change::Same, "one episode");
    assert_eq!(
        judge(true, min(1), after),
        Change::Ended,
        "a younger oldest"
    );
    assert_eq!(judge(true, None, after), Change::Ended, "nothing waits");
}

fn stuck_slack(w: &World) -> Option<String> {
    w.health.problem(Component::Channel("slack"))
}

#[tokio::test(start_paused = true)]
async fn a_stuck_channel_is_reported_once_and_recovers_when_it_delivers() {
    // Slack answers 429 with `Retry-After: 30` five times (t = 0 … 120 s),
    // then accepts (t = 150 s).
    let slack = Scripted::new(
        Channel::Slack,
        (0..5)
            .map(|_| too_many_requests(Duration::from_secs(30)))
            .collect(),
    );
    let email = Recording::new(Channel::Email);
    let w = world(vec![slack.clone(), email.clone()], |store| {
        let mut d = delivery("A", 0.5);
        d.recipients = vec![crate::domain::Person {
            name: "sena".into(),
            slack: None,
            email: Some("sena@example.com".into()),
        }];
        store.enqueue(&[(Channel::Slack, d)], t0()).unwrap();
    });
    run_for(20).await;
    assert_eq!(stuck_slack(&w), None, "20 s old is not stuck");
    assert_eq!(
        w.metrics
            .value("sena_channel_stuck", &[("channel", "slack")]),
        Some(0.0)
    );

    w.clock.advance(Duration::from_secs(601));
    run_for(10).await;
    let why = stuck_slack(&w).expect("stuck after 10m20s");
    assert!(
        why.contains("slack has delivered nothing for 10m") && why.contains("#1"),
        "{why}"
    );
    assert_eq!(
        w.metrics
            .value("sena_channel_stuck", &[("channel", "slack")]),
        Some(1.0)
    );
    assert!(w
        .metrics
        .value(
            "sena_channel_oldest_undelivered_age_seconds",
            &[("channel", "slack")]
        )
        .is_some_and(|age| age > 600.0));
    run_for(60).await;
    assert_eq!(
        email.keys(),
        ["slack:stuck:outbox-1:email"],
        "told once, however many passes"
    );
    let told = email.got.lock().unwrap()[0].clone();
    assert_eq!(told.advisory.kind, AdvisoryKind::ChannelStuck);
    assert_eq!(told.advisory.rollout, "checkout-api");
    assert_eq!(told.recipients[0].name, "sena", "to whom Slack owes it");
    assert!(
        told.advisory
            .headline()
            .contains("slack has delivered nothing"),
        "{}",
        told.advisory.headline()
    );

    // Slack answers again: the message goes, the episode ends.
    run_for(120).await;
    assert_eq!(slack.keys().last().map(String::as_str), Some("A"));
    assert_eq!(w.store.outbox_stats().unwrap().depth, 0);
    assert_eq!(stuck_slack(&w), None, "delivered: no longer stuck");
    assert_eq!(
        w.metrics
            .value("sena_channel_stuck", &[("channel", "slack")]),
        Some(0.0)
    );
    assert_eq!(email.keys().len(), 1);
    w.stop().await;
}
