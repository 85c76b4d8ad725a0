//! Where advisories go: `slack:` and `email:` (who receives them is the
//! roster's, read in `roster/`). Secrets are read here, from files or the
//! environment, and never echoed in a diagnostic.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::load::{url, Env};
use super::raw::{Node, Value};
use super::reader::{check_http_url, secret_file, Fields, FileDiags};
use super::{EmailConfig, Secret, SlackConfig, SlackMode, SmtpTls};

const SLACK_KEYS: &[&str] = &[
    "webhook_url",
    "token_file",
    "channel",
    "api_url",
    "signing_secret_file",
];
const EMAIL_KEYS: &[&str] = &["smtp", "from"];
const SMTP_KEYS: &[&str] = &[
    "host",
    "port",
    "tls",
    "username",
    "password_file",
    "timeout",
    "allow_insecure",
];
const TLS: &[(&str, SmtpTls)] = &[
    ("starttls", SmtpTls::Starttls),
    ("tls", SmtpTls::Tls),
    ("none", SmtpTls::None),
];

/// Webhook mode or Web API mode, chosen by which key is set. The YAML wins
/// over the environment; the environment (`SENA_SLACK_WEBHOOK_URL`, or
/// `SENA_SLACK_TOKEN` with `channel:`) is read only when neither key is set,
/// so secrets can stay out of the file.
pub(crate) fn slack(d: &mut FileDiags, node: &Node, dir: &Path, env: Env) -> Option<SlackConfig> {
    let f = Fields::read(d, node, "`slack`", SLACK_KEYS)?;
    let api_url =
        url(d, &f, "api_url", false).unwrap_or_else(|| "https://slack.com/api".to_string());
    let channel = f.text(d, "channel").map(|c| c.value);
    // Slack's interactive buttons (`POST /api/v1/slack/interactions`).
    let signing_secret = f
        .get("signing_secret_file")
        .and_then(|_| secret_file(d, &f, "signing_secret_file", dir));
    let webhook_key = f.get("webhook_url").and(f.key("webhook_url"));
    let token_key = f.get("token_file").and(f.key("token_file"));
    let mode = match (webhook_key, token_key) {
        (Some(webhook), Some(token)) => {
            let second = later(webhook, token);
            d.error(&second.referenced, "set `webhook_url` (incoming-webhook mode) or `token_file` with `channel` (Web API mode), not both");
            None
        }
        (Some(_), None) => {
            if let Some(c) = f.key("channel") {
                d.warning(
                    &c.referenced,
                    "`channel` is ignored in webhook mode: a webhook posts where it was created",
                );
            }
            url(d, &f, "webhook_url", true).map(|url| SlackMode::Webhook {
                url: Secret::new(url),
            })
        }
        (None, Some(token_key)) => {
            let token = secret_file(d, &f, "token_file", dir);
            if channel.is_none() {
                d.error(
                    &token_key.referenced,
                    "Web API mode needs `channel:` too, like `channel: \"#deploys\"`",
                );
            }
            Some(SlackMode::WebApi {
                token: token?,
                channel: channel?,
            })
        }
        (None, None) => slack_from_env(d, &f, channel, env),
    };
    // The NO-GO form (`views.open`) and the message updates after a
    // decision (`chat.update`) need the bot token: in webhook mode the
    // buttons would open nothing.
    if let (Some(SlackMode::Webhook { .. }), Some(key)) = (&mode, f.key("signing_secret_file")) {
        d.error(
            &key.referenced,
            "`signing_secret_file` turns on Slack's buttons, which need Web API mode: set `token_file` and `channel` instead of `webhook_url` (the NO-GO form and the message updates use the bot token)",
        );
        return None;
    }
    Some(SlackConfig {
        mode: mode?,
        api_url,
        signing_secret,
    })
}

