//! Runtime settings: [`ManagerSettings`] (hot-reloadable with `Manager::update_settings`).
//!
//! [`ManagerSettings::init_and_validate`] fills the Go defaults, normalises emoji lists and checks
//! every rule in the Go order, returning the first failure with the Go message. Beyond Go, three
//! groups of settings drive the Rust-only behaviour: storm coalescing
//! (`stormCoalescingWindowMillis`), mute expiry (`muteExpirySeconds`) and flap detection
//! (`flapThreshold`, `flapWindowSeconds`).

use std::collections::HashSet;
use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};
use sm_core::Severity;

use crate::error::ConfigError;

/// Default friendly name and post username.
pub const DEFAULT_APP_FRIENDLY_NAME: &str = "Slack Manager";
/// Default post icon.
pub const DEFAULT_POST_ICON_EMOJI: &str = ":female-detective:";
/// Default archiving delay (12 h).
pub const DEFAULT_ARCHIVING_DELAY_SECONDS: i64 = 43_200;
/// Default open-issue limit for reordering.
pub const DEFAULT_ISSUE_REORDERING_LIMIT: i64 = 30;
/// Default periodic processing interval.
pub const DEFAULT_ISSUE_PROCESSING_INTERVAL_SECONDS: i64 = 10;
/// Default throttle threshold (open issues in the channel).
pub const DEFAULT_MIN_ISSUE_COUNT_FOR_THROTTLE: i64 = 5;
/// Default throttle cap.
pub const DEFAULT_MAX_THROTTLE_DURATION_SECONDS: i64 = 90;
/// Default storm coalescing window.
pub const DEFAULT_STORM_COALESCING_WINDOW_MILLIS: i64 = 1_500;
/// Default flap threshold: reopens within the window before an issue counts as flapping.
pub const DEFAULT_FLAP_THRESHOLD: i64 = 5;
/// Default flap window (1 h).
pub const DEFAULT_FLAP_WINDOW_SECONDS: i64 = 3_600;

static ICON_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^:[^:]{1,50}:$")
        .unwrap_or_else(|e| panic!("built-in icon pattern does not compile: {e}"))
});

/// Whether `s` is an emoji in the `:name:` form (1–50 characters between the colons).
pub fn is_valid_icon_emoji(s: &str) -> bool {
    ICON_RE.is_match(s)
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn wrap_colons(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if !s.starts_with(':') {
        out.push(':');
    }
    out.push_str(s);
    if !s.ends_with(':') || s.len() == 1 {
        out.push(':');
    }
    out
}

/// Emoji → command mapping for reactions on issue posts. Stored without colons once initialised.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IssueReactions {
    /// Terminate (default `:firecracker:`).
    #[serde(rename = "terminateEmojis", deserialize_with = "null_as_default")]
    pub terminate_emojis: Vec<String>,
    /// Resolve (default `:white_check_mark:`).
    #[serde(rename = "resolveEmojis", deserialize_with = "null_as_default")]
    pub resolve_emojis: Vec<String>,
    /// Investigate (default `:eyes:`).
    #[serde(rename = "investigateEmojis", deserialize_with = "null_as_default")]
    pub investigate_emojis: Vec<String>,
    /// Mute (default `:mask:`).
    #[serde(rename = "muteEmojis", deserialize_with = "null_as_default")]
    pub mute_emojis: Vec<String>,
    /// Show option buttons (default `:information_source:`).
    #[serde(
        rename = "showOptionButtonsEmojis",
        deserialize_with = "null_as_default"
    )]
    pub show_option_buttons_emojis: Vec<String>,
}

/// What a reaction on an issue post asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueReaction {
    /// Terminate the issue.
    Terminate,
    /// Resolve the issue.
    Resolve,
    /// Investigate the issue.
    Investigate,
    /// Mute the issue.
    Mute,
    /// Show the option buttons.
    ShowOptionButtons,
}

impl IssueReaction {
    /// The Go wire value (`terminate`, `resolve`, `investigate`, `mute`, `show_option_buttons`).
    pub fn as_str(self) -> &'static str {
        match self {
            IssueReaction::Terminate => "terminate",
            IssueReaction::Resolve => "resolve",
            IssueReaction::Investigate => "investigate",
            IssueReaction::Mute => "mute",
            IssueReaction::ShowOptionButtons => "show_option_buttons",
        }
    }
}

fn normalise_emoji_list(
    list: &mut Vec<String>,
    name: &str,
    default: &str,
) -> Result<(), ConfigError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let trimmed = raw.trim();
        let field = format!("issueReactions.{name}[{i}]");
        if trimmed.is_empty() {
            return Err(ConfigError::invalid(
                field.clone(),
                format!("{field} cannot be empty"),
            ));
        }
        let wrapped = wrap_colons(trimmed);
        if !is_valid_icon_emoji(&wrapped) {
            return Err(ConfigError::invalid(
                field.clone(),
                format!("{field} is not a valid emoji format (expected :emoji:)"),
            ));
        }
        out.push(wrapped);
    }
    if out.is_empty() {
        out.push(default.to_owned());
    }
    *list = out
        .into_iter()
        .map(|e| e.trim_matches(':').to_owned())
        .collect();
    Ok(())
}

