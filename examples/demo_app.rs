//! The quickstart's demo app: a canary of `checkout-api` that Prometheus
//! scrapes. Healthy at first; after `--break-after` its canary starts
//! answering 2% of requests with 5xx, so Sena's verdict goes from continue to
//! roll back. It is the integration tests' test app, reused as it is.
//!
//! `cargo run --example demo_app -- --addr-file FILE [--app NAME] [--break-after 45s]`

use std::sync::OnceLock;
use std::time::Duration;

#[allow(dead_code)]
#[path = "../tests/common/testapp.rs"]
mod testapp;

/// The runtime `testapp` serves on (the test harness provides the same).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut addr_file = None;
    let mut app = "checkout-api".to_string();
    let mut break_after = Duration::from_secs(45);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--addr-file" => addr_file = Some(value()),
            "--app" => app = value(),
            "--break-after" => {
                break_after = humantime::parse_duration(&value())
                    .expect("--break-after: a duration such as 45s")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let server = testapp::TestApp::start();
    let canary = server.app(&app);
    if let Some(file) = addr_file {
        std::fs::write(&file, server.target()).expect("write --addr-file");
    }
    println!(
        "demo app: {app} canary healthy, serving {}",
        server.metrics_url()
    );
    std::thread::sleep(break_after);
    canary.set_error_ratio(0.02);
    println!("demo app: {app} canary now answers 2% of requests with 500");
    loop {
        std::thread::park();
    }
}
