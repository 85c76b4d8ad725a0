//! What Slack's answer means. One place decides which replies are worth a
//! retry (`Transient`, with Slack's `Retry-After`) and which will fail the
//! same way again (`Permanent`), for both the webhook and the Web API; pure
//! functions of status, header and body so every case is unit-tested.

use std::time::Duration;

use serde::Deserialize;

use crate::notify::NotifyError;

/// `Retry-After` in seconds (Slack always sends seconds; an HTTP date is
/// left to the dispatcher's own backoff).
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
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
pub(super) fn classify_webhook(
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
pub(super) fn classify_web_api(
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
}
