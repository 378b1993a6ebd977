//! Error responses: `{"error": "<message>"}` with the first character upper-cased, and for
//! server errors the fixed text `Internal server error` (the real error is only logged).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sm_core::Alert;

use crate::rate_limit::RateLimitSnapshot;

/// The body text of every 5xx error response.
pub(crate) const INTERNAL_SERVER_ERROR: &str = "Internal server error";

/// Upper-cases the first character.
pub(crate) fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A JSON error response with `message` (already in its final form).
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// Sets the `Ratelimit-*` headers (and `Retry-After` on a rejection).
pub(crate) fn set_rate_limit_headers(response: &mut Response, headers: &RateLimitHeaders) {
    let h = response.headers_mut();
    let mut put = |name: &'static str, value: u64| {
        h.insert(name, HeaderValue::from(value));
    };
    match *headers {
        RateLimitHeaders::Accepted(s) => {
            put("ratelimit-limit", u64::from(s.limit));
            put("ratelimit-remaining", u64::from(s.remaining));
            put("ratelimit-reset", s.reset_seconds);
        }
        RateLimitHeaders::Rejected {
            limit,
            retry_after_seconds,
        } => {
            put("retry-after", retry_after_seconds);
            put("ratelimit-limit", u64::from(limit));
            put("ratelimit-remaining", 0);
            put("ratelimit-reset", retry_after_seconds);
        }
    }
}

/// What the rate-limit headers of a response say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateLimitHeaders {
    Accepted(RateLimitSnapshot),
    Rejected {
        limit: u32,
        retry_after_seconds: u64,
    },
}

/// A failed request: status, the raw error text, and what the client-error report needs.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) rate_limit: Option<RateLimitHeaders>,
    /// The alert being processed when the failure happened, and its target description.
    pub(crate) context: Option<(Alert, String)>,
    /// Whether trying again later may succeed (a lookup or queue failure); used by raw consumers.
    pub(crate) retryable: bool,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            rate_limit: None,
            context: None,
            retryable: false,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub(crate) fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }

    pub(crate) fn with_context(mut self, alert: &Alert, target: &str) -> Self {
        self.context = Some((alert.clone(), target.to_owned()));
        self
    }

    /// Logs the failure and builds the response.
    pub(crate) fn into_response_logged(self) -> Response {
        let mut response = if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), error = %self.message, "request failed");
            json_error(self.status, INTERNAL_SERVER_ERROR)
        } else {
            tracing::info!(status = self.status.as_u16(), error = %self.message, "Request failed");
            json_error(self.status, &upper_first(&self.message))
        };
        if let Some(h) = &self.rate_limit {
            set_rate_limit_headers(&mut response, h);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_first_handles_unicode_and_empty() {
        assert_eq!(upper_first("missing POST body"), "Missing POST body");
        assert_eq!(upper_first("éa"), "Éa");
        assert_eq!(upper_first(""), "");
    }
}
