//! Writes a `sena.yaml` and its rules files into a scratch directory:
//!
//! ```ignore
//! let cfg = ConfigBuilder::new().rollout("t-healthy", rules::MISSION).write();
//! let sena = Sena::start(cfg.path());
//! ```
//!
//! Defaults: the shared Prometheus, `evaluation.interval: 1s`, a query
//! timeout of 5 s, `state.path` and a free `server.listen` port of its own,
//! stages `5%` (bake 1h) then `100%`, approver `lubit`. Rules files land in
//! `rules/ROLLOUT.yaml` beside the config, referenced relatively as users do.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One rollout of the config.
#[derive(Clone, Debug)]
pub struct RolloutSpec {
    pub name: String,
    /// The rules file's YAML text (`checks: [...]`).
    pub rules: String,
    pub approver: String,
    /// `deputies:`; written only when not empty.
    pub deputies: Vec<String>,
    /// (traffic, bake) per stage, e.g. `("5%", Some("1h"))`.
    pub stages: Vec<(String, Option<String>)>,
    /// Per-rollout `interval`, overriding `evaluation.interval`.
    pub interval: Option<String>,
}

impl RolloutSpec {
    pub fn new(name: &str, rules: &str) -> RolloutSpec {
        RolloutSpec {
            name: name.to_string(),
            rules: rules.to_string(),
            approver: "lubit".to_string(),
            deputies: Vec::new(),
            stages: vec![("5%".into(), Some("1h".into())), ("100%".into(), None)],
            interval: None,
        }
    }

    pub fn approver(mut self, approver: &str) -> Self {
        self.approver = approver.to_string();
        self
    }

    pub fn deputies(mut self, deputies: &[&str]) -> Self {
        self.deputies = deputies.iter().map(|d| d.to_string()).collect();
        self
    }

    pub fn stages(mut self, stages: &[(&str, Option<&str>)]) -> Self {
        self.stages = stages
            .iter()
            .map(|(t, b)| (t.to_string(), b.map(String::from)))
            .collect();
        self
    }

    pub fn interval(mut self, interval: &str) -> Self {
        self.interval = Some(interval.to_string());
        self
    }
}

#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    prometheus_url: Option<String>,
    prometheus_timeout: Option<String>,
    prometheus_extra: Vec<String>,
    server_extra: Vec<String>,
    interval: Option<String>,
    rollouts: Vec<RolloutSpec>,
    slack: Option<String>,
    slack_token: Option<String>,
    email: Option<String>,
    roster: Option<String>,
    notify_repeat: Option<String>,
    raw: Vec<String>,
    files: Vec<(String, String)>,
}

/// A written config; the scratch directory is removed on drop.
pub struct TestConfig {
    pub dir: tempfile::TempDir,
    /// `DIR/sena.yaml`.
    pub path: PathBuf,
    /// `server.listen`.
    pub listen: SocketAddr,
    /// `state.path`.
    pub state_path: PathBuf,
}

impl ConfigBuilder {
    pub fn new() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// `prometheus.url`; default: the shared Prometheus (started if needed).
    pub fn prometheus_url(mut self, url: &str) -> Self {
        self.prometheus_url = Some(url.to_string());
        self
    }

    /// `prometheus.timeout`; default `5s`.
    pub fn prometheus_timeout(mut self, timeout: &str) -> Self {
        self.prometheus_timeout = Some(timeout.to_string());
        self
    }

    /// A line under `prometheus:`, e.g. `max_series: 50`.
    pub fn prometheus_key(mut self, line: &str) -> Self {
        self.prometheus_extra.push(line.to_string());
        self
    }

    /// A line under `server:`, e.g. `max_connections: 64`.
    pub fn server_key(mut self, line: &str) -> Self {
        self.server_extra.push(line.to_string());
        self
    }

    /// `evaluation.interval`; default `1s`.
    pub fn interval(mut self, interval: &str) -> Self {
        self.interval = Some(interval.to_string());
        self
    }

    /// A rollout named `name` (use the test app's app name) with these rules.
    pub fn rollout(self, name: &str, rules_yaml: &str) -> Self {
        self.rollout_with(RolloutSpec::new(name, rules_yaml))
    }

    pub fn rollout_with(mut self, spec: RolloutSpec) -> Self {
        self.rollouts.push(spec);
        self
    }

    /// Incoming-webhook mode: `slack.webhook_url`.
    pub fn slack_webhook(mut self, webhook_url: &str) -> Self {
        self.slack = Some(format!("slack:\n  webhook_url: {webhook_url}\n"));
        self
    }

    /// `slack.signing_secret_file` (written as `DIR/slack-signing-secret`),
    /// after `slack_web_api`: turns Slack's interactive buttons on.
    pub fn slack_signing_secret(mut self, secret: &str) -> Self {
        if let Some(slack) = &mut self.slack {
            slack.push_str("  signing_secret_file: slack-signing-secret\n");
        }
        self.file("slack-signing-secret", &format!("{secret}\n"))
    }

    /// Web API mode: `slack.token_file` (written as `DIR/slack-token`),
    /// `slack.channel`, `slack.api_url`.
    pub fn slack_web_api(mut self, api_url: &str, token: &str, channel: &str) -> Self {
        self.slack = Some(format!(
            "slack:\n  token_file: {{TOKEN_FILE}}\n  channel: \"{channel}\"\n  api_url: {api_url}\n"
        ));
        self.slack_token = Some(token.to_string());
        self
    }

