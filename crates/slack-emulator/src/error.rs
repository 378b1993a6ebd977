//! The emulator's error type.

/// Errors of the emulator's Rust API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The configuration could not be read or parsed.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// The listening socket could not be bound.
    #[error("cannot bind emulator to {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A test hook named a channel that does not exist.
    #[error("channel {0} not found")]
    ChannelNotFound(String),
    /// A test hook named a message that does not exist.
    #[error("message {ts} not found in channel {channel}")]
    MessageNotFound {
        /// Channel ID.
        channel: String,
        /// Message ts.
        ts: String,
    },
    /// A button click named an action that the message does not have.
    #[error("message {ts} in channel {channel} has no button with action_id {action_id}")]
    ButtonNotFound {
        /// Channel ID.
        channel: String,
        /// Message ts.
        ts: String,
        /// The action ID asked for.
        action_id: String,
    },
}
