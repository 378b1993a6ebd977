//! The FIFO queue contracts: a producer that sends, a queue that also receives, and the item a
//! receiver hands out.
//!
//! Messages are partitioned by Slack channel ID. Per channel, delivery is strictly FIFO and at most
//! one message is in flight: the next message of a channel is handed out only after the previous one
//! was acked. A nack (or dropping the item) makes the same message the next one delivered for its
//! channel.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::BoxError;

/// Errors of the queue contracts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// An argument was empty or malformed (channel ID, body, queue name).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An option failed validation at construction.
    #[error("invalid queue option: {0}")]
    InvalidOption(String),
    /// The channel's backlog reached the configured maximum; nothing was enqueued.
    #[error("queue {queue} is full for channel {channel} ({max} messages waiting)")]
    Full {
        /// Queue name.
        queue: String,
        /// Slack channel ID whose backlog is full.
        channel: String,
        /// The configured maximum backlog.
        max: u64,
    },
    /// The queue was closed and accepts no more work.
    #[error("queue {0} is closed")]
    Closed(String),
    /// An operation did not finish in time.
    #[error("queue operation timed out: {0}")]
    Timeout(String),
    /// The item was already acked or nacked by someone else (for example its lease was lost).
    #[error("message {message_id} of channel {channel} is no longer owned by this consumer")]
    LeaseLost {
        /// Queue-defined message ID.
        message_id: String,
        /// Slack channel ID.
        channel: String,
    },
    /// The backend (Redis, ...) failed.
    #[error("queue backend error during {context}: {source}")]
    Backend {
        /// What was being done, with its inputs.
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
}

impl QueueError {
    /// Wraps a backend error with a description of what was being done.
    pub fn backend(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        QueueError::Backend {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Confirms or rejects one delivered message. Queue implementations provide one per item.
///
/// Exactly one of the methods is called, at most once; if neither is called the item calls
/// [`Acknowledger::on_drop`] from its `Drop`.
#[async_trait]
pub trait Acknowledger: Send + Sync + 'static {
    /// Confirms processing: the message is removed and the channel's next message may go out.
    async fn ack(self: Box<Self>) -> Result<(), QueueError>;
    /// Rejects the message: it becomes the next message delivered for its channel.
    async fn nack(self: Box<Self>) -> Result<(), QueueError>;
    /// Called when the item is dropped without ack or nack. Must not block; the default spawns
    /// [`Acknowledger::nack`] on the current Tokio runtime, if there is one.
    fn on_drop(self: Box<Self>) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(error) = self.nack().await {
                    tracing::warn!(%error, "nack of a dropped queue item failed");
                }
            });
        }
    }
}

/// One message handed out by [`FifoQueue::receive`].
///
/// Consume it with [`ack`](Self::ack) or [`nack`](Self::nack). Dropping it without either behaves
/// as a nack: the channel is unblocked and the message will be delivered again.
pub struct FifoQueueItem {
    /// Queue-defined message ID (for Redis: the stream entry ID).
    pub message_id: String,
    /// The channel the message belongs to.
    pub slack_channel_id: String,
    /// When the item was built for delivery (not the enqueue time).
    pub receive_timestamp: DateTime<Utc>,
    /// The message body exactly as sent.
    pub body: String,
    acknowledger: Option<Box<dyn Acknowledger>>,
}

impl FifoQueueItem {
    /// Builds an item; `receive_timestamp` is set to now.
    pub fn new(
        message_id: impl Into<String>,
        slack_channel_id: impl Into<String>,
        body: impl Into<String>,
        acknowledger: Box<dyn Acknowledger>,
    ) -> Self {
        FifoQueueItem {
            message_id: message_id.into(),
            slack_channel_id: slack_channel_id.into(),
            receive_timestamp: Utc::now(),
            body: body.into(),
            acknowledger: Some(acknowledger),
        }
    }

    /// Confirms processing.
    pub async fn ack(mut self) -> Result<(), QueueError> {
        match self.acknowledger.take() {
            Some(a) => a.ack().await,
            None => Ok(()),
        }
    }

    /// Rejects the message; it is delivered again, before any later message of its channel.
    pub async fn nack(mut self) -> Result<(), QueueError> {
        match self.acknowledger.take() {
            Some(a) => a.nack().await,
            None => Ok(()),
        }
    }
}

impl Drop for FifoQueueItem {
    fn drop(&mut self) {
        if let Some(a) = self.acknowledger.take() {
            a.on_drop();
        }
    }
}

impl fmt::Debug for FifoQueueItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FifoQueueItem")
            .field("message_id", &self.message_id)
            .field("slack_channel_id", &self.slack_channel_id)
            .field("receive_timestamp", &self.receive_timestamp)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The sending half of a queue; all an ingestion API needs.
#[async_trait]
pub trait FifoQueueProducer: Send + Sync {
    /// The queue name given at construction.
    fn name(&self) -> &str;

    /// Enqueues `body` for `slack_channel_id`. An empty channel ID or body is an error.
    /// `dedup_id` may be used to drop repeats (empty means no deduplication).
    async fn send(
        &self,
        slack_channel_id: &str,
        dedup_id: &str,
        body: &str,
    ) -> Result<(), QueueError>;
}

/// A queue that also receives: per-channel FIFO with one message in flight per channel.
#[async_trait]
pub trait FifoQueue: FifoQueueProducer {
    /// Pushes received items into `sink` until `cancel` fires (then returns `Ok(())`) or a fatal
    /// error occurs. `sink` is dropped on return, which closes the receiving side.
    async fn receive(
        &self,
        cancel: CancellationToken,
        sink: mpsc::Sender<FifoQueueItem>,
    ) -> Result<(), QueueError>;
}

/// Checks the arguments every [`FifoQueueProducer::send`] implementation must refuse.
pub fn check_send_args(slack_channel_id: &str, body: &str) -> Result<(), QueueError> {
    if slack_channel_id.is_empty() {
        return Err(QueueError::InvalidArgument(
            "slack channel ID must not be empty".into(),
        ));
    }
    if body.is_empty() {
        return Err(QueueError::InvalidArgument(format!(
            "message body for channel {slack_channel_id} must not be empty"
        )));
    }
    Ok(())
}