impl IssueReactions {
    fn init(&mut self) -> Result<(), ConfigError> {
        normalise_emoji_list(
            &mut self.terminate_emojis,
            "terminateEmojis",
            ":firecracker:",
        )?;
        normalise_emoji_list(
            &mut self.resolve_emojis,
            "resolveEmojis",
            ":white_check_mark:",
        )?;
        normalise_emoji_list(&mut self.investigate_emojis, "investigateEmojis", ":eyes:")?;
        normalise_emoji_list(&mut self.mute_emojis, "muteEmojis", ":mask:")?;
        normalise_emoji_list(
            &mut self.show_option_buttons_emojis,
            "showOptionButtonsEmojis",
            ":information_source:",
        )?;
        Ok(())
    }
}

/// Status emojis shown on posts. Invalid values are silently replaced by the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IssueStatus {
    /// Panic (default `:scream:`).
    #[serde(rename = "panicEmoji")]
    pub panic_emoji: String,
    /// Error (default `:x:`).
    #[serde(rename = "errorEmoji")]
    pub error_emoji: String,
    /// Warning (default `:warning:`).
    #[serde(rename = "warningEmoji")]
    pub warning_emoji: String,
    /// Info (default `:information_source:`).
    #[serde(rename = "infoEmoji")]
    pub info_emoji: String,
    /// Muted panic (default `:no_bell:`).
    #[serde(rename = "mutePanicEmoji")]
    pub mute_panic_emoji: String,
    /// Muted error (default `:no_bell:`).
    #[serde(rename = "muteErrorEmoji")]
    pub mute_error_emoji: String,
    /// Muted warning (default `:no_bell:`).
    #[serde(rename = "muteWarningEmoji")]
    pub mute_warning_emoji: String,
    /// Resolved as inconclusive (default `:grey_question:`).
    #[serde(rename = "unresolvedEmoji")]
    pub unresolved_emoji: String,
    /// Resolved (default `:white_check_mark:`).
    #[serde(rename = "resolvedEmoji")]
    pub resolved_emoji: String,
}

impl IssueStatus {
    fn init(&mut self) {
        let fix = |v: &mut String, d: &str| {
            let t = v.trim();
            *v = if is_valid_icon_emoji(t) {
                t.to_owned()
            } else {
                d.to_owned()
            };
        };
        fix(&mut self.panic_emoji, ":scream:");
        fix(&mut self.error_emoji, ":x:");
        fix(&mut self.warning_emoji, ":warning:");
        fix(&mut self.info_emoji, ":information_source:");
        fix(&mut self.mute_panic_emoji, ":no_bell:");
        fix(&mut self.mute_error_emoji, ":no_bell:");
        fix(&mut self.mute_warning_emoji, ":no_bell:");
        fix(&mut self.unresolved_emoji, ":grey_question:");
        fix(&mut self.resolved_emoji, ":white_check_mark:");
    }
}

/// Per-channel overrides for an alert channel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertChannelSettings {
    /// Channel ID (trimmed, non-empty, unique).
    pub id: String,
    /// Users who are admins of this channel.
    #[serde(rename = "adminUsers", deserialize_with = "null_as_default")]
    pub admin_users: Vec<String>,
    /// User groups whose members are admins of this channel.
    #[serde(rename = "adminGroups", deserialize_with = "null_as_default")]
    pub admin_groups: Vec<String>,
    /// Turn off reordering in this channel.
    #[serde(rename = "disableIssueReordering")]
    pub disable_issue_reordering: bool,
    /// Reordering limit (≤ 0: the global value; else 5–100).
    #[serde(rename = "issueReorderingLimit")]
    pub issue_reordering_limit: i64,
    /// Processing interval (≤ 0: the global value; else 3–600).
    #[serde(rename = "issueProcessingIntervalSeconds")]
    pub issue_processing_interval_seconds: i64,
}

/// A channel that shows information and must not receive alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InfoChannelSettings {
    /// Channel ID (JSON key `channelId`).
    #[serde(rename = "channelId")]
    pub channel_id: String,
    /// Template path (non-empty).
    #[serde(rename = "templatePath")]
    pub template_path: String,
}

