//! Move mappings: where alerts of a moved issue are redirected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::gotime::{go_time, zero_time};
use crate::hash::concat_hash;
use crate::issue::MoveReason;

/// Redirects alerts with `correlation_id` sent to `original_channel_id` to `target_channel_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveMapping {
    /// `concat_hash(original channel, correlation ID)`.
    pub id: String,
    /// When the mapping was made.
    #[serde(with = "go_time", default = "zero_time")]
    pub timestamp: DateTime<Utc>,
    /// Correlation ID of the moved issue.
    #[serde(rename = "correlationId", default)]
    pub correlation_id: String,
    /// Channel alerts are sent to.
    #[serde(rename = "originalChannelId", default)]
    pub original_channel_id: String,
    /// Channel the issue lives in now.
    #[serde(rename = "targetChannelId", default)]
    pub target_channel_id: String,
    /// Why it moved.
    #[serde(default)]
    pub reason: MoveReason,
}

impl MoveMapping {
    /// A mapping made now.
    pub fn new(
        correlation_id: impl Into<String>,
        original_channel_id: impl Into<String>,
        target_channel_id: impl Into<String>,
        reason: MoveReason,
    ) -> Self {
        let correlation_id = correlation_id.into();
        let original_channel_id = original_channel_id.into();
        MoveMapping {
            id: concat_hash([&original_channel_id, &correlation_id]),
            timestamp: Utc::now(),
            correlation_id,
            original_channel_id,
            target_channel_id: target_channel_id.into(),
            reason,
        }
    }

    /// The channel the mapping applies to (the original channel).
    pub fn channel_id(&self) -> &str {
        &self.original_channel_id
    }
}