    /// `email` through a plain-text SMTP server on loopback.
    pub fn email(mut self, smtp_port: u16, from: &str) -> Self {
        self.email = Some(format!(
            "email:\n  smtp: {{ host: 127.0.0.1, port: {smtp_port}, tls: none }}\n  from: {from}\n"
        ));
        self
    }

    /// Writes `roster.yaml` beside the config and sets `roster: roster.yaml`.
    pub fn roster(mut self, roster_yaml: &str) -> Self {
        self.roster = Some(roster_yaml.to_string());
        self
    }

    /// `notify.repeat`.
    pub fn notify_repeat(mut self, repeat: &str) -> Self {
        self.notify_repeat = Some(repeat.to_string());
        self
    }

    /// Top-level YAML appended verbatim, for keys this builder does not know.
    pub fn raw(mut self, yaml: &str) -> Self {
        self.raw.push(yaml.to_string());
        self
    }

    /// Another file in the config directory (`relative` to it).
    pub fn file(mut self, relative: &str, content: &str) -> Self {
        self.files.push((relative.to_string(), content.to_string()));
        self
    }

    /// Writes sena.yaml, the rules files and the extra files into a new
    /// scratch directory.
    pub fn write(self) -> TestConfig {
        let dir = super::scratch_dir("config");
        let root = dir.path().to_path_buf();
        let listen: SocketAddr = ([127, 0, 0, 1], super::free_port()).into();
        let state_path = root.join("state");
        let prometheus_url = self
            .prometheus_url
            .clone()
            .unwrap_or_else(|| super::shared().prometheus.url());

        let mut yaml = String::new();
        let _ = write!(
            yaml,
            "prometheus:\n  url: {prometheus_url}\n  timeout: {}\n{}\
             evaluation:\n  interval: {}\n\
             state:\n  path: {}\n\
             server:\n  listen: {listen}\n{}",
            self.prometheus_timeout.as_deref().unwrap_or("5s"),
            self.prometheus_extra
                .iter()
                .map(|line| format!("  {line}\n"))
                .collect::<String>(),
            self.interval.as_deref().unwrap_or("1s"),
            state_path.display(),
            self.server_extra
                .iter()
                .map(|line| format!("  {line}\n"))
                .collect::<String>(),
        );
        yaml.push_str("rollouts:\n");
        fs::create_dir_all(root.join("rules")).expect("create rules/");
        for r in &self.rollouts {
            let _ = writeln!(yaml, "  - name: {}", r.name);
            let _ = writeln!(yaml, "    approver: {}", r.approver);
            if !r.deputies.is_empty() {
                let _ = writeln!(yaml, "    deputies: [{}]", r.deputies.join(", "));
            }
            yaml.push_str("    stages:\n");
            for (traffic, bake) in &r.stages {
                match bake {
                    Some(bake) => {
                        let _ = writeln!(yaml, "      - {{ traffic: {traffic}, bake: {bake} }}");
                    }
                    None => {
                        let _ = writeln!(yaml, "      - {{ traffic: {traffic} }}");
                    }
                }
            }
            let _ = writeln!(yaml, "    rules: [rules/{}.yaml]", r.name);
            if let Some(interval) = &r.interval {
                let _ = writeln!(yaml, "    interval: {interval}");
            }
            fs::write(root.join(format!("rules/{}.yaml", r.name)), &r.rules)
                .expect("write a rules file");
        }
        if let Some(slack) = &self.slack {
            let token_file = root.join("slack-token");
            if let Some(token) = &self.slack_token {
                fs::write(&token_file, format!("{token}\n")).expect("write the token file");
            }
            yaml.push_str(&slack.replace("{TOKEN_FILE}", &token_file.display().to_string()));
        }
        if let Some(email) = &self.email {
            yaml.push_str(email);
        }
        if let Some(roster) = &self.roster {
            fs::write(root.join("roster.yaml"), roster).expect("write roster.yaml");
            yaml.push_str("roster: roster.yaml\n");
        }
        if let Some(repeat) = &self.notify_repeat {
            let _ = writeln!(yaml, "notify:\n  repeat: {repeat}");
        }
        for raw in &self.raw {
            yaml.push_str(raw);
            if !raw.ends_with('\n') {
                yaml.push('\n');
            }
        }
        for (relative, content) in &self.files {
            let path = root.join(relative);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create a directory");
            }
            fs::write(path, content).expect("write a file");
        }
        let path = root.join("sena.yaml");
        fs::write(&path, yaml).expect("write sena.yaml");
        TestConfig {
            dir,
            path,
            listen,
            state_path,
        }
    }
}

impl TestConfig {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `http://LISTEN`, the daemon's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// The config as written.
    pub fn yaml(&self) -> String {
        fs::read_to_string(&self.path).expect("read sena.yaml")
    }

    pub fn rules_path(&self, rollout: &str) -> PathBuf {
        self.dir.path().join(format!("rules/{rollout}.yaml"))
    }

    /// Replaces a rollout's rules file (then `sighup()` to reload).
    pub fn write_rules(&self, rollout: &str, rules_yaml: &str) {
        fs::write(self.rules_path(rollout), rules_yaml).expect("write a rules file");
    }

    /// Writes `relative` (to the config directory) and returns its path.
    pub fn write_file(&self, relative: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create a directory");
        }
        fs::write(&path, content).expect("write a file");
        path
    }
}

impl AsRef<Path> for TestConfig {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}
