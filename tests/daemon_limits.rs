//! The daemon under hostile but ordinary load, end to end (issue 7,
//! findings 5 and 6): a Prometheus answer of 100,000 series or 17 MiB,
//! 1,100 idle and half-sent connections to the HTTP port under the usual
//! open-file limit of 1,024, and a request that never finishes its headers.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use common::rules;
use common::sena::{find_check, now_ms, sena_cmd, timestamp_ms, Sena};
use common::{runtime, shared, wait_until, ConfigBuilder};

const DEADLINE: Duration = Duration::from_secs(45);

/// A Prometheus stand-in: `many` answers 100,000 series, `huge` a 17 MiB
/// body (one series with an enormous label), anything else one healthy
/// series. Started once per test binary; returns its base URL.
fn big_prometheus() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(start_big_prometheus).clone()
}

fn start_big_prometheus() -> String {
    let series: Vec<String> = (0..100_000)
        .map(|i| {
            format!(
                r#"{{"metric":{{"pod":"pod-{i}"}},"value":[1,"{}"]}}"#,
                i % 7
            )
        })
        .collect();
    let many = envelope(&series.join(","));
    let huge = envelope(&format!(
        r#"{{"metric":{{"blob":"{}"}},"value":[1,"0.5"]}}"#,
        "x".repeat(17 << 20)
    ));
    let one = envelope(r#"{"metric":{},"value":[1,"0.5"]}"#);
    let app = Router::new().route(
        "/api/v1/query",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let body = match q.get("query").map(|s| s.trim()) {
                Some("many") => many.clone(),
                Some("huge") => huge.clone(),
                _ => one.clone(),
            };
            // Real Prometheus says JSON; some clients insist on it.
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    let listener = runtime()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind the Prometheus stand-in");
    let addr = listener.local_addr().unwrap();
    runtime().spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn envelope(result: &str) -> axum::body::Bytes {
    format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{result}]}}}}"#).into()
}

fn check_yaml(name: &str, query: &str, extra: &str) -> String {
    format!("  - name: {name}\n    query: {query}\n    below: 1e12\n{extra}")
}

/// Peak RSS of a process, from /proc.
fn peak_rss_bytes(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kb * 1024
}

#[test]
fn huge_answers_are_errors_that_hold_and_memory_stays_bounded() {
    let rollout = "l-big";
    let cfg = ConfigBuilder::new()
        .prometheus_url(&big_prometheus())
        .rollout(
            rollout,
            &rules::file(&[
                check_yaml("ok", "ok", ""),
                check_yaml("many", "many", ""),
                check_yaml("huge", "huge", ""),
            ]),
        )
        .write();
    let sena = Sena::start(cfg.path());

    let held = sena.wait_for_verdict(rollout, "hold", DEADLINE);
    let many = find_check(&held, "many").unwrap();
    assert_eq!(many["status"], "error", "{held:#}");
    assert_eq!(
        many["error"],
        "the query returned 100000 series, more than max_series (1000); aggregate it (for example `sum by (region) (...)`) or raise the check's `max_series`"
    );
    let huge = find_check(&held, "huge").unwrap();
    assert_eq!(huge["status"], "error", "{held:#}");
    assert_eq!(
        huge["error"],
        "Prometheus answer larger than max_response_bytes (16 MiB); narrow the query or raise the limit"
    );
    assert_eq!(find_check(&held, "ok").unwrap()["status"], "passing");
    let reason = held["reason"].as_str().unwrap();
    assert!(reason.contains("max_series (1000)"), "{reason}");

    // A few more rounds, then the peak: both answers every second, neither
    // decoded beyond its cap.
    let mut rounds = 0;
    sena.observe_evaluations(rollout, DEADLINE, |r| {
        assert_eq!(r["verdict"], "hold", "{r:#}");
        rounds += 1;
        rounds == 5
    });
    let peak = peak_rss_bytes(sena.pid());
    assert!(
        peak < 100 << 20,
        "peak RSS {} MiB with the caps in place",
        peak >> 20
    );
}

#[test]
fn a_raised_max_series_judges_every_series_and_keeps_the_worst() {
    let rollout = "l-big-allowed";
    let cfg = ConfigBuilder::new()
        .prometheus_url(&big_prometheus())
        .rollout(
            rollout,
            &rules::file(&[check_yaml("many", "many", "    max_series: 100000\n")]),
        )
        .write();
    let sena = Sena::start(cfg.path());
    let fine = sena.wait_for_verdict(rollout, "continue", DEADLINE);
    let many = find_check(&fine, "many").unwrap();
    assert_eq!(many["status"], "passing", "{fine:#}");
    assert_eq!(many["value"], 6.0, "the worst of 100,000 decides");
    assert_eq!(many["series"].as_array().unwrap().len(), 10);
    assert_eq!(many["series_total"], 100_000);
}

