//! Start-up configuration: [`ManagerConfig`] and its [`SlackClientConfig`].
//!
//! Changing these needs a restart. [`ManagerConfig::default`] gives the Go defaults;
//! [`ManagerConfig::validate`] applies **no** defaults (a zero-valued config fails), and reports the
//! first failing rule in the Go order with the Go message. JSON keys are the Go keys; durations are
//! Go nanosecond integers.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sm_core::go_duration;

use crate::error::ConfigError;

/// Shortest allowed drain timeout (ack, nack and lock release each use 2 s internal timeouts).
pub const MIN_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest allowed drain timeout.
pub const MAX_DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Default coordinator drain timeout.
pub const DEFAULT_COORDINATOR_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default channel-manager drain timeout.
pub const DEFAULT_CHANNEL_MANAGER_DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// Default socket-mode drain timeout.
pub const DEFAULT_SOCKET_MODE_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default socket-mode handler concurrency.
pub const DEFAULT_SOCKET_MODE_MAX_WORKERS: i64 = 100;
/// Smallest socket-mode handler concurrency.
pub const MIN_SOCKET_MODE_MAX_WORKERS: i64 = 10;
/// Largest socket-mode handler concurrency.
pub const MAX_SOCKET_MODE_MAX_WORKERS: i64 = 1000;
/// Length of the webhook payload encryption key.
pub const ENCRYPTION_KEY_LENGTH: usize = 32;

/// Start-up configuration of the manager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagerConfig {
    /// AES-256-GCM key for webhook payloads: empty, or 32 ASCII letters and digits. Empty makes
    /// `run` log an error and drop (ack) alerts that carry webhooks.
    #[serde(rename = "encryptionKey")]
    pub encryption_key: String,
    /// Prefix of every cache key (non-empty).
    #[serde(rename = "cacheKeyPrefix")]
    pub cache_key_prefix: String,
    /// Do not route store calls through the cache store given with `with_cache_store`.
    #[serde(rename = "skipDatabaseCache")]
    pub skip_database_cache: bool,
    /// IANA time zone name for times rendered in posts (non-empty; `UTC` by default).
    pub location: String,
    /// Slack client configuration.
    #[serde(rename = "slackClient")]
    pub slack_client: SlackClientConfig,
    /// Longest time the coordinator spends nacking buffered messages at shutdown (2 s – 5 min).
    #[serde(rename = "coordinatorDrainTimeout", with = "go_duration")]
    pub coordinator_drain_timeout: Duration,
    /// Longest time a channel actor spends finishing and nacking at shutdown (2 s – 5 min).
    #[serde(rename = "channelManagerDrainTimeout", with = "go_duration")]
    pub channel_manager_drain_timeout: Duration,
    /// Concurrent socket-mode handlers (10–1000).
    #[serde(rename = "socketModeMaxWorkers")]
    pub socket_mode_max_workers: i64,
    /// Wait for in-flight socket-mode handlers at shutdown (2 s – 5 min).
    #[serde(rename = "socketModeDrainTimeout", with = "go_duration")]
    pub socket_mode_drain_timeout: Duration,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            encryption_key: String::new(),
            cache_key_prefix: "slack-manager:".into(),
            skip_database_cache: false,
            location: "UTC".into(),
            slack_client: SlackClientConfig::default(),
            coordinator_drain_timeout: DEFAULT_COORDINATOR_DRAIN_TIMEOUT,
            channel_manager_drain_timeout: DEFAULT_CHANNEL_MANAGER_DRAIN_TIMEOUT,
            socket_mode_max_workers: DEFAULT_SOCKET_MODE_MAX_WORKERS,
            socket_mode_drain_timeout: DEFAULT_SOCKET_MODE_DRAIN_TIMEOUT,
        }
    }
}

fn check_drain(field: &str, what: &str, v: Duration) -> Result<(), ConfigError> {
    if v < MIN_DRAIN_TIMEOUT || v > MAX_DRAIN_TIMEOUT {
        return Err(ConfigError::invalid(
            field,
            format!("{what} drain timeout must be between 2s and 5m0s"),
        ));
    }
    Ok(())
}

