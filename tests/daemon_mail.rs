//! Issue 8 end to end, for mail: after an SMTP outage the mail arrives in
//! the order it was queued, and one address the server refuses costs nobody
//! else the page nor sends anybody a second copy. The real `sena` daemon,
//! a real SMTP server (aiosmtpd) that can be stopped and told to refuse or
//! defer one recipient, the Slack stand-in, and the harness's shared
//! Prometheus and test app.
//!
//! The rules in detail (per-channel backoff, progress kept per recipient
//! across retries and a failing store) are unit tested under paused time in
//! `src/notify/dispatch/tests/order.rs`; these prove the daemon wires them
//! to a real mail server. The daemon logs JSON here so a test can read how
//! often which mail failed. Every wait polls a condition until a deadline.

mod common;

use std::time::Duration;

use serde_json::Value;

use common::rules;
use common::sena::Sena;
use common::slack::SlackStandIn;
use common::smtp::{Mail, SmtpServer};
use common::testapp::AppHandle;
use common::{shared, wait_until, ConfigBuilder, TestConfig};

const DEADLINE: Duration = Duration::from_secs(40);

/// Every app (rollout) name this binary uses, registered together on first
/// use so only the first test waits for Prometheus to see them.
const APPS: &[&str] = &["m-outage-order", "m-refused-rcpt"];

const LEVEL1: &str = "U0COPILOT";

fn app(name: &str) -> AppHandle {
    shared().app_seen_by_daemon(APPS, name, DEADLINE)
}

/// One test's world; the rollout's approver is lubit.
struct World {
    name: &'static str,
    app: AppHandle,
    slack: SlackStandIn,
    smtp: SmtpServer,
    sena: Sena,
    _cfg: TestConfig,
}

impl World {
    /// Starts everything with `level0` paged first (and, if given, `level1`
    /// after `level1_after`), and waits until the rollout is healthy.
    fn start(name: &'static str, level0: &str, level1: Option<(&str, &str)>) -> World {
        let app = app(name);
        let slack = SlackStandIn::start();
        let smtp = SmtpServer::start();
        let escalation = match level1 {
            Some((after, who)) => format!("      - after: {after}\n        notify: [{who}]\n"),
            None => String::new(),
        };
        let roster = format!(
            r#"timezone: UTC
people:
  sena:    {{ slack: U0SENA,    email: sena@example.com }}
  mira:    {{ slack: U0MIRA,    email: mira@example.com }}
  copilot: {{ slack: {LEVEL1}, email: copilot@example.com }}
  lubit:   {{ slack: U0LUBIT,   email: lubit@example.com }}
slots:
  - name: around-the-clock
    from: "00:00"
    to: "24:00"
    escalation:
      - notify: [{level0}]
{escalation}"#
        );
        let cfg = ConfigBuilder::new()
            .rollout(name, &rules::file(&[rules::error_rate("1s")]))
            .email(smtp.port(), "sena@example.com")
            .slack_webhook(&slack.webhook_url())
            .roster(&roster)
            .raw("notify:\n  repeat: 1h\n  resolve_after: 2s\n")
            .write();
        let sena = Sena::start_with_args(cfg.path(), &["--log-format", "json"]);
        sena.wait_for_verdict(name, "continue", DEADLINE);
        World {
            name,
            app,
            slack,
            smtp,
            sena,
            _cfg: cfg,
        }
    }

    /// 30 % of canary requests fail; waits for the `rollback` verdict.
    fn breach(&self) {
        self.app.set_error_ratio(0.3);
        self.sena.wait_for_verdict(self.name, "rollback", DEADLINE);
    }