/// Opens `n` connections to `addr`: every other one sends half a request
/// (no blank line ending the headers), the rest send nothing.
fn attack(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|i| {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
            if i % 2 == 0 {
                let _ = s.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: sena\r\n");
            }
            s.set_nonblocking(true).ok()?;
            Some(s)
        })
        .collect()
}

/// Drops the connections the server has closed; returns how many are open.
fn still_open(streams: &mut Vec<TcpStream>) -> usize {
    streams.retain_mut(|s| {
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return false,
                Ok(_) => continue, // a refusal's 503, read to the end
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    });
    streams.len()
}

/// Waits until the server has closed every one of `streams`; panics after
/// `deadline` with how many are open and `context`.
fn wait_all_closed(
    streams: Vec<TcpStream>,
    what: &str,
    deadline: Duration,
    context: impl Fn() -> String,
) {
    let streams = std::cell::RefCell::new(streams);
    wait_until(
        what,
        deadline,
        || (still_open(&mut streams.borrow_mut()) == 0).then_some(()),
        || format!("{} still open; {}", streams.borrow().len(), context()),
    );
}

/// The journal records of `rollout`, oldest first.
fn journal(config: &std::path::Path, rollout: &str) -> Vec<Value> {
    let out = sena_cmd(&[
        "journal",
        "--config",
        config.to_str().unwrap(),
        "--rollout",
        rollout,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON journal line"))
        .collect();
    records.sort_by_key(|r| timestamp_ms(&r["at"]));
    records
}

/// `Connection: close` makes every query open a new socket, as happens
/// whenever the pool has no idle connection (Prometheus or a proxy closed
/// it, or more checks run at once than were pooled): that is when an
/// exhausted descriptor table turns into failed queries.
const FRESH_SOCKET_PER_QUERY: &str = "headers: { Connection: close }";

#[test]
fn idle_and_half_sent_connections_cannot_starve_the_evaluator() {
    let app = "l-fd-starve";
    shared().app_ready(app);
    let cfg = ConfigBuilder::new()
        .prometheus_key(FRESH_SOCKET_PER_QUERY)
        .rollout(app, &rules::mission())
        .write();
    let sena = Sena::start_with_nofile(cfg.path(), 1024);
    sena.wait_for_verdict(app, "continue", DEADLINE);

    let started = now_ms();
    let attackers = attack(cfg.listen, 1100);
    assert!(attackers.len() > 1024, "only {} connected", attackers.len());
    // The server closes every one of them: the ones over the cap at once,
    // the others when the header-read timeout (10 s) runs out.
    wait_all_closed(
        attackers,
        "Sena to close every idle and half-sent connection",
        Duration::from_secs(40),
        || {
            format!(
                "verdicts: {:?}\nlogs:\n{}",
                journal(cfg.path(), app)
                    .iter()
                    .map(|r| r["verdict"].clone())
                    .collect::<Vec<_>>(),
                sena.logs_tail()
            )
        },
    );
    let ended = now_ms();
    let during: Vec<Value> = journal(cfg.path(), app)
        .into_iter()
        .filter(|r| (started..=ended).contains(&timestamp_ms(&r["at"])))
        .collect();
    assert!(
        during.len() >= 5,
        "the rollout kept being evaluated during the attack: {during:#?}"
    );
    for r in &during {
        assert_eq!(r["verdict"], "continue", "a false hold: {r:#}");
    }
    assert_eq!(
        sena.metric("sena_query_errors_total", &[("rollout", app)]),
        Some(0.0)
    );
    assert!(
        sena.metric("sena_http_connections_refused_total", &[])
            .is_some_and(|n| n > 0.0),
        "connections over the cap were refused"
    );
    let (status, body) = sena.get("/readyz");
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    assert_eq!(sena.rollout(app)["verdict"], "continue");
}

#[test]
fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let app = "l-half-sent";
    shared().app_ready(app);
    let cfg = ConfigBuilder::new().rollout(app, &rules::mission()).write();
    let sena = Sena::start(cfg.path());
    let started = Instant::now();
    let clients = attack(cfg.listen, 2);
    // Meanwhile the server answers others.
    assert_eq!(sena.get("/healthz").0, 200);
    wait_all_closed(
        clients,
        "the half-sent and the silent connection to be closed",
        Duration::from_secs(30),
        String::new,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(9),
        "closed after {took:?}, before the 10 s header timeout"
    );
}

#[test]
fn out_of_descriptors_is_senas_own_problem_not_the_canarys() {
    let app = "l-emfile";
    shared().app_ready(app);
    // A cap above the open-file limit, so the attack does exhaust it.
    let cfg = ConfigBuilder::new()
        .prometheus_key(FRESH_SOCKET_PER_QUERY)
        .server_key("max_connections: 4000")
        .rollout(app, &rules::mission())
        .write();
    let sena = Sena::start_with_nofile(cfg.path(), 1024);
    sena.wait_for_verdict(app, "continue", DEADLINE);
    let attackers = attack(cfg.listen, 1100);
    let own = "Sena is out of file descriptors (Too many open files); raise LimitNOFILE";
    let blind = wait_until(
        "an evaluation that blames Sena's own file descriptors",
        DEADLINE,
        || {
            journal(cfg.path(), app)
                .into_iter()
                .find(|r| r["reason"].as_str().is_some_and(|s| s.contains(own)))
        },
        || sena.logs_tail(),
    );
    assert_eq!(blind["verdict"], "hold", "blind means hold: {blind:#}");
    wait_all_closed(attackers, "the attackers to be closed", DEADLINE, || {
        sena.logs_tail()
    });
    sena.wait_ready(DEADLINE);
    sena.wait_for_verdict(app, "continue", DEADLINE);
    let logs = sena.logs();
    // Whichever ran out first, a query or the accept loop, the log says
    // once that Sena itself is out of descriptors.
    assert!(
        logs.contains("local resources failing") && logs.contains("out of file descriptors"),
        "logged as Sena's own problem:\n{logs}"
    );
    assert!(logs.contains("local resources works again"), "{logs}");
}

/// Opens `n` connections that send a POST's headers announcing a
/// 100,000-byte body, to `/login` and `/api/v1/slack/interactions` in turn,
/// then one byte of it.
fn trickle(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let path = ["/login", "/api/v1/slack/interactions"][i % 2];
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .expect("connect a trickling client");
            write!(
                s,
                "POST {path} HTTP/1.1\r\nHost: sena\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nx"
            )
            .expect("send the headers");
            s.set_nonblocking(true).expect("nonblocking");
            s
        })
        .collect()
}

