//! A real headless Chromium for the dashboard tests, driven over the W3C
//! WebDriver protocol by Debian's `chromedriver`.
//!
//! ```ignore
//! let browser = Browser::start();
//! browser.goto(&format!("{}/", sena.base_url()));
//! browser.wait_for_text("#verdict", "CONTINUE", |t| t.contains("CONTINUE"), DEADLINE);
//! browser.screenshot("overview-continue");
//! ```
//!
//! One `chromedriver --port=N` per test binary (started on first use, on a
//! free loopback port, killed with the binary like every child, see
//! [`super::process`]); one browser session per test, closed on drop, with
//! its own profile directory. Chromium is launched through
//! `setpriv --pdeathsig KILL`, so a chromedriver killed with the test binary
//! takes its browser with it instead of leaving it orphaned.
//!
//! The client is the harness's own blocking HTTP ([`super::http`]): a dozen
//! JSON endpoints do not need a WebDriver crate and its async stack. Reads go
//! through `execute_script` where they can: the dashboard re-renders itself,
//! and one script call reads what a person sees at one instant without the
//! stale element references a find-then-read would race with.
//!
//! Chromium is told to stay on loopback: no background networking,
//! component updates or sync, and every host name but `127.0.0.1` fails to
//! resolve. A missing `chromium` or `chromium-driver` fails the test with
//! what to install; it never skips.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

use super::http;
use super::process::{self, Guarded};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to answer `/status` ready, and a session
/// to start (Chromium's first start on a cold disk is slow).
const START_DEADLINE: Duration = Duration::from_secs(60);

/// The W3C key of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver command that failed: the W3C error code (`no such element`,
/// `stale element reference`, ...) and chromedriver's message.
#[derive(Debug)]
pub struct WebDriverError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

/// The per-binary chromedriver.
struct Driver {
    port: u16,
    /// Held for its drop-kill; the `atexit` hook kills it when the binary ends.
    _child: Mutex<Guarded>,
    dir: tempfile::TempDir,
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(Driver::start)
}

impl Driver {
    fn start() -> Driver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's `chromium` and \
                 `chromium-driver` (apt-get install chromium chromium-driver; scripts/test.sh \
                 installs them). Not installed: {package}"
            );
        }
        let dir = super::scratch_dir("chromedriver");
        // Chromium dies with chromedriver even when chromedriver is killed
        // without a chance to close it.
        let wrapper = dir.path().join("chromium");
        fs::write(
            &wrapper,
            format!("#!/bin/sh\nexec setpriv --pdeathsig KILL {CHROMIUM} \"$@\"\n"),
        )
        .expect("write the chromium wrapper");
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))
                .expect("make the chromium wrapper executable");
        }
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = super::free_port();
            let log = dir.path().join("chromedriver.log");
            let mut cmd = Command::new(CHROMEDRIVER);
            cmd.arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child =
                process::spawn(cmd).unwrap_or_else(|e| panic!("start {CHROMEDRIVER}: {e}"));
            let status_url = format!("http://127.0.0.1:{port}/status");
            let ready = poll(START_DEADLINE, || {
                if let Some(status) = child.try_wait() {
                    return Some(Err(format!("exited with {status}")));
                }
                let ok = http::get(&status_url)
                    .ok()
                    .is_some_and(|r| r.status == 200 && r.json()["value"]["ready"] == true);
                ok.then_some(Ok(()))
            });
            match ready {
                Some(Ok(())) => {
                    return Driver {
                        port,
                        _child: Mutex::new(child),
                        dir,
                    }
                }
                Some(Err(e)) => last_error = e,
                None => last_error = format!("no ready /status within {START_DEADLINE:?}"),
            }
            child.kill();
            last_error = format!(
                "{last_error}; log:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("chromedriver did not start: {last_error}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn wrapper(&self) -> PathBuf {
        self.dir.path().join("chromium")
    }
}