    /// The daemon's JSON log events.
    fn events(&self) -> Vec<Value> {
        (self.sena.logs().lines())
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// How many times the email whose key contains `fragment` has failed.
    fn email_failures(&self, fragment: &str) -> u64 {
        (self.events().iter())
            .filter(|e| {
                e["message"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("notification failed")
            })
            .filter(|e| e["channel"] == "email")
            .filter(|e| e["key"].as_str().unwrap_or("").contains(fragment))
            .filter_map(|e| e["attempt"].as_u64())
            .max()
            .unwrap_or(0)
    }

    fn failed_metric(&self, kind: &str) -> f64 {
        let labels = [("channel", "email"), ("kind", kind)];
        let metric = self.sena.metric("sena_notifications_failed_total", &labels);
        metric.unwrap_or(0.0)
    }

    fn mails_to(&self, address: &str) -> Vec<Mail> {
        let to = |m: &Mail| m.to.iter().any(|t| t.eq_ignore_ascii_case(address));
        self.smtp.messages().into_iter().filter(to).collect()
    }

    fn describe(&self) -> String {
        let mail: Vec<(Vec<String>, String)> = (self.smtp.messages().into_iter())
            .map(|m| (m.to, m.subject))
            .collect();
        let slack: Vec<Value> = (self.slack.requests().into_iter())
            .map(|r| r.body["text"].clone())
            .collect();
        format!(
            "mail (recipients, subject) in order of arrival: {mail:#?}\nSlack: {slack:#?}\nsena logs (tail):\n{}",
            self.sena.logs_tail()
        )
    }
}

#[test]
fn after_an_smtp_outage_mail_arrives_in_the_order_it_was_queued() {
    let w = World::start("m-outage-order", "sena", Some(("2s", "copilot")));
    w.smtp.stop();
    w.breach();
    // The escalation is queued: its Slack copy is committed with its mail.
    wait_until(
        "the escalation to level 1 on Slack",
        DEADLINE,
        || {
            let mentions = |r: &common::slack::SlackRequest| {
                r.body.to_string().contains(&format!("<@{LEVEL1}>"))
            };
            w.slack.requests().iter().any(mentions).then_some(())
        },
        || w.describe(),
    );
    // The opened mail, queued first, has now failed four times. With a wait
    // per mail it would wait about 8 s more, while the escalation mail,
    // younger and failed less often, waits 1 to 4 s and goes first.
    wait_until(
        "the opened mail to fail a fourth time",
        DEADLINE,
        || (w.email_failures(":opened:") >= 4).then_some(()),
        || w.describe(),
    );
    w.smtp.start_again();

    let escalated = |m: &Mail| m.subject.contains("(escalated to level 1)");
    let mails = wait_until(
        "the escalation mail once SMTP is back",
        DEADLINE,
        || {
            let mails = w.smtp.messages();
            mails.iter().any(escalated).then_some(mails)
        },
        || w.describe(),
    );
    let first_escalated = mails.iter().position(escalated);
    let opened = mails
        .iter()
        .position(|m| m.subject.starts_with("[sena] ROLLBACK m-outage-order") && !escalated(m));
    assert!(
        opened.is_some() && opened < first_escalated,
        "the level-0 opened mail, queued first, arrives before the level-1 escalation:\n{}",
        w.describe()
    );
    assert!(
        mails[opened.unwrap()]
            .to
            .iter()
            .any(|t| t == "sena@example.com"),
        "{}",
        w.describe()
    );
}

#[test]
fn one_refused_address_costs_nobody_else_the_mail_and_nobody_gets_it_twice() {
    let w = World::start("m-refused-rcpt", "sena, mira", None);
    // mira's address is refused for good; lubit's (the approver) deferred
    // until the test lets it through, so the mail is retried meanwhile.
    w.smtp
        .reply_to_rcpt("mira@example.com", Some("550 5.1.1 mira: no such user"));
    w.smtp
        .reply_to_rcpt("lubit@example.com", Some("450 4.2.1 lubit: mailbox busy"));
    w.breach();

    let first = wait_until(
        "the rollback mail to sena",
        DEADLINE,
        || w.mails_to("sena@example.com").into_iter().next(),
        || w.describe(),
    );
    assert!(
        first.subject.starts_with("[sena] ROLLBACK m-refused-rcpt"),
        "subject: {:?}",
        first.subject
    );
    // Retried at least once for lubit since; sena is not mailed again.
    wait_until(
        "a retry for the deferred recipient",
        DEADLINE,
        || (w.failed_metric("transient") >= 2.0).then_some(()),
        || w.describe(),
    );
    assert_eq!(w.mails_to("sena@example.com").len(), 1, "{}", w.describe());
    w.smtp.reply_to_rcpt("lubit@example.com", None);
    wait_until(
        "the rollback mail to lubit once his mailbox takes it",
        DEADLINE,
        || w.mails_to("lubit@example.com").into_iter().next(),
        || w.describe(),
    );

    // mira: logged with her address, counted once as a permanent failure.
    let refused = w.events().into_iter().find(|e| {
        e["level"] == "ERROR"
            && e["recipient"] == "mira@example.com"
            && e["error"].as_str().unwrap_or("").contains("550")
    });
    assert!(
        refused.is_some(),
        "no ERROR naming mira@example.com:\n{}",
        w.describe()
    );
    let mut seen = 0;
    w.sena.observe_evaluations(w.name, DEADLINE, |_| {
        {
            let counts = (
                w.mails_to("sena@example.com").len(),
                w.mails_to("lubit@example.com").len(),
                w.mails_to("mira@example.com").len(),
                w.failed_metric("permanent"),
                w.slack.requests().len(),
            );
            assert_eq!(
                counts,
                (1, 1, 0, 1.0, 1),
                "(mails to sena, to lubit, to mira, permanent failures, Slack messages): one each, mira none and counted once, and no Slack fallback beside the Slack page:\n{}",
                w.describe()
            );
            seen += 1;
            seen > 3
        }
    });
    // Nothing left waiting (the gauge is refreshed every 5 s).
    wait_until(
        "sena_outbox_depth to be 0",
        DEADLINE,
        || (w.sena.metric("sena_outbox_depth", &[]) == Some(0.0)).then_some(()),
        || w.describe(),
    );
}
