//! Client configuration (`SlackClientConfig`, start-up) and post settings (`PostSettings`, hot-reloadable).
//!
//! [`SlackClientConfig`] mirrors the Go `SlackClientConfig` (`spec/config.md` §2) with its defaults and
//! ranges, plus what Rust needs on top: the Web API base URL (the emulator), the cache key prefix, and
//! the units of the retry waits (tests shrink them; the defaults are the Go values).
//!
//! [`PostSettings`] is the part of the manager settings that rendering, throttling and reordering read
//! (`spec/config.md` §3). The manager builds it from its own settings and hands it to
//! [`SlackManagerClient::set_post_settings`](crate::SlackManagerClient::set_post_settings).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{FixedOffset, Offset};
use sm_core::SlackError;

/// Slack's public Web API base URL.
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api/";

/// Configuration of the Web API client (validated by [`SlackClientConfig::validate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SlackClientConfig {
    /// Web API base URL, ending in `/` (default [`DEFAULT_BASE_URL`]).
    pub base_url: String,
    /// Bot token (`xoxb-…`) for the Web API. Required.
    pub bot_token: String,
    /// App-level token (`xapp-…`) for `apps.connections.open`. Required for Socket Mode only.
    pub app_token: String,
    /// Log instead of posting, updating the channel, or deleting.
    pub dry_run: bool,
    /// Parallel deletes in a channel update (1–50, default 3).
    pub concurrency: usize,
    /// Attempts for rate-limit errors (1–100, default 10).
    pub max_attempts_for_rate_limit_error: u32,
    /// Attempts for transient errors (1–100, default 5).
    pub max_attempts_for_transient_error: u32,
    /// Attempts for other errors (1–100, default 5).
    pub max_attempts_for_fatal_error: u32,
    /// Total wait budget for rate-limit errors (default 120 s).
    pub max_rate_limit_error_wait_time: Duration,
    /// Total wait budget for transient errors (default 30 s).
    pub max_transient_error_wait_time: Duration,
    /// Total wait budget for other errors (default 30 s).
    pub max_fatal_error_wait_time: Duration,
    /// HTTP timeout per request (default 30 s).
    pub http_timeout: Duration,
    /// Retry wait unit (default 1 s): transient waits are `attempt × unit`, fatal `attempt × 2 × unit`,
    /// and a retry needs at least one unit of budget left.
    pub retry_unit: Duration,
    /// Added to `Retry-After` before retrying a rate-limited call (default 2 s).
    pub rate_limit_margin: Duration,
    /// Prefix of cache keys (default `slack-manager:`; the client appends `slack-api-client:`).
    pub cache_key_prefix: String,
}

impl Default for SlackClientConfig {
    fn default() -> Self {
        SlackClientConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            bot_token: String::new(),
            app_token: String::new(),
            dry_run: false,
            concurrency: 3,
            max_attempts_for_rate_limit_error: 10,
            max_attempts_for_transient_error: 5,
            max_attempts_for_fatal_error: 5,
            max_rate_limit_error_wait_time: Duration::from_secs(120),
            max_transient_error_wait_time: Duration::from_secs(30),
            max_fatal_error_wait_time: Duration::from_secs(30),
            http_timeout: Duration::from_secs(30),
            retry_unit: Duration::from_secs(1),
            rate_limit_margin: Duration::from_secs(2),
            cache_key_prefix: "slack-manager:".to_owned(),
        }
    }
}

impl SlackClientConfig {
    /// The defaults with this bot token.
    pub fn new(bot_token: impl Into<String>) -> Self {
        SlackClientConfig {
            bot_token: bot_token.into(),
            ..Self::default()
        }
    }

