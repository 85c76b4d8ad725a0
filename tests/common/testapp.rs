//! The test app Prometheus scrapes: one HTTP server exposing `/metrics` for
//! many simulated apps, one per test (the `app` label), so tests running in
//! parallel never interfere.
//!
//! Each app emits traffic continuously at the rates it is configured with.
//! Counters are computed at scrape time from the time elapsed since the last
//! change of configuration, so they grow smoothly and never decrease, and a
//! change takes effect on the next scrape.
//!
//! Series, for `track="canary"` (configurable) and `track="stable"` (always
//! healthy), every one present from registration on (a 5xx series at 0 keeps
//! the error ratio at 0, not empty):
//! - `http_requests_total{app,track,code="200"|"500"}`
//! - `http_request_duration_seconds_bucket{app,track,le}`, `_sum`, `_count`
//! - `user_satisfaction_total{app,track,outcome="satisfied"|"unsatisfied"}`,
//!   one satisfaction event per ten requests.
//!
//! An app may split its canary into regions (`set_regions(&["eu", "us"])`):
//! its canary series then carry a `region` label, each region emits the
//! configured traffic, and `app.region("us")` changes one region only, for
//! checks whose query returns one series per region.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Histogram buckets, as the rules and dashboards expect them.
pub const BUCKETS: [f64; 10] = [
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    2.5,
    5.0,
    10.0,
    f64::INFINITY,
];

/// Satisfaction events per request.
const SATISFACTION_EVENTS_PER_REQUEST: f64 = 0.1;

/// What an app's canary does per second of simulated traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Behaviour {
    pub rps: f64,
    pub error_ratio: f64,
    pub latency: f64,
    pub satisfaction: f64,
}

impl Behaviour {
    pub const HEALTHY: Behaviour = Behaviour {
        rps: 100.0,
        error_ratio: 0.0,
        latency: 0.1,
        satisfaction: 0.99,
    };
}

/// Counters of one track, as floats (fractional requests are fine).
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    ok: f64,
    errors: f64,
    buckets: [f64; BUCKETS.len()],
    duration_sum: f64,
    duration_count: f64,
    satisfied: f64,
    unsatisfied: f64,
}

impl Counters {
    /// Adds `seconds` of traffic behaving as `b`.
    fn advance(&mut self, b: &Behaviour, seconds: f64) {
        let requests = b.rps * seconds;
        self.errors += requests * b.error_ratio;
        self.ok += requests * (1.0 - b.error_ratio);
        for (bucket, le) in self.buckets.iter_mut().zip(BUCKETS) {
            if b.latency <= le {
                *bucket += requests;
            }
        }
        self.duration_sum += requests * b.latency;
        self.duration_count += requests;
        let events = requests * SATISFACTION_EVENTS_PER_REQUEST;
        self.satisfied += events * b.satisfaction;
        self.unsatisfied += events * (1.0 - b.satisfaction);
    }
}

/// One canary series set: its behaviour and counters since the last change.
#[derive(Clone, Copy, Debug)]
struct Track {
    behaviour: Behaviour,
    /// Counters up to `since`.
    base: Counters,
    since: Instant,
}

impl Track {
    fn new(behaviour: Behaviour, now: Instant) -> Track {
        Track {
            behaviour,
            base: Counters::default(),
            since: now,
        }
    }

    fn now(&self, now: Instant) -> Counters {
        let mut c = self.base;
        c.advance(
            &self.behaviour,
            now.duration_since(self.since).as_secs_f64(),
        );
        c
    }

    fn change(&mut self, f: &dyn Fn(&mut Behaviour)) {
        let now = Instant::now();
        self.base = self.now(now);
        self.since = now;
        f(&mut self.behaviour);
    }
}

#[derive(Debug)]
struct App {
    /// Canary tracks by region; one track under "" (no `region` label)
    /// unless the app was split with `set_regions`.
    canary: BTreeMap<String, Track>,
    /// False: the canary series are left out of `/metrics` (Prometheus marks
    /// them stale and queries return empty), while traffic goes on counting.
    canary_exposed: bool,
    registered: Instant,
}

