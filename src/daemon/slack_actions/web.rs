//! The two Slack Web API calls an interaction needs beside the outbox's
//! `chat.postMessage`: `views.open` (the NO-GO form, within 3 s of the
//! press, so never queued) and `chat.update` (the request message, changed
//! in place after a NO-GO). Both need the bot token, so interactivity is
//! only configured with Web API mode (`config/channels.rs`). The token is
//! sent as a bearer header and never appears in an error or a log line.
//! Answers are read with the same size bound as the outbox's
//! (`notify/slack/bounded.rs`).

use std::time::Duration;

use crate::config::{SlackConfig, SlackMode};
use crate::notify::slack::bounded;

/// `views.open` must land within Slack's 3 s trigger window; a slower
/// answer is as good as none.
pub const VIEWS_OPEN_TIMEOUT: Duration = Duration::from_millis(2500);
pub const UPDATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls `{api_url}/{method}` with a JSON body. `Err` carries Slack's
/// error code (`expired_trigger_id`, `missing_scope`, ...) or what went
/// wrong on the way, never the token.
pub async fn call(
    slack: &SlackConfig,
    method: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    let SlackMode::WebApi { token, .. } = &slack.mode else {
        return Err(format!(
            "{method} needs Web API mode (slack.token_file and slack.channel)"
        ));
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sena/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let url = format!("{}/{method}", slack.api_url.trim_end_matches('/'));
    let scrub = |e: reqwest::Error| {
        e.without_url()
            .to_string()
            .replace(token.expose(), "<token>")
    };
    let response = client
        .post(&url)
        .bearer_auth(token.expose())
        .json(body)
        .send()
        .await
        .map_err(scrub)?;
    let status = response.status();
    let text = match bounded::read_answer(response, bounded::MAX_ANSWER_BYTES).await {
        Ok(text) => text,
        Err(bounded::AnswerError::Transport(e)) => return Err(scrub(e)),
        Err(too_large) => return Err(too_large.to_string()),
    };
    let reply: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| format!("HTTP {status} without Slack's JSON answer"))?;
    if reply["ok"] == true {
        return Ok(reply);
    }
    let code = reply["error"].as_str().unwrap_or("unknown_error");
    // Slack's error codes are short identifiers; anything else is cut.
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    Err(code)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// `views.open` and `chat.update` (the interaction's own calls) go
    /// through the same bound.
    #[tokio::test]
    async fn the_interaction_calls_are_bounded_too() {
        let sent = Arc::new(AtomicU64::new(0));
        let url = crate::notify::slack::bounded::endless_answer(sent.clone()).await;
        let slack = crate::config::SlackConfig {
            mode: crate::config::SlackMode::WebApi {
                token: crate::config::Secret::new("xoxb-secret"),
                channel: "#deploys".into(),
            },
            api_url: url,
            signing_secret: None,
        };
        let err = super::call(
            &slack,
            "views.open",
            &serde_json::json!({}),
            std::time::Duration::from_secs(20),
        )
        .await
        .unwrap_err();
        assert!(err.contains("larger than"), "{err}");
        assert!(!err.contains("xoxb-secret"));
        let produced = sent.load(Ordering::Relaxed);
        assert!(produced < 20 << 20, "the server produced {produced} bytes");
    }
}
