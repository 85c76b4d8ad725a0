//! The dashboard over HTTP against the real daemon (issue 10, server
//! side): the overview lists a rollout with CONTINUE; a wrong token is
//! refused and never echoed; a good one sets a session cookie with its
//! flags; a form without a session goes to sign in, one with a bad CSRF
//! token is refused; GO through the form advances the stage (seen in
//! `/api/v1/status`) and is recorded `via: web`; signing out ends the
//! session. A real browser drives these pages in the browser tests.

mod common;

use std::time::Duration;

use common::config::RolloutSpec;
use common::http;
use common::people::{self, LUBIT, MIRA, PASSING};
use common::sena::Sena;
use common::ConfigBuilder;

const DEADLINE: Duration = Duration::from_secs(40);
const FORM: &str = "application/x-www-form-urlencoded";

fn get(sena: &Sena, path: &str, cookie: Option<&str>) -> http::Response {
    let cookie = cookie.map(|c| format!("sena_session={c}"));
    let mut headers = Vec::new();
    if let Some(c) = &cookie {
        headers.push(("Cookie", c.as_str()));
    }
    http::request("GET", &format!("{}{path}", sena.base_url()), &headers, b"").expect("GET")
}

fn post(sena: &Sena, path: &str, cookie: Option<&str>, body: &str) -> http::Response {
    let cookie = cookie.map(|c| format!("sena_session={c}"));
    let mut headers = vec![("Content-Type", FORM)];
    if let Some(c) = &cookie {
        headers.push(("Cookie", c.as_str()));
    }
    let url = format!("{}{path}", sena.base_url());
    http::request("POST", &url, &headers, body.as_bytes()).expect("POST")
}

