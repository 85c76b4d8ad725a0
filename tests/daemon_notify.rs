//! Issue 4 end to end: the real `sena` daemon pages people through a Slack
//! stand-in and a real SMTP server (aiosmtpd), following an on-call roster,
//! against the shared Prometheus and test app.
//!
//! The incident policy itself (escalation, anti-flap, reminders) is unit
//! tested with an injected clock in `src/notify/policy/tests.rs`; these tests
//! prove the daemon wires it to real channels, the state store and the HTTP
//! API. Time is kept short instead of injected: `after: 3s`-style escalation,
//! `resolve_after: 2s`, `[10s]` rate windows, a 1 s evaluation interval, and
//! a roster slot holding around the clock so the wall-clock hour never
//! matters.
//!
//! Every test has its own app name (its rollout), its own Slack stand-in and
//! its own SMTP server, so tests run in parallel without seeing each other's
//! messages. Waits poll a condition until a deadline; an absence ("no page to
//! level 1") is asserted by polling for a short, stated window.

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::rules;
use common::sena::{now_ms, sena_cmd, timestamp_ms, Sena};
use common::slack::{form, post_signed, SlackRequest, SlackStandIn};
use common::smtp::{Mail, SmtpServer};
use common::testapp::AppHandle;
use common::{shared, wait_until, ConfigBuilder, TestConfig};

const DEADLINE: Duration = Duration::from_secs(40);

/// Every app (rollout) name this binary uses. They are registered together
/// on first use so only the first test waits for Prometheus to see them.
const APPS: &[&str] = &[
    "n-breach",
    "n-escalate",
    "n-ack-api",
    "n-ack-cli",
    "n-ack-slack",
    "n-resolve",
    "n-slack-429",
    "n-smtp-down",
    "n-kill9",
    "n-web-api",
    "n-secret-hook",
    "n-secret-api",
    "n-counts",
];

const LEVEL0: &str = "U0SENA";
const LEVEL1: &str = "U0COPILOT";
const APPROVER: &str = "U0LUBIT";

fn app(name: &str) -> AppHandle {
    shared().app_seen_by_daemon(APPS, name, DEADLINE)
}

/// sena at level 0, copilot at level 1 after `level1_after`; lubit is the
/// rollouts' approver. One slot, every day, around the clock.
fn roster(level1_after: &str) -> String {
    format!(
        r#"timezone: UTC
people:
  sena:    {{ slack: {LEVEL0},    email: sena@example.com }}
  copilot: {{ slack: {LEVEL1}, email: copilot@example.com }}
  lubit:   {{ slack: {APPROVER},   email: lubit@example.com }}
slots:
  - name: around-the-clock
    from: "00:00"
    to: "24:00"
    escalation:
      - notify: [sena]
      - after: {level1_after}
        notify: [copilot]
"#
    )
}

/// `error_rate` below 0.1 %, `on_fail: rollback`, `for: 1s`, over `[10s]`.
fn error_rules() -> String {
    rules::file(&[rules::error_rate("1s")])
}

fn notify_section(resolve_after: &str) -> String {
    format!("notify:\n  repeat: 1h\n  resolve_after: {resolve_after}\n")
}

enum SlackMode {
    Webhook,
    WebApi,
    /// Web API mode with `signing_secret_file`: pages carry Acknowledge.
    Interactive,
}

const SIGNING_SECRET: &str = "b1d5e0c2f4a3968778695a4b3c2d1e0f";

const WEB_API_TOKEN: &str = "xoxb-test-SECRET-9d4e1f";

/// One test's world: its app, Slack stand-in, SMTP server, config and daemon.
struct Scenario {
    name: &'static str,
    app: AppHandle,
    slack: SlackStandIn,
    smtp: SmtpServer,
    cfg: TestConfig,
    sena: Sena,
}

impl Scenario {
    /// Starts everything and waits until the rollout is healthy (`continue`).
    fn start(
        name: &'static str,
        level1_after: &str,
        resolve_after: &str,
        mode: SlackMode,
    ) -> Scenario {
        Scenario::start_with_rules(name, &error_rules(), level1_after, resolve_after, mode)
    }

