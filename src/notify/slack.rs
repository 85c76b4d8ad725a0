//! The Slack channel: an incoming webhook or the Web API's
//! `chat.postMessage`. One `send` is one HTTP attempt; the dispatcher retries,
//! so the work here is classifying the outcome precisely (`Transient` means
//! "try again, maybe after `retry_after`", `Permanent` means "stop, tell
//! someone, use the other channel").
//!
//! The token and the webhook URL are secrets (a webhook URL alone lets anyone
//! post): they never appear in an error message, a log line or `Debug`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::config::{Secret, SlackConfig, SlackMode};
use crate::notify::{render, AdvisoryKind, BoxFuture, Delivery, Notifier, NotifyError, Sent};

/// One attempt must not hold the dispatcher for long; Slack answers in
/// well under a second when it is healthy.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum SlackSetupError {
    #[error("slack: cannot build the HTTP client: {0}")]
    Client(String),
    #[error("slack: the webhook URL is not an http(s) URL (value not shown: it is a secret)")]
    WebhookUrl,
    #[error("slack: api_url {0:?} is not an http(s) URL")]
    ApiUrl(String),
}

pub struct SlackNotifier {
    http: reqwest::Client,
    target: Target,
}

enum Target {
    Webhook {
        url: Secret,
    },
    WebApi {
        endpoint: String,
        token: Secret,
        channel: String,
    },
}

impl std::fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.target {
            Target::Webhook { .. } => "webhook".to_string(),
            Target::WebApi { channel, .. } => format!("web api, channel {channel}"),
        };
        f.debug_struct("SlackNotifier")
            .field("mode", &mode)
            .finish()
    }
}

impl SlackNotifier {
    pub fn new(cfg: &SlackConfig) -> Result<Self, SlackSetupError> {
        let target = match &cfg.mode {
            SlackMode::Webhook { url } => {
                if !render::is_web_url(url.expose()) {
                    return Err(SlackSetupError::WebhookUrl);
                }
                Target::Webhook { url: url.clone() }
            }
            SlackMode::WebApi { token, channel } => {
                let base = cfg.api_url.trim_end_matches('/');
                if !render::is_web_url(base) {
                    return Err(SlackSetupError::ApiUrl(cfg.api_url.clone()));
                }
                Target::WebApi {
                    endpoint: format!("{base}/chat.postMessage"),
                    token: token.clone(),
                    channel: channel.clone(),
                }
            }
        };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            // A redirect would turn the POST into a GET elsewhere and could
            // carry the token to another host: treat it as a misconfiguration.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sena/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackSetupError::Client(e.without_url().to_string()))?;
        Ok(SlackNotifier { http, target })
    }

    async fn send_once(&self, d: &Delivery) -> Result<Sent, NotifyError> {
        let content = render::slack_message(&d.advisory, &d.recipients);
        let mut body = serde_json::to_value(&content)
            .map_err(|e| NotifyError::Permanent(format!("slack: cannot encode message: {e}")))?;
        // Graph and runbook links would otherwise unfurl into large previews.
        body["unfurl_links"] = json!(false);
        body["unfurl_media"] = json!(false);

        let request = match &self.target {
            Target::Webhook { url } => self.http.post(url.expose()),
            Target::WebApi {
                endpoint,
                token,
                channel,
            } => {
                body["channel"] = json!(channel);
                if let Some(thread) = &d.thread {
                    body["thread_ts"] = json!(thread);
                    // Show the reply in the channel too, except an
                    // acknowledgement, which only matters to the thread.
                    body["reply_broadcast"] = json!(d.advisory.kind != AdvisoryKind::Acknowledged);
                }
                self.http.post(endpoint).bearer_auth(token.expose())
            }
        };

        let response = request
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response.text().await.map_err(|e| self.transport_error(e))?;

        match &self.target {
            Target::Webhook { .. } => {
                classify_webhook(status, retry_after, &text).map(|()| Sent::default())
            }
            Target::WebApi { .. } => {
                let ts = classify_web_api(status, retry_after, &text)?;
                // Later messages thread under the incident's first message,
                // so a reply hands back the thread it joined, not its own ts.
                Ok(Sent {
                    thread: d.thread.clone().or(Some(ts)),
                })
            }
        }
    }

