//! Proves the integration-test harness itself: the real Prometheus scrapes
//! the test app and sees its changes, the real SMTP server stores and
//! decodes what lettre sends and can refuse it, the Slack stand-in records
//! and fails on demand, and child processes die with their handles.
//! None of this needs the `sena` daemon.

mod common;

use std::time::Duration;

use common::prometheus::Prometheus;
use common::slack::SlackStandIn;
use common::smtp::SmtpServer;
use common::{http, shared};

const DEADLINE: Duration = Duration::from_secs(30);

fn ratio_query(app: &str) -> String {
    format!(
        "sum(rate(http_requests_total{{app=\"{app}\",track=\"canary\",code=~\"5..\"}}[10s])) \
         / sum(rate(http_requests_total{{app=\"{app}\",track=\"canary\"}}[10s]))"
    )
}

#[test]
fn prometheus_scrapes_the_test_app() {
    let s = shared();
    s.app_ready("smoke-up");
    assert_eq!(
        s.prometheus.query_value("min(up{job=\"testapp\"})"),
        Some(1.0)
    );
    for track in ["canary", "stable"] {
        let rps = s.prometheus.wait_for_value(
            &format!("sum(rate(http_requests_total{{app=\"smoke-up\",track=\"{track}\"}}[10s]))"),
            |v| (v - 100.0).abs() < 1.0,
            DEADLINE,
        );
        assert!((rps - 100.0).abs() < 1.0, "{track} rps {rps}");
    }
    // Healthy means an error ratio of exactly 0, not an empty result.
    assert_eq!(
        s.prometheus.query_value(&ratio_query("smoke-up")),
        Some(0.0)
    );
}

#[test]
fn error_ratio_change_reaches_promql() {
    let s = shared();
    let app = s.app_ready("smoke-errors");
    app.set_error_ratio(0.05);
    // Crosses a 0.1% threshold within a couple of scrapes...
    s.prometheus
        .wait_for_value(&ratio_query("smoke-errors"), |v| v > 0.001, DEADLINE);
    // ...and reaches the configured ratio once the 10s window is all errors.
    s.prometheus.wait_for_value(
        &ratio_query("smoke-errors"),
        |v| (v - 0.05).abs() < 0.001,
        DEADLINE,
    );
    app.set_healthy();
    s.prometheus
        .wait_for_value(&ratio_query("smoke-errors"), |v| v == 0.0, DEADLINE);
}

#[test]
fn latency_and_satisfaction_reach_promql() {
    let s = shared();
    let app = s.app_ready("smoke-latency");
    let p95 = "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{app=\"smoke-latency\",track=\"canary\"}[10s])))";
    let healthy = s
        .prometheus
        .wait_for_value(p95, |v| v.is_finite(), DEADLINE);
    assert!(healthy < 0.1 + 1e-9, "healthy p95 {healthy}");
    app.set_latency(3.0);
    s.prometheus.wait_for_value(p95, |v| v > 2.0, DEADLINE);

    let satisfied = "sum(rate(user_satisfaction_total{app=\"smoke-latency\",track=\"canary\",outcome=\"satisfied\"}[10s])) / sum(rate(user_satisfaction_total{app=\"smoke-latency\",track=\"canary\"}[10s]))";
    let before = s
        .prometheus
        .wait_for_value(satisfied, |v| v.is_finite(), DEADLINE);
    assert!(
        (before - 0.99).abs() < 1e-6,
        "healthy satisfaction {before}"
    );
    app.set_satisfaction(0.5);
    s.prometheus
        .wait_for_value(satisfied, |v| (v - 0.5).abs() < 1e-6, DEADLINE);
}

#[test]
fn no_traffic_makes_the_ratios_nan() {
    let s = shared();
    let app = s.app_ready("smoke-idle");
    app.set_traffic(0.0);
    s.prometheus.wait_for_value(
        "sum(rate(http_requests_total{app=\"smoke-idle\",track=\"canary\"}[10s]))",
        |v| v == 0.0,
        DEADLINE,
    );
    let ratio = s.prometheus.query_value(&ratio_query("smoke-idle"));
    assert!(ratio.is_none_or(f64::is_nan), "ratio {ratio:?}");
    // The stable track keeps serving.
    let stable = s
        .prometheus
        .query_value("sum(rate(http_requests_total{app=\"smoke-idle\",track=\"stable\"}[10s]))");
    assert!(stable.is_some_and(|v| v > 50.0), "stable {stable:?}");
}

#[test]
fn regions_split_the_canary_into_labelled_series() {
    let s = shared();
    let app = s.app.app("smoke-regions");
    app.set_regions(&["eu", "us"]);
    app.region("us").set_error_ratio(0.05);
    let per_region = |region: &str| {
        format!(
            "sum(rate(http_requests_total{{app=\"smoke-regions\",track=\"canary\",region=\"{region}\",code=\"500\"}}[10s])) \
             / sum(rate(http_requests_total{{app=\"smoke-regions\",track=\"canary\",region=\"{region}\"}}[10s]))"
        )
    };
    s.prometheus
        .wait_for_value(&per_region("us"), |v| v > 0.01, DEADLINE);
    assert_eq!(s.prometheus.query_value(&per_region("eu")), Some(0.0));
    assert_eq!(app.region("eu").behaviour().error_ratio, 0.0);
    assert_eq!(app.region("us").behaviour().error_ratio, 0.05);
    // No unlabelled canary series is left to dilute a sum by region.
    let unlabelled = s
        .prometheus
        .query("http_requests_total{app=\"smoke-regions\",track=\"canary\",region=\"\"}");
    assert_eq!(unlabelled["data"]["result"], serde_json::json!([]));
}

