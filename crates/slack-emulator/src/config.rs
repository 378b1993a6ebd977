//! The emulator's configuration: tokens, the bot's identity, and the workspace it starts with.
//!
//! A configuration is plain data with defaults for everything, so `EmulatorConfig::default()` is a
//! working workspace (bot `UBOT`, tokens `xoxb-emulator` / `xapp-emulator`, no seeded channels). A
//! small TOML file can seed channels, users and user groups:
//!
//! ```toml
//! bot_token = "xoxb-test"
//! strict = false
//!
//! [[channels]]
//! id = "C1"
//! name = "alerts"
//! members = ["U1"]
//!
//! [[users]]
//! id = "U1"
//! name = "jdoe"
//! real_name = "Jane Doe"
//!
//! [[usergroups]]
//! id = "S1"
//! users = ["U1"]
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::EmulatorError;

/// The emulator's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmulatorConfig {
    /// Bot token the Web API accepts (`xoxb-…`).
    pub bot_token: String,
    /// App-level token `apps.connections.open` accepts (`xapp-…`).
    pub app_token: String,
    /// The bot's user ID (`auth.test` → `user_id`).
    pub bot_user_id: String,
    /// The bot's user name (`auth.test` → `user`).
    pub bot_name: String,
    /// The bot ID (`auth.test` → `bot_id`).
    pub bot_id: String,
    /// Team ID.
    pub team_id: String,
    /// Team name.
    pub team: String,
    /// App ID sent in the Socket Mode `hello`.
    pub app_id: String,
    /// Strict mode: a channel that was not seeded is `channel_not_found` instead of being created.
    pub strict: bool,
    /// Channels present at start.
    pub channels: Vec<ChannelSeed>,
    /// Users present at start (the bot user is always present).
    pub users: Vec<UserSeed>,
    /// User groups present at start.
    pub usergroups: Vec<UserGroupSeed>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            bot_token: "xoxb-emulator".into(),
            app_token: "xapp-emulator".into(),
            bot_user_id: "UBOT".into(),
            bot_name: "slack-manager".into(),
            bot_id: "B1".into(),
            team_id: "T1".into(),
            team: "Emulated Team".into(),
            app_id: "A1".into(),
            strict: false,
            channels: Vec::new(),
            users: Vec::new(),
            usergroups: Vec::new(),
        }
    }
}

impl EmulatorConfig {
    /// Parses a TOML configuration.
    pub fn from_toml(text: &str) -> Result<Self, EmulatorError> {
        toml::from_str(text).map_err(|e| EmulatorError::Config(e.to_string()))
    }

    /// Reads and parses a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Self, EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            EmulatorError::Config(format!("cannot read config file {}: {e}", path.display()))
        })?;
        Self::from_toml(&text)
    }

    /// Adds a channel seed (builder style).
    pub fn with_channel(mut self, channel: ChannelSeed) -> Self {
        self.channels.push(channel);
        self
    }

    /// Adds a user seed (builder style).
    pub fn with_user(mut self, user: UserSeed) -> Self {
        self.users.push(user);
        self
    }

    /// Adds a user group seed (builder style).
    pub fn with_usergroup(mut self, group: UserGroupSeed) -> Self {
        self.usergroups.push(group);
        self
    }

    /// Sets strict mode (builder style).
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// A channel present at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSeed {
    /// Channel ID (`C…`).
    pub id: String,
    /// Channel name without `#`.
    pub name: String,
    /// Archived channels refuse posts with `is_archived`.
    #[serde(default)]
    pub is_archived: bool,
    /// Private channel.
    #[serde(default)]
    pub is_private: bool,
    /// Whether the bot is a member (default true).
    #[serde(default = "yes")]
    pub bot_member: bool,
    /// Other members.
    #[serde(default)]
    pub members: Vec<String>,
}

fn yes() -> bool {
    true
}

impl ChannelSeed {
    /// A public, unarchived channel with the bot as its only member.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        ChannelSeed {
            id: id.into(),
            name: name.into(),
            is_archived: false,
            is_private: false,
            bot_member: true,
            members: Vec::new(),
        }
    }

    /// Marks the channel archived.
    pub fn archived(mut self) -> Self {
        self.is_archived = true;
        self
    }

    /// Removes the bot from the channel.
    pub fn without_bot(mut self) -> Self {
        self.bot_member = false;
        self
    }

    /// Adds members.
    pub fn with_members<I, S>(mut self, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.members.extend(members.into_iter().map(Into::into));
        self
    }
}

/// A user present at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSeed {
    /// User ID (`U…`).
    pub id: String,
    /// Handle.
    pub name: String,
    /// Display (real) name.
    #[serde(default)]
    pub real_name: String,
    /// Bot user.
    #[serde(default)]
    pub is_bot: bool,
}

impl UserSeed {
    /// A human user.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        real_name: impl Into<String>,
    ) -> Self {
        UserSeed {
            id: id.into(),
            name: name.into(),
            real_name: real_name.into(),
            is_bot: false,
        }
    }
}

/// A user group present at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroupSeed {
    /// Group ID (`S…`).
    pub id: String,
    /// Member user IDs.
    #[serde(default)]
    pub users: Vec<String>,
}

impl UserGroupSeed {
    /// A group with these members.
    pub fn new<I, S>(id: impl Into<String>, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        UserGroupSeed {
            id: id.into(),
            users: users.into_iter().map(Into::into).collect(),
        }
    }
}
