//! The command model: a user action (reaction, button, modal) queued for the channel's manager.
//!
//! Commands travel on the command queue so that they are ordered with alerts per channel.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::gotime::{format_go_time, go_time, zero_time};
use crate::wire_enum::wire_enum;

wire_enum! {
    /// What a command asks for.
    pub enum CommandAction {
        /// Not set (invalid).
        Unset = "",
        /// Terminate the issue and delete its post.
        TerminateIssue = "terminate_issue",
        /// Resolve the issue.
        ResolveIssue = "resolve_issue",
        /// Undo a user resolve.
        UnresolveIssue = "unresolve_issue",
        /// Mark as under investigation.
        InvestigateIssue = "investigate_issue",
        /// Clear the investigation mark.
        UninvestigateIssue = "uninvestigate_issue",
        /// Mute the issue.
        MuteIssue = "mute_issue",
        /// Unmute the issue.
        UnmuteIssue = "unmute_issue",
        /// Show the option buttons.
        ShowIssueOptionButtons = "show_issue_option_buttons",
        /// Hide the option buttons.
        HideIssueOptionButtons = "hide_issue_option_buttons",
        /// Move the issue to another channel.
        MoveIssue = "move_issue",
        /// Create an issue from a modal.
        CreateIssue = "create_issue",
        /// Call a webhook.
        Webhook = "webhook",
    }
}

/// Inputs of a webhook button click.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebhookParameters {
    /// The webhook ID.
    #[serde(rename = "webhookId", default)]
    pub webhook_id: String,
    /// Plain-text inputs: input ID → value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub input: BTreeMap<String, String>,
    /// Checkbox groups: group ID → selected values.
    #[serde(
        rename = "checkboxInput",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub checkbox_input: BTreeMap<String, Vec<String>>,
}

/// A user action on an issue (or a channel), as carried on the command queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// When the action happened.
    #[serde(with = "go_time", default = "zero_time")]
    pub timestamp: DateTime<Utc>,
    /// Channel of the post.
    #[serde(
        rename = "slackChannelId",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub slack_channel_id: String,
    /// Slack message `ts` of the post.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ts: String,
    /// The reaction that triggered it, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reaction: String,
    /// Acting user ID.
    #[serde(rename = "userId", default, skip_serializing_if = "String::is_empty")]
    pub user_id: String,
    /// Acting user's real name.
    #[serde(
        rename = "userRealName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub user_real_name: String,
    /// The action.
    #[serde(default, skip_serializing_if = "is_unset_action")]
    pub action: CommandAction,
    /// Action parameters (numbers decode as floats, as in Go).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
    /// Webhook click inputs.
    #[serde(
        rename = "webhookParameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub webhook_parameters: Option<WebhookParameters>,
    /// Also consider archived issues.
    #[serde(rename = "includeArchivedIssues", default)]
    pub include_archived_issues: bool,
    /// Run even when no issue matches (only `terminate_issue` uses this).
    #[serde(rename = "executeWhenNoIssueFound", default)]
    pub execute_when_no_issue_found: bool,
}

fn is_unset_action(a: &CommandAction) -> bool {
    *a == CommandAction::Unset
}

impl Command {
    /// A command for `action` on the post `ts` in `slack_channel_id`, now.
    pub fn new(
        slack_channel_id: impl Into<String>,
        ts: impl Into<String>,
        action: CommandAction,
    ) -> Self {
        Command {
            timestamp: Utc::now(),
            slack_channel_id: slack_channel_id.into(),
            ts: ts.into(),
            reaction: String::new(),
            user_id: String::new(),
            user_real_name: String::new(),
            action,
            parameters: Map::new(),
            webhook_parameters: None,
            include_archived_issues: false,
            execute_when_no_issue_found: false,
        }
    }

    /// The queue deduplication ID: `command::<channel>::<action>::<timestamp RFC 3339 nano>`.
    pub fn dedup_id(&self) -> String {
        format!(
            "command::{}::{}::{}",
            self.slack_channel_id,
            self.action,
            format_go_time(&self.timestamp)
        )
    }

    /// A string parameter, or `""` when missing or not a string.
    pub fn param_as_string(&self, key: &str) -> &str {
        self.parameters
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A numeric parameter truncated to an integer, or 0 when missing or not a number.
    pub fn param_as_int(&self, key: &str) -> i64 {
        match self.parameters.get(key) {
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// A boolean parameter, or false when missing or not a boolean.
    pub fn param_as_bool(&self, key: &str) -> bool {
        self.parameters
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}
