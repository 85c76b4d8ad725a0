//! The command line: one file per verb. Every verb returns its exit code.

pub mod ack;
mod api_client;
pub mod backtest;
pub mod check;
pub mod dataset;
mod decide;
pub mod eval;
mod gate;
pub mod journal;
mod out_file;
pub mod roster;
pub mod run;
pub mod stage;
pub mod test;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "sena",
    version,
    about = "Watches canary rollouts through Prometheus and advises roll back, hold or continue."
)]
struct Cli {
    /// Log format: human-readable text or JSON lines for machines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log filter, as in RUST_LOG (`info`, `sena=debug`).
    #[arg(long, global = true, env = "SENA_LOG", default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

/// How a verb reaches the running daemon's API (ack, gate, approve,
/// reject, decisions).
#[derive(clap::Args)]
struct DaemonAccess {
    /// The API token (one line), when the daemon has `server.tokens`; the
    /// daemon records the token's person. Else $SENA_TOKEN (never a flag:
    /// arguments show in `ps`).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// The config whose `server.listen` names the daemon.
    #[arg(long, short, default_value = "sena.yaml")]
    config: PathBuf,
}

impl DaemonAccess {
    /// The config path, and the credentials to call with as `by` (a name
    /// only a daemon without `server.tokens` takes).
    fn credentials(self, by: Option<String>) -> (PathBuf, api_client::Credentials) {
        let credentials = api_client::Credentials {
            token_file: self.token_file,
            token: std::env::var("SENA_TOKEN").ok(),
            by,
        };
        (self.config, credentials)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: evaluate every rollout on its interval and notify.
    Run {
        #[arg(long, short, default_value = "sena.yaml")]
        config: PathBuf,
    },
    /// Validate the config, its rules files and roster; print what each rollout will do.
    Check {
        #[arg(long, short, default_value = "sena.yaml")]
        config: PathBuf,
    },
    /// Evaluate every rollout once, now, without notifying. Exit 0 continue, 3 hold, 4 rollback.
    Eval {
        #[arg(long, short, default_value = "sena.yaml")]
        config: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Replay a past range through Sena's judgement and incident policy:
    /// every verdict change, page and readiness that would have happened.
    /// Writes no state and notifies nobody. Exit 0 ran, 1 error, 2 bad config/rules.
    Backtest(backtest::Args),
    /// Run rules unit tests: input series in a throw-away Prometheus, Sena's
    /// verdicts checked at given instants. Exit 0 all pass, 1 any fail, 2 a
    /// test file error or Prometheus cannot run.
    Test(test::Args),
    /// Move a rollout to a stage (0-based index into its `stages`).
    Stage {
        rollout: String,
        index: usize,
        #[arg(long, short, default_value = "sena.yaml")]
        config: PathBuf,
    },
    /// Print the decision journal as JSON lines.
    Journal {
        #[arg(long, short, default_value = "sena.yaml")]
        config: PathBuf,
        /// A duration back from now (`1h`) or an RFC 3339 instant.
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        rollout: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Every GO / NO-GO (and refusal) with its advice and outcome, as CSV or JSON lines.
    Dataset {
        #[arg(long, short, default_value = "sena.yaml")]
        config: PathBuf,
        /// A duration back from now (`90d`) or an RFC 3339 instant.
        #[arg(long, default_value = "90d")]
        since: String,
        #[arg(long, value_enum, default_value_t = dataset::DatasetFormat::Csv)]
        format: dataset::DatasetFormat,
        #[arg(long)]
        rollout: Option<String>,
        /// Write here (atomically: a temporary file, then rename) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Show who is on call at an instant (default now), or the week as a table.
    Roster {
        #[arg(long, short, default_value = "sena.yaml")]
        config: PathBuf,
        /// RFC 3339 instant, e.g. 2025-10-22T14:00:00+09:00.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        week: bool,
    },
    /// Acknowledge an incident through the running daemon, stopping escalation.
    Ack {
        incident: i64,
        /// Who acknowledges (default: $USER); only for a daemon without
        /// `server.tokens`, which accepts acks from its own host only.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        daemon: DaemonAccess,
    },
    /// Ask the daemon whether ROLLOUT may go on (for CI): exit 0 GO given
    /// and continue, 3 hold or waiting for approval, 4 rollback, 1 error.
    Gate {
        rollout: String,
        /// The stage this pipeline step moves traffic into (0-based): stage
        /// 0 needs no GO, a later one waits for the GO into it, so one GO
        /// lets one step through. Without it, the current stage's GO decides.
        #[arg(long, value_name = "N")]
        stage: Option<usize>,
        #[command(flatten)]
        daemon: DaemonAccess,
    },
    /// GO: expand ROLLOUT from stage N to the next, through the daemon.
    Approve {
        rollout: String,
        /// The stage you decide on (0-based), as in the "ready to expand" message.
        #[arg(long)]
        stage: usize,
        #[arg(long)]
        comment: Option<String>,
        /// GO against Sena's advice (needs --comment); recorded as such.
        #[arg(long = "override")]
        override_advice: bool,
        /// Who decides; only for a daemon without `server.tokens`.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        daemon: DaemonAccess,
    },
    /// NO-GO: hold ROLLOUT at stage N until a later GO or `sena stage`.
    Reject {
        rollout: String,
        #[arg(long)]
        stage: usize,
        /// Why (required).
        #[arg(long)]
        comment: String,
        /// Who decides; only for a daemon without `server.tokens`.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        daemon: DaemonAccess,
    },
    /// Print GO / NO-GO records (with Sena's advice) as JSON lines.
    Decisions {
        #[arg(long)]
        rollout: Option<String>,
        /// A duration back from now (`30d`) or an RFC 3339 instant.
        #[arg(long)]
        since: Option<String>,
        /// Who decides; only for a daemon without `server.tokens`.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        daemon: DaemonAccess,
    },
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing(cli.log_format, &cli.log_level);
    // reqwest and lettre are built without a default crypto provider; pick
    // ring once for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stdout = &mut std::io::stdout();
    let stderr = &mut std::io::stderr();
    match cli.command {
        Command::Run { config } => run::run(&config),
        Command::Check { config } => check::run(&config, stdout, stderr),
        Command::Eval { config, format } => eval::run(&config, format, stdout, stderr),
        Command::Backtest(args) => backtest::run(&args, stdout, stderr),
        Command::Test(args) => test::run(args, stdout, stderr),
        Command::Stage {
            rollout,
            index,
            config,
        } => stage::run(&config, &rollout, index, stdout, stderr),
        Command::Journal {
            config,
            since,
            rollout,
            limit,
        } => journal::run(&config, since.as_deref(), rollout, limit, stdout, stderr),
        Command::Dataset {
            config,
            since,
            format,
            rollout,
            out,
        } => dataset::run(&config, &since, format, rollout, out, stdout, stderr),
        Command::Roster { config, at, week } => {
            roster_verb(&config, at.as_deref(), week, stdout, stderr)
        }
        Command::Ack {
            incident,
            by,
            daemon,
        } => {
            let (config, credentials) = daemon.credentials(by);
            ack::run(&config, incident, credentials, stdout, stderr)
        }
        Command::Gate {
            rollout,
            stage,
            daemon,
        } => {
            let (config, credentials) = daemon.credentials(None);
            gate::run(&config, &rollout, stage, credentials, stdout, stderr)
        }
        Command::Approve {
            rollout,
            stage,
            comment,
            override_advice,
            by,
            daemon,
        } => {
            let ask = decide::Ask {
                rollout: &rollout,
                decision: "go",
                stage,
                comment,
                override_advice,
            };
            let (config, credentials) = daemon.credentials(by);
            decide::decide(&config, ask, credentials, stdout, stderr)
        }
        Command::Reject {
            rollout,
            stage,
            comment,
            by,
            daemon,
        } => {
            let ask = decide::Ask {
                rollout: &rollout,
                decision: "no_go",
                stage,
                comment: Some(comment),
                override_advice: false,
            };
            let (config, credentials) = daemon.credentials(by);
            decide::decide(&config, ask, credentials, stdout, stderr)
        }
        Command::Decisions {
            rollout,
            since,
            by,
            daemon,
        } => {
            let (config, credentials) = daemon.credentials(by);
            decide::list(
                &config,
                rollout.as_deref(),
                since.as_deref(),
                credentials,
                stdout,
                stderr,
            )
        }
    }
}

fn init_tracing(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Loads the config for a verb, printing every diagnostic on failure.
pub fn load_or_report(
    path: &std::path::Path,
    err: &mut dyn std::io::Write,
) -> Option<crate::config::Config> {
    match crate::config::load(path) {
        Ok(loaded) => {
            for w in loaded.warnings.warnings() {
                let _ = writeln!(err, "{w}");
            }
            Some(loaded.config)
        }
        Err(diagnostics) => {
            for d in &diagnostics.0 {
                let _ = writeln!(err, "{d}");
            }
            None
        }
    }
}

fn roster_verb(
    config: &std::path::Path,
    at: Option<&str>,
    week: bool,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> i32 {
    let Some(config) = load_or_report(config, err) else {
        return 1;
    };
    let Some(roster) = config.roster.as_ref() else {
        let _ = writeln!(
            err,
            "{}: no roster configured (add `roster: roster.yaml`)",
            config.source.display()
        );
        return 1;
    };
    let at = match at.map(parse_instant).transpose() {
        Ok(t) => t.unwrap_or_else(jiff::Timestamp::now),
        Err(e) => {
            let _ = writeln!(err, "--at: {e}");
            return 2;
        }
    };
    match roster::run(roster, at, week, out) {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

/// An RFC 3339 instant (`2025-10-22T14:00:00+09:00`, `...Z`).
pub fn parse_instant(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>().map_err(|e| {
        format!("`{text}` is not an RFC 3339 instant such as 2025-10-22T14:00:00+09:00 ({e})")
    })
}

/// A tokio runtime for verbs that talk to the outside world.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