/// Signs in with `token`; the session id from `Set-Cookie`.
fn sign_in(sena: &Sena, token: &str) -> String {
    let r = post(
        sena,
        "/login",
        None,
        &format!("token={token}&next=%2Frollouts%2Fdash-go"),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/rollouts/dash-go"));
    let cookie = r
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    let value = cookie
        .strip_prefix("sena_session=")
        .and_then(|v| v.split(';').next())
        .expect("sena_session=VALUE");
    assert_eq!(value.len(), 64);
    value.to_string()
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_string()
}

#[test]
fn the_dashboard_lists_signs_in_and_takes_a_go_through_the_api_door() {
    // Public reads: this test is about the read-only view before signing
    // in (closed reads: `with_tokens_the_pages_need_a_session_…`).
    let cfg = people::with_people(ConfigBuilder::new())
        .server_key("public_reads: true")
        .rollout_with(RolloutSpec::new("dash-go", PASSING).stages(&[
            ("5%", Some("2s")),
            ("10%", Some("1h")),
            ("100%", None),
        ]))
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_rollout("dash-go", "to be ready to expand", DEADLINE, |r| {
        !r["ready_to_expand"].is_null()
    });

    // The overview, read-only, with its security headers.
    let page = get(&sena, "/", None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains("data-rollout=\"dash-go\" data-verdict=\"continue\""));
    assert!(page.body.contains("CONTINUE"));
    assert!(page.body.contains("ready — waiting for lubit"));
    assert!(page.body.contains("id=\"sign-in-link\"") && !page.body.contains("<button id=\"go\""));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(get(&sena, "/rollouts/nope", None).status, 404);
    assert_eq!(get(&sena, "/assets/live.js", None).status, 200);
    let fragment = get(&sena, "/fragments/overview?verdict=continue", None);
    assert!(fragment.body.contains("data-rollout=\"dash-go\""));

    // A wrong token: the form again, 401, the token nowhere.
    let wrong = "not-a-token-5f5f5f5f";
    let refused = post(&sena, "/login", None, &format!("token={wrong}&next=%2F"));
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("That token is not valid"));
    assert!(refused.header("set-cookie").is_none());
    assert!(!refused.body.contains(wrong));
    // Tokens are configured: the sign-in page must not call itself read-only.
    assert!(
        !refused.body.contains("id=\"read-only\""),
        "{}",
        refused.body
    );
    assert!(!sena.logs().contains(wrong), "the token reached the log");
    assert_eq!(
        sena.metric(
            "sena_http_unauthorized_total",
            &[("reason", "invalid_token")]
        ),
        Some(1.0)
    );

    // A form without a session is sent to sign in.
    let anonymous = post(
        &sena,
        "/rollouts/dash-go/decide",
        None,
        "decision=go&stage=0&csrf=x",
    );
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        Some("/login?next=%2Frollouts%2Fdash-go")
    );

    // Signed in: the page offers GO; a bad CSRF token is refused.
    let session = sign_in(&sena, LUBIT);
    let page = get(&sena, "/rollouts/dash-go", Some(&session));
    assert!(page.body.contains("data-who=\"lubit\""), "{}", page.body);
    assert!(page.body.contains("<button id=\"go\""));
    let token = csrf(&page.body);
    let bad = post(
        &sena,
        "/rollouts/dash-go/decide",
        Some(&session),
        &format!("decision=go&stage=0&csrf={}", "0".repeat(64)),
    );
    assert_eq!(bad.status, 403, "{}", bad.body);
    // Hostile bodies: a clear 400 page, nothing decided.
    for body in [
        format!("decision=%3Cscript%3Ealert(1)&stage=0&csrf={token}"),
        format!("decision=go&stage=NaN&csrf={token}"),
        format!("decision=go&stage=-1&csrf={token}"),
        format!("decision=go&stage=99999999999999999999999&csrf={token}"),
    ] {
        let r = post(&sena, "/rollouts/dash-go/decide", Some(&session), &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains("id=\"bad-form\""), "{}", r.body);
        assert!(!r.body.contains("<script>alert"), "{}", r.body);
    }
    let long = "x".repeat(2001);
    let r = post(
        &sena,
        "/rollouts/dash-go/decide",
        Some(&session),
        &format!("decision=no_go&stage=0&comment={long}&csrf={token}"),
    );
    assert_eq!(r.status, 303);
    let shown = get(&sena, "/rollouts/dash-go", Some(&session));
    assert!(
        shown.body.contains("longer than 2000 characters"),
        "{}",
        shown.body
    );
    // An escape sequence in a comment would reach terminals through
    // `sena dataset`: refused at the form, shown on the page, not recorded.
    let r = post(
        &sena,
        "/rollouts/dash-go/decide",
        Some(&session),
        &format!("decision=no_go&stage=0&comment=ok%1B%5B2Jwiped&csrf={token}"),
    );
    assert_eq!(r.status, 303);
    let shown = get(&sena, "/rollouts/dash-go", Some(&session));
    assert!(
        shown.body.contains(
            "Not recorded: the comment cannot contain control characters (U+001B at character 3)"
        ),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains('\u{1b}'), "{}", shown.body);
    assert_eq!(sena.rollout("dash-go")["stage"]["index"], 0);

    // GO through the form: redirected back with the outcome, stage 1.
    let go = post(
        &sena,
        "/rollouts/dash-go/decide",
        Some(&session),
        &format!("decision=go&stage=0&csrf={token}"),
    );
    assert_eq!(go.status, 303, "{}", go.body);
    assert_eq!(go.header("location"), Some("/rollouts/dash-go"));
    let after = get(&sena, "/rollouts/dash-go", Some(&session));
    assert!(
        after.body.contains("GO by lubit recorded"),
        "{}",
        after.body
    );
    sena.wait_for_rollout("dash-go", "to be at stage 1", DEADLINE, |r| {
        r["stage"]["index"] == 1
    });
    let (status, body) = sena.get("/api/v1/rollouts/dash-go/decisions");
    assert_eq!(status, 200);
    let records: serde_json::Value = serde_json::from_str(&body).unwrap();
    let last = records["decisions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["via"], "web");
    assert_eq!(last["by"], "lubit");
    assert_eq!(last["outcome"], "accepted");

    // A bystander's NO-GO goes through the same checks: refused, shown.
    let mira = sign_in(&sena, MIRA);
    let page = get(&sena, "/rollouts/dash-go", Some(&mira));
    let refused = post(
        &sena,
        "/rollouts/dash-go/decide",
        Some(&mira),
        &format!(
            "decision=no_go&stage=1&comment=looks+off&csrf={}",
            csrf(&page.body)
        ),
    );
    assert_eq!(refused.status, 303);
    let shown = get(&sena, "/rollouts/dash-go", Some(&mira));
    assert!(shown.body.contains("Refused:"), "{}", shown.body);
    assert_eq!(sena.rollout("dash-go")["stage"]["index"], 1);

    // Signing out ends the session: its cookie no longer acts.
    let out = post(&sena, "/logout", Some(&session), &format!("csrf={token}"));
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let stale = post(
        &sena,
        "/rollouts/dash-go/decide",
        Some(&session),
        &format!("decision=go&stage=1&csrf={token}"),
    );
    assert_eq!(stale.status, 303);
    assert!(stale.header("location").unwrap().starts_with("/login"));
}

