//! Typed Web API results (the fields Slack Manager reads; unknown fields are ignored).

use serde::{Deserialize, Serialize};

/// `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthInfo {
    /// Workspace URL.
    pub url: String,
    /// Team name.
    pub team: String,
    /// Bot user name.
    pub user: String,
    /// Team ID.
    pub team_id: String,
    /// Bot user ID.
    pub user_id: String,
    /// Bot ID.
    pub bot_id: String,
}

/// `conversations.info` → `channel`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelInfo {
    /// Channel ID.
    pub id: String,
    /// Name without `#`.
    pub name: String,
    /// Archived.
    pub is_archived: bool,
    /// A public channel.
    pub is_channel: bool,
    /// Private.
    pub is_private: bool,
}

/// One channel of `users.conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelSummary {
    /// Channel ID.
    pub id: String,
    /// Name without `#`.
    pub name: String,
}

/// `users.info` → `user`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    /// User ID.
    pub id: String,
    /// Handle.
    pub name: String,
    /// Real name.
    pub real_name: String,
    /// Bot user.
    pub is_bot: bool,
    /// App user.
    pub is_app_user: bool,
    /// Deactivated.
    pub deleted: bool,
}

/// A message to post or update (`chat.postMessage` / `chat.update` parameters).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PostMessage {
    /// Channel ID.
    pub channel: String,
    /// Block Kit blocks.
    pub blocks: Vec<serde_json::Value>,
    /// Username override (always sent).
    pub username: String,
    /// Icon emoji (`:name:`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
    /// Icon URL, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Notification text, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Content of an ephemeral message.
#[derive(Debug, Clone, PartialEq)]
pub enum EphemeralContent {
    /// Block Kit blocks.
    Blocks(Vec<serde_json::Value>),
    /// Legacy attachments.
    Attachments(Vec<serde_json::Value>),
}
