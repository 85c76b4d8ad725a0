//! The Slack channel: an incoming webhook or the Web API's
//! `chat.postMessage`, with the Block Kit message from `render`. One `send` is
//! one HTTP attempt; the dispatcher retries, so the outcome is classified
//! precisely (in `reply`): `Transient` means "try again, maybe after
//! `retry_after`", `Permanent` means "stop, tell someone, use the other
//! channel".
//!
//! The token and the webhook URL are secrets (a webhook URL alone lets anyone
//! post): they never appear in an error message, a log line or `Debug`.

use crate::domain::Channel;
use std::time::Duration;

use serde_json::json;

use crate::config::{Secret, SlackConfig, SlackMode};
use crate::notify::{render, AdvisoryKind, BoxFuture, Delivery, Notifier, NotifyError, Sent};

pub(crate) mod bounded;
mod reply;

use reply::{classify_web_api, classify_webhook, parse_retry_after};

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
    /// Interactivity is set up: "ready to expand" carries GO / NO-GO buttons.
    interactive: bool,
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
        // reqwest is built without a crypto provider and panics without one;
        // main installs ring at startup, this covers any other caller.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            // A redirect would turn the POST into a GET elsewhere and could
            // carry the token to another host: treat it as a misconfiguration.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sena/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackSetupError::Client(e.without_url().to_string()))?;
        Ok(SlackNotifier {
            http,
            target,
            interactive: cfg.signing_secret.is_some(),
        })
    }

    async fn send_once(&self, d: &Delivery) -> Result<Sent, NotifyError> {
        let content = render::slack_message(&d.advisory, &d.recipients, self.interactive);
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
        let text = match bounded::read_answer(response, bounded::MAX_ANSWER_BYTES).await {
            Ok(text) => text,
            Err(bounded::AnswerError::Transport(e)) => return Err(self.transport_error(e)),
            // Sent, most likely, but the answer cannot be read: retrying
            // would post again.
            Err(too_large) => return Err(NotifyError::Permanent(format!("slack: {too_large}"))),
        };

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
        let message = format!("slack: {kind}: {}", super::error_chain(&e.without_url()));
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

impl Notifier for SlackNotifier {
    fn channel(&self) -> Channel {
        Channel::Slack
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        Box::pin(self.send_once(delivery))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_rejects_non_web_urls_without_showing_them() {
        let cfg = SlackConfig {
            mode: SlackMode::Webhook {
                url: Secret::new("hooks.slack.com/services/T000/B000/SECRET"),
            },
            api_url: "https://slack.com/api".into(),
            signing_secret: None,
        };
        let err = SlackNotifier::new(&cfg).unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }
}