#[test]
fn an_open_incident_is_acknowledged_from_the_page_under_the_sessions_person() {
    let cfg = people::with_people(ConfigBuilder::new())
        .server_key("public_reads: true")
        .rollout_with(RolloutSpec::new("dash-ack", people::FAILING))
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict("dash-ack", "rollback", DEADLINE);
    let incident = common::wait_until(
        "an open incident for dash-ack",
        DEADLINE,
        || {
            let (_, body) = sena.get("/api/v1/incidents");
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            v["incidents"]
                .as_array()?
                .iter()
                .find(|i| i["rollout"] == "dash-ack" && i["resolved_at"].is_null())
                .and_then(|i| i["id"].as_i64())
        },
        || sena.logs_tail(),
    );

    let overview = get(&sena, "/?verdict=rollback", None);
    assert!(overview
        .body
        .contains("data-rollout=\"dash-ack\" data-verdict=\"rollback\""));
    assert!(overview.body.contains("ROLL BACK"));
    let anonymous = get(&sena, "/rollouts/dash-ack", None);
    assert!(anonymous
        .body
        .contains(&format!("data-incident=\"{incident}\"")));
    assert!(
        !anonymous.body.contains("class=\"ack\""),
        "read-only without a session"
    );

    let session = {
        let r = post(
            &sena,
            "/login",
            None,
            &format!("token={LUBIT}&next=%2Frollouts%2Fdash-ack"),
        );
        assert_eq!(r.status, 303);
        let c = r.header("set-cookie").unwrap();
        c["sena_session=".len()..c.find(';').unwrap()].to_string()
    };
    let page = get(&sena, "/rollouts/dash-ack", Some(&session));
    assert!(page.body.contains(&format!(
        "class=\"ack\" type=\"submit\" data-incident=\"{incident}\""
    )));
    let acked = post(
        &sena,
        &format!("/incidents/{incident}/ack"),
        Some(&session),
        &format!("csrf={}&back=%2Frollouts%2Fdash-ack", csrf(&page.body)),
    );
    assert_eq!(acked.status, 303, "{}", acked.body);
    assert_eq!(acked.header("location"), Some("/rollouts/dash-ack"));
    let shown = get(&sena, "/rollouts/dash-ack", Some(&session));
    assert!(
        shown.body.contains("acknowledged by lubit"),
        "{}",
        shown.body
    );
    let (_, body) = sena.get("/api/v1/incidents");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let record = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == incident)
        .unwrap()
        .clone();
    assert_eq!(record["acked_by"], "lubit");
}

#[test]
fn without_tokens_the_pages_answer_this_host_read_only() {
    // From another host they answer 403 (`page::may_view`, unit-tested):
    // the tests reach only loopback.
    let cfg = ConfigBuilder::new()
        .rollout_with(RolloutSpec::new("dash-local", PASSING))
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_for_verdict("dash-local", "continue", DEADLINE);
    let page = get(&sena, "/", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"read-only\""));
    assert!(!page.body.contains("id=\"sign-in-link\""));
    let rollout = get(&sena, "/rollouts/dash-local", None);
    assert!(!rollout.body.contains("<form"), "no forms without tokens");
    let login = post(&sena, "/login", None, "token=anything&next=%2F");
    assert_eq!(login.status, 403);
    assert!(login.header("set-cookie").is_none());
    let decide = post(
        &sena,
        "/rollouts/dash-local/decide",
        None,
        "decision=go&stage=0&csrf=x",
    );
    assert_eq!(
        decide.status, 303,
        "sent to sign in, which says tokens are needed"
    );
    assert_eq!(sena.rollout("dash-local")["stage"]["index"], 0);
}