impl ManagerConfig {
    /// A config with the defaults and the two Slack tokens.
    pub fn new(app_token: impl Into<String>, bot_token: impl Into<String>) -> Self {
        let mut cfg = ManagerConfig::default();
        cfg.slack_client.app_token = app_token.into();
        cfg.slack_client.bot_token = bot_token.into();
        cfg
    }

    /// Checks every rule in the Go order; the first failure is returned. Applies no defaults.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.encryption_key.is_empty()
            && (self.encryption_key.len() != ENCRYPTION_KEY_LENGTH
                || !self
                    .encryption_key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ConfigError::invalid(
                "encryptionKey",
                "encryption key must be a 32 character alphanumeric string",
            ));
        }
        if self.cache_key_prefix.is_empty() {
            return Err(ConfigError::invalid(
                "cacheKeyPrefix",
                "cache key prefix is required",
            ));
        }
        if self.location.trim().is_empty() {
            return Err(ConfigError::invalid("location", "location is required"));
        }
        if let Err(e) = self.slack_client.validate() {
            return Err(ConfigError::invalid(
                format!("slackClient.{}", e.field()),
                format!("slack client config is invalid: {e}"),
            ));
        }
        check_drain(
            "coordinatorDrainTimeout",
            "coordinator",
            self.coordinator_drain_timeout,
        )?;
        check_drain(
            "channelManagerDrainTimeout",
            "channel manager",
            self.channel_manager_drain_timeout,
        )?;
        if !(MIN_SOCKET_MODE_MAX_WORKERS..=MAX_SOCKET_MODE_MAX_WORKERS)
            .contains(&self.socket_mode_max_workers)
        {
            return Err(ConfigError::invalid(
                "socketModeMaxWorkers",
                "socket mode max workers must be between 10 and 1000",
            ));
        }
        check_drain(
            "socketModeDrainTimeout",
            "socket mode",
            self.socket_mode_drain_timeout,
        )?;
        Ok(())
    }
}

/// Slack Web API and Socket Mode client configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlackClientConfig {
    /// Socket Mode app token (`xapp-…`).
    #[serde(rename = "appToken")]
    pub app_token: String,
    /// Web API bot token (`xoxb-…`).
    #[serde(rename = "botToken")]
    pub bot_token: String,
    /// Log every Slack request.
    #[serde(rename = "debugLogging")]
    pub debug_logging: bool,
    /// Log instead of posting and deleting.
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
    /// Parallel Slack deletes in a channel update (1–50).
    pub concurrency: i64,
    /// Attempts on rate-limit errors (1–100).
    #[serde(rename = "maxAttemptsForRateLimitError")]
    pub max_attempts_for_rate_limit_error: i64,
    /// Attempts on transient errors (1–100).
    #[serde(rename = "maxAttemptsForTransientError")]
    pub max_attempts_for_transient_error: i64,
    /// Attempts on other errors (1–100).
    #[serde(rename = "maxAttemptsForFatalError")]
    pub max_attempts_for_fatal_error: i64,
    /// Total wait budget on rate-limit errors, seconds (1–600).
    #[serde(rename = "maxRateLimitErrorWaitTimeSeconds")]
    pub max_rate_limit_error_wait_time_seconds: i64,
    /// Total wait budget on transient errors, seconds (1–600).
    #[serde(rename = "maxTransientErrorWaitTimeSeconds")]
    pub max_transient_error_wait_time_seconds: i64,
    /// Total wait budget on other errors, seconds (1–600).
    #[serde(rename = "maxFatalErrorWaitTimeSeconds")]
    pub max_fatal_error_wait_time_seconds: i64,
    /// HTTP timeout, seconds (1–300).
    #[serde(rename = "httpTimeoutSeconds")]
    pub http_timeout_seconds: i64,
}

