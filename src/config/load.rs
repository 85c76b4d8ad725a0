//! `sena.yaml` → `Config`. Reads the config, every rules file it names and
//! the roster, and returns either a config that cannot be invalid or every
//! problem found, each as `FILE:LINE:COLUMN: message`.
//!
//! Paths in diagnostics are the config path as given and, for files it
//! names, `config_dir.join(path)`: both read as the user would type them
//! from the directory `sena check` ran in.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::channels::{email, slack};
use super::raw::{parse, Node};
use super::reader::{check_http_url, secret_file, text, Fields, FileDiags};
use super::rollouts::{rollouts, RulesFiles};
use super::{
    BasicAuth, Config, Diagnostic, Diagnostics, EvaluationConfig, NotifyConfig, PrometheusConfig,
    Secret, ServerConfig, StateConfig,
};

/// A config that passed every check, and the warnings found on the way
/// (a roster coverage gap, a key that has no effect).
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Diagnostics,
}

const TOP_KEYS: &[&str] = &[
    "prometheus",
    "evaluation",
    "state",
    "server",
    "rollouts",
    "slack",
    "email",
    "roster",
    "notify",
];
const PROMETHEUS_KEYS: &[&str] = &[
    "url",
    "timeout",
    "headers",
    "basic_auth",
    "bearer_token_file",
    "external_url",
    "max_response_bytes",
    "max_series",
    "tls",
];
const SERVER_KEYS: &[&str] = &[
    "listen",
    "max_connections",
    "header_read_timeout",
    "body_read_timeout",
    "body_min_rate",
    "reserved_connections",
    "tokens",
    "public_gates",
    "public_reads",
];

/// `prometheus.max_response_bytes`: far above any useful check answer (a
/// thousand labelled series is about 200 KiB), far below what hurts.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 << 20;
/// `prometheus.max_series`: a check that watches more series than this is
/// almost always missing a `sum by`.
pub const DEFAULT_MAX_SERIES: usize = 1_000;

/// Looks up an environment variable; a parameter so tests do not depend on
/// (or change) the process environment.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Loads `path` and everything it names.
pub fn load(path: &Path) -> Result<Loaded, Diagnostics> {
    match crate::config::text_file::read(path) {
        Ok(text) => load_str(&text, path),
        Err(e) => Err(Diagnostics(vec![Diagnostic::error(
            path,
            1,
            1,
            format!("cannot read config: {e}"),
        )])),
    }
}

/// Loads config text as if read from `file`; rules and roster paths
/// resolve beside `file`.
pub fn load_str(text: &str, file: &Path) -> Result<Loaded, Diagnostics> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    load_with_env(text, file, &env)
}

pub(crate) fn load_with_env(text: &str, file: &Path, env: Env) -> Result<Loaded, Diagnostics> {
    let root = parse(text, file).map_err(|syntax| Diagnostics(vec![syntax]))?;
    let dir = file.parent().unwrap_or(Path::new(""));
    let mut d = FileDiags::new(file);
    let mut others = Vec::new();
    let config = read_config(&mut d, &mut others, &root, file, dir, env);
    finish(config, d.list.into_iter().chain(others).collect(), file)
}

fn read_config(
    d: &mut FileDiags,
    others: &mut Vec<Diagnostic>,
    root: &Node,
    file: &Path,
    dir: &Path,
    env: Env,
) -> Option<Config> {
    if matches!(root.value, super::raw::Value::Null) {
        // Reported at the top, not where the parser gave up (after comments).
        d.list.push(Diagnostic::error(
            file,
            1,
            1,
            "the config is empty; it needs at least `prometheus:` and `rollouts:`",
        ));
        return None;
    }
    let f = Fields::read(d, root, "the config", TOP_KEYS)?;
    let prometheus = f
        .required(d, "prometheus")
        .and_then(|n| prometheus(d, n, dir));
    let evaluation = section(d, &f, "evaluation", &["interval"]);
    let interval = evaluation
        .as_ref()
        .map_or(secs(30), |e| super::limits::interval(d, e, secs(30)));
    let state = state(d, &f, dir);
    let notify = section(
        d,
        &f,
        "notify",
        &["repeat", "resolve_after", "blind_after", "stuck_after"],
    );
    let notify = NotifyConfig {
        repeat: notify
            .as_ref()
            .map_or(secs(3600), |n| n.period(d, "repeat", secs(3600))),
        resolve_after: notify
            .as_ref()
            .map_or(secs(300), |n| n.duration(d, "resolve_after", secs(300))),
        blind_after: notify
            .as_ref()
            .map_or(secs(120), |n| n.duration(d, "blind_after", secs(120))),
        stuck_after: notify
            .as_ref()
            .map_or(secs(600), |n| n.period(d, "stuck_after", secs(600))),
    };
    let roster = f
        .get("roster")
        .and_then(|n| super::roster::read_entry(d, others, n, dir));
    // After the roster: a token's `person` must be one of its people.
    let server = server(d, &f, dir, roster.as_ref());
    let slack = f.get("slack").and_then(|n| slack(d, n, dir, env));
    let email = f
        .get("email")
        .and_then(|n| email(d, n, f.key("email"), dir, roster.is_some()));
    let mut rules = RulesFiles::default();
    let max_series = prometheus
        .as_ref()
        .map_or(DEFAULT_MAX_SERIES, |p| p.max_series);
    let rollouts = rollouts(
        d,
        &mut rules,
        &f,
        dir,
        interval,
        roster.as_ref(),
        max_series,
    );
    others.extend(rules.diags);
    Some(Config {
        source: file.to_path_buf(),
        prometheus: prometheus?,
        evaluation: EvaluationConfig { interval },
        state,
        server,
        rollouts,
        slack,
        email,
        roster,
        notify,
    })
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// An optional section's fields; `None` when absent or not a mapping.
fn section<'n>(d: &mut FileDiags, f: &Fields<'n>, key: &str, keys: &[&str]) -> Option<Fields<'n>> {
    Fields::read(d, f.get(key)?, &format!("`{key}`"), keys)
}