/// Runtime behaviour of the manager (Go `ManagerSettings`, plus the Rust-only extensions).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagerSettings {
    /// Name used in user-facing texts (default "Slack Manager").
    #[serde(rename = "appFriendlyName")]
    pub app_friendly_name: String,
    /// Users who are admins everywhere.
    #[serde(rename = "globalAdmins", deserialize_with = "null_as_default")]
    pub global_admins: Vec<String>,
    /// Icon of alerts without one.
    #[serde(rename = "defaultPostIconEmoji")]
    pub default_post_icon_emoji: String,
    /// Username of alerts without one.
    #[serde(rename = "defaultPostUsername")]
    pub default_post_username: String,
    /// Severity of alerts without one (panic, error or warning).
    #[serde(rename = "defaultAlertSeverity")]
    pub default_alert_severity: String,
    /// Archiving delay of alerts without one (60 s – 30 days).
    #[serde(rename = "defaultIssueArchivingDelaySeconds")]
    pub default_issue_archiving_delay_seconds: i64,
    /// Turn off severity reordering.
    #[serde(rename = "disableIssueReordering")]
    pub disable_issue_reordering: bool,
    /// Reorder only while active issues ≤ this (5–100).
    #[serde(rename = "issueReorderingLimit")]
    pub issue_reordering_limit: i64,
    /// Period of the channel processing loop, seconds (3–600).
    #[serde(rename = "issueProcessingIntervalSeconds")]
    pub issue_processing_interval_seconds: i64,
    /// Reaction mapping.
    #[serde(rename = "issueReactions", deserialize_with = "null_as_default")]
    pub issue_reactions: IssueReactions,
    /// Status emojis.
    #[serde(rename = "issueStatus", deserialize_with = "null_as_default")]
    pub issue_status: IssueStatus,
    /// Throttle threshold (1–100).
    #[serde(rename = "minIssueCountForThrottle")]
    pub min_issue_count_for_throttle: i64,
    /// Throttle cap, seconds (1–600).
    #[serde(rename = "maxThrottleDurationSeconds")]
    pub max_throttle_duration_seconds: i64,
    /// Option buttons on every post.
    #[serde(rename = "alwaysShowOptionButtons")]
    pub always_show_option_buttons: bool,
    /// Show the correlation ID on posts.
    #[serde(rename = "showIssueCorrelationIdInSlackPost")]
    pub show_issue_correlation_id_in_slack_post: bool,
    /// Documentation link used in help texts.
    #[serde(rename = "docsUrl")]
    pub docs_url: String,
    /// Per-channel overrides.
    #[serde(rename = "alertChannels", deserialize_with = "null_as_default")]
    pub alert_channels: Vec<AlertChannelSettings>,
    /// Channels that must not receive alerts.
    #[serde(rename = "infoChannels", deserialize_with = "null_as_default")]
    pub info_channels: Vec<InfoChannelSettings>,
    /// Rust extension: alerts for one issue within this window produce one Slack update
    /// (≤ 0: default 1500 ms; else 50–60000).
    #[serde(rename = "stormCoalescingWindowMillis")]
    pub storm_coalescing_window_millis: i64,
    /// Rust extension: turn storm coalescing off (every accepted alert updates Slack at once).
    #[serde(rename = "disableStormCoalescing")]
    pub disable_storm_coalescing: bool,
    /// Rust extension: a mute ends by itself after this many seconds (≤ 0: never; else 60 s – 30 days).
    #[serde(rename = "muteExpirySeconds")]
    pub mute_expiry_seconds: i64,
    /// Rust extension: turn flap detection off.
    #[serde(rename = "disableFlapDetection")]
    pub disable_flap_detection: bool,
    /// Rust extension: an issue reopened more than this many times within the window is flapping
    /// (≤ 0: default 5; else 2–100).
    #[serde(rename = "flapThreshold")]
    pub flap_threshold: i64,
    /// Rust extension: flap window, seconds (≤ 0: default 3600; else 60–86400).
    #[serde(rename = "flapWindowSeconds")]
    pub flap_window_seconds: i64,
}

fn range(field: &str, v: i64, min: i64, max: i64, message: String) -> Result<(), ConfigError> {
    if v < min || v > max {
        return Err(ConfigError::invalid(field, message));
    }
    Ok(())
}

fn default_if_non_positive(v: &mut i64, d: i64) {
    if *v <= 0 {
        *v = d;
    }
}

