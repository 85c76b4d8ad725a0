//! The dashboard as a person sees it, in a real headless Chromium driven by
//! chromedriver (tests/common/browser.rs), against the real daemon, the real
//! Prometheus and the test app:
//! - the overview says CONTINUE, then ROLL BACK once the canary breaks,
//!   without anyone reloading the page;
//! - the rollout page shows the failing check's value and its threshold;
//! - a wrong token is refused with a message; the approver's token signs in
//!   and GO moves the stage ladder on;
//! - a count check's counts and interval are written out, and its interval
//!   is a band on its chart;
//! - at a phone's 390 px the overview does not scroll sideways and the
//!   verdict is on screen.
//!
//! Each step saves a screenshot under `target/screenshots/` for a person to
//! look at. The element hooks used are the ones the page module promises
//! (src/server/page/mod.rs).

mod common;

use std::time::Duration;

use serde_json::json;

use common::browser::{self, Browser};
use common::people::{with_people, LUBIT, PASSING};
use common::sena::Sena;
use common::{rules, shared, ConfigBuilder, RolloutSpec};

/// Covers a breach crossing the rate window and a slow Chromium start on a
/// busy machine.
const DEADLINE: Duration = Duration::from_secs(60);

/// The overview row's verdict badge of `rollout`.
fn row_verdict(rollout: &str) -> String {
    format!("#rollouts tr[data-rollout=\"{rollout}\"] .verdict")
}

#[test]
fn the_overview_turns_from_continue_to_roll_back_by_itself_and_the_rollout_page_shows_why() {
    let app = shared().app_ready("b-breaks");
    let name = app.name();
    let cfg = with_people(ConfigBuilder::new())
        // The pages read before signing in (issue 16 closes them by default).
        .server_key("public_reads: true")
        .rollout(name, &rules::file(&[rules::error_rate("2s")]))
        .write();
    let sena = Sena::start(cfg.path());
    let b = Browser::start();

    b.goto(&format!("{}/", sena.base_url()));
    b.wait_for_text(
        &row_verdict(name),
        "to say CONTINUE",
        |t| t.contains("CONTINUE"),
        DEADLINE,
    );
    b.screenshot("overview-1-continue");
    b.wait_for("#live-status[data-state=\"live\"]", DEADLINE);
    // Set on this document only: a reload would lose it.
    b.execute(
        "window.senaTestMark = 'same document'; return null;",
        json!([]),
    );

    app.set_error_ratio(0.05);
    b.wait_for_text(
        &row_verdict(name),
        "to say ROLL BACK",
        |t| t.contains("ROLL BACK"),
        DEADLINE,
    );
    b.screenshot("overview-2-rollback");
    assert_eq!(
        b.execute("return window.senaTestMark || null;", json!([])),
        "same document",
        "the overview changed without a reload (the page refreshes its own data)"
    );
    let row = b
        .text(&format!("#rollouts tr[data-rollout=\"{name}\"]"))
        .unwrap_or_default();
    assert!(
        row.contains("error_rate"),
        "the worst check is named: {row}"
    );
    assert_eq!(
        b.execute(
            "const r = document.querySelector(arguments[0]); return r && r.dataset.verdict;",
            json!([format!("#rollouts tr[data-rollout=\"{name}\"]")]),
        ),
        "rollback"
    );

    // The rollout page: the failing value next to its threshold.
    b.goto(&format!("{}/rollouts/{name}", sena.base_url()));
    b.wait_for_text(
        "#verdict",
        "to say ROLL BACK",
        |t| t.contains("ROLL BACK"),
        DEADLINE,
    );
    let check = "#checks tr[data-check=\"error_rate\"]";
    b.wait_for(&format!("{check}[data-status=\"failing\"]"), DEADLINE);
    let value = b.text(&format!("{check} td.value")).unwrap_or_default();
    let threshold = b.text(&format!("{check} td.threshold")).unwrap_or_default();
    assert!(threshold.contains("0.1%"), "threshold shown: {threshold:?}");
    let shown: f64 = value
        .split('%')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("the value is a percentage: {value:?}"));
    assert!(
        shown > 0.1 && shown <= 100.0,
        "the failing value is above the limit: {value:?}"
    );
    let status = b.text(check).unwrap_or_default().to_lowercase();
    assert!(status.contains("failing"), "status in words: {status}");
    b.screenshot("rollout-1-failing-check");
}