    /// Network failures are worth retrying; reqwest's message is stripped of
    /// the URL (the webhook URL is a secret) and scrubbed once more in case a
    /// lower layer quoted it.
    fn transport_error(&self, e: reqwest::Error) -> NotifyError {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        let permanent = e.is_builder();
        let message = format!("slack: {kind}: {}", error_chain(&e.without_url()));
        let message = match &self.target {
            Target::Webhook { url } => message.replace(url.expose(), "<webhook url>"),
            Target::WebApi { token, .. } => message.replace(token.expose(), "<token>"),
        };
        if permanent {
            NotifyError::Permanent(message)
        } else {
            NotifyError::Transient {
                message,
                retry_after: None,
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// `Retry-After` in seconds (Slack always sends seconds; an HTTP date is
/// left to the dispatcher's own backoff).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Slack error codes that mean "not now" rather than "never". Slack says
/// `internal_error`, `fatal_error` and `service_unavailable` may have partly
/// succeeded; a rare duplicate page beats a lost one.
fn transient_api_error(code: &str) -> bool {
    matches!(
        code,
        "ratelimited"
            | "rate_limited"
            | "internal_error"
            | "fatal_error"
            | "service_unavailable"
            | "request_timeout"
    )
}

fn classify_http(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Result<(), NotifyError> {
    let snippet = snippet(body);
    match status {
        200..=299 => Ok(()),
        429 => Err(NotifyError::Transient {
            message: format!("slack: rate limited (HTTP 429){snippet}"),
            retry_after,
        }),
        500..=599 => Err(NotifyError::Transient {
            message: format!("slack: server error (HTTP {status}){snippet}"),
            retry_after,
        }),
        // 408 is the server giving up on a slow request, not a bad one.
        408 => Err(NotifyError::Transient {
            message: format!("slack: request timeout (HTTP 408){snippet}"),
            retry_after,
        }),
        300..=399 => Err(NotifyError::Permanent(format!(
            "slack: unexpected redirect (HTTP {status}): check the webhook URL or api_url"
        ))),
        _ => Err(NotifyError::Permanent(format!(
            "slack: rejected (HTTP {status}){snippet}"
        ))),
    }
}

/// Incoming webhooks answer `200 ok`, or a status with a plain-text reason
/// (`invalid_payload`, `no_service`, `channel_is_archived`).
fn classify_webhook(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Result<(), NotifyError> {
    classify_http(status, retry_after, body)
}

#[derive(Deserialize)]
struct ApiReply {
    ok: bool,
    error: Option<String>,
    ts: Option<String>,
}

/// The Web API answers HTTP 200 with `{"ok":false,"error":"…"}` for its own
/// errors, so the body decides as much as the status.
fn classify_web_api(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Result<String, NotifyError> {
    let reply: Option<ApiReply> = serde_json::from_str(body).ok();
    if let Some(ApiReply {
        ok: false, error, ..
    }) = &reply
    {
        let code = error.as_deref().unwrap_or("unknown_error");
        let message = format!("slack: chat.postMessage failed: {code}{}", hint(code));
        return Err(
            if transient_api_error(code) || status == 429 || status >= 500 {
                NotifyError::Transient {
                    message,
                    retry_after,
                }
            } else {
                NotifyError::Permanent(message)
            },
        );
    }
    classify_http(status, retry_after, body)?;
    match reply {
        Some(ApiReply { ts: Some(ts), .. }) => Ok(ts),
        // 2xx without `ok` and `ts` is not Slack (a proxy page?): the message
        // may or may not be posted, and resending is the safer mistake.
        _ => Err(NotifyError::Transient {
            message: format!(
                "slack: unexpected reply to chat.postMessage{}",
                snippet(body)
            ),
            retry_after: None,
        }),
    }
}

/// What to do about the errors people can fix.
fn hint(code: &str) -> &'static str {
    match code {
        "invalid_auth" | "not_authed" | "token_revoked" | "account_inactive" => {
            " (check the Slack token: token_file or SENA_SLACK_TOKEN)"
        }
        "channel_not_found" => " (check slack.channel and that the bot can see it)",
        "not_in_channel" => " (invite the Sena bot to the channel)",
        "missing_scope" => " (the token needs the chat:write scope)",
        _ => "",
    }
}

/// A short, single-line piece of a response body for the error message.
fn snippet(body: &str) -> String {
    let flat: String = body
        .trim()
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.is_empty() {
        String::new()
    } else {
        format!(": {flat}")
    }
}

impl Notifier for SlackNotifier {
    fn channel(&self) -> &'static str {
        "slack"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        Box::pin(self.send_once(delivery))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient_after(r: Result<impl std::fmt::Debug, NotifyError>) -> Option<Duration> {
        match r {
            Err(NotifyError::Transient { retry_after, .. }) => retry_after,
            other => panic!("expected transient, got {other:?}"),
        }
    }

    fn permanent(r: Result<impl std::fmt::Debug, NotifyError>) -> String {
        match r {
            Err(NotifyError::Permanent(m)) => m,
            other => panic!("expected permanent, got {other:?}"),
        }
    }

    #[test]
    fn web_api_outcomes() {
        let ok = classify_web_api(
            200,
            None,
            r#"{"ok":true,"channel":"C1","ts":"1700000000.000100"}"#,
        );
        assert_eq!(ok.unwrap(), "1700000000.000100");
        let secs7 = Some(Duration::from_secs(7));
        assert_eq!(
            transient_after(classify_web_api(
                429,
                secs7,
                r#"{"ok":false,"error":"ratelimited"}"#
            )),
            secs7
        );
        assert_eq!(
            transient_after(classify_web_api(
                200,
                None,
                r#"{"ok":false,"error":"ratelimited"}"#
            )),
            None
        );
        assert_eq!(
            transient_after(classify_web_api(503, None, "upstream down")),
            None
        );
        let m = permanent(classify_web_api(
            200,
            None,
            r#"{"ok":false,"error":"invalid_auth"}"#,
        ));
        assert!(
            m.contains("invalid_auth") && m.contains("token_file"),
            "{m}"
        );
        permanent(classify_web_api(
            200,
            None,
            r#"{"ok":false,"error":"channel_not_found"}"#,
        ));
        permanent(classify_web_api(
            200,
            None,
            r#"{"ok":false,"error":"not_authed"}"#,
        ));
        permanent(classify_web_api(
            200,
            None,
            r#"{"ok":false,"error":"msg_too_long"}"#,
        ));
        permanent(classify_web_api(404, None, "not found"));
        transient_after(classify_web_api(200, None, "<html>proxy</html>"));
    }

    #[test]
    fn webhook_outcomes() {
        assert!(classify_webhook(200, None, "ok").is_ok());
        let secs3 = Some(Duration::from_secs(3));
        assert_eq!(transient_after(classify_webhook(429, secs3, "")), secs3);
        transient_after(classify_webhook(500, None, "rollup_error"));
        let m = permanent(classify_webhook(403, None, "action_prohibited"));
        assert!(m.contains("403") && m.contains("action_prohibited"));
        permanent(classify_webhook(410, None, "channel_is_archived"));
        permanent(classify_webhook(302, None, ""));
    }

    #[test]
    fn retry_after_is_seconds() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn setup_rejects_non_web_urls_without_showing_them() {
        let cfg = SlackConfig {
            mode: SlackMode::Webhook {
                url: Secret::new("hooks.slack.com/services/T000/B000/SECRET"),
            },
            api_url: "https://slack.com/api".into(),
        };
        let err = SlackNotifier::new(&cfg).unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }
}