    /// [`Scenario::start`] with the rollout judged by `rules`.
    fn start_with_rules(
        name: &'static str,
        rules: &str,
        level1_after: &str,
        resolve_after: &str,
        mode: SlackMode,
    ) -> Scenario {
        let app = app(name);
        let slack = SlackStandIn::start();
        let smtp = SmtpServer::start();
        let builder = ConfigBuilder::new()
            .rollout(name, rules)
            .email(smtp.port(), "sena@example.com")
            .roster(&roster(level1_after))
            .raw(&notify_section(resolve_after));
        let builder = match mode {
            SlackMode::Webhook => builder.slack_webhook(&slack.webhook_url()),
            SlackMode::WebApi => builder.slack_web_api(&slack.api_url(), WEB_API_TOKEN, "#deploys"),
            SlackMode::Interactive => builder
                .slack_web_api(&slack.api_url(), WEB_API_TOKEN, "#deploys")
                .slack_signing_secret(SIGNING_SECRET),
        };
        let cfg = builder.write();
        let sena = Sena::start(cfg.path());
        sena.wait_for_verdict(name, "continue", DEADLINE);
        assert!(
            slack.all_attempts().is_empty() && smtp.messages().is_empty(),
            "a healthy rollout pages nobody; Slack: {:?}, mail: {:?}",
            slack.requests(),
            smtp.messages()
        );
        Scenario {
            name,
            app,
            slack,
            smtp,
            cfg,
            sena,
        }
    }

    /// 30 % of canary requests fail; waits for the `rollback` verdict.
    fn breach(&self) -> Value {
        self.app.set_error_ratio(0.3);
        self.sena.wait_for_verdict(self.name, "rollback", DEADLINE)
    }

