//! The alert model: what producers send, with its cleaning and validation rules.
//!
//! JSON keys are exactly those of the Go `types.Alert`; every field is written (no `omitempty`), and
//! absent keys read as zero values, as Go does.

mod clean;
mod validate;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::gotime::{format_go_time, go_time, zero_time};
use crate::hash::{concat_hash, separated_hash};
use crate::severity::Severity;
use crate::wire_enum::wire_enum;

pub use validate::{ValidationError, is_valid_channel_id};

/// Limits of the alert fields (the Go constants).
pub mod limits {
    /// Maximum characters of `header` and `headerWhenResolved`.
    pub const MAX_HEADER_CHARS: usize = 130;
    /// Maximum characters of `text` and `textWhenResolved`.
    pub const MAX_TEXT_CHARS: usize = 10_000;
    /// Maximum characters of `fallbackText`.
    pub const MAX_FALLBACK_TEXT_CHARS: usize = 150;
    /// Maximum characters of `author`, `host` and `username`.
    pub const MAX_AUTHOR_CHARS: usize = 100;
    /// Maximum characters of `footer`.
    pub const MAX_FOOTER_CHARS: usize = 300;
    /// Maximum characters of a field title.
    pub const MAX_FIELD_TITLE_CHARS: usize = 30;
    /// Maximum characters of a field value.
    pub const MAX_FIELD_VALUE_CHARS: usize = 200;
    /// Maximum bytes of `correlationId`.
    pub const MAX_CORRELATION_ID_BYTES: usize = 500;
    /// Maximum bytes of `routeKey`.
    pub const MAX_ROUTE_KEY_BYTES: usize = 1000;
    /// Minimum `autoResolveSeconds` when follow-up is enabled.
    pub const MIN_AUTO_RESOLVE_SECONDS: i64 = 30;
    /// Maximum `autoResolveSeconds` (two years).
    pub const MAX_AUTO_RESOLVE_SECONDS: i64 = 63_113_851;
    /// Maximum number of fields.
    pub const MAX_FIELDS: usize = 20;
    /// Maximum number of webhooks.
    pub const MAX_WEBHOOKS: usize = 5;
    /// Maximum number of escalation rules.
    pub const MAX_ESCALATIONS: usize = 3;
    /// Minimum escalation delay, and minimum gap between two escalation delays, in seconds.
    pub const MIN_ESCALATION_DELAY_SECONDS: i64 = 30;
    /// Maximum mentions per escalation rule.
    pub const MAX_ESCALATION_MENTIONS: usize = 10;
    /// Maximum `ignoreIfTextContains` entries.
    pub const MAX_IGNORE_IF_TEXT_CONTAINS: usize = 20;
    /// Maximum bytes of one `ignoreIfTextContains` entry.
    pub const MAX_IGNORE_IF_TEXT_CONTAINS_BYTES: usize = 1000;
    /// How old a timestamp may be before `clean` replaces it with now, in days.
    pub const MAX_TIMESTAMP_AGE_DAYS: i64 = 7;
}