impl Default for SlackClientConfig {
    fn default() -> Self {
        let mut c = SlackClientConfig {
            app_token: String::new(),
            bot_token: String::new(),
            debug_logging: false,
            dry_run: false,
            concurrency: 0,
            max_attempts_for_rate_limit_error: 0,
            max_attempts_for_transient_error: 0,
            max_attempts_for_fatal_error: 0,
            max_rate_limit_error_wait_time_seconds: 0,
            max_transient_error_wait_time_seconds: 0,
            max_fatal_error_wait_time_seconds: 0,
            http_timeout_seconds: 0,
        };
        c.set_defaults();
        c
    }
}

impl SlackClientConfig {
    /// Replaces each numeric field that is ≤ 0 with its default; tokens are untouched.
    pub fn set_defaults(&mut self) {
        let fix = |v: &mut i64, d: i64| {
            if *v <= 0 {
                *v = d;
            }
        };
        fix(&mut self.concurrency, 3);
        fix(&mut self.max_attempts_for_rate_limit_error, 10);
        fix(&mut self.max_attempts_for_transient_error, 5);
        fix(&mut self.max_attempts_for_fatal_error, 5);
        fix(&mut self.max_rate_limit_error_wait_time_seconds, 120);
        fix(&mut self.max_transient_error_wait_time_seconds, 30);
        fix(&mut self.max_fatal_error_wait_time_seconds, 30);
        fix(&mut self.http_timeout_seconds, 30);
    }

