//! Credentials in `prometheus.url` (issue 16, finding 4), against the real
//! daemon: during a Prometheus outage the error text reaches the status
//! API, the dashboard, `/readyz` and the log, and the dashboard links to
//! Prometheus's graph page; none may carry the URL's password or its
//! `?token=`, and the link must be a well-formed URL under the path
//! prefix. `sena check` warns and points to the file-based options.

mod common;

use std::time::Duration;

use common::people::PASSING;
use common::sena::{sena_cmd, Sena};
use common::{wait_until, ConfigBuilder};

const PASSWORD: &str = "hunter2-d41d8cd9";
const TOKEN: &str = "SECRET-8f00b204e980";

#[test]
fn an_outage_with_credentials_in_the_url_repeats_neither_password_nor_token() {
    // Port 1 on loopback: nothing listens, every query fails at once.
    let url = format!("http://sena:{PASSWORD}@127.0.0.1:1/prom?token={TOKEN}");
    let cfg = ConfigBuilder::new()
        .prometheus_url(&url)
        .rollout("leaky", PASSING)
        .write();

    let check = sena_cmd(&["check", "--config", cfg.path().to_str().unwrap()]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(said.contains("password_file"), "{said}");
    assert!(said.contains("prometheus.url"), "{said}");
    assert!(!said.contains(PASSWORD) && !said.contains(TOKEN), "{said}");

    let sena = Sena::spawn(cfg.path(), &[]);
    let status = wait_until(
        "the check to report Prometheus unreachable",
        Duration::from_secs(40),
        || {
            let r = common::sena::read(&format!("{}/api/v1/status", sena.base_url())).ok()?;
            (r.status == 200 && r.body.contains("cannot reach Prometheus")).then_some(r.body)
        },
        || sena.logs_tail(),
    );
    let (_, page) = sena.get("/rollouts/leaky");
    let (_, ready) = sena.get("/readyz");
    let logs = sena.logs();
    for (what, text) in [
        ("status", &status),
        ("page", &page),
        ("readyz", &ready),
        ("log", &logs),
    ] {
        assert!(
            !text.contains(PASSWORD),
            "{what} repeats the password:\n{text}"
        );
        assert!(!text.contains(TOKEN), "{what} repeats the token:\n{text}");
    }
    assert!(
        page.contains("href=\"http://127.0.0.1:1/prom/graph?g0.expr="),
        "a well-formed graph link under the path prefix:\n{page}"
    );
}
