//! Every refusal under `/api/` is JSON. axum's own rejections (a body over
//! the limit, a query string or path that does not parse, an unknown
//! route or method) answer plain text; a script reading the API then has
//! to guess. This layer turns any non-JSON error answer under `/api/` into
//! `{"error": CODE, "message": TEXT}`, where `CODE` is a stable word for
//! the status (`payload_too_large`, `bad_request`, ...) and `TEXT` what
//! axum or the handler said. Answers that are already JSON (the existing
//! `{"error": ...}` refusals) pass untouched, so their shape stays.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Longer error texts are cut: they are axum's or Sena's own sentences.
const MAX_MESSAGE_BYTES: usize = 4096;

/// The stable `error` code of a status.
pub fn code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable_entity",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "client_error",
        _ => "internal",
    }
}

/// The middleware (see the module doc).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut json = (
        status,
        Json(serde_json::json!({ "error": code(status), "message": message })),
    )
        .into_response();
    // Keep what the answer said besides its body (WWW-Authenticate,
    // Allow, Retry-After, Connection: close).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    *json.extensions_mut() = parts.extensions;
    json
}

fn is_json(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_words() {
        assert_eq!(code(StatusCode::PAYLOAD_TOO_LARGE), "payload_too_large");
        assert_eq!(code(StatusCode::BAD_REQUEST), "bad_request");
        assert_eq!(code(StatusCode::IM_A_TEAPOT), "client_error");
        assert_eq!(code(StatusCode::BAD_GATEWAY), "internal");
    }
}