    /// The rollout's incidents from `GET /api/v1/incidents`.
    fn incidents(&self) -> Vec<Value> {
        let (status, body) = self.sena.get("/api/v1/incidents");
        assert_eq!(status, 200, "GET /api/v1/incidents: {body}");
        let list: Value = serde_json::from_str(&body).expect("incidents JSON");
        list["incidents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["rollout"] == self.name)
            .cloned()
            .collect()
    }

    /// The rollout's latest incident.
    fn incident(&self) -> Value {
        self.incidents()
            .into_iter()
            .max_by_key(|i| i["id"].as_i64())
            .unwrap_or_else(|| panic!("no incident for {}\n{}", self.name, self.describe()))
    }

    /// Waits for the first Slack message whose text contains `needle`
    /// (case-insensitive) and returns it.
    fn wait_slack_containing(&self, needle: &str) -> SlackRequest {
        let needle = needle.to_lowercase();
        wait_until(
            &format!("a Slack message containing {needle:?}"),
            DEADLINE,
            || {
                self.slack
                    .requests()
                    .into_iter()
                    .find(|r| slack_text(r).to_lowercase().contains(&needle))
            },
            || self.describe(),
        )
    }

    /// Waits for the first mail `pred` accepts and returns it.
    fn wait_mail(&self, what: &str, pred: impl Fn(&Mail) -> bool) -> Mail {
        wait_until(
            what,
            DEADLINE,
            || self.smtp.messages().into_iter().find(|m| pred(m)),
            || self.describe(),
        )
    }

    /// Polls for `window` and panics as soon as `violation` reports one.
    fn assert_for(&self, window: Duration, violation: impl Fn() -> Option<String>) {
        let start = Instant::now();
        while start.elapsed() < window {
            if let Some(what) = violation() {
                panic!("{what}\n{}", self.describe());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(what) = violation() {
            panic!("{what}\n{}", self.describe());
        }
    }

    /// Polls until `n` more evaluations of the rollout happened, checking
    /// `violation` at each.
    fn assert_over_evaluations(&self, n: usize, violation: impl Fn() -> Option<String>) {
        let mut seen = 0;
        self.sena.observe_evaluations(self.name, DEADLINE, |_| {
            if let Some(what) = violation() {
                panic!("{what}\n{}", self.describe());
            }
            seen += 1;
            seen > n
        });
    }

    fn describe(&self) -> String {
        format!(
            "Slack answered (path, fallback text): {:#?}\nSlack attempts: {:?}\nmail: {:#?}\nsena logs (tail):\n{}",
            self.slack
                .requests()
                .iter()
                .map(|r| (r.path.clone(), r.body["text"].clone()))
                .collect::<Vec<_>>(),
            self.slack.all_attempts(),
            self.smtp
                .messages()
                .iter()
                .map(|m| (m.to.clone(), m.subject.clone()))
                .collect::<Vec<_>>(),
            self.sena.logs_tail()
        )
    }
}

/// Everything a Slack request carries (text, blocks, fallback), as one
/// string to search.
fn slack_text(r: &SlackRequest) -> String {
    r.body.to_string()
}

fn mentions(r: &SlackRequest, slack_id: &str) -> bool {
    slack_text(r).contains(&format!("<@{slack_id}>"))
}

fn mailed_to(m: &Mail, address: &str) -> bool {
    m.to.iter().any(|t| t.eq_ignore_ascii_case(address))
}

/// Wall-clock milliseconds of an `Instant` the stand-in recorded.
fn wall_ms(at: Instant) -> i64 {
    now_ms() - Instant::now().saturating_duration_since(at).as_millis() as i64
}

/// `3.12%` from `[sena] ROLLBACK app 5%: error_rate 3.12% > 0.1%`.
fn failing_value(subject: &str) -> String {
    let value = subject
        .split_once(": error_rate ")
        .and_then(|(_, rest)| rest.split_once(" > 0.1%"))
        .map(|(value, _)| value.to_string())
        .unwrap_or_else(|| panic!("subject without `: error_rate X% > 0.1%`: {subject:?}"));
    let number: f64 = value
        .strip_suffix('%')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the failing value is not a percentage: {value:?}"));
    assert!(
        number > 0.1,
        "the failing value {value} should be above the 0.1% limit"
    );
    value
}

fn ms_of(incident: &Value, field: &str) -> i64 {
    timestamp_ms(&incident[field])
}

/// `3s` → 3000: the tests' durations are whole seconds.
fn secs(text: &str) -> i64 {
    text.strip_suffix('s')
        .and_then(|n| n.parse::<i64>().ok())
        .map(|n| n * 1000)
        .unwrap_or_else(|| panic!("not a duration in seconds: {text}"))
}

#[test]
fn breach_pages_level0_and_approver_once_on_slack_and_by_email() {
    let s = Scenario::start("n-breach", "1h", "2s", SlackMode::Webhook);
    s.breach();

    let slack = s.slack.wait_for(1, DEADLINE).remove(0);
    let mail = s.smtp.wait_for(1, DEADLINE).remove(0);

    // The email: multipart, the inbox-sorting subject, to level 0 and the approver.
    assert!(
        mail.subject
            .starts_with("[sena] ROLLBACK n-breach 5%: error_rate "),
        "subject: {:?}",
        mail.subject
    );
    let value = failing_value(&mail.subject);
    let raw = mail.raw.to_lowercase();
    assert!(
        raw.contains("multipart/alternative"),
        "the mail is multipart text + HTML: {}",
        mail.raw
    );
    let html = mail.html.as_deref().expect("an HTML part");
    for (part, body) in [("text", mail.text.as_str()), ("html", html)] {
        assert!(
            body.contains("error_rate") && body.contains(&value),
            "the {part} part names error_rate and its value {value}:\n{body}"
        );
    }
    assert!(
        mailed_to(&mail, "sena@example.com") && mailed_to(&mail, "lubit@example.com"),
        "level 0 (sena) and the approver (lubit) get the rollback mail: {:?}",
        mail.to
    );
    assert!(
        !mailed_to(&mail, "copilot@example.com"),
        "level 1 is not paged yet: {:?}",
        mail.to
    );

    // The Slack message: the same failing value, the level-0 person mentioned.
    assert_eq!(slack.path, "/webhook");
    let text = slack_text(&slack);
    assert!(
        text.contains("error_rate") && text.contains(&value),
        "the Slack message names error_rate and its value {value}: {text}"
    );
    assert!(
        mentions(&slack, LEVEL0),
        "level 0 is mentioned as <@{LEVEL0}>: {text}"
    );
    assert!(
        !mentions(&slack, LEVEL1),
        "level 1 is not paged yet: {text}"
    );

    // Exactly one of each: a few more evaluations at rollback add nothing.
    s.assert_over_evaluations(3, || {
        let (slack, mail) = (s.slack.all_attempts().len(), s.smtp.messages().len());
        (slack != 1 || mail != 1).then(|| {
            format!("one rollout state change is one Slack message and one mail; got {slack} and {mail}")
        })
    });
}

#[test]
fn unacknowledged_incident_escalates_to_level1_after_its_delay() {
    let after = "3s";
    let s = Scenario::start("n-escalate", after, "2s", SlackMode::Webhook);
    s.breach();

    let first = s.slack.wait_for(1, DEADLINE).remove(0);
    assert!(mentions(&first, LEVEL0) && !mentions(&first, LEVEL1));
    let escalated = s.wait_slack_containing(&format!("<@{LEVEL1}>"));
    let text = slack_text(&escalated);
    assert!(
        text.to_lowercase().contains("escalated to level 1"),
        "the message says it escalated: {text}"
    );
    let mail = s.wait_mail("a mail to level 1 (copilot)", |m| {
        mailed_to(m, "copilot@example.com")
    });
    assert!(
        mail.subject.contains("(escalated to level 1)"),
        "subject: {:?}",
        mail.subject
    );

    // Paged at opened_at + after, not before and not long after.
    let incident = s.incident();
    let waited = wall_ms(escalated.at) - ms_of(&incident, "opened_at");
    assert!(
        (secs(after)..secs(after) + 5_000).contains(&waited),
        "level 1 paged {waited} ms after the incident opened, expected about {after}; incident {incident:#}"
    );
    assert_eq!(incident["level"], 1, "{incident:#}");
    assert_eq!(
        s.slack.requests().len(),
        2,
        "opened + escalated:\n{}",
        s.describe()
    );
}

/// Breach, acknowledge with `ack` (which returns who acknowledged) before
/// level 1 is due, then: an "acknowledged" message names them, and level 1
/// is not paged through twice its `after`.
fn ack_stops_escalation(name: &'static str, ack: impl FnOnce(&Scenario, i64) -> String) {
    let after = "4s";
    let s = Scenario::start(name, after, "2s", SlackMode::Webhook);
    s.breach();
    s.slack.wait_for(1, DEADLINE);
    s.smtp.wait_for(1, DEADLINE);
    let incident = s.incident();
    let id = incident["id"].as_i64().expect("incident id");
    let opened_ms = ms_of(&incident, "opened_at");
    assert!(
        now_ms() < opened_ms + secs(after),
        "the test acknowledges too late to prove anything: {incident:#}"
    );

    let by = ack(&s, id);

    let acked = s.incident();
    assert_eq!(acked["acked_by"], by.as_str(), "{acked:#}");
    let message = s.wait_slack_containing(&format!("acknowledged by {by}"));
    assert!(
        !mentions(&message, LEVEL1),
        "the acknowledgement goes to those already paged: {}",
        slack_text(&message)
    );
    let needle = format!("acknowledged by {by}");
    s.wait_mail("the acknowledgement by mail", |m| {
        m.to.len() == 1
            && mailed_to(m, "sena@example.com")
            && m.text.to_lowercase().contains(&needle)
    });

    // Through twice the level's delay after the incident opened: no page
    // to level 1 on either channel.
    let window_end = opened_ms + 2 * secs(after);
    let window = Duration::from_millis((window_end - now_ms()).max(0) as u64);
    s.assert_for(window, || {
        let slack = s.slack.requests().into_iter().any(|r| mentions(&r, LEVEL1));
        let mail = s
            .smtp
            .messages()
            .iter()
            .any(|m| mailed_to(m, "copilot@example.com"));
        (slack || mail)
            .then(|| format!("level 1 was paged after the incident was acknowledged by {by}"))
    });
    let rollout = s.sena.rollout(name);
    assert_eq!(
        rollout["verdict"], "rollback",
        "still breaching, so only the ack held escalation back: {rollout:#}"
    );
    let incident = s.incident();
    assert_eq!(incident["level"], 0, "{incident:#}");
    assert_eq!(
        s.slack.requests().len(),
        2,
        "opened + acknowledged:\n{}",
        s.describe()
    );
}

#[test]
fn ack_through_the_api_stops_escalation() {
    ack_stops_escalation("n-ack-api", |s, id| {
        let (status, body) = s
            .sena
            .post_json(&format!("/api/v1/incidents/{id}/ack"), r#"{"by":"sena"}"#);
        assert_eq!(status, 200, "POST /api/v1/incidents/{id}/ack: {body}");
        "sena".to_string()
    });
}

#[test]
fn ack_through_the_cli_stops_escalation() {
    ack_stops_escalation("n-ack-cli", |s, id| {
        let config = s.cfg.path().to_str().expect("UTF-8 path");
        let out = sena_cmd(&["ack", &id.to_string(), "--by", "mira", "--config", config]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "sena ack exited {}: {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("mira"), "sena ack says who: {stdout}");
        "mira".to_string()
    });
}

/// The page's Acknowledge button (issue 9), clicked the way Slack sends
/// it: a member the roster does not know is refused and acknowledges
/// nothing; the on-call person's double click acknowledges once, through
/// the same transition as the API (one "acknowledged" message, level 1
/// never paged), and the page is replaced in place without its button.
#[test]
fn ack_from_the_slack_button_stops_escalation_once() {
    let after = "4s";
    let name = "n-ack-slack";
    let s = Scenario::start(name, after, "2s", SlackMode::Interactive);
    s.breach();
    let page = s.slack.wait_for(1, DEADLINE).remove(0);
    let incident = s.incident();
    let id = incident["id"].as_i64().expect("incident id");
    let opened_ms = ms_of(&incident, "opened_at");
    let page_blocks = page.body["blocks"].as_array().expect("blocks").clone();
    let button = page_blocks
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == "sena_ack")
        .unwrap_or_else(|| panic!("the page carries Acknowledge: {:#}", page.body));
    assert_eq!(button["value"], id.to_string());
    assert!(
        now_ms() < opened_ms + secs(after),
        "the test acknowledges too late to prove anything: {incident:#}"
    );

    let click = |user: &str, response: &str| {
        let body = form(&serde_json::json!({
            "type": "block_actions",
            "user": {"id": user},
            "actions": [{"action_id": "sena_ack", "value": id.to_string(), "block_id": "b"}],
            "response_url": s.slack.response_url(response),
            "trigger_id": "t",
            "container": {"type": "message", "channel_id": "C0TEST", "message_ts": "1700000000.000001"},
            "message": {"ts": "1700000000.000001", "blocks": page_blocks},
        }));
        let answer = post_signed(&s.sena.base_url(), SIGNING_SECRET, now_ms() / 1000, &body);
        assert_eq!(answer.status, 200, "{}", answer.body);
    };
    let answered = |response: &str| {
        let path = format!("/response/{response}");
        wait_until(
            &format!("an answer on {path}"),
            DEADLINE,
            || s.slack.requests().into_iter().find(|r| r.path == path),
            || s.describe(),
        )
        .body
    };

    click("U0NOBODY", "stranger");
    let refused = answered("stranger");
    assert_eq!(refused["response_type"], "ephemeral", "{refused:#}");
    assert!(
        refused["text"].as_str().unwrap().contains("does not know"),
        "{refused:#}"
    );
    assert!(
        s.incident()["acked_by"].is_null(),
        "a stranger acknowledges nothing"
    );

    click(LEVEL0, "ack1");
    click(LEVEL0, "ack2");
    for response in ["ack1", "ack2"] {
        let replaced = answered(response);
        assert_eq!(replaced["replace_original"], true, "{replaced:#}");
        let text = replaced["text"].as_str().unwrap();
        assert!(text.starts_with("Acknowledged by sena at "), "{text}");
        let blocks = replaced["blocks"].as_array().expect("the page is kept");
        assert_eq!(blocks.len(), page_blocks.len(), "{replaced:#}");
        assert!(!replaced.to_string().contains("sena_ack"), "{replaced:#}");
        let evidence: Vec<&Value> = page_blocks
            .iter()
            .filter(|b| b["type"] != "actions")
            .collect();
        let kept: Vec<&Value> = blocks[..blocks.len() - 1].iter().collect();
        assert_eq!(kept, evidence, "the evidence stays as it was");
    }
    let acked = s.incident();
    assert_eq!(acked["acked_by"], "sena", "{acked:#}");

    // Through twice the level's delay after the incident opened: one
    // acknowledgement in the channel, and no page to level 1.
    let posted = |needle: &str| {
        s.slack
            .requests()
            .into_iter()
            .filter(|r| r.path == "/api/chat.postMessage")
            .filter(|r| slack_text(r).to_lowercase().contains(needle))
            .count()
    };
    wait_until(
        "the acknowledgement in the channel",
        DEADLINE,
        || (posted("acknowledged by sena") >= 1).then_some(()),
        || s.describe(),
    );
    let window_end = opened_ms + 2 * secs(after);
    let window = Duration::from_millis((window_end - now_ms()).max(0) as u64);
    s.assert_for(window, || {
        let level1 = s.slack.requests().into_iter().any(|r| mentions(&r, LEVEL1))
            || s.smtp
                .messages()
                .iter()
                .any(|m| mailed_to(m, "copilot@example.com"));
        let twice = posted("acknowledged by") > 1;
        (level1 || twice).then(|| {
            format!("after the Slack ack: level 1 paged = {level1}, acknowledged twice = {twice}")
        })
    });
    assert_eq!(s.sena.rollout(name)["verdict"], "rollback");
    assert_eq!(s.incident()["level"], 0);
}

#[test]
fn recovery_sends_a_resolved_message_after_resolve_after() {
    let resolve_after = "3s";
    let s = Scenario::start("n-resolve", "1h", resolve_after, SlackMode::Webhook);
    s.breach();
    s.slack.wait_for(1, DEADLINE);
    s.smtp.wait_for(1, DEADLINE);

    s.app.set_healthy();
    let resolved = s.wait_slack_containing("resolved");
    let mail = s.wait_mail("the resolved mail", |m| {
        m.subject.starts_with("[sena] RESOLVED n-resolve")
    });
    assert!(
        mailed_to(&mail, "sena@example.com"),
        "those paged hear it is over: {:?}",
        mail.to
    );

    // Resolved only after `resolve_after` back at `continue` (anti-flap).
    let incident = s.incident();
    assert!(
        !incident["resolved_at"].is_null(),
        "the incident is resolved: {incident:#}"
    );
    let calm_ms = ms_of(&incident, "calm_since");
    let resolved_ms = ms_of(&incident, "resolved_at");
    assert!(
        resolved_ms - calm_ms >= secs(resolve_after),
        "resolved {} ms after the rollout went back to continue, before resolve_after {resolve_after}: {incident:#}",
        resolved_ms - calm_ms
    );
    assert!(
        wall_ms(resolved.at) >= calm_ms + secs(resolve_after),
        "the resolved message went out before resolve_after: {incident:#}"
    );
    assert_eq!(
        s.slack.requests().len(),
        2,
        "opened + resolved:\n{}",
        s.describe()
    );
}

#[test]
fn slack_429_twice_is_retried_and_delivered_exactly_once() {
    let s = Scenario::start("n-slack-429", "1h", "2s", SlackMode::Webhook);
    s.slack.fail_next(2, 429, Some(1));
    s.breach();

    let delivered = s.slack.wait_for(1, DEADLINE).remove(0);
    assert!(mentions(&delivered, LEVEL0));
    let incident = s.incident();
    let took = wall_ms(delivered.at) - ms_of(&incident, "opened_at");
    assert!(
        took >= 1_900,
        "two `Retry-After: 1` answers mean at least 2 s before delivery; took {took} ms"
    );
    s.assert_over_evaluations(3, || {
        (s.slack.requests().len() != 1).then(|| "the advisory was delivered more than once".into())
    });
    let attempts = s.slack.all_attempts();
    let expected = [("/webhook", 429), ("/webhook", 429), ("/webhook", 200)];
    assert_eq!(
        attempts
            .iter()
            .map(|(p, c)| (p.as_str(), *c))
            .collect::<Vec<_>>(),
        expected,
        "two 429s, then one successful delivery"
    );
    let failed = s.sena.metric(
        "sena_notifications_failed_total",
        &[("channel", "slack"), ("kind", "transient")],
    );
    assert_eq!(failed, Some(2.0), "the two 429s are counted as transient");
    // The email channel did its job meanwhile, once.
    assert_eq!(s.smtp.wait_for(1, DEADLINE).len(), 1);
}

#[test]
fn mail_queued_while_smtp_is_down_is_delivered_when_it_returns() {
    let s = Scenario::start("n-smtp-down", "1h", "2s", SlackMode::Webhook);
    s.smtp.stop();
    s.breach();

    // A dead mail server blocks neither Slack nor the evaluations.
    s.slack.wait_for(1, DEADLINE);
    wait_until(
        "the mail to wait in the outbox",
        DEADLINE,
        || {
            let depth = s.sena.metric("sena_outbox_depth", &[]).unwrap_or(0.0);
            let failed = s
                .sena
                .metric(
                    "sena_notifications_failed_total",
                    &[("channel", "email"), ("kind", "transient")],
                )
                .unwrap_or(0.0);
            (depth >= 1.0 && failed >= 1.0).then_some(())
        },
        || s.sena.metrics(),
    );
    assert!(s.smtp.messages().is_empty());

    s.smtp.start_again();
    let mail = s.smtp.wait_for(1, DEADLINE).remove(0);
    assert!(
        mail.subject.starts_with("[sena] ROLLBACK n-smtp-down"),
        "subject: {:?}",
        mail.subject
    );
    wait_until(
        "sena_outbox_depth to go back to 0",
        DEADLINE,
        || (s.sena.metric("sena_outbox_depth", &[]) == Some(0.0)).then_some(()),
        || s.sena.metrics(),
    );
    assert_eq!(
        s.smtp.messages().len(),
        1,
        "retries deliver once:\n{}",
        s.describe()
    );
}

#[test]
fn kill9_mid_incident_neither_repages_nor_restarts_the_escalation_clock() {
    let after = "6s";
    let mut s = Scenario::start("n-kill9", after, "2s", SlackMode::Webhook);
    s.breach();
    s.slack.wait_for(1, DEADLINE);
    s.smtp.wait_for(1, DEADLINE);
    let incident = s.incident();
    let opened_ms = ms_of(&incident, "opened_at");
    // Kill only once the sends are recorded, outside the documented
    // duplicate window (a channel accepted, the outbox row not yet removed).
    let store = sena::state::Store::open(&s.cfg.state_path).expect("open the state store");
    wait_until(
        "the outbox to be empty",
        DEADLINE,
        || (store.outbox_stats().expect("outbox stats").depth == 0).then_some(()),
        || format!("{:?}", store.outbox_stats().map(|st| st.depth)),
    );
    drop(store);
    s.sena.kill9();

    // Down until 3 s after the incident opened, so a clock restarted at
    // startup would page level 1 clearly later than one kept in the store.
    let down_until = opened_ms + 3_000;
    std::thread::sleep(Duration::from_millis((down_until - now_ms()).max(0) as u64));
    let restarted_ms = now_ms();
    s.sena = Sena::start(s.cfg.path());

    let escalated = s.wait_slack_containing(&format!("<@{LEVEL1}>"));
    let paged_ms = wall_ms(escalated.at);
    assert!(
        paged_ms >= opened_ms + secs(after),
        "level 1 paged {} ms after opening, before its {after}",
        paged_ms - opened_ms
    );
    assert!(
        paged_ms < restarted_ms + secs(after),
        "level 1 paged {} ms after the restart: the escalation clock restarted instead of continuing from opened_at",
        paged_ms - restarted_ms
    );
    s.wait_mail("the escalation mail to copilot", |m| {
        mailed_to(m, "copilot@example.com")
    });
    s.assert_over_evaluations(2, || {
        let (slack, mail) = (s.slack.requests().len(), s.smtp.messages().len());
        (slack != 2 || mail != 2).then(|| {
            format!("the level-0 page must not be re-sent after the restart: {slack} Slack messages, {mail} mails (want 2 each)")
        })
    });
    assert_eq!(s.incidents().len(), 1, "the same incident continues");
    assert_eq!(s.incident()["id"], incident["id"]);
}

#[test]
fn web_api_mode_threads_the_resolved_message_under_the_first() {
    let s = Scenario::start("n-web-api", "1h", "1s", SlackMode::WebApi);
    s.breach();
    let first = s.slack.wait_for(1, DEADLINE).remove(0);
    assert_eq!(first.path, "/api/chat.postMessage");
    assert_eq!(
        first.authorization.as_deref(),
        Some(format!("Bearer {WEB_API_TOKEN}").as_str())
    );
    assert_eq!(first.body["channel"], "#deploys", "{:#}", first.body);
    assert!(
        first.body.get("thread_ts").is_none_or(Value::is_null),
        "the first message starts the thread: {:#}",
        first.body
    );
    // The stand-in answers its first Web API call with this ts.
    let first_ts = "1700000000.000001";

    s.app.set_healthy();
    let resolved = s.wait_slack_containing("resolved");
    assert_eq!(resolved.path, "/api/chat.postMessage");
    assert_eq!(
        resolved.body["thread_ts"], first_ts,
        "the resolved message joins the first message's thread: {:#}",
        resolved.body
    );
    assert_eq!(s.incident()["thread"], first_ts);
}

#[test]
fn check_warns_about_roster_coverage_gaps_with_the_hours() {
    let roster = r#"timezone: UTC
people:
  sena: { slack: U0SENA, email: sena@example.com }
  lubit: { slack: U0LUBIT, email: lubit@example.com }
slots:
  - name: most-of-the-day
    from: "00:00"
    to: "22:00"
    escalation:
      - notify: [sena]
"#;
    let cfg = ConfigBuilder::new()
        .prometheus_url("http://127.0.0.1:9")
        .rollout("n-gap", &error_rules())
        .roster(roster)
        .write();
    let out = sena_cmd(&["check", "--config", cfg.path().to_str().unwrap()]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "a gap is a warning:\n{all}");
    let warning = all
        .lines()
        .find(|l| l.contains("warning:") && l.contains("22:00"))
        .unwrap_or_else(|| panic!("no `warning:` line naming 22:00:\n{all}"));
    assert!(
        warning.contains("24:00") || warning.contains("00:00"),
        "the warning names where the gap ends: {warning}"
    );
}

#[test]
fn secrets_never_appear_in_check_output_logs_or_the_api() {
    const HOOK_SECRET: &str = "hookSECRET0b7c";
    const PASSWORD: &str = "smtp-SECRET-pw-3a9f";
    let hook_app = app("n-secret-hook");
    let api_app = app("n-secret-api");
    let hook_slack = SlackStandIn::start();
    let api_slack = SlackStandIn::start();
    let smtp = SmtpServer::start();
    let hook_url = format!("{}?key={HOOK_SECRET}", hook_slack.webhook_url());

    // Webhook mode with an SMTP password; Web API mode with a token file.
    let hook_cfg = ConfigBuilder::new()
        .rollout("n-secret-hook", &error_rules())
        .slack_webhook(&hook_url)
        .raw(&format!(
            "email:\n  smtp: {{ host: 127.0.0.1, port: {}, tls: none, username: sena, password_file: smtp-pass }}\n  from: sena@example.com\n",
            smtp.port()
        ))
        .file("smtp-pass", &format!("{PASSWORD}\n"))
        .roster(&roster("1h"))
        .write();
    let api_cfg = ConfigBuilder::new()
        .rollout("n-secret-api", &error_rules())
        .slack_web_api(&api_slack.api_url(), WEB_API_TOKEN, "#deploys")
        .roster(&roster("1h"))
        .write();
    let secrets = [HOOK_SECRET, hook_url.as_str(), PASSWORD, WEB_API_TOKEN];
    let assert_clean = |what: &str, text: &str| {
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{what} shows the secret {secret:?}:\n{text}"
            );
        }
    };

    for cfg in [&hook_cfg, &api_cfg] {
        let out = sena_cmd(&["check", "--config", cfg.path().to_str().unwrap()]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "sena check:\n{all}");
        assert_clean("`sena check`", &all);
    }

    // Failures get logged, and error messages are where URLs leak.
    hook_slack.fail_next(1, 500, None);
    api_slack.fail_next(1, 500, None);
    let hook_sena = Sena::start(hook_cfg.path());
    let api_sena = Sena::start(api_cfg.path());
    hook_sena.wait_for_verdict("n-secret-hook", "continue", DEADLINE);
    api_sena.wait_for_verdict("n-secret-api", "continue", DEADLINE);
    hook_app.set_error_ratio(0.3);
    api_app.set_error_ratio(0.3);
    hook_slack.wait_for(1, DEADLINE);
    api_slack.wait_for(1, DEADLINE);
    // The mail fails (the server offers no AUTH) or goes out; either way the
    // channel has been tried with the password.
    wait_until(
        "the email channel to try a delivery",
        DEADLINE,
        || {
            let tried = hook_sena
                .metrics()
                .lines()
                .filter(|l| l.starts_with("sena_notifications_") && l.contains("channel=\"email\""))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>();
            (tried > 0.0).then_some(())
        },
        || hook_sena.logs(),
    );

    for (sena, name) in [(&hook_sena, "n-secret-hook"), (&api_sena, "n-secret-api")] {
        sena.wait_for_verdict(name, "rollback", DEADLINE);
        assert_clean("the daemon logs", &sena.logs());
        assert_clean("/api/v1/status", &sena.status().to_string());
        assert_clean("/api/v1/incidents", &sena.get("/api/v1/incidents").1);
        assert_clean("/metrics", &sena.metrics());
    }
}

/// A count check's page says its counts and interval, through the outbox,
/// on Slack and in both parts of the email.
#[test]
fn a_count_check_pages_with_its_counts_and_interval() {
    let s = Scenario::start_with_rules(
        "n-counts",
        &rules::file(&[rules::error_count()]),
        "1h",
        "2s",
        SlackMode::Webhook,
    );
    s.app.set_error_ratio(0.3);
    s.sena.wait_for_verdict(s.name, "rollback", DEADLINE);
    let slack = s.slack.wait_for(1, DEADLINE).remove(0);
    let mail = s.smtp.wait_for(1, DEADLINE).remove(0);

    assert!(
        mail.subject
            .starts_with("[sena] ROLLBACK n-counts 5%: error_count "),
        "subject: {:?}",
        mail.subject
    );
    assert!(
        !mail.subject.contains("bad of"),
        "the subject keeps to the share: {:?}",
        mail.subject
    );
    let html = mail.html.as_deref().expect("an HTML part");
    let text = slack_text(&slack);
    for (part, body) in [
        ("text", mail.text.as_str()),
        ("html", html),
        ("slack", &text),
    ] {
        assert!(
            body.contains("requests since the stage began") && body.contains("95% interval"),
            "the {part} part gives the counts and the interval:\n{body}"
        );
    }
}
