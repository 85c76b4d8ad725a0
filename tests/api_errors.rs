//! Every refusal under `/api/` is JSON with a stable `error` code and a
//! `message` (issue 16, finding 7), against the real daemon: axum's own
//! rejections (a body over the limit, a query string or a path that does
//! not parse, an unknown route) used to answer plain text.

mod common;

use common::http;
use common::people::{self, LUBIT, PASSING};
use common::sena::Sena;
use common::ConfigBuilder;
use serde_json::Value;

fn assert_json_error(r: &http::Response, status: u16, code: &str, what: &str) -> Value {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}: {:?} {}",
        r.header("content-type"),
        r.body
    );
    let json: Value =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{what}: {e}: {}", r.body));
    assert_eq!(json["error"], code, "{what}: {}", r.body);
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        r.body
    );
    json
}

#[test]
fn axum_rejections_under_api_answer_json_with_a_code_and_a_message() {
    let cfg = people::with_people(ConfigBuilder::new())
        .rollout("errors-json", PASSING)
        .write();
    let sena = Sena::start(cfg.path());
    let base = sena.base_url();
    let bearer = format!("Bearer {LUBIT}");
    let auth = [("Authorization", bearer.as_str())];
    let get = |path: &str| http::request("GET", &format!("{base}{path}"), &auth, b"").expect("GET");

    let query = get("/api/v1/incidents?limit=many");
    let json = assert_json_error(&query, 400, "bad_request", "a query string");
    assert!(
        json["message"].as_str().unwrap().contains("limit"),
        "{json}"
    );

    let path = http::request(
        "POST",
        &format!("{base}/api/v1/incidents/abc/ack"),
        &auth,
        b"",
    )
    .expect("POST");
    assert_json_error(&path, 400, "bad_request", "a path that is not a number");

    let big = vec![b'x'; 3 << 20];
    let too_large = http::request(
        "POST",
        &format!("{base}/api/v1/rollouts/errors-json/decisions"),
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        &big,
    )
    .expect("POST a big body");
    assert_json_error(
        &too_large,
        413,
        "payload_too_large",
        "a body over the limit",
    );

    assert_json_error(&get("/api/v1/nope"), 404, "not_found", "an unknown route");
    let method =
        http::request("DELETE", &format!("{base}/api/v1/status"), &auth, b"").expect("DELETE");
    assert_json_error(&method, 405, "method_not_allowed", "a wrong method");
    assert_json_error(
        &get("/api/v1/incidents/1/ack"),
        405,
        "method_not_allowed",
        "GET of a POST route",
    );

    // The existing JSON refusals keep their shape.
    let unauthorized = http::get(&format!("{base}/api/v1/status")).expect("GET");
    assert_eq!(unauthorized.status, 401);
    assert!(unauthorized.json()["error"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    assert!(unauthorized.header("www-authenticate").is_some());
}
