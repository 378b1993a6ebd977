//! The crate's error type.

use sm_core::{BoxError, QueueError};

/// Errors of the API crate: configuration, routing settings, channel lookups, serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// An [`ApiConfig`](crate::ApiConfig) value failed validation.
    #[error("invalid API config: {0}")]
    InvalidConfig(String),
    /// [`ApiSettings`](crate::ApiSettings) failed validation (the message names the rule, e.g. `rule[0].name cannot be empty`).
    #[error("{0}")]
    InvalidSettings(String),
    /// [`ApiServer::update_settings`](crate::ApiServer::update_settings) refused new settings.
    #[error("invalid API settings, the old settings stay in force: {0}")]
    SettingsRejected(String),
    /// A channel lookup failed (the Slack API was unreachable, for example).
    #[error("channel info lookup for channel {channel} failed: {source}")]
    ChannelInfo {
        /// The channel ID looked up.
        channel: String,
        /// The provider's error.
        #[source]
        source: BoxError,
    },
    /// The alert queue refused an alert.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Serialising an alert failed.
    #[error("failed to serialise {what}: {source}")]
    Json {
        /// What was serialised.
        what: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A raw alert consumer stopped unexpectedly.
    #[error("raw alert consumer failed: {0}")]
    RawConsumer(String),
    /// The HTTP server failed.
    #[error("HTTP server error: {0}")]
    Serve(#[source] std::io::Error),
}