#[test]
fn trickled_bodies_are_cut_off_and_probes_get_through_meanwhile() {
    let app = "l-trickle";
    shared().app_ready(app);
    let cfg = ConfigBuilder::new()
        .server_key("max_connections: 8")
        .rollout(app, &rules::mission())
        .write();
    let sena = Sena::start(cfg.path());
    sena.wait_ready(DEADLINE);
    let started = Instant::now();
    let mut clients = trickle(cfg.listen, 8);
    // Every ordinary slot is taken; the reserve still answers the probes
    // and the scrape.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        still_open(&mut clients),
        8,
        "the trickling clients hold every slot"
    );
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (status, body) = sena.get(path);
        assert_eq!(status, 200, "{path} while 8 bodies trickle: {body}");
    }
    // Anything else on the reserve is refused, not served.
    let (status, _) = sena.get("/api/v1/status");
    assert_eq!(status, 503, "the reserve is for the probes only");

    // A byte a second keeps no body alive past body_read_timeout (10 s,
    // and 100 bytes earn under a second more).
    let clients = std::cell::RefCell::new(clients);
    wait_until(
        "Sena to close every trickling connection",
        Duration::from_secs(30),
        || {
            let mut clients = clients.borrow_mut();
            for s in clients.iter_mut() {
                let _ = s.write_all(b"x");
            }
            if still_open(&mut clients) == 0 {
                return Some(());
            }
            std::thread::sleep(Duration::from_secs(1));
            None
        },
        || {
            format!(
                "{} still open after {:?}",
                clients.borrow().len(),
                started.elapsed()
            )
        },
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(9),
        "closed after {took:?}, before the 10 s body timeout"
    );
    assert!(
        took < Duration::from_secs(25),
        "closed after {took:?}: the body timeout, not the connection's 60 s lifetime, closed them"
    );
    // Once they are gone the ordinary slots serve everything again.
    assert_eq!(sena.get("/api/v1/status").0, 200);
}
