//! State changes beyond a breach, end to end (issue 8): a blind hold pages
//! only after `notify.blind_after`, and a rollout removed by a reload has its
//! open incident closed with a message saying so and its series dropped from
//! `/metrics`. Real binary, shared Prometheus, Slack stand-in.

mod common;

use std::time::{Duration, Instant};

use common::sena::Sena;
use common::slack::SlackStandIn;
use common::{people, wait_until, ConfigBuilder};

const DEADLINE: Duration = Duration::from_secs(40);

/// A check on a series nobody exports: always `no_data`, so always a blind hold.
const BLIND_RULES: &str = "checks:
  - name: canary_requests
    query: sum(rate(never_scraped_total[10s]))
    above: 0
    on_fail: hold
";

const FAILING_RULES: &str = "checks:
  - name: constant
    query: vector(1)
    below: 0.1
    on_fail: rollback
";

fn slack_texts(slack: &SlackStandIn) -> Vec<String> {
    slack
        .requests()
        .iter()
        .map(|r| r.body.to_string())
        .collect()
}

#[test]
fn a_blind_hold_pages_nobody_until_blind_after_has_passed() {
    let name = "s-blind";
    let slack = SlackStandIn::start();
    let cfg = ConfigBuilder::new()
        .rollout(name, BLIND_RULES)
        .slack_webhook(&slack.webhook_url())
        .roster(people::ROSTER)
        .raw("notify:\n  blind_after: 6s\n")
        .write();
    let started = Instant::now();
    let sena = Sena::start(cfg.path());
    // Hold at once: blind means hold.
    let held = sena.wait_for_verdict(name, "hold", DEADLINE);
    assert!(
        held["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("canary_requests"),
        "{held:#}"
    );
    // But nobody is paged during the grace: several evaluations, no post.
    let mut evaluations = 0;
    sena.observe_evaluations(name, DEADLINE, |r| {
        assert_eq!(r["verdict"], "hold");
        evaluations += 1;
        evaluations == 3
    });
    if started.elapsed() < Duration::from_secs(5) {
        assert!(
            slack.all_attempts().is_empty(),
            "paged inside the grace: {:?}",
            slack_texts(&slack)
        );
    }
    // Once the blind hold has lasted blind_after, level 0 hears it, once.
    let page = slack.wait_for(1, DEADLINE).remove(0);
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "paged after {:?}, before blind_after",
        started.elapsed()
    );
    let text = page.body.to_string();
    assert!(
        text.contains("HOLD") && text.contains("<@U0SENA>"),
        "{text}"
    );
}

#[test]
fn a_removed_rollout_has_its_incident_closed_and_its_series_dropped() {
    let kept = "s-kept";
    let gone = "s-removed";
    let slack = SlackStandIn::start();
    let cfg = ConfigBuilder::new()
        .rollout(kept, &FAILING_RULES.replace("vector(1)", "vector(0)"))
        .rollout(gone, FAILING_RULES)
        .slack_webhook(&slack.webhook_url())
        .roster(people::ROSTER)
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict(gone, "rollback", DEADLINE);
    let opened = slack.wait_for(1, DEADLINE);
    assert!(opened[0].body.to_string().contains("ROLL BACK s-removed"));
    assert!(sena.metric("sena_verdict", &[("rollout", gone)]).is_some());

    // The rollout leaves the config.
    let yaml = std::fs::read_to_string(cfg.path()).unwrap();
    let start = yaml.find(&format!("  - name: {gone}")).expect("its entry");
    let end = yaml[start..]
        .find("rules/s-removed.yaml]\n")
        .map(|i| start + i + "rules/s-removed.yaml]\n".len())
        .unwrap();
    std::fs::write(cfg.path(), format!("{}{}", &yaml[..start], &yaml[end..])).unwrap();
    let (code, body) = sena.post("/-/reload");
    assert_eq!(code, 200, "{body}");

    let closed = slack.wait_for(2, DEADLINE).remove(1);
    let text = closed.body.to_string();
    assert!(
        text.contains("CLOSED s-removed") && text.contains("removed from"),
        "the people paged hear that it is closed and why: {text}"
    );
    assert!(
        text.contains("<@U0SENA>") && text.contains("<@U0LUBIT>"),
        "{text}"
    );
    let (_, incidents) = sena.get("/api/v1/incidents");
    let incidents: serde_json::Value = serde_json::from_str(&incidents).unwrap();
    let incident = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rollout"] == gone)
        .cloned()
        .expect("its incident");
    assert!(!incident["resolved_at"].is_null(), "{incident:#}");
    let metrics = sena.metrics();
    assert!(
        !metrics.contains(&format!("rollout=\"{gone}\"")),
        "no series of the removed rollout: {metrics}"
    );
    assert!(metrics.contains(&format!("rollout=\"{kept}\"")));
    // Nothing more about it.
    wait_until(
        "two more evaluations of the kept rollout",
        DEADLINE,
        || {
            (sena
                .metric("sena_evaluations_total", &[("rollout", kept)])
                .unwrap_or(0.0)
                >= 5.0)
                .then_some(())
        },
        || sena.metrics(),
    );
    assert_eq!(slack.all_attempts().len(), 2, "{:?}", slack_texts(&slack));
}

/// `sena eval` without the daemon's store says which stage it judged and why.
#[test]
fn eval_says_which_stage_it_assumed_and_why() {
    let cfg = ConfigBuilder::new()
        .rollout(
            "s-eval-stage",
            &FAILING_RULES.replace("vector(1)", "vector(0)"),
        )
        .write();
    let out = common::sena::sena_cmd(&["eval", "--config", cfg.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("s-eval-stage: cannot read its stage (no state store at")
            && stderr.contains("judging its first stage (5%) as starting now"),
        "{stderr}"
    );
}