fn prometheus(d: &mut FileDiags, node: &Node, dir: &Path) -> Option<PrometheusConfig> {
    let f = Fields::read(d, node, "`prometheus`", PROMETHEUS_KEYS)?;
    let external_url = url(d, &f, "external_url", false);
    let url = url(d, &f, "url", true);
    let timeout = f.period(d, "timeout", secs(10));
    let max_response_bytes = f.byte_size(d, "max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES);
    let max_series = f.count(d, "max_series", DEFAULT_MAX_SERIES);
    let headers = f.get("headers").map(|n| headers(d, n)).unwrap_or_default();
    let basic_auth =
        section(d, &f, "basic_auth", &["username", "password_file"]).and_then(|auth| {
            let username = auth.required_text(d, "username");
            auth.required(d, "password_file")?;
            let password = secret_file(d, &auth, "password_file", dir)?;
            Some(BasicAuth {
                username: username?.value,
                password,
            })
        });
    let bearer_token = secret_file(d, &f, "bearer_token_file", dir);
    let tls = section(d, &f, "tls", super::tls::KEYS).and_then(|t| super::tls::read(d, &t, dir));
    if let (Some(basic), Some(bearer)) = (f.key("basic_auth"), f.key("bearer_token_file")) {
        let second = if bearer.referenced.line() > basic.referenced.line() {
            bearer
        } else {
            basic
        };
        d.error(
            &second.referenced,
            "set `basic_auth` or `bearer_token_file`, not both: each sets the Authorization header",
        );
    }
    let url = url?;
    for (key, written) in [("url", Some(&url)), ("external_url", external_url.as_ref())] {
        let found = written.map(|u| crate::domain::prometheus_url::credentials(u));
        if let (Some(found), Some(at)) = (found.filter(|f| !f.is_empty()), f.key(key)) {
            d.warning(
                &at.referenced,
                format!("`prometheus.{key}` holds {}: it would reach logs, links and error texts (Sena leaves it out of links and redacts it from errors, but the file still holds it); use `basic_auth` with `password_file`, `bearer_token_file` or `headers` instead", found.join(" and ")),
            );
        }
    }
    Some(PrometheusConfig {
        external_url: external_url.unwrap_or_else(|| url.clone()),
        url,
        timeout,
        headers,
        basic_auth,
        bearer_token,
        max_response_bytes,
        max_series,
        tls,
    })
}

/// An http(s) URL; the message never repeats the URL, which may hold a
/// password or a webhook token.
pub(crate) fn url(d: &mut FileDiags, f: &Fields, key: &str, required: bool) -> Option<String> {
    let written = if required {
        f.required_text(d, key)
    } else {
        f.text(d, key)
    }?;
    match check_http_url(written.value.trim()) {
        Ok(()) => Some(written.value.trim().to_string()),
        Err(e) => {
            d.error(&written.referenced, format!("`{key}` {e}"));
            None
        }
    }
}

/// Extra request headers (`X-Scope-OrgID` for a multi-tenant Prometheus).
/// Values are secrets: they often carry API keys.
fn headers(d: &mut FileDiags, node: &Node) -> Vec<(String, Secret)> {
    let super::raw::Value::Map(entries) = &node.value else {
        d.error(
            &node.referenced,
            format!(
                "`headers` must be a mapping of header names to values, found {}",
                node.value.kind()
            ),
        );
        return Vec::new();
    };
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let mut out = Vec::new();
    for (name, value) in entries {
        if name.value.is_empty() || !name.value.bytes().all(token) {
            d.error(
                &name.referenced,
                format!(
                    "`{}` is not a valid HTTP header name",
                    name.value.escape_debug()
                ),
            );
            continue;
        }
        let Some(value) = text(d, &name.value, value) else {
            continue;
        };
        if value.value.chars().any(char::is_control) {
            d.error(
                &value.referenced,
                format!(
                    "the value of header `{}` cannot contain control characters or line breaks",
                    name.value
                ),
            );
            continue;
        }
        out.push((name.value.clone(), Secret::new(value.value)));
    }
    out
}

fn state(d: &mut FileDiags, f: &Fields, dir: &Path) -> StateConfig {
    let state = section(
        d,
        f,
        "state",
        &["path", "journal_retention", "journal_max_records"],
    );
    let path = state
        .as_ref()
        .and_then(|s| s.text(d, "path"))
        .map(|p| p.value);
    StateConfig {
        // Relative to the config, like every other path in it, so the
        // daemon's working directory does not decide where state lands.
        path: dir.join(
            path.as_deref()
                .map_or(PathBuf::from("sena-state"), PathBuf::from),
        ),
        journal_retention: state.as_ref().map_or(secs(30 * 86400), |s| {
            s.period(d, "journal_retention", secs(30 * 86400))
        }),
        journal_max_records: state
            .as_ref()
            .map_or(1_000_000, |s| s.count(d, "journal_max_records", 1_000_000)),
    }
}

fn server(
    d: &mut FileDiags,
    f: &Fields,
    dir: &Path,
    roster: Option<&crate::roster::Roster>,
) -> ServerConfig {
    let default = SocketAddr::from(([127, 0, 0, 1], 9464));
    let server = section(d, f, "server", SERVER_KEYS);
    let max_connections = server
        .as_ref()
        .map_or(512, |s| s.count(d, "max_connections", 512));
    let header_read_timeout = server
        .as_ref()
        .map_or(secs(10), |s| s.period(d, "header_read_timeout", secs(10)));
    let body_read_timeout = server
        .as_ref()
        .map_or(secs(10), |s| s.period(d, "body_read_timeout", secs(10)));
    let body_min_rate = server
        .as_ref()
        .map_or(500, |s| s.byte_size(d, "body_min_rate", 500));
    let reserved_connections = server
        .as_ref()
        .map_or(4, |s| s.count(d, "reserved_connections", 4));
    let public_gates = server
        .as_ref()
        .is_some_and(|s| s.boolean(d, "public_gates", false));
    let public_reads = server
        .as_ref()
        .is_some_and(|s| s.boolean(d, "public_reads", false));
    let tokens_node = server.as_ref().and_then(|s| s.get("tokens"));
    let tokens = tokens_node.and_then(|n| super::tokens::tokens(d, n, dir, roster));
    let listen = server.and_then(|s| s.text(d, "listen"));
    let listen = listen.map_or(default, |l| match l.value.trim().parse::<SocketAddr>() {
        Ok(addr) => {
            if !addr.ip().to_canonical().is_loopback() && tokens_node.is_none() {
                d.warning(
                    &l.referenced,
                    format!("`{addr}` is reachable from other hosts but `server.tokens` is not set: anyone who can reach it reads status and incidents, and acks and reloads are refused unless they come from this host; configure `server.tokens`"),
                );
            }
            addr
        }
        Err(_) => {
            d.error(
                &l.referenced,
                format!("`{}` is not a listen address; write IP:PORT like `127.0.0.1:9464` (or `0.0.0.0:9464` for every interface)", l.value),
            );
            default
        }
    });
    ServerConfig {
        listen,
        max_connections,
        header_read_timeout,
        body_read_timeout,
        body_min_rate,
        reserved_connections,
        tokens: tokens.map(std::sync::Arc::new),
        public_gates,
        public_reads,
    }
}

/// Errors and warnings in reading order: the config first, then each file it
/// names in the order first named, each sorted by position. A diagnostic
/// found twice (a rules file shared by two rollouts) is reported once.
fn finish(
    config: Option<Config>,
    all: Vec<Diagnostic>,
    file: &Path,
) -> Result<Loaded, Diagnostics> {
    let mut order: HashMap<PathBuf, usize> = HashMap::new();
    for diag in &all {
        let next = order.len();
        order.entry(diag.file.clone()).or_insert(next);
    }
    let mut sorted = all;
    sorted.sort_by_key(|x| (order[&x.file], x.line, x.column));
    let mut unique: Vec<Diagnostic> = Vec::with_capacity(sorted.len());
    for diag in sorted {
        if !unique.contains(&diag) {
            unique.push(diag);
        }
    }
    let diagnostics = Diagnostics(unique);
    match config {
        Some(config) if !diagnostics.has_errors() => Ok(Loaded {
            config,
            warnings: diagnostics,
        }),
        _ if diagnostics.has_errors() => Err(diagnostics),
        // Unreachable: every reader that yields nothing reports why. Kept as
        // an error rather than a panic so a future bug fails `sena check`,
        // not the daemon.
        _ => Err(Diagnostics(vec![Diagnostic::error(
            file,
            1,
            1,
            "internal error: config incomplete",
        )])),
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