    /// Sets the Web API base URL (a missing trailing `/` is added).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        let mut url = url.into();
        if !url.ends_with('/') {
            url.push('/');
        }
        self.base_url = url;
        self
    }

    /// Sets the app-level token.
    pub fn with_app_token(mut self, token: impl Into<String>) -> Self {
        self.app_token = token.into();
        self
    }

    /// Sets dry-run mode.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets the delete concurrency.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Sets the retry wait unit and rate-limit margin together (tests use milliseconds).
    pub fn with_retry_timing(mut self, unit: Duration, rate_limit_margin: Duration) -> Self {
        self.retry_unit = unit;
        self.rate_limit_margin = rate_limit_margin;
        self
    }

    /// Sets the attempts per class: rate limit, transient, fatal.
    pub fn with_max_attempts(mut self, rate_limit: u32, transient: u32, fatal: u32) -> Self {
        self.max_attempts_for_rate_limit_error = rate_limit;
        self.max_attempts_for_transient_error = transient;
        self.max_attempts_for_fatal_error = fatal;
        self
    }

    /// Sets the wait budgets per class: rate limit, transient, fatal.
    pub fn with_max_wait_times(
        mut self,
        rate_limit: Duration,
        transient: Duration,
        fatal: Duration,
    ) -> Self {
        self.max_rate_limit_error_wait_time = rate_limit;
        self.max_transient_error_wait_time = transient;
        self.max_fatal_error_wait_time = fatal;
        self
    }

    /// Sets the HTTP timeout.
    pub fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Sets the cache key prefix.
    pub fn with_cache_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.cache_key_prefix = prefix.into();
        self
    }

    /// Checks the values in the Go order; the error names the field and its range.
    pub fn validate(&self) -> Result<(), SlackError> {
        let err = |m: &str| Err(SlackError::Config(m.to_owned()));
        if self.bot_token.trim().is_empty() {
            return err("bot token is empty");
        }
        if !(1..=50).contains(&self.concurrency) {
            return err("concurrency must be between 1 and 50");
        }
        for (name, v) in [
            (
                "max attempts for rate limit error",
                self.max_attempts_for_rate_limit_error,
            ),
            (
                "max attempts for transient error",
                self.max_attempts_for_transient_error,
            ),
            (
                "max attempts for fatal error",
                self.max_attempts_for_fatal_error,
            ),
        ] {
            if !(1..=100).contains(&v) {
                return Err(SlackError::Config(format!(
                    "{name} must be between 1 and 100"
                )));
            }
        }
        let max = Duration::from_secs(600);
        for (name, v) in [
            (
                "max rate limit error wait time",
                self.max_rate_limit_error_wait_time,
            ),
            (
                "max transient error wait time",
                self.max_transient_error_wait_time,
            ),
            ("max fatal error wait time", self.max_fatal_error_wait_time),
        ] {
            if v.is_zero() || v > max {
                return Err(SlackError::Config(format!(
                    "{name} must be between 1 and 600 seconds"
                )));
            }
        }
        if self.http_timeout.is_zero() || self.http_timeout > Duration::from_secs(300) {
            return err("http timeout must be between 1 and 300 seconds");
        }
        if self.retry_unit.is_zero() {
            return err("retry unit must be positive");
        }
        if self.cache_key_prefix.is_empty() {
            return err("cache key prefix is required");
        }
        match url::Url::parse(&self.base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(()),
            _ => Err(SlackError::Config(format!(
                "base url {:?} is not an http(s) URL",
                self.base_url
            ))),
        }
    }
}

/// Status emojis of issue posts (`issueStatus`); invalid values fall back to the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueStatusEmojis {
    /// Panic (`:scream:`).
    pub panic: String,
    /// Error (`:x:`).
    pub error: String,
    /// Warning (`:warning:`).
    pub warning: String,
    /// Info (`:information_source:`).
    pub info: String,
    /// Muted panic (`:no_bell:`).
    pub mute_panic: String,
    /// Muted error (`:no_bell:`).
    pub mute_error: String,
    /// Muted warning (`:no_bell:`).
    pub mute_warning: String,
    /// Resolved as inconclusive (`:grey_question:`, Go key `unresolvedEmoji`).
    pub inconclusive: String,
    /// Resolved (`:white_check_mark:`).
    pub resolved: String,
}

impl Default for IssueStatusEmojis {
    fn default() -> Self {
        IssueStatusEmojis {
            panic: ":scream:".into(),
            error: ":x:".into(),
            warning: ":warning:".into(),
            info: ":information_source:".into(),
            mute_panic: ":no_bell:".into(),
            mute_error: ":no_bell:".into(),
            mute_warning: ":no_bell:".into(),
            inconclusive: ":grey_question:".into(),
            resolved: ":white_check_mark:".into(),
        }
    }
}

/// Whether `s` is an emoji code `:name:` (1–50 characters, no inner colon).
pub fn is_emoji_code(s: &str) -> bool {
    let Some(inner) = s.strip_prefix(':').and_then(|r| r.strip_suffix(':')) else {
        return false;
    };
    let n = inner.chars().count();
    (1..=50).contains(&n) && !inner.contains(':')
}

impl IssueStatusEmojis {
    /// Trims every value and replaces invalid ones with the default (never an error, as in Go).
    pub fn normalized(&self) -> Self {
        let d = IssueStatusEmojis::default();
        let pick = |v: &str, def: String| {
            let v = v.trim();
            if is_emoji_code(v) { v.to_owned() } else { def }
        };
        IssueStatusEmojis {
            panic: pick(&self.panic, d.panic),
            error: pick(&self.error, d.error),
            warning: pick(&self.warning, d.warning),
            info: pick(&self.info, d.info),
            mute_panic: pick(&self.mute_panic, d.mute_panic),
            mute_error: pick(&self.mute_error, d.mute_error),
            mute_warning: pick(&self.mute_warning, d.mute_warning),
            inconclusive: pick(&self.inconclusive, d.inconclusive),
            resolved: pick(&self.resolved, d.resolved),
        }
    }
}