/// A monitoring alert, as sent to the API and carried on the alert queue.
///
/// ```
/// use sm_core::{Alert, Severity};
/// let mut alert = Alert::new(Severity::Error);
/// alert.slack_channel_id = " c0123 ".into();
/// alert.header = "Disk full".into();
/// alert.clean();
/// assert_eq!(alert.slack_channel_id, "C0123");
/// alert.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Alert {
    /// When the alert was raised.
    #[serde(with = "go_time")]
    pub timestamp: DateTime<Utc>,
    /// Groups alerts into one issue; defaults to a hash of header, author, host, text and channel.
    #[serde(rename = "correlationId")]
    pub correlation_id: String,
    /// Free-form alert type (used by route keys).
    #[serde(rename = "type")]
    pub alert_type: String,
    /// Post header.
    pub header: String,
    /// Header shown once the issue is resolved.
    #[serde(rename = "headerWhenResolved")]
    pub header_when_resolved: String,
    /// Post text (Slack mrkdwn).
    pub text: String,
    /// Text shown once the issue is resolved.
    #[serde(rename = "textWhenResolved")]
    pub text_when_resolved: String,
    /// Notification text for clients that cannot show blocks.
    #[serde(rename = "fallbackText")]
    pub fallback_text: String,
    /// Author line.
    pub author: String,
    /// Host line.
    pub host: String,
    /// Footer line.
    pub footer: String,
    /// Link shown on the post.
    pub link: String,
    /// Whether the issue stays open until resolved (otherwise fire-and-forget).
    #[serde(rename = "issueFollowUpEnabled")]
    pub issue_follow_up_enabled: bool,
    /// Seconds after the last alert when a follow-up issue resolves by itself.
    #[serde(rename = "autoResolveSeconds")]
    pub auto_resolve_seconds: i64,
    /// Whether an auto-resolved issue is shown as inconclusive instead of resolved.
    #[serde(rename = "autoResolveAsInconclusive")]
    pub auto_resolve_as_inconclusive: bool,
    /// Severity.
    pub severity: Severity,
    /// Target channel ID (or name).
    #[serde(rename = "slackChannelId")]
    pub slack_channel_id: String,
    /// Route key, used when no channel ID is given.
    #[serde(rename = "routeKey")]
    pub route_key: String,
    /// Post username.
    pub username: String,
    /// Post icon emoji (`:name:`).
    #[serde(rename = "iconEmoji")]
    pub icon_emoji: String,
    /// Extra fields shown on the post.
    pub fields: Option<Vec<Field>>,
    /// Seconds after issue creation before the first post.
    #[serde(rename = "notificationDelaySeconds")]
    pub notification_delay_seconds: i64,
    /// Seconds after resolution before the issue is archived.
    #[serde(rename = "archivingDelaySeconds")]
    pub archiving_delay_seconds: i64,
    /// Escalation ladder.
    pub escalation: Option<Vec<Escalation>>,
    /// Drop the alert if its text contains any of these (case-insensitive).
    #[serde(rename = "ignoreIfTextContains")]
    pub ignore_if_text_contains: Option<Vec<String>>,
    /// Buttons that call webhooks.
    pub webhooks: Option<Vec<Webhook>>,
    /// Free-form metadata (not interpreted).
    pub metadata: Option<Map<String, Value>>,
    /// Deprecated and unused; kept for wire compatibility.
    #[serde(rename = "failOnRateLimitError")]
    pub fail_on_rate_limit_error: bool,
}

impl Default for Alert {
    fn default() -> Self {
        Alert {
            timestamp: zero_time(),
            correlation_id: String::new(),
            alert_type: String::new(),
            header: String::new(),
            header_when_resolved: String::new(),
            text: String::new(),
            text_when_resolved: String::new(),
            fallback_text: String::new(),
            author: String::new(),
            host: String::new(),
            footer: String::new(),
            link: String::new(),
            issue_follow_up_enabled: false,
            auto_resolve_seconds: 0,
            auto_resolve_as_inconclusive: false,
            severity: Severity::Unknown(String::new()),
            slack_channel_id: String::new(),
            route_key: String::new(),
            username: String::new(),
            icon_emoji: String::new(),
            fields: None,
            notification_delay_seconds: 0,
            archiving_delay_seconds: 0,
            escalation: None,
            ignore_if_text_contains: None,
            webhooks: None,
            metadata: None,
            fail_on_rate_limit_error: false,
        }
    }
}

impl Alert {
    /// A new alert with the given severity, timestamp now (UTC) and empty metadata.
    pub fn new(severity: Severity) -> Self {
        Alert {
            timestamp: Utc::now(),
            severity,
            metadata: Some(Map::new()),
            ..Alert::default()
        }
    }

    /// The queue deduplication ID: a hash over `"alert"`, channel ID, route key, correlation ID,
    /// timestamp (UTC, Go RFC 3339 nano), header and text, each followed by a zero byte.
    pub fn unique_id(&self) -> String {
        let ts = format_go_time(&self.timestamp);
        separated_hash([
            "alert",
            &self.slack_channel_id,
            &self.route_key,
            &self.correlation_id,
            &ts,
            &self.header,
            &self.text,
        ])
    }

    /// The correlation ID the manager uses when the alert has none: a hash of the plain
    /// concatenation of header, author, host, text and channel ID.
    pub fn default_correlation_id(&self) -> String {
        concat_hash([
            &self.header,
            &self.author,
            &self.host,
            &self.text,
            &self.slack_channel_id,
        ])
    }

    /// The correlation ID, or [`default_correlation_id`](Self::default_correlation_id) when empty.
    pub fn effective_correlation_id(&self) -> String {
        if self.correlation_id.is_empty() {
            self.default_correlation_id()
        } else {
            self.correlation_id.clone()
        }
    }

