//! Channel information the API checks before queueing: does the channel exist, is it archived, is
//! the bot a member, how many members does it have, and which channels does the bot manage.
//!
//! [`ChannelInfoProvider`] is the seam to Slack: the host plugs in a provider backed by the Slack Web
//! API (the Go "channel info syncer"). This crate ships two providers that need no Slack:
//! [`AcceptAllChannels`] (every channel exists and the bot is in it: for embedded and development
//! use, where the manager's own Slack calls reveal bad channels) and [`StaticChannelInfo`] (a fixed
//! list, for tests and static deployments). The Slack-backed provider is
//! [`SlackChannelInfo`](crate::SlackChannelInfo).

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sm_core::BoxError;

/// What the API needs to know about one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// The channel exists in the workspace.
    pub exists: bool,
    /// The channel is archived.
    pub archived: bool,
    /// The bot is a member of the channel.
    pub bot_is_member: bool,
    /// Members of the channel, bots included.
    pub user_count: u32,
}

/// A channel the bot is a member of, as listed by `GET /channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedChannel {
    /// Channel ID.
    pub id: String,
    /// Channel name.
    pub name: String,
}

/// Source of channel information (the Go channel-info syncer).
#[async_trait]
pub trait ChannelInfoProvider: Send + Sync {
    /// Information about `channel_id`. A channel that does not exist is `Ok` with `exists: false`;
    /// `Err` means the lookup itself failed (the API answers 500).
    async fn channel_info(&self, channel_id: &str) -> Result<ChannelInfo, BoxError>;

    /// The ID of the bot's channel named `name_or_id` (case-insensitive), or the input unchanged
    /// when no such channel is known (it is then taken as an ID). Empty input gives empty output.
    async fn map_channel_name_to_id(&self, name_or_id: &str) -> String;

    /// The bot's non-archived channels, sorted by name.
    async fn managed_channels(&self) -> Result<Vec<ManagedChannel>, BoxError>;
}

/// A provider that accepts every channel: it exists, is not archived, has the bot as its only
/// member. Names are not mapped and no channels are listed.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAllChannels;

#[async_trait]
impl ChannelInfoProvider for AcceptAllChannels {
    async fn channel_info(&self, _channel_id: &str) -> Result<ChannelInfo, BoxError> {
        Ok(ChannelInfo {
            exists: true,
            archived: false,
            bot_is_member: true,
            user_count: 1,
        })
    }

    async fn map_channel_name_to_id(&self, name_or_id: &str) -> String {
        name_or_id.to_owned()
    }

    async fn managed_channels(&self) -> Result<Vec<ManagedChannel>, BoxError> {
        Ok(Vec::new())
    }
}

/// One channel of a [`StaticChannelInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticChannel {
    /// Channel ID (matched case-insensitively).
    pub id: String,
    /// Channel name.
    pub name: String,
    /// Archived.
    pub archived: bool,
    /// The bot is a member.
    pub bot_is_member: bool,
    /// Members, bots included.
    pub user_count: u32,
}

impl StaticChannel {
    /// A non-archived channel with the bot as its only member.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        StaticChannel {
            id: id.into(),
            name: name.into(),
            archived: false,
            bot_is_member: true,
            user_count: 1,
        }
    }
}

/// A provider backed by a fixed list of channels; every other channel does not exist.
///
/// ```
/// # async fn dox() {
/// use sm_api::{ChannelInfoProvider, StaticChannel, StaticChannelInfo};
/// let info = StaticChannelInfo::new([StaticChannel::new("C0123456789", "alerts")]);
/// assert_eq!(info.map_channel_name_to_id("Alerts").await, "C0123456789");
/// assert!(!info.channel_info("C999").await.unwrap().exists);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticChannelInfo {
    by_id: HashMap<String, StaticChannel>,
    by_name: HashMap<String, String>,
    managed: Vec<ManagedChannel>,
}

impl StaticChannelInfo {
    /// A provider knowing exactly `channels`.
    pub fn new(channels: impl IntoIterator<Item = StaticChannel>) -> Self {
        let mut by_id = HashMap::new();
        for c in channels {
            by_id.insert(c.id.to_uppercase(), c);
        }
        let mut managed: Vec<ManagedChannel> = by_id
            .values()
            .filter(|c| c.bot_is_member && !c.archived)
            .map(|c| ManagedChannel {
                id: c.id.clone(),
                name: c.name.clone(),
            })
            .collect();
        managed.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        let by_name = managed
            .iter()
            .map(|c| (c.name.to_lowercase(), c.id.clone()))
            .collect();
        StaticChannelInfo {
            by_id,
            by_name,
            managed,
        }
    }
}

#[async_trait]
impl ChannelInfoProvider for StaticChannelInfo {
    async fn channel_info(&self, channel_id: &str) -> Result<ChannelInfo, BoxError> {
        Ok(match self.by_id.get(&channel_id.to_uppercase()) {
            Some(c) => ChannelInfo {
                exists: true,
                archived: c.archived,
                bot_is_member: c.bot_is_member,
                user_count: c.user_count,
            },
            None => ChannelInfo::default(),
        })
    }

    async fn map_channel_name_to_id(&self, name_or_id: &str) -> String {
        self.by_name
            .get(&name_or_id.to_lowercase())
            .cloned()
            .unwrap_or_else(|| name_or_id.to_owned())
    }

    async fn managed_channels(&self) -> Result<Vec<ManagedChannel>, BoxError> {
        Ok(self.managed.clone())
    }
}