    /// Checks every rule in the Go order (does not apply defaults).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.app_token.is_empty() {
            return Err(ConfigError::invalid("appToken", "app token is empty"));
        }
        if self.bot_token.is_empty() {
            return Err(ConfigError::invalid("botToken", "bot token is empty"));
        }
        let ranges: [(&str, &str, i64, i64, i64); 8] = [
            ("concurrency", "concurrency", self.concurrency, 1, 50),
            (
                "maxAttemptsForRateLimitError",
                "max attempts for rate limit error",
                self.max_attempts_for_rate_limit_error,
                1,
                100,
            ),
            (
                "maxAttemptsForTransientError",
                "max attempts for transient error",
                self.max_attempts_for_transient_error,
                1,
                100,
            ),
            (
                "maxAttemptsForFatalError",
                "max attempts for fatal error",
                self.max_attempts_for_fatal_error,
                1,
                100,
            ),
            (
                "maxRateLimitErrorWaitTimeSeconds",
                "max rate limit error wait time seconds",
                self.max_rate_limit_error_wait_time_seconds,
                1,
                600,
            ),
            (
                "maxTransientErrorWaitTimeSeconds",
                "max transient error wait time seconds",
                self.max_transient_error_wait_time_seconds,
                1,
                600,
            ),
            (
                "maxFatalErrorWaitTimeSeconds",
                "max fatal error wait time seconds",
                self.max_fatal_error_wait_time_seconds,
                1,
                600,
            ),
            (
                "httpTimeoutSeconds",
                "http timeout seconds",
                self.http_timeout_seconds,
                1,
                300,
            ),
        ];
        for (field, what, v, min, max) in ranges {
            if v < min || v > max {
                return Err(ConfigError::invalid(
                    field,
                    format!("{what} must be between {min} and {max}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ManagerConfig {
        ManagerConfig::new("xapp-1", "xoxb-1")
    }

    #[test]
    fn defaults_are_valid_once_tokens_are_set() {
        let c = valid();
        c.validate().unwrap();
        assert_eq!(c.cache_key_prefix, "slack-manager:");
        assert_eq!(c.coordinator_drain_timeout, Duration::from_secs(5));
        assert_eq!(c.channel_manager_drain_timeout, Duration::from_secs(3));
        assert_eq!(c.socket_mode_drain_timeout, Duration::from_secs(5));
        assert_eq!(c.socket_mode_max_workers, 100);
        assert_eq!(c.slack_client.concurrency, 3);
        assert_eq!(c.slack_client.max_attempts_for_rate_limit_error, 10);
        assert_eq!(c.slack_client.max_rate_limit_error_wait_time_seconds, 120);
        assert_eq!(c.slack_client.http_timeout_seconds, 30);
    }

    #[test]
    fn each_rule_reports_its_field_and_message() {
        type Edit = fn(&mut ManagerConfig);
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                |c| c.encryption_key = "short".into(),
                "encryptionKey",
                "encryption key must be a 32 character alphanumeric string",
            ),
            (
                |c| c.encryption_key = format!("{}!", "a".repeat(31)),
                "encryptionKey",
                "32 character alphanumeric",
            ),
            (
                |c| c.cache_key_prefix.clear(),
                "cacheKeyPrefix",
                "cache key prefix is required",
            ),
            (|c| c.location.clear(), "location", "location is required"),
            (
                |c| c.slack_client.app_token.clear(),
                "slackClient.appToken",
                "slack client config is invalid: app token is empty",
            ),
            (
                |c| c.slack_client.bot_token.clear(),
                "slackClient.botToken",
                "bot token is empty",
            ),
            (
                |c| c.slack_client.concurrency = 51,
                "slackClient.concurrency",
                "concurrency must be between 1 and 50",
            ),
            (
                |c| c.slack_client.max_attempts_for_fatal_error = 0,
                "slackClient.maxAttemptsForFatalError",
                "between 1 and 100",
            ),
            (
                |c| c.slack_client.http_timeout_seconds = 301,
                "slackClient.httpTimeoutSeconds",
                "between 1 and 300",
            ),
            (
                |c| c.coordinator_drain_timeout = Duration::from_millis(1999),
                "coordinatorDrainTimeout",
                "coordinator drain timeout must be between 2s and 5m0s",
            ),
            (
                |c| c.channel_manager_drain_timeout = Duration::from_secs(301),
                "channelManagerDrainTimeout",
                "channel manager drain timeout must be between 2s and 5m0s",
            ),
            (
                |c| c.socket_mode_max_workers = 9,
                "socketModeMaxWorkers",
                "socket mode max workers must be between 10 and 1000",
            ),
            (
                |c| c.socket_mode_max_workers = 1001,
                "socketModeMaxWorkers",
                "between 10 and 1000",
            ),
            (
                |c| c.socket_mode_drain_timeout = Duration::ZERO,
                "socketModeDrainTimeout",
                "socket mode drain timeout must be between 2s and 5m0s",
            ),
        ];
        for (edit, field, msg) in cases {
            let mut c = valid();
            edit(&mut c);
            let err = c.validate().unwrap_err();
            assert_eq!(err.field(), field, "{err}");
            assert!(err.to_string().contains(msg), "{err} should contain {msg}");
        }
    }

    #[test]
    fn boundaries_are_inclusive_and_a_valid_key_passes() {
        let mut c = valid();
        c.encryption_key = "abcdefghijABCDEFGHIJ0123456789xy".into();
        c.coordinator_drain_timeout = MIN_DRAIN_TIMEOUT;
        c.channel_manager_drain_timeout = MAX_DRAIN_TIMEOUT;
        c.socket_mode_max_workers = 10;
        c.slack_client.concurrency = 50;
        c.validate().unwrap();
    }

    #[test]
    fn zero_config_fails_and_order_is_go_order() {
        let zero: ManagerConfig = serde_json::from_str(
            r#"{"cacheKeyPrefix":"","location":"","coordinatorDrainTimeout":0}"#,
        )
        .unwrap();
        // Key is fine (empty), prefix is the first failure.
        assert_eq!(zero.validate().unwrap_err().field(), "cacheKeyPrefix");
    }

    #[test]
    fn json_uses_go_keys_and_nanosecond_durations() {
        let v = serde_json::to_value(valid()).unwrap();
        assert_eq!(v["coordinatorDrainTimeout"], 5_000_000_000u64);
        assert_eq!(v["slackClient"]["maxAttemptsForRateLimitError"], 10);
        let back: ManagerConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back, valid());
    }

    #[test]
    fn set_defaults_only_replaces_non_positive_numbers() {
        let mut s = SlackClientConfig {
            concurrency: 7,
            http_timeout_seconds: -1,
            ..SlackClientConfig::default()
        };
        s.set_defaults();
        assert_eq!(s.concurrency, 7);
        assert_eq!(s.http_timeout_seconds, 30);
        assert!(s.app_token.is_empty());
    }
}