#[test]
fn hidden_canary_series_make_queries_empty() {
    let s = shared();
    let app = s.app_ready("smoke-hidden");
    app.set_exposed(false);
    // Instant selectors see the series vanish at the next scrape (a staleness
    // marker); rate()'s range keeps the older samples until they leave the
    // 10s window, and then queries over the canary are empty.
    let canary = "count(http_requests_total{app=\"smoke-hidden\",track=\"canary\"})";
    s.prometheus.wait_for_value(canary, f64::is_nan, DEADLINE);
    common::wait_until(
        "the error ratio to be an empty result",
        DEADLINE,
        || {
            s.prometheus
                .query_value(&ratio_query("smoke-hidden"))
                .is_none()
                .then_some(())
        },
        || {
            format!(
                "{:?}",
                s.prometheus.query_value(&ratio_query("smoke-hidden"))
            )
        },
    );
    assert_eq!(
        s.prometheus
            .query_value("count(http_requests_total{app=\"smoke-hidden\",track=\"stable\"})"),
        Some(2.0)
    );
    app.set_exposed(true);
    s.prometheus.wait_for_value(canary, |v| v == 2.0, DEADLINE);
}

#[test]
fn counters_never_decrease_across_changes() {
    let s = shared();
    let app = s.app.app("smoke-monotonic");
    let scrape = || -> Vec<(String, f64)> {
        let body = http::get(&s.app.metrics_url()).unwrap().body;
        body.lines()
            .filter(|l| l.contains("app=\"smoke-monotonic\""))
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').unwrap();
                (series.to_string(), value.parse().unwrap())
            })
            .collect()
    };
    let mut previous = scrape();
    // 2 tracks × (2 codes + 10 buckets + sum + count + 2 outcomes).
    assert_eq!(previous.len(), 32, "{previous:?}");
    let changes: [&dyn Fn(); 5] = [
        &|| app.set_error_ratio(0.5),
        &|| app.set_latency(7.0),
        &|| app.set_traffic(0.0),
        &|| app.set_satisfaction(0.1),
        &|| app.set_healthy(),
    ];
    for change in changes {
        change();
        let now = scrape();
        for ((series, before), (same, after)) in previous.iter().zip(&now) {
            assert_eq!(series, same);
            assert!(after >= before, "{series} went from {before} to {after}");
        }
        previous = now;
    }
}

#[test]
fn own_prometheus_stops_and_restarts_on_the_same_port_and_data() {
    let s = shared();
    s.app.app("smoke-restart");
    let prometheus = Prometheus::spawn(&s.app);
    let port = prometheus.port();
    let samples = "count_over_time(up{job=\"testapp\"}[1h])";
    let before = prometheus.wait_for_value(samples, |v| v >= 2.0, DEADLINE);

    prometheus.stop();
    assert!(!prometheus.is_running());
    assert!(
        http::get(&format!("{}/-/ready", prometheus.url())).is_err(),
        "port {port} still answers after stop()"
    );

    prometheus.start();
    assert_eq!(prometheus.port(), port);
    // Samples scraped before the stop survived in the data directory.
    let after = prometheus.wait_for_value(samples, |v| v > before, DEADLINE);
    assert!(after > before);
    prometheus.wait_for_app("smoke-restart", DEADLINE);
}

fn send_mail(port: u16, subject: &str) -> Result<(), lettre::transport::smtp::Error> {
    use lettre::message::MultiPart;
    use lettre::{Message, SmtpTransport, Transport};
    let message = Message::builder()
        .from("sena@example.com".parse().unwrap())
        .to("lubit@example.com".parse().unwrap())
        .to("copilot@example.com".parse().unwrap())
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(
            "error_rate 0.42% > 0.1% — ROLL BACK\n".repeat(20),
            "<p>error_rate <b>0.42%</b> &gt; 0.1% — ROLL BACK</p>".to_string(),
        ))
        .unwrap();
    let transport = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    transport.send(&message).map(|_| ())
}