impl ManagerSettings {
    /// Fills defaults, normalises and validates, in the Go order; the first failure is returned.
    ///
    /// Idempotent: running it again on its own output changes nothing. Unlike Go, a second call
    /// re-validates (Go skipped the checks once they had passed, so later edits went unchecked).
    pub fn init_and_validate(&mut self) -> Result<(), ConfigError> {
        if self.app_friendly_name.trim().is_empty() {
            self.app_friendly_name = DEFAULT_APP_FRIENDLY_NAME.into();
        }
        for (i, a) in self.global_admins.iter_mut().enumerate() {
            *a = a.trim().to_owned();
            if a.is_empty() {
                return Err(ConfigError::invalid(
                    format!("globalAdmins[{i}]"),
                    format!("globalAdmins[{i}] cannot be empty"),
                ));
            }
        }
        let icon = self.default_post_icon_emoji.trim();
        self.default_post_icon_emoji = if icon.is_empty() {
            DEFAULT_POST_ICON_EMOJI.into()
        } else {
            wrap_colons(icon)
        };
        if !is_valid_icon_emoji(&self.default_post_icon_emoji) {
            return Err(ConfigError::invalid(
                "defaultPostIconEmoji",
                "default icon emoji must be on the format \":emoji:\"",
            ));
        }
        if self.default_post_username.trim().is_empty() {
            self.default_post_username = DEFAULT_APP_FRIENDLY_NAME.into();
        }
        if self.default_alert_severity.trim().is_empty() {
            self.default_alert_severity = "error".into();
        }
        self.default_alert_severity = self.default_alert_severity.trim().to_lowercase();
        let sev: Severity = self
            .default_alert_severity
            .parse()
            .unwrap_or_else(|_| Severity::Unknown(self.default_alert_severity.clone()));
        if !Severity::ESCALATION.contains(&sev) {
            return Err(ConfigError::invalid(
                "defaultAlertSeverity",
                format!(
                    "default alert severity must be one of panic, error, warning (got {:?})",
                    self.default_alert_severity
                ),
            ));
        }
        default_if_non_positive(
            &mut self.default_issue_archiving_delay_seconds,
            DEFAULT_ARCHIVING_DELAY_SECONDS,
        );
        range(
            "defaultIssueArchivingDelaySeconds",
            self.default_issue_archiving_delay_seconds,
            60,
            2_592_000,
            "default archiving delay must be between 60 and 2592000 seconds".into(),
        )?;
        default_if_non_positive(
            &mut self.issue_reordering_limit,
            DEFAULT_ISSUE_REORDERING_LIMIT,
        );
        range(
            "issueReorderingLimit",
            self.issue_reordering_limit,
            5,
            100,
            "issue reordering limit must be between 5 and 100 (use DisableIssueReordering to turn off reordering)".into(),
        )?;
        default_if_non_positive(
            &mut self.issue_processing_interval_seconds,
            DEFAULT_ISSUE_PROCESSING_INTERVAL_SECONDS,
        );
        range(
            "issueProcessingIntervalSeconds",
            self.issue_processing_interval_seconds,
            3,
            600,
            "issue processing interval must be between 3 and 600 seconds".into(),
        )?;
        self.issue_reactions.init()?;
        self.issue_status.init();
        default_if_non_positive(
            &mut self.min_issue_count_for_throttle,
            DEFAULT_MIN_ISSUE_COUNT_FOR_THROTTLE,
        );
        range(
            "minIssueCountForThrottle",
            self.min_issue_count_for_throttle,
            1,
            100,
            "min issue count for throttle must be between 1 and 100".into(),
        )?;
        default_if_non_positive(
            &mut self.max_throttle_duration_seconds,
            DEFAULT_MAX_THROTTLE_DURATION_SECONDS,
        );
        range(
            "maxThrottleDurationSeconds",
            self.max_throttle_duration_seconds,
            1,
            600,
            "max throttle duration must be between 1 and 600 seconds".into(),
        )?;
        self.init_alert_channels()?;
        self.init_info_channels()?;
        self.init_extensions()?;
        Ok(())
    }

