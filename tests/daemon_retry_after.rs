//! A Slack (or a proxy before it) that answers 429 with an absurd
//! `Retry-After`, against the real daemon (issue 16, finding 2): a day's
//! wait once muted Slack for a day while `/readyz` said ready, and a wait
//! of 0 made 75 attempts in 3.3 s. Now the wait is clamped to 1 s … 5 min,
//! and a channel whose oldest message waits past `notify.stuck_after` is
//! reported in `/readyz`, `/metrics` and, once, by email. Its recovery
//! (Slack answering again) is tested in paused time, in
//! `src/deliver/tests/stuck.rs`: the clamp's 5 minutes are too long here.

mod common;

use std::time::{Duration, Instant};

use common::rules;
use common::sena::Sena;
use common::slack::SlackStandIn;
use common::smtp::SmtpServer;
use common::testapp::AppHandle;
use common::{shared, wait_until, ConfigBuilder};

const DEADLINE: Duration = Duration::from_secs(40);
const APPS: &[&str] = &["r-day", "r-zero"];

/// One person, on call around the clock, on Slack and by email.
const ROSTER: &str = r#"timezone: UTC
people:
  sena: { slack: U0SENA, email: sena@example.com }
  lubit: { slack: U0LUBIT, email: lubit@example.com }
slots:
  - name: around-the-clock
    from: "00:00"
    to: "24:00"
    escalation:
      - notify: [sena]
"#;

struct World {
    app: AppHandle,
    slack: SlackStandIn,
    smtp: SmtpServer,
    sena: Sena,
}

/// A healthy rollout paging through Slack (webhook) and email.
fn start(name: &str, notify: &str) -> World {
    let app = shared().app_seen_by_daemon(APPS, name, DEADLINE);
    let slack = SlackStandIn::start();
    let smtp = SmtpServer::start();
    let cfg = ConfigBuilder::new()
        .rollout(name, &rules::file(&[rules::error_rate("1s")]))
        .email(smtp.port(), "sena@example.com")
        .roster(ROSTER)
        .slack_webhook(&slack.webhook_url())
        .raw(notify)
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(name, "continue", DEADLINE);
    sena.wait_ready(DEADLINE);
    World {
        app,
        slack,
        smtp,
        sena,
    }
}

#[test]
fn a_retry_after_of_a_day_makes_slack_stuck_visible_and_told_once() {
    let w = start("r-day", "notify:\n  stuck_after: 3s\n");
    w.slack.fail_next(1000, 429, Some(86_400));
    w.app.set_error_ratio(0.3);
    w.sena.wait_for_verdict("r-day", "rollback", DEADLINE);

    let reason = wait_until(
        "/readyz to say Slack is stuck",
        DEADLINE,
        || {
            let (status, body) = w.sena.get("/readyz");
            (status == 503).then_some(body)
        },
        || w.sena.logs_tail(),
    );
    assert!(
        reason.contains("slack has delivered nothing for")
            && reason.contains("notify.stuck_after (3s)"),
        "{reason}"
    );
    assert_eq!(
        w.sena.metric("sena_channel_stuck", &[("channel", "slack")]),
        Some(1.0)
    );
    assert_eq!(
        w.sena.metric("sena_channel_stuck", &[("channel", "email")]),
        Some(0.0)
    );
    let told = wait_until(
        "an email saying Slack is stuck",
        DEADLINE,
        || {
            let mails = w.smtp.messages();
            let told: Vec<_> = mails
                .into_iter()
                .filter(|m| m.subject.contains("slack has delivered nothing"))
                .collect();
            (!told.is_empty()).then_some(told)
        },
        || format!("{:?}", w.smtp.messages()),
    );
    // Those the stuck rollback page is for: the on-call and the approver.
    assert_eq!(
        told[0].to,
        ["sena@example.com", "lubit@example.com"],
        "to whom Slack owes a page"
    );
    assert!(
        told[0].text.contains("Sena keeps retrying"),
        "{}",
        told[0].text
    );
    // The watch looks every 5 s: three more looks, still one email.
    let since = Instant::now();
    wait_until(
        "three more looks at the stuck channel",
        DEADLINE,
        || (since.elapsed() >= Duration::from_secs(16)).then_some(()),
        String::new,
    );
    let again = w
        .smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject.contains("slack has delivered nothing"))
        .count();
    assert_eq!(again, 1, "one advisory per stuck episode");
    assert_eq!(w.sena.get("/readyz").0, 503, "still stuck");

    // Slack was asked once: the day became 5 minutes, not a tight loop.
    assert_eq!(
        w.slack.all_attempts().len(),
        1,
        "{:?}",
        w.slack.all_attempts()
    );
    let logs = w.sena.logs();
    assert!(
        logs.contains("Retry-After is outside 1s..5m") && logs.contains("86400s"),
        "the clamp is logged:\n{logs}"
    );
}

#[test]
fn a_retry_after_of_zero_waits_a_second_between_attempts() {
    let w = start("r-zero", "");
    w.slack.fail_next(1000, 429, Some(0));
    w.app.set_error_ratio(0.3);
    w.sena.wait_for_verdict("r-zero", "rollback", DEADLINE);
    wait_until(
        "Slack's first attempt",
        DEADLINE,
        || (!w.slack.all_attempts().is_empty()).then_some(()),
        || w.sena.logs_tail(),
    );
    let first = Instant::now();
    wait_until(
        "4 s of retries",
        DEADLINE,
        || (first.elapsed() >= Duration::from_secs(4)).then_some(()),
        String::new,
    );
    // Attempts at about 0, 1, 2, 3, 4 s (and one more in the slack of
    // polling); 75 in 3.3 s before the clamp.
    let attempts = w.slack.all_attempts().len();
    assert!((2..=7).contains(&attempts), "{attempts} attempts in 4 s");
}