#[test]
fn a_count_check_shows_its_counts_and_its_interval_band() {
    let app = shared().app_ready("b-counts");
    let name = app.name();
    app.set_error_ratio(0.05);
    let cfg = with_people(ConfigBuilder::new())
        // The pages read before signing in (issue 16 closes them by default).
        .server_key("public_reads: true")
        .rollout(name, &rules::file(&[rules::error_count()]))
        .write();
    let sena = Sena::start(cfg.path());
    let b = Browser::start();

    b.goto(&format!("{}/rollouts/{name}", sena.base_url()));
    b.wait_for_text(
        "#verdict",
        "to say ROLL BACK",
        |t| t.contains("ROLL BACK"),
        DEADLINE,
    );
    let check = "#checks tr[data-check=\"error_count\"]";
    b.wait_for(&format!("{check}[data-status=\"failing\"]"), DEADLINE);
    // What a person reads: how many bad of how many, and the interval.
    let evidence = b.wait_for_text(
        &format!("{check} ul.evidence"),
        "to show the counts",
        |t| t.contains("bad of") && t.contains("95% interval"),
        DEADLINE,
    );
    assert!(
        evidence.contains("requests since the stage began"),
        "{evidence}"
    );
    // The interval drawn behind the values, once the journal has a point.
    b.wait_for(
        &format!("{check} svg.chart path.interval[data-check=\"error_count\"]"),
        DEADLINE,
    );
    assert!(
        b.visible(&format!("{check} svg.chart path.interval")),
        "the band is on screen"
    );
    b.screenshot("counts-1-evidence-and-band");

    // The same evidence, typed, for machines.
    let rollout = sena.rollout(name);
    let e = &rollout["checks"][0]["evidence"];
    assert_eq!(e["finding"], "exceeds", "{rollout:#}");
    assert!(e["total"].as_f64().is_some_and(|t| t > 0.0), "{rollout:#}");
    assert!(
        e["lower"].as_f64().unwrap_or(-1.0) <= e["upper"].as_f64().unwrap_or(-2.0),
        "{rollout:#}"
    );
    let metrics = sena.metrics();
    for series in [
        "sena_check_evidence_requests{",
        "sena_check_interval_upper{",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(series) && l.contains(&format!("rollout=\"{name}\""))),
            "{series} missing:\n{metrics}"
        );
    }

    // On a phone the evidence wraps: nothing scrolls sideways.
    b.set_window_size(390, 844);
    b.goto(&format!("{}/rollouts/{name}", sena.base_url()));
    b.wait_for(&format!("{check} ul.evidence"), DEADLINE);
    let scroll = b.execute("return document.documentElement.scrollWidth;", json!([]));
    b.screenshot("counts-2-phone");
    assert!(
        scroll.as_u64().is_some_and(|w| w <= 390),
        "the count check's evidence scrolls sideways on a phone: scrollWidth {scroll}"
    );
}

