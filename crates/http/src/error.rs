//! The one error answer of the `/v1` API.
//!
//! Every 4xx and 5xx answer under `/v1` (bad parameters, unknown ids and routes, a refused
//! envelope, an unsupported content type, too many requests, a server that cannot answer now)
//! has the same JSON body, [`ErrorAnswer`]:
//!
//! ```json
//! {"error": {"code": "bad_parameter", "message": "limit must be 1 to 500, not \"0\"",
//!            "parameter": "limit", "event_id": null}}
//! ```
//!
//! `code` is a snake_case machine code, `message` a sentence naming what is wrong; `parameter`
//! names the query parameter at fault (for `bad_parameter`) and `event_id` the event an answer
//! about an event concerns; both are `null` otherwise. A refused envelope's `code` is its
//! rejection code (docs/SPEC.md, section 8), and new rejection codes pass through as they are.
//!
//! Handlers return [`ApiError`]; [`json_errors_under_v1`] turns whatever else answers an error
//! under `/v1` (the router's own 404 and 405, an extractor's refusal) into the same shape.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The body of every error answer under `/v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorAnswer {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A snake_case machine code: `bad_parameter`, `not_found`, `method_not_allowed`,
    /// `unsupported_media_type`, `too_many_requests`, `request_timeout`, `read_only`,
    /// `unavailable`, `internal`, or, for a refused envelope, its rejection code
    /// (`undecodable`, `invalid_field`, `oversized`, `bad_signature`, `unknown_key`, ...).
    pub code: String,
    /// A sentence naming what is wrong.
    pub message: String,
    /// The query parameter at fault (`bad_parameter`); otherwise null.
    pub parameter: Option<String>,
    /// The event the answer is about, when there is one (a refused envelope whose id could be
    /// read, an unknown event id); otherwise null.
    pub event_id: Option<String>,
}

/// A failed request under `/v1`: its status and body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
    /// Extra headers (`Retry-After` on 429).
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        let error = Self {
            status,
            detail: ErrorDetail {
                code: code.into(),
                message: message.into(),
                parameter: None,
                event_id: None,
            },
            retry_after_seconds: None,
        };
        // Only the server's own failures are logged as errors: anyone can cause a 4xx or a
        // 503 (a read-only server, a busy ledger), and those must not flood the log.
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(code = %error.detail.code, message = %error.detail.message, "request failed");
        }
        error
    }

    pub fn bad_parameter(parameter: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "bad_parameter", message);
        error.detail.parameter = Some(parameter.to_owned());
        error
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 503 with `Retry-After`: this replica has projected `have` log entries, fewer than the
    /// `asked` of `min_size`; another replica (or this one shortly) can answer.
    pub fn not_reached(asked: u64, have: u64) -> Self {
        let mut error = Self::unavailable(format!(
            "this server has reached log size {have}, not the min_size {asked} asked for; retry shortly or on another replica"
        ));
        error.retry_after_seconds = Some(1);
        error
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 429, with `Retry-After` in whole seconds (at least 1).
    pub fn too_many_requests(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("too many requests from this address; try again in {seconds} s"),
        );
        error.retry_after_seconds = Some(seconds);
        error
    }

    /// The same error, about `event_id`.
    pub fn about_event(mut self, event_id: Option<&str>) -> Self {
        self.detail.event_id = event_id.map(str::to_owned);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorAnswer { error: self.detail })).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The machine code of an error status that no handler described.
pub(crate) fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// The sentence for an error status that no handler described.
fn message_for(status: StatusCode, method: &str, path: &str, said: &str) -> String {
    match status {
        StatusCode::NOT_FOUND => {
            format!("{path} is not a route of this API (see /v1/openapi.json)")
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("{path} does not answer {method} (see /v1/openapi.json)")
        }
        _ if !said.trim().is_empty() => said.trim().to_owned(),
        _ => format!(
            "{method} {path}: {}",
            status.canonical_reason().unwrap_or("failed")
        ),
    }
}

/// Longest body of an error answer read back to reuse its sentence.
const MAX_PLAIN_ERROR_BYTES: usize = 4096;

/// Middleware: an error answer under `/v1` that is not already an [`ErrorAnswer`] (the
/// router's 404 for an unknown path, its 405, an extractor's plain-text refusal) is replaced
/// by one, so that a client meets one error shape whatever went wrong.
pub async fn json_errors_under_v1(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status();
    let under_v1 = path == "/v1" || path.starts_with("/v1/");
    let is_error = status.is_client_error() || status.is_server_error();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !under_v1 || !is_error || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let said = axum::body::to_bytes(body, MAX_PLAIN_ERROR_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let mut answer = ApiError::new(
        status,
        code_for(status),
        message_for(status, &method, &path, &said),
    )
    .into_response();
    // Keep what the original answer said beyond its body (Allow on 405, Retry-After).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_the_four_fields() {
        let body = serde_json::to_value(ErrorAnswer {
            error: ApiError::bad_parameter("limit", "limit must be 1 to 500").detail,
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": "bad_parameter",
                "message": "limit must be 1 to 500",
                "parameter": "limit",
                "event_id": null,
            }})
        );
    }

    #[test]
    fn a_status_no_handler_described_gets_a_code_and_a_sentence() {
        assert_eq!(
            code_for(StatusCode::METHOD_NOT_ALLOWED),
            "method_not_allowed"
        );
        assert_eq!(code_for(StatusCode::BAD_GATEWAY), "internal");
        let message = message_for(StatusCode::NOT_FOUND, "GET", "/v1/nothing", "");
        assert!(message.contains("/v1/nothing"), "{message}");
        let said = message_for(
            StatusCode::BAD_REQUEST,
            "GET",
            "/v1/x",
            "Invalid URL: bad percent-encoding\n",
        );
        assert_eq!(said, "Invalid URL: bad percent-encoding");
    }
}