    /// Whether the text contains, case-insensitively, any trimmed entry of `ignoreIfTextContains`.
    pub fn is_ignored_by_text(&self) -> bool {
        let Some(patterns) = &self.ignore_if_text_contains else {
            return false;
        };
        let text = self.text.to_lowercase();
        patterns
            .iter()
            .map(|p| p.trim().to_lowercase())
            .any(|p| !p.is_empty() && text.contains(&p))
    }
}

/// An extra title/value pair shown on the post.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Field {
    /// Field title.
    pub title: String,
    /// Field value.
    pub value: String,
}

/// One rung of an escalation ladder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Escalation {
    /// Severity the issue takes when the rung applies (panic, error or warning).
    pub severity: Severity,
    /// Seconds after issue creation when the rung applies.
    #[serde(rename = "delaySeconds")]
    pub delay_seconds: i64,
    /// Mentions added to the post (`<@U…>`, `<!here>`, `<!channel>`).
    #[serde(rename = "slackMentions")]
    pub slack_mentions: Option<Vec<String>>,
    /// Channel the issue moves to when the rung applies.
    #[serde(rename = "moveToChannel")]
    pub move_to_channel: String,
}

wire_enum! {
    /// Style of a webhook button.
    pub enum WebhookButtonStyle {
        /// Slack's default style (written as `""`).
        Default = "",
        /// Green.
        Primary = "primary",
        /// Red.
        Danger = "danger",
    }
}

wire_enum! {
    /// Who may click a webhook button.
    pub enum WebhookAccessLevel {
        /// Not set: the manager treats it as global admins.
        Unset = "",
        /// Global admins only.
        GlobalAdmins = "global_admins",
        /// Channel admins (and global admins).
        ChannelAdmins = "channel_admins",
        /// Every channel member.
        ChannelMembers = "channel_members",
    }
}

wire_enum! {
    /// When a webhook button is shown.
    pub enum WebhookDisplayMode {
        /// Not set: as `open_issue`.
        Unset = "",
        /// Always.
        Always = "always",
        /// While the issue is not resolved.
        OpenIssue = "open_issue",
        /// Once the issue is resolved.
        ResolvedIssue = "resolved_issue",
    }
}

/// A button on the post that calls a webhook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Webhook {
    /// Webhook ID, unique within the alert.
    pub id: String,
    /// Target URL (or another handler's target, e.g. a queue URL).
    pub url: String,
    /// Confirmation text shown before calling.
    #[serde(rename = "confirmationText")]
    pub confirmation_text: String,
    /// Button text.
    #[serde(rename = "buttonText")]
    pub button_text: String,
    /// Button style.
    #[serde(rename = "buttonStyle")]
    pub button_style: WebhookButtonStyle,
    /// Who may click.
    #[serde(rename = "accessLevel")]
    pub access_level: WebhookAccessLevel,
    /// When the button is shown.
    #[serde(rename = "displayMode")]
    pub display_mode: WebhookDisplayMode,
    /// Payload delivered with the callback (encrypted on the queue).
    pub payload: Option<Map<String, Value>>,
    /// Plain-text inputs asked for before calling.
    #[serde(rename = "plainTextInput")]
    pub plain_text_input: Option<Vec<WebhookPlainTextInput>>,
    /// Checkbox groups asked for before calling.
    #[serde(rename = "checkboxInput")]
    pub checkbox_input: Option<Vec<WebhookCheckboxInput>>,
}

/// A plain-text input of a webhook modal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookPlainTextInput {
    /// Input ID, unique within the webhook.
    pub id: String,
    /// Label.
    pub description: String,
    /// Minimum length.
    #[serde(rename = "minLength")]
    pub min_length: i64,
    /// Maximum length.
    #[serde(rename = "maxLength")]
    pub max_length: i64,
    /// Multi-line input.
    pub multiline: bool,
    /// Initial value.
    #[serde(rename = "initialValue")]
    pub initial_value: String,
}

/// A checkbox group of a webhook modal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookCheckboxInput {
    /// Group ID, unique within the webhook.
    pub id: String,
    /// Label.
    pub label: String,
    /// Options.
    pub options: Option<Vec<WebhookCheckboxOption>>,
}

/// One option of a checkbox group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookCheckboxOption {
    /// Value delivered when selected.
    pub value: String,
    /// Label.
    pub text: String,
    /// Initially selected.
    pub selected: bool,
}