impl App {
    fn stable_now(&self, now: Instant) -> Counters {
        let mut c = Counters::default();
        c.advance(
            &Behaviour::HEALTHY,
            now.duration_since(self.registered).as_secs_f64(),
        );
        c
    }
}

type Apps = Arc<Mutex<BTreeMap<String, App>>>;

/// The test app's HTTP server; lives as long as the test binary.
pub struct TestApp {
    addr: SocketAddr,
    apps: Apps,
}

/// One app registered in the [`TestApp`] (or one region of it); changes
/// take effect on the next scrape.
#[derive(Clone)]
pub struct AppHandle {
    name: String,
    /// `None`: every canary track of the app.
    region: Option<String>,
    apps: Apps,
}

impl TestApp {
    /// Starts the server on a free loopback port.
    pub fn start() -> TestApp {
        let apps: Apps = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the test app");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("test app address");
        let served = apps.clone();
        let rt = super::runtime();
        rt.spawn(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).expect("tokio test app listener");
            let router = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let apps = served.clone();
                    async move {
                        (
                            [("content-type", "text/plain; version=0.0.4")],
                            render(&apps.lock().unwrap(), Instant::now()),
                        )
                    }
                }),
            );
            axum::serve(listener, router)
                .await
                .expect("serve the test app");
        });
        TestApp { addr, apps }
    }

    /// `host:port` for a scrape config.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// Registers `name` (healthy) unless it already is; idempotent.
    pub fn app(&self, name: &str) -> AppHandle {
        let now = Instant::now();
        self.apps
            .lock()
            .unwrap()
            .entry(name.to_string())
            .or_insert_with(|| App {
                canary: BTreeMap::from([(String::new(), Track::new(Behaviour::HEALTHY, now))]),
                canary_exposed: true,
                registered: now,
            });
        AppHandle {
            name: name.to_string(),
            region: None,
            apps: self.apps.clone(),
        }
    }
}

impl AppHandle {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// 100 rps canary, no errors, latency 0.1 s, 99 % satisfied.
    pub fn set_healthy(&self) {
        self.change(|b| *b = Behaviour::HEALTHY);
    }

    /// Share of canary requests answered `code="500"`.
    pub fn set_error_ratio(&self, ratio: f64) {
        assert!(
            (0.0..=1.0).contains(&ratio),
            "error ratio {ratio} not in 0..=1"
        );
        self.change(|b| b.error_ratio = ratio);
    }

    /// Every canary request is observed at this latency.
    pub fn set_latency(&self, seconds: f64) {
        assert!(seconds >= 0.0, "latency {seconds} < 0");
        self.change(|b| b.latency = seconds);
    }

    /// Share of satisfaction events with `outcome="satisfied"`.
    pub fn set_satisfaction(&self, ratio: f64) {
        assert!(
            (0.0..=1.0).contains(&ratio),
            "satisfaction {ratio} not in 0..=1"
        );
        self.change(|b| b.satisfaction = ratio);
    }

    /// Canary requests per second; 0 stops canary traffic (counters stay
    /// flat, so ratios become NaN once the rate window has no increase).
    pub fn set_traffic(&self, rps: f64) {
        assert!(rps >= 0.0, "traffic {rps} < 0");
        self.change(|b| b.rps = rps);
    }

    /// Whether `/metrics` shows the canary series at all. Hidden, they go
    /// stale at the next scrape and every canary query returns an empty
    /// result (not NaN); shown again, their counters carry on, never lower.
    pub fn set_exposed(&self, exposed: bool) {
        let mut apps = self.apps.lock().unwrap();
        apps.get_mut(&self.name)
            .expect("app registered")
            .canary_exposed = exposed;
    }

