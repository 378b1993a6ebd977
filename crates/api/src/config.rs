//! Start-up configuration of the API ([`ApiConfig`]); validated once by [`ApiServer::new`](crate::ApiServer::new).
//!
//! The JSON field names are those of the Go `APIConfig` where one exists (`encryptionKey`,
//! `errorReportChannelId`, `maxUsersInAlertChannel`, `rateLimitPerAlertChannel`, ...). The Slack
//! client settings of the Go config are not here: Slack lookups are behind
//! [`ChannelInfoProvider`](crate::ChannelInfoProvider), configured by the host. The listening port is
//! the host's choice too (it passes a bound listener to [`ApiServer::serve`](crate::ApiServer::serve)).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Length of the webhook payload encryption key, in bytes.
pub const ENCRYPTION_KEY_LENGTH: usize = sm_webhooks::ENCRYPTION_KEY_LEN;

/// Per-channel rate limit: a token bucket per Slack channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Tokens added per second (0.001–1000; default 1).
    pub alerts_per_second: f64,
    /// Bucket size: the most alerts a channel may take at once, and the most alerts one request may
    /// carry for one channel (1–10000; default 30).
    pub allowed_burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            alerts_per_second: 1.0,
            allowed_burst: 30,
        }
    }
}

/// Start-up configuration of the API.
///
/// ```
/// let config = sm_api::ApiConfig::default();
/// config.validate().unwrap();
/// assert_eq!(config.rate_limit_per_alert_channel.allowed_burst, 30);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiConfig {
    /// AES-256-GCM key for webhook payloads: empty, or 32 ASCII alphanumerics. Must equal the
    /// manager's. Empty: alerts with webhooks are refused with 400.
    pub encryption_key: String,
    /// When set, every error response also queues a "client error" alert to this channel.
    #[serde(rename = "errorReportChannelId")]
    pub error_report_channel_id: String,
    /// Most members (bots included) an alert channel may have (1–10000; default 100).
    pub max_users_in_alert_channel: u32,
    /// Per-channel rate limit.
    pub rate_limit_per_alert_channel: RateLimitConfig,
    /// Enables `GET /ping?panic=true` (tests the panic recovery).
    pub verbose: bool,
    /// Largest accepted request body in bytes (default 5 MiB); larger bodies get 413.
    pub max_body_bytes: usize,
    /// Longest time a handler may take before the request is answered with 503 (default 30 s).
    #[serde(skip)]
    pub handler_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            encryption_key: String::new(),
            error_report_channel_id: String::new(),
            max_users_in_alert_channel: 100,
            rate_limit_per_alert_channel: RateLimitConfig::default(),
            verbose: false,
            max_body_bytes: 5 * 1024 * 1024,
            handler_timeout: Duration::from_secs(30),
        }
    }
}

impl ApiConfig {
    /// Checks every field; the first failure is returned.
    pub fn validate(&self) -> Result<(), ApiError> {
        let invalid = |msg: String| Err(ApiError::InvalidConfig(msg));
        // Empty (no encryption) or 32 ASCII letters and digits; the message is sm-webhooks' own:
        // "encryption key must be a 32 character alphanumeric string".
        if let Err(e) = sm_webhooks::validate_encryption_key(&self.encryption_key) {
            return invalid(e.to_string());
        }
        if !self.error_report_channel_id.is_empty()
            && !sm_core::is_valid_channel_id(&self.error_report_channel_id)
        {
            return invalid(format!(
                "error report channel ID {:?} is not a valid Slack channel ID",
                self.error_report_channel_id
            ));
        }
        if !(1..=10_000).contains(&self.max_users_in_alert_channel) {
            return invalid(format!(
                "max users in alert channel must be between 1 and 10000, got {}",
                self.max_users_in_alert_channel
            ));
        }
        let rate = &self.rate_limit_per_alert_channel;
        if !(0.001..=1000.0).contains(&rate.alerts_per_second) {
            return invalid(format!(
                "rate limit alerts per second must be between 0.001 and 1000, got {}",
                rate.alerts_per_second
            ));
        }
        if !(1..=10_000).contains(&rate.allowed_burst) {
            return invalid(format!(
                "rate limit allowed burst must be between 1 and 10000, got {}",
                rate.allowed_burst
            ));
        }
        if self.max_body_bytes == 0 {
            return invalid("max body bytes must be positive".into());
        }
        if self.handler_timeout.is_zero() {
            return invalid("handler timeout must be positive".into());
        }
        Ok(())
    }
}
