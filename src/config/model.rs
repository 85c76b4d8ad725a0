//! The typed configuration: what `sena.yaml` and its rules files mean once
//! loaded. Parse, don't validate: a value of these types is always usable
//! (thresholds are numbers, durations parsed, stages non-empty, names unique).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::roster::Roster;

pub use crate::domain::{Bound, OnFail, Share, Threshold, TokenTable, Unit};

#[derive(Clone, Debug)]
pub struct Config {
    /// The `sena.yaml` this came from; relative paths in it resolve beside it.
    pub source: PathBuf,
    pub prometheus: PrometheusConfig,
    pub evaluation: EvaluationConfig,
    pub state: StateConfig,
    pub server: ServerConfig,
    pub rollouts: Vec<Rollout>,
    pub slack: Option<SlackConfig>,
    pub email: Option<EmailConfig>,
    pub roster: Option<Roster>,
    pub notify: NotifyConfig,
}

#[derive(Clone, Debug)]
pub struct PrometheusConfig {
    pub url: String,
    /// HTTP timeout for one query, enforced by Sena (not only Prometheus's
    /// own evaluation timeout).
    pub timeout: Duration,
    pub headers: Vec<(String, Secret)>,
    pub basic_auth: Option<BasicAuth>,
    pub bearer_token: Option<Secret>,
    /// Base of the links to Prometheus's graph page in advisories; defaults to `url`.
    pub external_url: String,
    /// An answer's body is read up to this many bytes; beyond, the check is
    /// an error (and holds), whatever Prometheus meant to send.
    pub max_response_bytes: u64,
    /// Default for each check's `max_series`.
    pub max_series: usize,
    /// `prometheus.tls`: a private CA and a client certificate (mTLS).
    pub tls: Option<PrometheusTls>,
}

/// `prometheus.tls`, read from PEM files at load (`config/tls.rs`).
#[derive(Clone, Debug)]
pub struct PrometheusTls {
    /// PEM certificates trusted besides the built-in roots.
    pub ca: Option<String>,
    /// The client certificate chain (PEM) and its private key (PEM).
    pub client: Option<(String, Secret)>,
}

#[derive(Clone, Debug)]
pub struct BasicAuth {
    pub username: String,
    pub password: Secret,
}

/// A value that must never reach a log, `sena check` or `/api/v1/status`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone, Debug)]
pub struct EvaluationConfig {
    pub interval: Duration,
}

#[derive(Clone, Debug)]
pub struct StateConfig {
    /// Directory holding `sena.db`; created if missing.
    pub path: PathBuf,
    /// Journal records older than this are pruned.
    pub journal_retention: Duration,
    /// And at most this many records are kept.
    pub journal_max_records: usize,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Connections served at once; more are answered 503 and closed, so
    /// clients can never take the file descriptors the evaluator needs.
    pub max_connections: usize,
    /// A client must send a request's headers within this long of starting
    /// (or of the previous response, on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this long of its headers...
    pub body_read_timeout: Duration,
    /// ...plus one second for every this many bytes received (0: none), so
    /// a trickle cannot hold a connection and a fair upload is not cut.
    pub body_min_rate: u64,
    /// Connections beyond `max_connections` that serve only `/healthz`,
    /// `/readyz` and `/metrics`, so a probe and a scrape get through when
    /// clients hold every other one.
    pub reserved_connections: usize,
    /// `server.tokens`: who may call the API, as what. `None`: no tokens,
    /// so only callers on this host (loopback) may change anything.
    pub tokens: Option<Arc<TokenTable>>,
    /// `server.public_gates`: the gates (Flagger's webhooks, Argo's web
    /// metric) answer without a token. Flagger cannot send a header, and a
    /// gate changes nothing: it says what `/api/v1/status` says.
    pub public_gates: bool,
    /// `server.public_reads`: with `server.tokens`, the reads (status,
    /// incidents, decisions, the gates and the dashboard's pages) answer
    /// without a token. Off by default: decisions carry who decided what,
    /// with comments, and status says what is rolling out where.
    pub public_reads: bool,
}

impl ServerConfig {
    /// The settings a reload cannot change (the socket is already bound);
    /// tokens are not among them, so a leaked token is revoked by a reload.
    pub fn same_listener(&self, other: &ServerConfig) -> bool {
        self.listen == other.listen
            && self.max_connections == other.max_connections
            && self.header_read_timeout == other.header_read_timeout
            && self.body_read_timeout == other.body_read_timeout
            && self.body_min_rate == other.body_min_rate
            && self.reserved_connections == other.reserved_connections
    }
}

