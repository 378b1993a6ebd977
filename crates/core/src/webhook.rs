//! The webhook contract: what a button click delivers, and the handlers that deliver it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::BoxError;
use crate::gotime::go_time;

/// The JSON body delivered to a webhook target when a user clicks an issue's webhook button.
///
/// All keys are always written, in this order, as the Go type writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookCallback {
    /// Webhook ID (from the alert's webhook definition).
    #[serde(default)]
    pub id: String,
    /// Slack user ID of the user who clicked.
    #[serde(rename = "userId", default)]
    pub user_id: String,
    /// Real name of that user.
    #[serde(rename = "userRealName", default)]
    pub user_real_name: String,
    /// Channel of the Slack post.
    #[serde(rename = "channelId", default)]
    pub channel_id: String,
    /// Slack message `ts` of the issue post.
    #[serde(rename = "messageId", default)]
    pub message_id: String,
    /// When the callback was built.
    #[serde(with = "go_time")]
    pub timestamp: DateTime<Utc>,
    /// Plain-text inputs: input ID → typed value; `None` when the modal had no text inputs.
    #[serde(default)]
    pub input: Option<BTreeMap<String, String>>,
    /// Checkbox groups: group ID → selected option values; `None` when the modal had no checkbox groups.
    #[serde(rename = "checkboxInput", default)]
    pub checkbox_input: Option<BTreeMap<String, Vec<String>>>,
    /// The decrypted webhook payload (`{}` when there is none).
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub payload: Map<String, Value>,
}

fn null_as_empty_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

impl WebhookCallback {
    /// The payload value under `key`, if any.
    pub fn payload_value(&self, key: &str) -> Option<&Value> {
        self.payload.get(key)
    }

    /// The payload value under `key` if it is a string, else `""`.
    pub fn payload_string(&self, key: &str) -> &str {
        self.payload.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// The payload value under `key` if it is an integral number, else `default`.
    pub fn payload_int(&self, key: &str, default: i64) -> i64 {
        self.payload
            .get(key)
            .and_then(Value::as_i64)
            .unwrap_or(default)
    }

    /// The payload value under `key` if it is a boolean, else `default`.
    pub fn payload_bool(&self, key: &str, default: bool) -> bool {
        self.payload
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// The value typed into the plain-text input `key`, or `""`.
    pub fn input_value(&self, key: &str) -> &str {
        self.input
            .as_ref()
            .and_then(|m| m.get(key))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The selected values of the checkbox group `key`, or an empty slice.
    pub fn checkbox_input_selected_values(&self, key: &str) -> &[String] {
        self.checkbox_input
            .as_ref()
            .and_then(|m| m.get(key))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Errors of webhook delivery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No registered handler claims the target.
    #[error("no webhook handler found for target {target}")]
    NoHandler {
        /// The webhook target.
        target: String,
    },
    /// The target answered with a non-success status.
    #[error(
        "webhook POST {target} failed with status code {status}{}",
        snippet_suffix(body_snippet)
    )]
    Status {
        /// The webhook target.
        target: String,
        /// HTTP status code.
        status: u16,
        /// The start of the response body (bounded).
        body_snippet: String,
    },
    /// The request could not be sent or its answer not read (connection refused, timeout, DNS).
    #[error("webhook POST {target} failed: {source}")]
    Transport {
        /// The webhook target.
        target: String,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// The target was refused by policy (for example an SSRF rule) before anything was sent.
    #[error("webhook target {target} refused: {reason}")]
    Refused {
        /// The webhook target.
        target: String,
        /// Why it was refused.
        reason: String,
    },
    /// The payload could not be encrypted, decrypted or encoded.
    #[error("webhook payload error: {0}")]
    Payload(String),
    /// The handler is misconfigured.
    #[error("invalid webhook handler configuration: {0}")]
    Config(String),
}

fn snippet_suffix(snippet: &str) -> String {
    if snippet.is_empty() {
        String::new()
    } else {
        format!(": {snippet}")
    }
}

/// Delivers webhook callbacks to targets it claims.
///
/// Handlers are tried in registration order; the first whose [`should_handle_webhook`](Self::should_handle_webhook)
/// returns true delivers. Logging is by `tracing` spans, not a logger argument.
#[async_trait]
pub trait WebhookHandler: Send + Sync {
    /// Whether this handler delivers to `target`.
    fn should_handle_webhook(&self, target: &str) -> bool;

    /// Delivers `data` to `target`. On failure the error is returned, not logged (the caller logs).
    async fn handle_webhook(
        &self,
        target: &str,
        data: &WebhookCallback,
    ) -> Result<(), WebhookError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_error_shows_the_snippet_only_when_there_is_one() {
        let bare = WebhookError::Status {
            target: "http://x".into(),
            status: 502,
            body_snippet: String::new(),
        };
        assert_eq!(
            bare.to_string(),
            "webhook POST http://x failed with status code 502"
        );
        let with = WebhookError::Status {
            target: "http://x".into(),
            status: 400,
            body_snippet: "bad".into(),
        };
        assert_eq!(
            with.to_string(),
            "webhook POST http://x failed with status code 400: bad"
        );
    }
}
