//! Per-channel processing state shared by all manager instances.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::gotime::{go_time, zero_time};

/// When a channel was last processed and how many open issues it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelProcessingState {
    /// Channel ID.
    #[serde(rename = "channelId")]
    pub channel_id: String,
    /// When the state was created.
    #[serde(with = "go_time", default = "zero_time")]
    pub created: DateTime<Utc>,
    /// Last time the channel had open issues.
    #[serde(
        rename = "lastChannelActivity",
        with = "go_time",
        default = "zero_time"
    )]
    pub last_channel_activity: DateTime<Utc>,
    /// Last periodic processing (zero time: never).
    #[serde(rename = "lastProcessed", with = "go_time", default = "zero_time")]
    pub last_processed: DateTime<Utc>,
    /// Open issues at the last processing.
    #[serde(rename = "openIssues", default)]
    pub open_issues: i64,
}

impl ChannelProcessingState {
    /// A new state: created and last activity now, never processed, no open issues.
    pub fn new(channel_id: impl Into<String>) -> Self {
        let now = Utc::now();
        ChannelProcessingState {
            channel_id: channel_id.into(),
            created: now,
            last_channel_activity: now,
            last_processed: zero_time(),
            open_issues: 0,
        }
    }
}