/// Calls `probe` every 100 ms until it gives `Some`, or `None` after `deadline`.
fn poll<T>(deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if start.elapsed() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One WebDriver call: `Ok(value)` or the W3C error.
fn call(method: &str, url: &str, body: Option<&Value>) -> Result<Value, WebDriverError> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let headers: &[(&str, &str)] = if method == "POST" {
        &[("Content-Type", "application/json; charset=utf-8")]
    } else {
        &[]
    };
    let response =
        http::request(method, url, headers, body.as_bytes()).map_err(|e| WebDriverError {
            error: "transport".into(),
            message: format!("{method} {url}: {e}"),
        })?;
    let json: Value = serde_json::from_str(&response.body).map_err(|e| WebDriverError {
        error: "bad response".into(),
        message: format!(
            "{method} {url}: HTTP {}: {e}: {}",
            response.status, response.body
        ),
    })?;
    let value = json.get("value").cloned().unwrap_or(Value::Null);
    if response.status == 200 {
        Ok(value)
    } else {
        Err(WebDriverError {
            error: value["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_string(),
            message: value["message"].as_str().unwrap_or_default().to_string(),
        })
    }
}

/// One headless Chromium window; the session closes on drop.
pub struct Browser {
    session: String,
    /// The session's profile (`--user-data-dir`), removed after the session.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new session: headless Chromium, 1280×900, own profile, loopback only.
    pub fn start() -> Browser {
        let driver = driver();
        let profile = super::scratch_dir("chromium-profile");
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-crash-reporter".into(),
            "--disable-dev-shm-usage".into(),
            // Nothing but loopback: every other host name fails to resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": driver.wrapper().display().to_string(),
                        "args": args,
                    },
                }
            }
        });
        let created =
            call("POST", &driver.url("/session"), Some(&capabilities)).unwrap_or_else(|e| {
                panic!(
                    "chromium ({CHROMIUM}) did not start a WebDriver session: {e}\n\
                     chromedriver log: {}",
                    tail(&driver.dir.path().join("chromedriver.log"), 40)
                )
            });
        let session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {created}"))
            .to_string();
        Browser {
            session,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        driver().url(&format!("/session/{}{path}", self.session))
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, WebDriverError> {
        call("POST", &self.url(path), Some(&body))
    }

    fn get(&self, path: &str) -> Result<Value, WebDriverError> {
        call("GET", &self.url(path), None)
    }

    fn must<T>(&self, what: &str, r: Result<T, WebDriverError>) -> T {
        r.unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Navigates and waits for the page's load event.
    pub fn goto(&self, url: &str) {
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "tests browse loopback only: {url}"
        );
        self.must(
            &format!("navigate to {url}"),
            self.post("/url", json!({ "url": url })),
        );
    }

    /// The address the window shows now.
    pub fn current_url(&self) -> String {
        let v = self.must("read the URL", self.get("/url"));
        v.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the
    /// page and returns what it returns.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.must(
            &format!("execute {script}"),
            self.try_execute(script, args.clone()),
        )
    }

    pub fn try_execute(&self, script: &str, args: Value) -> Result<Value, WebDriverError> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// The visible text of the first element matching `css`, `None` when
    /// there is none (read in one script call: no stale references).
    pub fn text(&self, css: &str) -> Option<String> {
        let v = self
            .try_execute(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                json!([css]),
            )
            .ok()?;
        v.as_str().map(String::from)
    }

    /// Whether an element matches `css` and is rendered (has a box).
    pub fn visible(&self, css: &str) -> bool {
        self.try_execute(
            "const e = document.querySelector(arguments[0]);
             if (!e) return false;
             const r = e.getBoundingClientRect();
             const s = getComputedStyle(e);
             return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';",
            json!([css]),
        )
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
    }

    /// Polls until the text of `css` satisfies `pred` and returns it; panics
    /// after `deadline` with `what`, the last text seen and a screenshot.
    pub fn wait_for_text(
        &self,
        css: &str,
        what: &str,
        pred: impl Fn(&str) -> bool,
        deadline: Duration,
    ) -> String {
        let mut last = None;
        let found = poll(deadline, || {
            let text = self.text(css);
            let ok = text.as_deref().is_some_and(&pred);
            last = text;
            if ok {
                last.clone()
            } else {
                None
            }
        });
        found.unwrap_or_else(|| {
            let shot = self.screenshot(&format!("timeout-{}", slug(what)));
            panic!(
                "timed out after {deadline:?} waiting for {css} {what}; last text: {last:?}; \
                 page at {}; screenshot {}",
                self.current_url(),
                shot.display()
            )
        })
    }

    /// Finds the first element matching `css`.
    pub fn find(&self, css: &str) -> Result<Element<'_>, WebDriverError> {
        let v = self.post("/element", json!({ "using": "css selector", "value": css }))?;
        let id = v[ELEMENT_KEY].as_str().ok_or_else(|| WebDriverError {
            error: "bad response".into(),
            message: format!("no element reference in {v}"),
        })?;
        Ok(Element {
            browser: self,
            id: id.to_string(),
            css: css.to_string(),
        })
    }

    /// Polls until `css` matches an element and returns it.
    pub fn wait_for(&self, css: &str, deadline: Duration) -> Element<'_> {
        let mut last = String::new();
        poll(deadline, || match self.find(css) {
            Ok(e) => Some(e),
            Err(e) => {
                last = e.to_string();
                None
            }
        })
        .unwrap_or_else(|| {
            let shot = self.screenshot(&format!("timeout-{}", slug(css)));
            panic!(
                "no element {css} within {deadline:?} ({last}); page at {}; screenshot {}",
                self.current_url(),
                shot.display()
            )
        })
    }

    /// Clicks `css`, finding it again if the page re-rendered it meanwhile.
    pub fn click(&self, css: &str, deadline: Duration) {
        let mut last = String::new();
        let done = poll(deadline, || match self.find(css).and_then(|e| e.click()) {
            Ok(()) => Some(()),
            Err(e) => {
                last = e.to_string();
                None
            }
        });
        if done.is_none() {
            panic!("could not click {css} within {deadline:?}: {last}");
        }
    }

    /// Types `text` into the field `css` after clearing it.
    pub fn type_into(&self, css: &str, text: &str, deadline: Duration) {
        let mut last = String::new();
        let done = poll(deadline, || {
            let r = self.find(css).and_then(|e| {
                e.clear()?;
                e.send_keys(text)
            });
            match r {
                Ok(()) => Some(()),
                Err(e) => {
                    last = e.to_string();
                    None
                }
            }
        });
        if done.is_none() {
            panic!("could not type into {css} within {deadline:?}: {last}");
        }
    }

    /// Sets the window's outer size; with `--headless=new` the viewport
    /// follows it.
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.must(
            "set the window rect",
            self.post("/window/rect", json!({ "width": width, "height": height })),
        );
    }

    /// Saves a PNG of the viewport as `target/screenshots/NAME.png` and
    /// returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        match self.get("/screenshot") {
            Ok(v) => {
                let png = base64_decode(v.as_str().unwrap_or_default())
                    .unwrap_or_else(|| panic!("the screenshot is not base64"));
                assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
                fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            }
            Err(e) => eprintln!("could not take screenshot {name}: {e}"),
        }
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closes Chromium; chromedriver stays for the next test.
        let _ = call("DELETE", &self.url(""), None);
    }
}