#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// Reminder period while a rollout stays `hold` or `rollback`.
    pub repeat: Duration,
    /// A rollout must stay back at `continue` this long before its incident
    /// resolves; a breach inside it reopens the same incident without a new
    /// page (the anti-flap rule).
    pub resolve_after: Duration,
    /// A hold whose only causes are blind checks (no data, query errors)
    /// pages nobody until it has lasted this long: a canary whose series
    /// are not scraped yet, or one Prometheus restart, is not worth waking
    /// someone. The verdict is `hold` at once all the same.
    pub blind_after: Duration,
    /// A channel whose oldest undelivered notification is older than this
    /// is stuck: `/readyz` answers 503, `sena_channel_stuck` is 1, and the
    /// other channels are told once.
    pub stuck_after: Duration,
}

#[derive(Clone, Debug)]
pub struct SlackConfig {
    pub mode: SlackMode,
    /// Slack API base, overridable for tests and proxies.
    pub api_url: String,
    /// `signing_secret_file`: verifies Slack's interaction requests; set,
    /// it enables the buttons and their endpoint.
    pub signing_secret: Option<Secret>,
}

#[derive(Clone, Debug)]
pub enum SlackMode {
    Webhook { url: Secret },
    WebApi { token: Secret, channel: String },
}

#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    /// Per-send timeout.
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

#[derive(Clone, Debug)]
pub struct Rollout {
    pub name: String,
    /// Who approves each expansion; a roster person name when a roster is configured.
    pub approver: String,
    /// Who may decide in the approver's place (`deputies:`); may be empty.
    pub deputies: Vec<String>,
    /// Which Flagger canary this rollout is (`flagger:`), for its webhooks.
    pub flagger: FlaggerCanary,
    pub stages: Vec<Stage>,
    pub checks: Vec<Check>,
    pub interval: Duration,
}

/// `flagger: {name, namespace}`: the Flagger canary a webhook names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlaggerCanary {
    /// Default: the rollout's name.
    pub name: String,
    /// `None`: any namespace.
    pub namespace: Option<String>,
}

impl FlaggerCanary {
    pub fn matches(&self, name: &str, namespace: &str) -> bool {
        self.name == name && self.namespace.as_deref().is_none_or(|ns| ns == namespace)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub traffic: Percent,
    /// How long the stage must run clean before expansion; `None` for the last.
    pub bake: Option<Duration>,
    /// `min_bake`: sooner than `bake`, the stage is ready when every check
    /// is count-based and confidently within its limit.
    pub min_bake: Option<Duration>,
}

/// A share of traffic, 0–100.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", crate::domain::format::trim_float(self.0))
    }
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    /// PromQL with `{{ rollout }}` already substituted.
    pub query: String,
    pub threshold: Threshold,
    /// How long a breach must last before it counts as failing.
    pub for_duration: Duration,
    pub on_fail: OnFail,
    pub no_data: NoData,
    pub description: Option<String>,
    pub runbook_url: Option<String>,
    /// More series than this in one answer makes the check an error.
    pub max_series: usize,
    /// Where the check is defined, for messages: `rules/canary.yaml:12`.
    pub defined_at: String,
    /// The count form: judged from `bad`/`good` and `total` counts with a
    /// stated confidence. `query` is then their ratio, for links.
    pub counts: Option<CountQueries>,
}

/// A count check's queries, `{{ rollout }}` substituted and `{{ window }}`
/// left for evaluation to fill (`config::rules::WINDOW`).
#[derive(Clone, Debug, PartialEq)]
pub struct CountQueries {
    pub share: Share,
    pub part: String,
    pub total: String,
    /// 0.95 for 95%.
    pub confidence: f64,
    /// No "within" before this many requests (0: the statistics decide).
    pub min_total: f64,
    pub baseline: Option<BaselineQueries>,
}

impl CountQueries {
    /// The limit on the bad share that `threshold` sets.
    pub fn bad_limit(&self, threshold: &Threshold) -> f64 {
        match self.share {
            Share::Bad => threshold.value,
            Share::Good => 1.0 - threshold.value,
        }
    }
}

/// `vs:` — the baseline the canary's counts are compared with.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineQueries {
    pub part: String,
    pub total: String,
    /// The canary's bad share may be at most this many times the baseline's.
    pub max_ratio: f64,
    /// In the check's notation: a canary confidently on the healthy side of
    /// it is not a regression, however it compares.
    pub floor: Option<f64>,
    /// Labels `vs.labels` swapped: ignored when matching the tracks' series.
    pub swapped: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// An empty result holds the rollout (the default: blind means hold).
    Hold,
    /// An empty result counts as passing (for checks whose series only
    /// exist while something is wrong).
    Ignore,
}

impl Config {
    pub fn rollout(&self, name: &str) -> Option<&Rollout> {
        self.rollouts.iter().find(|r| r.name == name)
    }
}