    /// Splits the canary into these regions (each emitting the current
    /// behaviour, labelled `region="NAME"`); the unlabelled canary series
    /// disappear. Call right after registering the app.
    pub fn set_regions(&self, regions: &[&str]) {
        let mut apps = self.apps.lock().unwrap();
        let app = apps.get_mut(&self.name).expect("app registered");
        let behaviour = app
            .canary
            .values()
            .next()
            .expect("a canary track")
            .behaviour;
        let now = Instant::now();
        app.canary = regions
            .iter()
            .map(|r| (r.to_string(), Track::new(behaviour, now)))
            .collect();
    }

    /// A handle whose setters change only `region` (see [`Self::set_regions`]).
    pub fn region(&self, region: &str) -> AppHandle {
        let apps = self.apps.lock().unwrap();
        assert!(
            apps[&self.name].canary.contains_key(region),
            "app {} has no region {region}; call set_regions first",
            self.name
        );
        AppHandle {
            region: Some(region.to_string()),
            ..self.clone()
        }
    }

    /// The canary's current behaviour (the first region's, for a whole
    /// split app).
    pub fn behaviour(&self) -> Behaviour {
        let apps = self.apps.lock().unwrap();
        let canary = &apps[&self.name].canary;
        match &self.region {
            Some(region) => canary[region].behaviour,
            None => canary.values().next().expect("a canary track").behaviour,
        }
    }

    fn change(&self, f: impl Fn(&mut Behaviour)) {
        let mut apps = self.apps.lock().unwrap();
        let app = apps
            .get_mut(&self.name)
            .expect("app registered by TestApp::app");
        for (region, track) in app.canary.iter_mut() {
            if self.region.as_ref().is_none_or(|r| r == region) {
                track.change(&f);
            }
        }
    }
}

/// The exposition text for every app at `now`, one family at a time.
fn render(apps: &BTreeMap<String, App>, now: Instant) -> String {
    // (labels without the family's own, counters) per series set.
    let mut tracks: Vec<(String, Counters)> = Vec::new();
    for (name, app) in apps {
        let exposed = if app.canary_exposed {
            app.canary.iter().collect()
        } else {
            Vec::new()
        };
        for (region, track) in exposed {
            let region = if region.is_empty() {
                String::new()
            } else {
                format!(",region=\"{region}\"")
            };
            tracks.push((
                format!("app=\"{name}\",track=\"canary\"{region}"),
                track.now(now),
            ));
        }
        tracks.push((
            format!("app=\"{name}\",track=\"stable\""),
            app.stable_now(now),
        ));
    }
    let mut out = String::new();
    out.push_str("# HELP http_requests_total Requests served.\n");
    out.push_str("# TYPE http_requests_total counter\n");
    for (labels, c) in &tracks {
        for (code, v) in [("200", c.ok), ("500", c.errors)] {
            let _ = writeln!(out, "http_requests_total{{{labels},code=\"{code}\"}} {v}");
        }
    }
    out.push_str("# HELP http_request_duration_seconds Request latency.\n");
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for (labels, c) in &tracks {
        for (le, v) in BUCKETS.iter().zip(c.buckets) {
            let le = if le.is_infinite() {
                "+Inf".to_string()
            } else {
                le.to_string()
            };
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {v}"
            );
        }
        let _ = writeln!(
            out,
            "http_request_duration_seconds_sum{{{labels}}} {}",
            c.duration_sum
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_count{{{labels}}} {}",
            c.duration_count
        );
    }
    out.push_str("# HELP user_satisfaction_total Satisfaction survey answers.\n");
    out.push_str("# TYPE user_satisfaction_total counter\n");
    for (labels, c) in &tracks {
        for (outcome, v) in [("satisfied", c.satisfied), ("unsatisfied", c.unsatisfied)] {
            let _ = writeln!(
                out,
                "user_satisfaction_total{{{labels},outcome=\"{outcome}\"}} {v}"
            );
        }
    }
    out
}
