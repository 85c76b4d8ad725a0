//! Slack's answers, read with a size bound. An answer to
//! `chat.postMessage`, `views.open` or `chat.update` is a few kilobytes of
//! JSON; whatever sits at `slack.api_url` (a proxy, a stand-in, something
//! misconfigured) could instead send without end, and reading it whole
//! would hold it all in memory. The body is read chunk by chunk and
//! abandoned once it passes `MAX_ANSWER_BYTES`, as the Prometheus client
//! does with `max_response_bytes`.

/// Far above any answer Slack gives (a message echoed back is at most 50
/// blocks of 3000 characters), far below what would hurt.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("Slack's answer is larger than {} bytes; Sena stopped reading it", .limit)]
    TooLarge { limit: usize },
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// The body as text (lossy UTF-8: only Sena's JSON parser reads it), at
/// most `limit` bytes.
pub async fn read_answer(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<String, AnswerError> {
    let too_large = AnswerError::TooLarge { limit };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// A local server whose every answer is endless (no Content-Length, 100 MB
/// in 64 KiB chunks), counting what it produced; returns its URL.
#[cfg(test)]
pub(crate) async fn endless_answer(sent: std::sync::Arc<std::sync::atomic::AtomicU64>) -> String {
    // Any reqwest client needs a TLS provider, as `sena`'s main installs.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = axum::Router::new().fallback(axum::routing::post(move || {
        let counter = sent.clone();
        async move {
            let chunk = axum::body::Bytes::from(vec![b' '; 64 << 10]);
            let stream = futures_util::stream::iter((0..1600).map(move |_| {
                counter.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
                Ok::<_, std::io::Error>(chunk.clone())
            }));
            axum::body::Body::from_stream(stream)
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn an_endless_answer_is_abandoned_at_the_bound() {
        let sent = Arc::new(AtomicU64::new(0));
        let url = endless_answer(sent.clone()).await;
        let response = reqwest::Client::new().post(&url).send().await.unwrap();
        let err = read_answer(response, MAX_ANSWER_BYTES).await.unwrap_err();
        assert!(matches!(err, AnswerError::TooLarge { .. }), "{err}");
        let produced = sent.load(Ordering::Relaxed);
        assert!(produced < 20 << 20, "the server produced {produced} bytes");
    }
}
