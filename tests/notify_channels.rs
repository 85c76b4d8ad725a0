//! The Slack and email channels against the real things they talk to: the
//! Slack stand-in from the harness and a real SMTP server (aiosmtpd). Each
//! test makes one `send` and checks both what arrived and how the outcome was
//! classified, since the dispatcher's retries depend on that classification.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::slack::SlackStandIn;
use common::smtp::SmtpServer;
use sena::config::{EmailConfig, OnFail, Secret, SlackConfig, SlackMode, SmtpTls};
use sena::decide::Verdict;
use sena::domain::{Bound, DedupKey, Threshold, Unit};
use sena::eval::{CheckResult, CheckStatus, SeriesValue};
use sena::notify::email::EmailNotifier;
use sena::notify::slack::SlackNotifier;
use sena::notify::{
    Advisory, AdvisoryKind, Delivery, IncidentView, NextLevel, Notifier, NotifyError,
    RecipientProgress, Sent,
};
use sena::roster::Person;

const WAIT: Duration = Duration::from_secs(10);
const TOKEN: &str = "xoxb-test-SECRET-token-1234";

fn run<F: std::future::Future>(f: F) -> F::Output {
    let _ = rustls::crypto::ring::default_provider().install_default();
    common::runtime().block_on(f)
}

fn person(name: &str, slack: &str) -> Person {
    Person {
        name: name.into(),
        slack: Some(slack.into()),
        email: Some(format!("{name}@example.com")),
    }
}

fn rollback() -> Advisory {
    let at: jiff::Timestamp = "2025-10-22T12:15:00Z".parse().unwrap();
    let opened: jiff::Timestamp = "2025-10-22T12:03:00Z".parse().unwrap();
    let error_rate = CheckResult {
        evidence: None,
        name: "error_rate".into(),
        status: CheckStatus::Failing,
        value: Some(0.0042),
        value_text: "0.42%".into(),
        threshold: Threshold {
            bound: Bound::Below,
            value: 0.001,
            unit: Unit::Percent,
        },
        on_fail: OnFail::Rollback,
        series: vec![SeriesValue {
            labels: BTreeMap::from([("region".to_string(), "eu-west".to_string())]),
            value: 0.0042,
            breaching: true,
        }],
        series_total: 1,
        breaching_total: 1,
        local_failure: false,
        breach_started_at: Some(opened),
        for_seconds: 120,
        error: None,
        description: Some("Share of canary requests answered 5xx".into()),
        runbook_url: Some("https://wiki.example.com/runbooks/canary-errors".into()),
        query: "sum(rate(http_requests_total{code=~\"5..\"}[5m]))".into(),
    };
    Advisory {
        kind: AdvisoryKind::Opened,
        at,
        rollout: "checkout-api".into(),
        stage_index: 0,
        traffic: "5%".into(),
        verdict: Verdict::Rollback,
        reason: "error_rate 0.42% > 0.1%".into(),
        ready_to_expand: None,
        checks: vec![error_rate],
        approver: "lubit".into(),
        incident: Some(IncidentView {
            id: 7,
            opened_at: opened,
            slot: Some("business-hours".into()),
            level: 0,
            paged: vec![person("sena", "U0SENA")],
            next: Some(NextLevel {
                level: 1,
                after_seconds: 600,
                people: vec![person("copilot", "U0COPILOT")],
            }),
            acknowledged_by: None,
        }),
        prometheus_url: "http://127.0.0.1:9090".into(),
        notice: None,
    }
}

fn delivery(advisory: Advisory, thread: Option<&str>) -> Delivery {
    Delivery {
        advisory,
        recipients: vec![person("sena", "U0SENA"), person("lubit", "U0LUBIT")],
        dedup_key: DedupKey::literal("checkout-api:7:opened:0:1761135300000"),
        fallback_from: None,
        thread: thread.map(String::from),
    }
}

fn webhook(url: &str) -> SlackNotifier {
    SlackNotifier::new(&SlackConfig {
        mode: SlackMode::Webhook {
            url: Secret::new(url),
        },
        api_url: "https://slack.com/api".into(),
        signing_secret: None,
    })
    .unwrap()
}