fn slack_from_env(
    d: &mut FileDiags,
    f: &Fields,
    channel: Option<String>,
    env: Env,
) -> Option<SlackMode> {
    match (
        env("SENA_SLACK_TOKEN"),
        env("SENA_SLACK_WEBHOOK_URL"),
        channel,
    ) {
        (Some(token), _, Some(channel)) => Some(SlackMode::WebApi {
            token: Secret::new(token.trim()),
            channel,
        }),
        (_, Some(url), _) if check_http_url(url.trim()).is_ok() => Some(SlackMode::Webhook {
            url: Secret::new(url.trim()),
        }),
        (_, Some(_), _) => {
            d.error(&f.at, "the environment variable SENA_SLACK_WEBHOOK_URL must be an http:// or https:// URL");
            None
        }
        (Some(_), None, None) => {
            d.error(&f.at, "SENA_SLACK_TOKEN is set, so Web API mode needs `channel:` too, like `channel: \"#deploys\"`");
            None
        }
        (None, None, _) => {
            d.error(&f.at, "`slack` needs `webhook_url`, or `token_file` and `channel` (or the environment variable SENA_SLACK_WEBHOOK_URL or SENA_SLACK_TOKEN)");
            None
        }
    }
}

fn later<'a>(a: &'a Spanned<String>, b: &'a Spanned<String>) -> &'a Spanned<String> {
    let at = |s: &Spanned<String>| (s.referenced.line(), s.referenced.column());
    if at(b) > at(a) {
        b
    } else {
        a
    }
}

pub(crate) fn email(
    d: &mut FileDiags,
    node: &Node,
    key: Option<&Spanned<String>>,
    dir: &Path,
    has_roster: bool,
) -> Option<EmailConfig> {
    let f = Fields::read(d, node, "`email`", EMAIL_KEYS)?;
    let from = f.required_text(d, "from").filter(|from| {
        let (local, domain) = from.value.rsplit_once('@').unwrap_or_default();
        let valid = !local.trim().is_empty() && !domain.trim().is_empty();
        if !valid {
            d.error(
                &from.referenced,
                "`from` must be an email address, like sena@example.com",
            );
        }
        valid
    });
    let smtp_node = f.required(d, "smtp")?;
    let smtp = Fields::read(d, smtp_node, "`smtp`", SMTP_KEYS)?;
    let host = smtp.required_text(d, "host");
    let tls = smtp.choice(d, "tls", TLS, SmtpTls::Starttls);
    let port = match smtp.get("port") {
        None => Some(match tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }),
        Some(node) => match &node.value {
            Value::Number(n) => n.parse::<u16>().ok().filter(|p| *p > 0),
            _ => None,
        }
        .or_else(|| {
            d.error(&node.referenced, "`port` must be a number from 1 to 65535");
            None
        }),
    };
    let username = smtp.text(d, "username").map(|u| u.value);
    let password = secret_file(d, &smtp, "password_file", dir);
    match (smtp.key("username"), smtp.key("password_file")) {
        (Some(u), None) => d.error(
            &u.referenced,
            "`username` needs `password_file` too (SMTP authentication uses both)",
        ),
        (None, Some(p)) => d.error(
            &p.referenced,
            "`password_file` needs `username` too (SMTP authentication uses both)",
        ),
        _ => {}
    }
    let timeout = smtp.period(d, "timeout", Duration::from_secs(10));
    let allow_insecure = smtp.boolean(d, "allow_insecure", false);
    if let (SmtpTls::None, Some(host)) = (tls, &host) {
        if !is_loopback(&host.value) && !allow_insecure {
            let at = smtp.get("tls").map_or(smtp.at, |n| n.referenced);
            d.error(
                &at,
                "`tls: none` sends mail and password in clear text; it is only allowed for loopback hosts (127.0.0.1, ::1, localhost) unless `allow_insecure: true`",
            );
        }
    }
    if !has_roster {
        let at = key.map_or(f.at, |k| k.referenced);
        d.warning(&at, "`email` is set but there is no `roster:` naming people's addresses, so no mail will be sent");
    }
    Some(EmailConfig {
        host: host?.value,
        port: port?,
        tls,
        username,
        password,
        from: from?.value,
        timeout,
    })
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