    fn init_alert_channels(&mut self) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (i, c) in self.alert_channels.iter_mut().enumerate() {
            c.id = c.id.trim().to_owned();
            let field = format!("alertChannels[{i}].id");
            if c.id.is_empty() {
                return Err(ConfigError::invalid(
                    field.clone(),
                    format!("{field} cannot be empty"),
                ));
            }
            if !seen.insert(c.id.clone()) {
                return Err(ConfigError::invalid(
                    field.clone(),
                    format!("{field} {:?} is a duplicate", c.id),
                ));
            }
            for (j, u) in c.admin_users.iter_mut().enumerate() {
                *u = u.trim().to_owned();
                if u.is_empty() {
                    let f = format!("alertChannels[{i}].adminUsers[{j}]");
                    return Err(ConfigError::invalid(
                        f.clone(),
                        format!("{f} cannot be empty"),
                    ));
                }
            }
            for (j, g) in c.admin_groups.iter().enumerate() {
                if g.trim().is_empty() {
                    let f = format!("alertChannels[{i}].adminGroups[{j}]");
                    return Err(ConfigError::invalid(
                        f.clone(),
                        format!("{f} cannot be empty"),
                    ));
                }
            }
            if c.issue_reordering_limit <= 0 {
                c.issue_reordering_limit = self.issue_reordering_limit;
            }
            let f = format!("alertChannels[{i}].issueReorderingLimit");
            range(
                &f,
                c.issue_reordering_limit,
                5,
                100,
                format!("{f} must be between 5 and 100"),
            )?;
            if c.issue_processing_interval_seconds <= 0 {
                c.issue_processing_interval_seconds = self.issue_processing_interval_seconds;
            }
            let f = format!("alertChannels[{i}].issueProcessingIntervalSeconds");
            range(
                &f,
                c.issue_processing_interval_seconds,
                3,
                600,
                format!("{f} must be between 3 and 600 seconds"),
            )?;
        }
        Ok(())
    }

    fn init_info_channels(&mut self) -> Result<(), ConfigError> {
        let alert_ids: HashSet<String> = self.alert_channels.iter().map(|c| c.id.clone()).collect();
        let mut seen = HashSet::new();
        for (i, c) in self.info_channels.iter_mut().enumerate() {
            c.channel_id = c.channel_id.trim().to_owned();
            c.template_path = c.template_path.trim().to_owned();
            let field = format!("infoChannels[{i}].channelId");
            if c.channel_id.is_empty() {
                return Err(ConfigError::invalid(
                    field.clone(),
                    format!("{field} cannot be empty"),
                ));
            }
            if !seen.insert(c.channel_id.clone()) {
                return Err(ConfigError::invalid(
                    field.clone(),
                    format!("{field} {:?} is a duplicate", c.channel_id),
                ));
            }
            if alert_ids.contains(&c.channel_id) {
                return Err(ConfigError::invalid(
                    field.clone(),
                    format!(
                        "{field} {:?} is already configured as an alert channel",
                        c.channel_id
                    ),
                ));
            }
            if c.template_path.is_empty() {
                let f = format!("infoChannels[{i}].templatePath");
                return Err(ConfigError::invalid(
                    f.clone(),
                    format!("{f} cannot be empty"),
                ));
            }
        }
        Ok(())
    }

    fn init_extensions(&mut self) -> Result<(), ConfigError> {
        default_if_non_positive(
            &mut self.storm_coalescing_window_millis,
            DEFAULT_STORM_COALESCING_WINDOW_MILLIS,
        );
        range(
            "stormCoalescingWindowMillis",
            self.storm_coalescing_window_millis,
            50,
            60_000,
            "storm coalescing window must be between 50 and 60000 milliseconds".into(),
        )?;
        if self.mute_expiry_seconds < 0 {
            self.mute_expiry_seconds = 0;
        }
        if self.mute_expiry_seconds > 0 {
            range(
                "muteExpirySeconds",
                self.mute_expiry_seconds,
                60,
                2_592_000,
                "mute expiry must be 0 (never) or between 60 and 2592000 seconds".into(),
            )?;
        }
        default_if_non_positive(&mut self.flap_threshold, DEFAULT_FLAP_THRESHOLD);
        range(
            "flapThreshold",
            self.flap_threshold,
            2,
            100,
            "flap threshold must be between 2 and 100".into(),
        )?;
        default_if_non_positive(&mut self.flap_window_seconds, DEFAULT_FLAP_WINDOW_SECONDS);
        range(
            "flapWindowSeconds",
            self.flap_window_seconds,
            60,
            86_400,
            "flap window must be between 60 and 86400 seconds".into(),
        )?;
        Ok(())
    }

    fn alert_channel(&self, channel_id: &str) -> Option<&AlertChannelSettings> {
        self.alert_channels.iter().find(|c| c.id == channel_id)
    }

    /// The default severity as a [`Severity`] (error when not initialised).
    pub fn default_severity(&self) -> Severity {
        self.default_alert_severity
            .parse()
            .unwrap_or(Severity::Error)
    }

    /// Whether `user` is a global admin.
    pub fn user_is_global_admin(&self, user: &str) -> bool {
        !user.is_empty() && self.global_admins.iter().any(|a| a == user)
    }

    /// Whether `user` is an admin of `channel`: global admin, listed admin user, or member of a
    /// listed admin group (`in_group(group, user)`, typically a Slack lookup).
    pub async fn user_is_channel_admin<F, Fut>(
        &self,
        channel: &str,
        user: &str,
        in_group: F,
    ) -> bool
    where
        F: Fn(String, String) -> Fut,
        Fut: Future<Output = bool>,
    {
        if user.is_empty() || channel.is_empty() {
            return false;
        }
        if self.user_is_global_admin(user) {
            return true;
        }
        let Some(c) = self.alert_channel(channel) else {
            return false;
        };
        if c.admin_users.iter().any(|u| u == user) {
            return true;
        }
        for g in &c.admin_groups {
            if in_group(g.clone(), user.to_owned()).await {
                return true;
            }
        }
        false
    }

    /// Whether `channel` is an info channel.
    pub fn is_info_channel(&self, channel: &str) -> bool {
        self.info_channels.iter().any(|c| c.channel_id == channel)
    }

    /// The info channel's settings, if it is one.
    pub fn info_channel_config(&self, channel: &str) -> Option<&InfoChannelSettings> {
        self.info_channels.iter().find(|c| c.channel_id == channel)
    }

    /// Whether posts in `channel` are reordered by severity with `active_issues` active issues.
    pub fn order_issues_by_severity(&self, channel: &str, active_issues: usize) -> bool {
        let global = if self.issue_reordering_limit > 0 {
            self.issue_reordering_limit
        } else {
            DEFAULT_ISSUE_REORDERING_LIMIT
        };
        let (disabled, limit) = match self.alert_channel(channel) {
            Some(c) if c.issue_reordering_limit > 0 => {
                (c.disable_issue_reordering, c.issue_reordering_limit)
            }
            Some(c) => (c.disable_issue_reordering, global),
            None => (self.disable_issue_reordering, global),
        };
        !disabled && i64::try_from(active_issues).unwrap_or(i64::MAX) <= limit
    }

    /// The periodic processing interval of `channel` (10 s when not set).
    pub fn issue_processing_interval(&self, channel: &str) -> Duration {
        let secs = self
            .alert_channel(channel)
            .map(|c| c.issue_processing_interval_seconds)
            .filter(|s| *s > 0)
            .unwrap_or(self.issue_processing_interval_seconds);
        let secs = if secs > 0 {
            secs
        } else {
            DEFAULT_ISSUE_PROCESSING_INTERVAL_SECONDS
        };
        Duration::from_secs(u64::try_from(secs).unwrap_or(10))
    }

    /// What a reaction (name without colons) asks for: the first match in the order terminate,
    /// resolve, investigate, mute, show option buttons.
    pub fn map_slack_post_reaction(&self, name: &str) -> Option<IssueReaction> {
        let r = &self.issue_reactions;
        let lists = [
            (&r.terminate_emojis, IssueReaction::Terminate),
            (&r.resolve_emojis, IssueReaction::Resolve),
            (&r.investigate_emojis, IssueReaction::Investigate),
            (&r.mute_emojis, IssueReaction::Mute),
            (
                &r.show_option_buttons_emojis,
                IssueReaction::ShowOptionButtons,
            ),
        ];
        lists
            .into_iter()
            .find(|(list, _)| list.iter().any(|e| e.trim().trim_matches(':') == name))
            .map(|(_, r)| r)
    }

    /// Storm coalescing window (`None` when disabled).
    pub fn storm_coalescing_window(&self) -> Option<Duration> {
        if self.disable_storm_coalescing {
            return None;
        }
        let ms = if self.storm_coalescing_window_millis > 0 {
            self.storm_coalescing_window_millis
        } else {
            DEFAULT_STORM_COALESCING_WINDOW_MILLIS
        };
        Some(Duration::from_millis(u64::try_from(ms).unwrap_or(1_500)))
    }

    /// How long a mute lasts (`None`: until unmuted).
    pub fn mute_expiry(&self) -> Option<Duration> {
        u64::try_from(self.mute_expiry_seconds)
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
    }

    /// Flap detection parameters `(threshold, window)` (`None` when disabled).
    pub fn flap_detection(&self) -> Option<(usize, Duration)> {
        if self.disable_flap_detection {
            return None;
        }
        let threshold = if self.flap_threshold > 0 {
            self.flap_threshold
        } else {
            DEFAULT_FLAP_THRESHOLD
        };
        let window = if self.flap_window_seconds > 0 {
            self.flap_window_seconds
        } else {
            DEFAULT_FLAP_WINDOW_SECONDS
        };
        Some((
            usize::try_from(threshold).unwrap_or(5),
            Duration::from_secs(u64::try_from(window).unwrap_or(3_600)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(s: ManagerSettings) -> Result<ManagerSettings, ConfigError> {
        let mut s = s;
        s.init_and_validate().map(|()| s)
    }

    #[test]
    fn empty_settings_get_every_default() {
        let s = init(ManagerSettings::default()).unwrap();
        assert_eq!(s.app_friendly_name, "Slack Manager");
        assert_eq!(s.default_post_icon_emoji, ":female-detective:");
        assert_eq!(s.default_post_username, "Slack Manager");
        assert_eq!(s.default_alert_severity, "error");
        assert_eq!(s.default_issue_archiving_delay_seconds, 43_200);
        assert_eq!(s.issue_reordering_limit, 30);
        assert_eq!(s.issue_processing_interval_seconds, 10);
        assert_eq!(s.min_issue_count_for_throttle, 5);
        assert_eq!(s.max_throttle_duration_seconds, 90);
        assert_eq!(s.issue_reactions.terminate_emojis, ["firecracker"]);
        assert_eq!(s.issue_reactions.resolve_emojis, ["white_check_mark"]);
        assert_eq!(s.issue_reactions.investigate_emojis, ["eyes"]);
        assert_eq!(s.issue_reactions.mute_emojis, ["mask"]);
        assert_eq!(
            s.issue_reactions.show_option_buttons_emojis,
            ["information_source"]
        );
        assert_eq!(s.issue_status.panic_emoji, ":scream:");
        assert_eq!(s.issue_status.error_emoji, ":x:");
        assert_eq!(s.issue_status.warning_emoji, ":warning:");
        assert_eq!(s.issue_status.info_emoji, ":information_source:");
        assert_eq!(s.issue_status.mute_panic_emoji, ":no_bell:");
        assert_eq!(s.issue_status.unresolved_emoji, ":grey_question:");
        assert_eq!(s.issue_status.resolved_emoji, ":white_check_mark:");
        assert_eq!(
            s.storm_coalescing_window(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(s.mute_expiry(), None);
        assert_eq!(s.flap_detection(), Some((5, Duration::from_secs(3600))));
    }

    #[test]
    fn each_rule_reports_its_field_and_message() {
        type Edit = fn(&mut ManagerSettings);
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                |s| s.global_admins = vec!["U1".into(), "  ".into()],
                "globalAdmins[1]",
                "globalAdmins[1] cannot be empty",
            ),
            (
                |s| s.default_post_icon_emoji = "a:b".into(),
                "defaultPostIconEmoji",
                "default icon emoji must be on the format \":emoji:\"",
            ),
            (
                |s| s.default_alert_severity = "info".into(),
                "defaultAlertSeverity",
                "must be one of panic, error, warning",
            ),
            (
                |s| s.default_issue_archiving_delay_seconds = 59,
                "defaultIssueArchivingDelaySeconds",
                "default archiving delay must be between 60 and 2592000 seconds",
            ),
            (
                |s| s.default_issue_archiving_delay_seconds = 2_592_001,
                "defaultIssueArchivingDelaySeconds",
                "between 60 and 2592000",
            ),
            (
                |s| s.issue_reordering_limit = 4,
                "issueReorderingLimit",
                "issue reordering limit must be between 5 and 100 (use DisableIssueReordering to turn off reordering)",
            ),
            (
                |s| s.issue_reordering_limit = 101,
                "issueReorderingLimit",
                "between 5 and 100",
            ),
            (
                |s| s.issue_processing_interval_seconds = 2,
                "issueProcessingIntervalSeconds",
                "issue processing interval must be between 3 and 600 seconds",
            ),
            (
                |s| s.issue_processing_interval_seconds = 601,
                "issueProcessingIntervalSeconds",
                "between 3 and 600",
            ),
            (
                |s| s.issue_reactions.mute_emojis = vec![" ".into()],
                "issueReactions.muteEmojis[0]",
                "issueReactions.muteEmojis[0] cannot be empty",
            ),
            (
                |s| s.issue_reactions.resolve_emojis = vec!["a:b".into()],
                "issueReactions.resolveEmojis[0]",
                "is not a valid emoji format (expected :emoji:)",
            ),
            (
                |s| s.min_issue_count_for_throttle = 101,
                "minIssueCountForThrottle",
                "min issue count for throttle must be between 1 and 100",
            ),
            (
                |s| s.max_throttle_duration_seconds = 601,
                "maxThrottleDurationSeconds",
                "max throttle duration must be between 1 and 600 seconds",
            ),
            (
                |s| s.alert_channels = vec![AlertChannelSettings::default()],
                "alertChannels[0].id",
                "alertChannels[0].id cannot be empty",
            ),
            (
                |s| {
                    s.alert_channels = vec![
                        AlertChannelSettings {
                            id: "C1".into(),
                            ..Default::default()
                        },
                        AlertChannelSettings {
                            id: " C1 ".into(),
                            ..Default::default()
                        },
                    ]
                },
                "alertChannels[1].id",
                "is a duplicate",
            ),
            (
                |s| {
                    s.alert_channels = vec![AlertChannelSettings {
                        id: "C1".into(),
                        admin_users: vec!["".into()],
                        ..Default::default()
                    }]
                },
                "alertChannels[0].adminUsers[0]",
                "cannot be empty",
            ),
            (
                |s| {
                    s.alert_channels = vec![AlertChannelSettings {
                        id: "C1".into(),
                        admin_groups: vec![" ".into()],
                        ..Default::default()
                    }]
                },
                "alertChannels[0].adminGroups[0]",
                "cannot be empty",
            ),
            (
                |s| {
                    s.alert_channels = vec![AlertChannelSettings {
                        id: "C1".into(),
                        issue_reordering_limit: 2,
                        ..Default::default()
                    }]
                },
                "alertChannels[0].issueReorderingLimit",
                "between 5 and 100",
            ),
            (
                |s| {
                    s.alert_channels = vec![AlertChannelSettings {
                        id: "C1".into(),
                        issue_processing_interval_seconds: 1000,
                        ..Default::default()
                    }]
                },
                "alertChannels[0].issueProcessingIntervalSeconds",
                "between 3 and 600",
            ),
            (
                |s| s.info_channels = vec![InfoChannelSettings::default()],
                "infoChannels[0].channelId",
                "cannot be empty",
            ),
            (
                |s| {
                    s.info_channels = vec![
                        InfoChannelSettings {
                            channel_id: "I1".into(),
                            template_path: "t".into(),
                        },
                        InfoChannelSettings {
                            channel_id: "I1".into(),
                            template_path: "t".into(),
                        },
                    ]
                },
                "infoChannels[1].channelId",
                "is a duplicate",
            ),
            (
                |s| {
                    s.alert_channels = vec![AlertChannelSettings {
                        id: "C1".into(),
                        ..Default::default()
                    }];
                    s.info_channels = vec![InfoChannelSettings {
                        channel_id: "C1".into(),
                        template_path: "t".into(),
                    }]
                },
                "infoChannels[0].channelId",
                "is already configured as an alert channel",
            ),
            (
                |s| {
                    s.info_channels = vec![InfoChannelSettings {
                        channel_id: "I1".into(),
                        template_path: " ".into(),
                    }]
                },
                "infoChannels[0].templatePath",
                "cannot be empty",
            ),
            (
                |s| s.storm_coalescing_window_millis = 10,
                "stormCoalescingWindowMillis",
                "between 50 and 60000",
            ),
            (
                |s| s.mute_expiry_seconds = 30,
                "muteExpirySeconds",
                "0 (never) or between 60 and 2592000",
            ),
            (
                |s| s.flap_threshold = 1,
                "flapThreshold",
                "between 2 and 100",
            ),
            (
                |s| s.flap_window_seconds = 86_401,
                "flapWindowSeconds",
                "between 60 and 86400",
            ),
        ];
        for (edit, field, msg) in cases {
            let mut s = ManagerSettings::default();
            edit(&mut s);
            let err = s.init_and_validate().unwrap_err();
            assert_eq!(err.field(), field, "{err}");
            assert!(
                err.to_string().contains(msg),
                "{err:?} should contain {msg}"
            );
        }
    }

    #[test]
    fn normalisation_rules() {
        let s = init(ManagerSettings {
            default_post_icon_emoji: " robot ".into(),
            default_alert_severity: " WARNING ".into(),
            global_admins: vec![" U1 ".into()],
            issue_reactions: IssueReactions {
                resolve_emojis: vec!["ok".into(), ":done:".into()],
                ..Default::default()
            },
            issue_status: IssueStatus {
                panic_emoji: "not valid".into(),
                error_emoji: " :fire: ".into(),
                ..Default::default()
            },
            alert_channels: vec![AlertChannelSettings {
                id: " C1 ".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.default_post_icon_emoji, ":robot:");
        assert_eq!(s.default_severity(), Severity::Warning);
        assert_eq!(s.global_admins, ["U1"]);
        assert_eq!(s.issue_reactions.resolve_emojis, ["ok", "done"]);
        assert_eq!(s.issue_status.panic_emoji, ":scream:");
        assert_eq!(s.issue_status.error_emoji, ":fire:");
        assert_eq!(s.alert_channels[0].id, "C1");
        // Channel values inherit the global ones when not set.
        assert_eq!(s.alert_channels[0].issue_reordering_limit, 30);
        assert_eq!(s.alert_channels[0].issue_processing_interval_seconds, 10);
    }

    #[tokio::test]
    async fn queries() {
        let uninit = ManagerSettings::default();
        assert_eq!(
            uninit.issue_processing_interval("C1"),
            Duration::from_secs(10)
        );
        assert!(uninit.order_issues_by_severity("C1", 30));
        assert!(!uninit.order_issues_by_severity("C1", 31));
        assert!(!uninit.user_is_global_admin("U1"));

        let s = init(ManagerSettings {
            global_admins: vec!["G".into()],
            issue_processing_interval_seconds: 20,
            issue_reordering_limit: 10,
            alert_channels: vec![AlertChannelSettings {
                id: "C1".into(),
                admin_users: vec!["A".into()],
                admin_groups: vec!["grp".into()],
                disable_issue_reordering: true,
                issue_processing_interval_seconds: 5,
                ..Default::default()
            }],
            info_channels: vec![InfoChannelSettings {
                channel_id: "I1".into(),
                template_path: "t.tmpl".into(),
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.issue_processing_interval("C1"), Duration::from_secs(5));
        assert_eq!(s.issue_processing_interval("C2"), Duration::from_secs(20));
        assert!(!s.order_issues_by_severity("C1", 1));
        assert!(s.order_issues_by_severity("C2", 10));
        assert!(!s.order_issues_by_severity("C2", 11));
        assert!(s.is_info_channel("I1"));
        assert_eq!(s.info_channel_config("I1").unwrap().template_path, "t.tmpl");
        assert!(s.user_is_global_admin("G"));
        let in_group = |g: String, u: String| async move { g == "grp" && u == "M" };
        assert!(s.user_is_channel_admin("C1", "G", in_group).await);
        assert!(s.user_is_channel_admin("C1", "A", in_group).await);
        assert!(s.user_is_channel_admin("C1", "M", in_group).await);
        assert!(!s.user_is_channel_admin("C1", "X", in_group).await);
        assert!(!s.user_is_channel_admin("C2", "A", in_group).await);
        assert!(!s.user_is_channel_admin("C1", "", in_group).await);
        assert_eq!(
            s.map_slack_post_reaction("white_check_mark"),
            Some(IssueReaction::Resolve)
        );
        assert_eq!(
            s.map_slack_post_reaction("information_source"),
            Some(IssueReaction::ShowOptionButtons)
        );
        assert_eq!(s.map_slack_post_reaction("nope"), None);
        assert_eq!(
            IssueReaction::ShowOptionButtons.as_str(),
            "show_option_buttons"
        );
    }

    #[test]
    fn init_is_idempotent_and_json_round_trips_with_nulls() {
        let mut s: ManagerSettings = serde_json::from_str(
            r#"{"globalAdmins":null,"issueReactions":null,"alertChannels":null,"infoChannels":[{"channelId":"I1","templatePath":"x"}]}"#,
        )
        .unwrap();
        s.init_and_validate().unwrap();
        let once = s.clone();
        s.init_and_validate().unwrap();
        assert_eq!(s, once);
        // Later edits are validated again (Go skipped this).
        s.issue_processing_interval_seconds = 1;
        assert!(s.init_and_validate().is_err());
        let v = serde_json::to_value(&once).unwrap();
        assert_eq!(v["infoChannels"][0]["channelId"], "I1");
        let back: ManagerSettings = serde_json::from_value(v).unwrap();
        assert_eq!(back, once);
    }

    #[test]
    fn extension_switches() {
        let s = init(ManagerSettings {
            disable_storm_coalescing: true,
            disable_flap_detection: true,
            mute_expiry_seconds: 600,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.storm_coalescing_window(), None);
        assert_eq!(s.flap_detection(), None);
        assert_eq!(s.mute_expiry(), Some(Duration::from_secs(600)));
    }
}