/// Per-channel reordering overrides (a configured alert channel's values replace the global ones).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelReordering {
    /// Reordering disabled in this channel.
    pub disable_issue_reordering: bool,
    /// Reordering limit in this channel (`None`: the global limit).
    pub issue_reordering_limit: Option<usize>,
}

/// What rendering, throttling and reordering read from the manager settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PostSettings {
    /// Status emojis.
    pub status: IssueStatusEmojis,
    /// Show the Move/Details buttons on every post.
    pub always_show_option_buttons: bool,
    /// Add a `Correlation ID: …` context line.
    pub show_issue_correlation_id: bool,
    /// Below this many issues in a channel nothing is throttled (default 5).
    pub min_issue_count_for_throttle: usize,
    /// Throttle cap (default 90 s).
    pub max_throttle_duration: Duration,
    /// Global: reordering disabled.
    pub disable_issue_reordering: bool,
    /// Global: reordering only while open issues ≤ this (default 30).
    pub issue_reordering_limit: usize,
    /// Configured alert channels' reordering values.
    pub channel_reordering: HashMap<String, ChannelReordering>,
    /// Info channels (never alert channels).
    pub info_channels: HashSet<String>,
    /// Offset for times shown in posts (the Go `location`; default UTC).
    pub utc_offset: FixedOffset,
}

impl Default for PostSettings {
    fn default() -> Self {
        PostSettings {
            status: IssueStatusEmojis::default(),
            always_show_option_buttons: false,
            show_issue_correlation_id: false,
            min_issue_count_for_throttle: 5,
            max_throttle_duration: Duration::from_secs(90),
            disable_issue_reordering: false,
            issue_reordering_limit: 30,
            channel_reordering: HashMap::new(),
            info_channels: HashSet::new(),
            utc_offset: chrono::Utc.fix(),
        }
    }
}

impl PostSettings {
    /// Whether posts in `channel` may be reordered with `open_count` open issues (Go
    /// `OrderIssuesBySeverity`).
    pub fn order_issues_by_severity(&self, channel: &str, open_count: usize) -> bool {
        let (disabled, limit) = match self.channel_reordering.get(channel) {
            Some(c) => (
                c.disable_issue_reordering,
                c.issue_reordering_limit
                    .unwrap_or(self.issue_reordering_limit),
            ),
            None => (self.disable_issue_reordering, self.issue_reordering_limit),
        };
        !disabled && open_count <= limit
    }

    /// Whether `channel` is an info channel.
    pub fn is_info_channel(&self, channel: &str) -> bool {
        self.info_channels.contains(channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_ranges_are_checked() {
        let ok = SlackClientConfig::new("xoxb-1");
        assert!(ok.validate().is_ok());
        assert!(
            SlackClientConfig::default()
                .validate()
                .unwrap_err()
                .to_string()
                .contains("bot token is empty")
        );
        let bad = ok.clone().with_concurrency(0);
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("concurrency")
        );
        let bad = ok.clone().with_max_attempts(0, 5, 5);
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("rate limit")
        );
        let bad = ok.with_base_url("ftp://x");
        assert!(bad.validate().unwrap_err().to_string().contains("base url"));
    }

    #[test]
    fn invalid_status_emojis_fall_back() {
        let s = IssueStatusEmojis {
            panic: " :fire: ".into(),
            error: "x".into(),
            warning: String::new(),
            ..IssueStatusEmojis::default()
        }
        .normalized();
        assert_eq!(s.panic, ":fire:");
        assert_eq!(s.error, ":x:");
        assert_eq!(s.warning, ":warning:");
    }

    #[test]
    fn reordering_uses_channel_values_when_configured() {
        let mut s = PostSettings::default();
        assert!(s.order_issues_by_severity("C1", 30));
        assert!(!s.order_issues_by_severity("C1", 31));
        s.channel_reordering.insert(
            "C2".into(),
            ChannelReordering {
                disable_issue_reordering: false,
                issue_reordering_limit: Some(5),
            },
        );
        assert!(!s.order_issues_by_severity("C2", 6));
        s.disable_issue_reordering = true;
        assert!(!s.order_issues_by_severity("C1", 1));
        assert!(s.order_issues_by_severity("C2", 5));
    }
}