/// An element found by [`Browser::find`]; it goes stale when the page
/// replaces it, so prefer the browser's retrying helpers.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
    pub css: String,
}

impl Element<'_> {
    fn path(&self, tail: &str) -> String {
        format!("/element/{}{tail}", self.id)
    }

    pub fn click(&self) -> Result<(), WebDriverError> {
        self.browser.post(&self.path("/click"), json!({})).map(drop)
    }

    pub fn clear(&self) -> Result<(), WebDriverError> {
        self.browser.post(&self.path("/clear"), json!({})).map(drop)
    }

    pub fn send_keys(&self, text: &str) -> Result<(), WebDriverError> {
        self.browser
            .post(&self.path("/value"), json!({ "text": text }))
            .map(drop)
    }

    pub fn text(&self) -> Result<String, WebDriverError> {
        let v = self.browser.get(&self.path("/text"))?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }
}

/// `target/screenshots`, beside the binaries under test.
pub fn screenshot_dir() -> PathBuf {
    // target/debug/sena → target
    Path::new(env!("CARGO_BIN_EXE_sena"))
        .ancestors()
        .nth(2)
        .map(|t| t.join("screenshots"))
        .expect("the target directory")
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Standard base64 (what WebDriver sends screenshots in).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|&b| b != b'=').collect();
        let mut acc = 0u32;
        for &b in &data {
            acc = (acc << 6) | value(b)?;
        }
        acc <<= 6 * (4 - data.len() as u32);
        let n = data.len().saturating_sub(1);
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}