#[test]
fn smtp_server_stores_decoded_mail_and_refuses_on_demand() {
    let smtp = SmtpServer::start();
    let subject = "[sena] ROLLBACK checkout-api 5%: error_rate 0.42% > 0.1% ✗";
    send_mail(smtp.port(), subject).expect("send through the test SMTP server");
    let mails = smtp.wait_for(1, DEADLINE);
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "sena@example.com");
    assert_eq!(mail.to, ["lubit@example.com", "copilot@example.com"]);
    assert_eq!(mail.subject, subject);
    assert!(
        mail.text.contains("error_rate 0.42% > 0.1% — ROLL BACK"),
        "{mail:#?}"
    );
    let html = mail.html.as_deref().expect("an HTML part");
    assert!(html.contains("<b>0.42%</b>"), "{html}");
    assert!(mail.raw.contains("multipart/alternative"), "{}", mail.raw);

    // Permanent refusal: lettre sees a 5xx, nothing is stored.
    smtp.reply_with(Some("550 5.7.1 Rejected for the test"));
    let err = send_mail(smtp.port(), "refused").expect_err("a 550 must fail the send");
    assert!(err.is_permanent(), "{err:?}");
    // Temporary refusal: a 4xx.
    smtp.reply_with(Some("451 4.3.0 Try again later"));
    let err = send_mail(smtp.port(), "deferred").expect_err("a 451 must fail the send");
    assert!(err.is_transient(), "{err:?}");
    smtp.reply_with(None);

    // Down, then back on the same port, keeping what it had.
    smtp.stop();
    send_mail(smtp.port(), "while down").expect_err("nothing listens while stopped");
    smtp.start_again();
    send_mail(smtp.port(), "after restart").expect("send after start_again");
    let mails = smtp.wait_for(2, DEADLINE);
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, [subject, "after restart"]);
}

#[test]
fn slack_stand_in_records_answers_and_fails_on_demand() {
    let slack = SlackStandIn::start();
    let webhook = |text: &str| {
        http::post(
            &slack.webhook_url(),
            "application/json",
            serde_json::json!({ "text": text }).to_string().as_bytes(),
        )
        .unwrap()
    };
    let ok = webhook("first");
    assert_eq!((ok.status, ok.body.as_str()), (200, "ok"));

    slack.fail_next(2, 429, Some(1));
    for _ in 0..2 {
        let limited = webhook("limited");
        assert_eq!(limited.status, 429);
        assert_eq!(limited.header("retry-after"), Some("1"));
    }
    assert_eq!(webhook("second").status, 200);
    slack.fail_next(1, 500, None);
    assert_eq!(webhook("broken").status, 500);

    let post = |method: &str| {
        http::request(
            "POST",
            &format!("{}/{method}", slack.api_url()),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", "Bearer xoxb-test"),
            ],
            br##"{"channel":"#deploys","text":"HOLD"}"##,
        )
        .unwrap()
        .json()
    };
    let first = post("chat.postMessage");
    let update = post("chat.update");
    assert_eq!(first["ok"], true);
    assert_eq!(first["channel"], "C0TEST");
    let ts = |v: &serde_json::Value| v["ts"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(ts(&update) > ts(&first), "{first} then {update}");

    let recorded = slack.wait_for(4, DEADLINE);
    let paths: Vec<&str> = recorded.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/webhook",
            "/webhook",
            "/api/chat.postMessage",
            "/api/chat.update"
        ]
    );
    assert_eq!(recorded[0].body["text"], "first");
    assert_eq!(recorded[1].body["text"], "second");
    assert_eq!(recorded[0].authorization, None);
    assert_eq!(
        recorded[2].authorization.as_deref(),
        Some("Bearer xoxb-test")
    );
    assert_eq!(recorded[2].body["channel"], "#deploys");
    let statuses: Vec<u16> = slack.all_attempts().iter().map(|a| a.1).collect();
    assert_eq!(statuses, [200, 429, 429, 200, 500, 200, 200]);
}

#[test]
fn dropped_children_are_killed() {
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("600");
    let child = common::process::spawn(cmd).unwrap();
    let pid = child.pid();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(child);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} outlived its handle"
    );
}

#[test]
fn metric_lines_and_listen_addresses_parse() {
    use common::sena::{listen_address, metric_value};
    let text = "# HELP x y\n# TYPE sena_verdict gauge\n\
                sena_config_last_reload_successful 1\n\
                sena_config_last_reload_successful_timestamp 17e8\n\
                sena_verdict{rollout=\"a\",verdict=\"hold\"} 0\n\
                sena_verdict{rollout=\"b\",verdict=\"hold\"} 1\n";
    assert_eq!(
        metric_value(text, "sena_config_last_reload_successful", &[]),
        Some(1.0)
    );
    assert_eq!(
        metric_value(text, "sena_verdict", &[("rollout", "b")]),
        Some(1.0)
    );
    assert_eq!(
        metric_value(text, "sena_verdict", &[("rollout", "c")]),
        None
    );

    let cfg = common::ConfigBuilder::new()
        .prometheus_url("http://127.0.0.1:1")
        .rollout("smoke-config", &common::rules::mission())
        .write();
    assert_eq!(listen_address(cfg.path()), cfg.listen);
    let yaml = cfg.yaml();
    assert!(yaml.contains("rules: [rules/smoke-config.yaml]"), "{yaml}");
    let rules = std::fs::read_to_string(cfg.rules_path("smoke-config")).unwrap();
    assert!(
        rules.contains("app=\"{{ rollout }}\",track=\"canary\""),
        "{rules}"
    );
}