fn web_api(api_url: &str) -> SlackNotifier {
    SlackNotifier::new(&SlackConfig {
        mode: SlackMode::WebApi {
            token: Secret::new(TOKEN),
            channel: "#deploys".into(),
        },
        api_url: api_url.into(),
        signing_secret: None,
    })
    .unwrap()
}

fn email(port: u16, username: Option<&str>, password: Option<&str>) -> EmailNotifier {
    let _runtime = common::runtime().enter(); // the pool spawns a task
    EmailNotifier::new(&EmailConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: username.map(String::from),
        password: password.map(Secret::new),
        from: "Sena <sena-bot@example.org>".into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn expect_transient(r: Result<Sent, NotifyError>) -> (String, Option<Duration>) {
    match r {
        Err(NotifyError::Transient {
            message,
            retry_after,
        }) => (message, retry_after),
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

fn expect_permanent(r: Result<Sent, NotifyError>) -> String {
    match r {
        Err(NotifyError::Permanent(message)) => message,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

/// A one-answer HTTP server for replies the stand-in does not make
/// (Slack's `{"ok":false,...}` with HTTP 200).
fn canned_http(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut request_body = vec![0; length];
            let _ = reader.read_exact(&mut request_body);
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/api")
}

#[test]
fn webhook_posts_block_kit_with_the_failing_value_and_mentions() {
    let slack = SlackStandIn::start();
    let sent = run(webhook(&slack.webhook_url()).send(&delivery(rollback(), None))).unwrap();
    assert_eq!(sent, Sent::default(), "webhooks return no thread");

    let request = &slack.wait_for(1, WAIT)[0];
    assert_eq!(request.path, "/webhook");
    assert_eq!(request.authorization, None);
    let body = request.body.to_string();
    assert_eq!(
        request.body["blocks"][0]["text"]["text"],
        "🚨 ROLL BACK checkout-api at 5%"
    );
    assert!(body.contains("0.42% &gt; 0.1%"), "{body}");
    assert!(
        body.contains("<@U0SENA>") && body.contains("<@U0LUBIT>"),
        "{body}"
    );
    assert!(body.contains("region=\\\"eu-west\\\""), "{body}");
    assert!(
        body.contains("runbooks/canary-errors|:book: Runbook>"),
        "{body}"
    );
    let fallback = request.body["text"].as_str().unwrap();
    assert!(fallback.starts_with("ROLL BACK checkout-api at 5%: error_rate 0.42%"));
    assert!(request.body.get("channel").is_none());
}

#[test]
fn web_api_sends_bearer_token_and_channel_and_returns_the_ts() {
    let slack = SlackStandIn::start();
    let sent = run(web_api(&slack.api_url()).send(&delivery(rollback(), None))).unwrap();

    let request = &slack.wait_for(1, WAIT)[0];
    assert_eq!(request.path, "/api/chat.postMessage");
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.body["channel"], "#deploys");
    assert!(request.body.get("thread_ts").is_none());
    assert!(request.body["blocks"]
        .as_array()
        .is_some_and(|b| b.len() > 3));
    assert_eq!(sent.thread.as_deref(), Some("1700000000.000001"));
}

#[test]
fn resolved_advisory_replies_in_the_incident_thread() {
    let slack = SlackStandIn::start();
    let notifier = web_api(&slack.api_url());
    let first = run(notifier.send(&delivery(rollback(), None))).unwrap();
    let thread = first.thread.unwrap();

    let mut resolved = rollback();
    resolved.kind = AdvisoryKind::Resolved;
    resolved.verdict = Verdict::Continue;
    resolved.checks[0].status = CheckStatus::Passing;
    let sent = run(notifier.send(&delivery(resolved, Some(&thread)))).unwrap();
    assert_eq!(
        sent.thread.as_deref(),
        Some(thread.as_str()),
        "the thread stays the root"
    );

    let reply = &slack.wait_for(2, WAIT)[1];
    assert_eq!(reply.body["thread_ts"], thread.as_str());
    assert_eq!(reply.body["reply_broadcast"], true);
    assert!(reply.body["text"]
        .as_str()
        .unwrap()
        .starts_with("RECOVERED checkout-api"));
}

#[test]
fn rate_limit_is_transient_and_carries_retry_after() {
    let slack = SlackStandIn::start();
    slack.fail_next(1, 429, Some(7));
    let (message, retry_after) = expect_transient(run(
        web_api(&slack.api_url()).send(&delivery(rollback(), None))
    ));
    assert_eq!(retry_after, Some(Duration::from_secs(7)));
    assert!(message.contains("429"), "{message}");
    assert!(slack.requests().is_empty());
}

#[test]
fn server_error_is_transient() {
    let slack = SlackStandIn::start();
    slack.fail_next(1, 500, None);
    let (message, retry_after) = expect_transient(run(
        webhook(&slack.webhook_url()).send(&delivery(rollback(), None))
    ));
    assert_eq!(retry_after, None);
    assert!(message.contains("HTTP 500"), "{message}");
    // and the next attempt goes through
    run(webhook(&slack.webhook_url()).send(&delivery(rollback(), None))).unwrap();
    assert_eq!(slack.wait_for(1, WAIT).len(), 1);
}

#[test]
fn invalid_auth_is_permanent_and_never_shows_the_token() {
    let api = canned_http(200, r#"{"ok":false,"error":"invalid_auth"}"#);
    let message = expect_permanent(run(web_api(&api).send(&delivery(rollback(), None))));
    assert!(message.contains("invalid_auth"), "{message}");
    assert!(
        !message.contains(TOKEN) && !message.contains("SECRET"),
        "{message}"
    );
}

#[test]
fn unreachable_webhook_is_transient_and_never_shows_the_url() {
    let url = format!(
        "http://127.0.0.1:{}/services/T000/B000/SECRETWEBHOOKPATH",
        common::free_port()
    );
    let notifier = webhook(&url);
    let (message, _) = expect_transient(run(notifier.send(&delivery(rollback(), None))));
    let shown = NotifyError::Transient {
        message,
        retry_after: None,
    }
    .to_string();
    assert!(!shown.contains("SECRETWEBHOOKPATH"), "{shown}");
    assert!(!format!("{notifier:?}").contains("SECRETWEBHOOKPATH"));
}

#[test]
fn email_arrives_multipart_with_the_subject_and_the_value_in_both_parts() {
    let smtp = SmtpServer::start();
    run(email(smtp.port(), None, None).send(&delivery(rollback(), None))).unwrap();

    let mail = &smtp.wait_for(1, WAIT)[0];
    assert_eq!(
        mail.subject,
        "[sena] ROLLBACK checkout-api 5%: error_rate 0.42% > 0.1%"
    );
    assert_eq!(mail.from, "sena-bot@example.org");
    assert_eq!(mail.to, vec!["sena@example.com", "lubit@example.com"]);
    assert!(mail.raw.contains("multipart/alternative"), "{}", mail.raw);
    assert!(mail.text.contains("0.42% > 0.1%"), "{}", mail.text);
    let html = mail.html.as_deref().expect("an HTML part");
    assert!(html.contains("0.42% &gt; 0.1%"), "{html}");
    assert!(mail
        .raw
        .contains("X-Sena-Dedup-Key: checkout-api:7:opened:0:1761135300000"));
    assert!(mail
        .raw
        .contains("References: <sena.incident.7.checkout-api@example.org>"));
}

#[test]
fn smtp_outage_is_transient_and_the_pool_recovers() {
    let smtp = SmtpServer::start();
    let notifier = email(smtp.port(), None, None);
    run(notifier.send(&delivery(rollback(), None))).unwrap();
    smtp.stop();
    let (message, _) = expect_transient(run(notifier.send(&delivery(rollback(), None))));
    assert!(message.contains("SMTP"), "{message}");
    smtp.start_again();
    run(notifier.send(&delivery(rollback(), None))).unwrap();
    assert_eq!(smtp.wait_for(2, WAIT).len(), 2);
}

#[test]
fn smtp_4xx_is_transient_and_5xx_permanent() {
    let smtp = SmtpServer::start_rejecting("451 4.3.0 Try again later");
    let notifier = email(smtp.port(), None, None);
    let (message, _) = expect_transient(run(notifier.send(&delivery(rollback(), None))));
    assert!(message.contains("451"), "{message}");

    smtp.reply_with(Some("550 5.7.1 Rejected for the test"));
    let message = expect_permanent(run(notifier.send(&delivery(rollback(), None))));
    assert!(message.contains("550"), "{message}");
    assert!(smtp.messages().is_empty());
}

/// Recipients of each stored mail, in order of arrival.
fn envelopes(smtp: &SmtpServer) -> Vec<Vec<String>> {
    smtp.messages().into_iter().map(|m| m.to).collect()
}

#[test]
fn one_refused_recipient_does_not_fail_the_mail_for_the_others() {
    let smtp = SmtpServer::start();
    smtp.reply_to_rcpt("lubit@example.com", Some("550 5.1.1 No such user"));
    let notifier = email(smtp.port(), None, None);
    let mut progress = RecipientProgress::default();
    run(notifier.send_pending(&delivery(rollback(), None), &mut progress))
        .expect("delivered to the one the server accepts");
    assert_eq!(smtp.wait_for(1, WAIT)[0].to, ["sena@example.com"]);
    assert_eq!(progress.reached, ["sena@example.com"]);
    let refused = &progress.refused;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].address, "lubit@example.com");
    assert!(refused[0].error.contains("550"), "{refused:?}");

    // Nothing is left to send: a second call mails nobody.
    run(notifier.send_pending(&delivery(rollback(), None), &mut progress)).unwrap();
    assert_eq!(envelopes(&smtp), [["sena@example.com"]]);
}

#[test]
fn a_deferred_recipient_is_retried_alone() {
    let smtp = SmtpServer::start();
    smtp.reply_to_rcpt("lubit@example.com", Some("450 4.2.1 Mailbox busy"));
    let notifier = email(smtp.port(), None, None);
    let d = delivery(rollback(), None);
    let mut progress = RecipientProgress::default();
    let (message, _) = expect_transient(run(notifier.send_pending(&d, &mut progress)));
    assert!(message.contains("450"), "{message}");
    assert_eq!(progress.reached, ["sena@example.com"]);
    assert!(progress.refused.is_empty());

    smtp.reply_to_rcpt("lubit@example.com", None);
    run(notifier.send_pending(&d, &mut progress)).unwrap();
    smtp.wait_for(2, WAIT);
    assert_eq!(
        envelopes(&smtp),
        [["sena@example.com"], ["lubit@example.com"]],
        "the retry goes to lubit only"
    );
}

#[test]
fn every_recipient_refused_is_permanent_and_names_them() {
    let smtp = SmtpServer::start();
    smtp.reply_to_rcpt("sena@example.com", Some("550 5.1.1 No such user"));
    smtp.reply_to_rcpt("lubit@example.com", Some("553 5.1.3 Bad address"));
    let message = expect_permanent(run(email(smtp.port(), None, None).send_pending(
        &delivery(rollback(), None),
        &mut RecipientProgress::default(),
    )));
    for part in ["sena@example.com", "550", "lubit@example.com", "553"] {
        assert!(message.contains(part), "{part} in {message}");
    }
    assert!(smtp.messages().is_empty());
}

#[test]
fn no_recipient_with_email_is_permanent() {
    let smtp = SmtpServer::start();
    let mut d = delivery(rollback(), None);
    d.recipients.iter_mut().for_each(|p| p.email = None);
    let message = expect_permanent(run(email(smtp.port(), None, None).send(&d)));
    assert_eq!(message, "email: no recipient has an email address");
}

#[test]
fn smtp_errors_never_show_the_password() {
    // aiosmtpd offers no AUTH on a plain connection, so login cannot happen.
    let smtp = SmtpServer::start();
    let password = "hunter2-SECRET-smtp";
    let notifier = email(smtp.port(), Some("sena"), Some(password));
    let err = run(notifier.send(&delivery(rollback(), None))).unwrap_err();
    assert!(!err.to_string().contains(password), "{err}");
    assert!(!format!("{err:?} {notifier:?}").contains(password));
}