#[test]
fn a_wrong_token_is_refused_and_the_approvers_go_advances_the_stage() {
    let name = "b-approve";
    let cfg = with_people(ConfigBuilder::new())
        // The pages read before signing in (issue 16 closes them by default).
        .server_key("public_reads: true")
        .rollout_with(RolloutSpec::new(name, PASSING).stages(&[
            ("5%", Some("1s")),
            ("50%", Some("1h")),
            ("100%", None),
        ]))
        .write();
    let sena = Sena::start(cfg.path());
    let b = Browser::start();
    let current = "ol.ladder li[aria-current=\"step\"]";

    b.goto(&format!("{}/rollouts/{name}", sena.base_url()));
    b.wait_for_text(current, "to mark 5%", |t| t.contains("5%"), DEADLINE);
    assert!(
        b.find("button#go").is_err(),
        "no GO without a session (read-only)"
    );
    b.screenshot("approve-1-read-only");

    // A wrong token: refused, said so, still signed out.
    b.click("#sign-in-link", DEADLINE);
    b.wait_for("form#login", DEADLINE);
    b.type_into("input#token", "not-a-token-of-anyone", DEADLINE);
    b.click("button#sign-in", DEADLINE);
    let refusal = b.wait_for_text(
        "#login-error",
        "to say the token was refused",
        |t| !t.trim().is_empty(),
        DEADLINE,
    );
    assert!(
        b.visible("#login-error"),
        "the refusal is on screen: {refusal}"
    );
    assert!(b.find("#signed-in").is_err(), "not signed in");
    b.screenshot("approve-2-wrong-token");

    // The approver's token: signed in as lubit.
    b.type_into("input#token", LUBIT, DEADLINE);
    b.click("button#sign-in", DEADLINE);
    b.wait_for("#signed-in[data-who=\"lubit\"]", DEADLINE);
    assert!(
        !b.execute("return document.cookie;", json!([]))
            .as_str()
            .unwrap_or_default()
            .contains(LUBIT),
        "the token is not readable from the page"
    );

    // The stage has baked with every check passing: GO is offered.
    b.goto(&format!("{}/rollouts/{name}", sena.base_url()));
    b.wait_for("button#go", DEADLINE);
    b.screenshot("approve-3-go-offered");
    b.click("button#go", DEADLINE);
    b.wait_for_text(
        current,
        "to mark 50% after GO",
        |t| t.contains("50%"),
        DEADLINE,
    );
    let done = b
        .text("ol.ladder li.done")
        .unwrap_or_else(|| panic!("5% is marked done"));
    assert!(done.contains("5%"), "{done}");
    b.screenshot("approve-4-after-go");
    let stage = sena.wait_for_rollout(name, "to be at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });
    assert_eq!(stage["stage"]["traffic"], "50%");
    let decisions = b.text("#decisions").unwrap_or_default();
    assert!(
        decisions.contains("lubit"),
        "the GO is recorded under lubit: {decisions}"
    );
}

#[test]
fn on_a_phone_the_overview_fits_and_shows_the_verdict() {
    let name = "b-phone";
    let cfg = with_people(ConfigBuilder::new())
        // The pages read before signing in (issue 16 closes them by default).
        .server_key("public_reads: true")
        .rollout(name, PASSING)
        .write();
    let sena = Sena::start(cfg.path());
    let b = Browser::start();
    b.set_window_size(390, 844);
    b.goto(&format!("{}/", sena.base_url()));
    b.wait_for_text(
        &row_verdict(name),
        "to say CONTINUE",
        |t| t.contains("CONTINUE"),
        DEADLINE,
    );
    assert_eq!(
        b.execute("return window.innerWidth;", json!([])),
        390,
        "the viewport is a phone's"
    );
    let scroll = b.execute("return document.documentElement.scrollWidth;", json!([]));
    assert!(
        scroll.as_u64().is_some_and(|w| w <= 390),
        "the overview scrolls sideways on a phone: scrollWidth {scroll}"
    );
    let badge = b.execute(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();
         return [r.left, r.right, r.width, r.height];",
        json!([row_verdict(name)]),
    );
    let [left, right, width, height] = [0, 1, 2, 3].map(|i| badge[i].as_f64().unwrap_or(-1.0));
    assert!(
        left >= 0.0 && right <= 390.0 && width > 0.0 && height > 0.0,
        "the verdict is on screen: {badge}"
    );
    b.screenshot("phone-1-overview");

    // The rollout page too: its tables become cards, nothing sideways.
    b.goto(&format!("{}/rollouts/{name}", sena.base_url()));
    b.wait_for_text(
        "#verdict",
        "to say CONTINUE",
        |t| t.contains("CONTINUE"),
        DEADLINE,
    );
    b.wait_for("#checks tr[data-check=\"errors\"]", DEADLINE);
    let scroll = b.execute("return document.documentElement.scrollWidth;", json!([]));
    b.screenshot("phone-2-rollout");
    assert!(
        scroll.as_u64().is_some_and(|w| w <= 390),
        "the rollout page scrolls sideways on a phone: scrollWidth {scroll}"
    );
}

#[test]
fn base64_decodes_with_and_without_padding() {
    assert_eq!(browser::base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(browser::base64_decode("aGk=").unwrap(), b"hi");
    assert_eq!(browser::base64_decode("aGV5").unwrap(), b"hey");
    assert!(browser::base64_decode("a$==").is_none());
}