/// Rotating a leaked token (same person, a new token file, a reload) signs
/// out whoever signed in with the old one; other people's sessions and a
/// sign-in with the new token go on. Before, the session kept only the
/// person, so the leaked token's session could still GO for 12 hours.
#[test]
fn rotating_a_token_signs_out_the_sessions_made_with_it() {
    let cfg = people::with_people(ConfigBuilder::new())
        .rollout_with(RolloutSpec::new("dash-go", PASSING))
        .write();
    let sena = Sena::start(cfg.path());
    let leaked = sign_in(&sena, MIRA);
    let other = sign_in(&sena, LUBIT);
    let who = |session: &str| {
        let page = get(&sena, "/", Some(session));
        if page.status == 303 {
            // Reads are closed: without a live session, sign in first.
            assert_eq!(page.header("location"), Some("/login?next=%2F"));
            return None;
        }
        assert_eq!(page.status, 200, "{}", page.body);
        page.body.contains("data-who=").then(|| {
            let at = page.body.find("data-who=\"").unwrap() + 10;
            page.body[at..].split('"').next().unwrap().to_string()
        })
    };
    assert_eq!(who(&leaked).as_deref(), Some("mira"));

    let rotated = "mira-rotated-6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d";
    cfg.write_file("tokens/mira", &format!("{rotated}\n"));
    sena.sighup();
    common::wait_until(
        "the leaked token's session to end",
        DEADLINE,
        || who(&leaked).is_none().then_some(()),
        || sena.logs_tail(),
    );
    assert_eq!(
        who(&other).as_deref(),
        Some("lubit"),
        "lubit's token did not change"
    );
    let fresh = sign_in(&sena, rotated);
    assert_eq!(who(&fresh).as_deref(), Some("mira"));
}

/// With `server.tokens` and without `server.public_reads`, the pages are
/// reads like `/api/v1/status` (issue 16): a visitor without a session is
/// sent to sign in and comes back where it was going; a fragment answers
/// 401; the sign-in form and the assets stay open. A token holds one
/// session: signing in again ends the last. Behind HTTPS the cookie is
/// `__Host-` and `Secure`.
#[test]
fn with_tokens_the_pages_need_a_session_and_a_new_sign_in_ends_the_last() {
    let cfg = people::with_people(ConfigBuilder::new())
        .rollout_with(RolloutSpec::new("dash-go", PASSING))
        .write();
    let sena = Sena::start(cfg.path());
    let overview = get(&sena, "/", None);
    assert_eq!(overview.status, 303, "{}", overview.body);
    assert_eq!(overview.header("location"), Some("/login?next=%2F"));
    assert!(!overview.body.contains("dash-go"));
    let page = get(&sena, "/rollouts/dash-go?x=1&y=2", None);
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location"),
        Some("/login?next=%2Frollouts%2Fdash-go%3Fx%3D1%26y%3D2")
    );
    for closed in [
        "/fragments/overview",
        "/fragments/rollouts/dash-go",
        "/oncall",
    ] {
        let r = get(&sena, closed, None);
        assert!([303, 401].contains(&r.status), "{closed}: {}", r.status);
        assert!(!r.body.contains("dash-go\""), "{closed}: {}", r.body);
    }
    assert_eq!(get(&sena, "/login", None).status, 200);
    assert_eq!(get(&sena, "/assets/sena.css", None).status, 200);

    let first = sign_in(&sena, LUBIT);
    assert_eq!(get(&sena, "/", Some(&first)).status, 200);
    let second = sign_in(&sena, LUBIT);
    assert_eq!(get(&sena, "/", Some(&second)).status, 200);
    assert_eq!(
        get(&sena, "/", Some(&first)).status,
        303,
        "the first session ended with the second sign-in"
    );
    let mira = sign_in(&sena, MIRA);
    assert_eq!(
        get(&sena, "/", Some(&second)).status,
        200,
        "another token's session stays"
    );
    assert_eq!(get(&sena, "/", Some(&mira)).status, 200);

    // Behind a proxy that terminates TLS: a `__Host-` cookie.
    let r = http::request(
        "POST",
        &format!("{}/login", sena.base_url()),
        &[("Content-Type", FORM), ("X-Forwarded-Proto", "https")],
        format!("token={LUBIT}&next=%2F").as_bytes(),
    )
    .expect("POST /login");
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = r.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("__Host-sena_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let value = cookie["__Host-sena_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    let host_cookie = format!("__Host-sena_session={value}");
    let page = http::request(
        "GET",
        &format!("{}/", sena.base_url()),
        &[("Cookie", host_cookie.as_str())],
        b"",
    )
    .expect("GET /");
    assert_eq!(page.status, 200, "the __Host- cookie is read back");
}
