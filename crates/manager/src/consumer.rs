//! Queue consumers: receive queue items, decode them, hand them to the coordinator.
//!
//! Deliberate fix of Go: an item whose body cannot be decoded is acked (dead-lettered) with an
//! error log and the `manager_dead_lettered_total{queue}` metric, instead of being left unacked to
//! come back forever and hold its channel.

use std::sync::Arc;
use std::time::Duration;

use sm_core::{Alert, Command, FifoQueue, FifoQueueItem, IssueAlert};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::ManagerError;

/// Capacity of the buffer between a queue's `receive` and its consumer.
const RECEIVE_BUFFER: usize = 100;
/// Longest wait for one ack or nack at shutdown.
pub(crate) const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// A decoded alert with its queue item.
pub(crate) struct AlertMsg {
    pub(crate) alert: IssueAlert,
    pub(crate) item: FifoQueueItem,
}

/// A decoded command with its queue item.
pub(crate) struct CommandMsg {
    pub(crate) command: Command,
    pub(crate) item: FifoQueueItem,
}

/// Decoding of a queue body into a message.
pub(crate) trait Decode: Sized + Send + 'static {
    /// What the queue carries (for logs).
    const KIND: &'static str;
    /// Decodes the item's body, or says why it cannot.
    fn decode(item: FifoQueueItem) -> Result<Self, Box<(FifoQueueItem, String)>>;
    /// The queue item, to nack it.
    fn into_item(self) -> FifoQueueItem;
}

impl Decode for AlertMsg {
    const KIND: &'static str = "alert";
    fn decode(item: FifoQueueItem) -> Result<Self, Box<(FifoQueueItem, String)>> {
        if item.body.is_empty() {
            return Err(Box::new((item, "alert body is empty".into())));
        }
        match serde_json::from_str::<Alert>(&item.body) {
            Ok(alert) => Ok(AlertMsg {
                alert: IssueAlert::new(alert),
                item,
            }),
            Err(e) => Err(Box::new((
                item,
                format!("failed to decode alert body: {e}"),
            ))),
        }
    }
    fn into_item(self) -> FifoQueueItem {
        self.item
    }
}

impl Decode for CommandMsg {
    const KIND: &'static str = "command";
    fn decode(item: FifoQueueItem) -> Result<Self, Box<(FifoQueueItem, String)>> {
        if item.body.is_empty() {
            return Err(Box::new((item, "command body is empty".into())));
        }
        match serde_json::from_str::<Command>(&item.body) {
            Ok(command) => Ok(CommandMsg { command, item }),
            Err(e) => Err(Box::new((
                item,
                format!("failed to decode command body: {e}"),
            ))),
        }
    }
    fn into_item(self) -> FifoQueueItem {
        self.item
    }
}

/// Acks an item, logging a failure.
pub(crate) async fn ack(item: FifoQueueItem) {
    let id = item.message_id.clone();
    if let Err(error) = item.ack().await {
        tracing::warn!(message_id = %id, %error, "queue ack failed");
    }
}

/// Nacks an item, logging a failure.
pub(crate) async fn nack(item: FifoQueueItem) {
    let id = item.message_id.clone();
    if let Err(error) = item.nack().await {
        tracing::warn!(message_id = %id, %error, "queue nack failed");
    }
}

/// Runs one queue's consumer until the queue's `receive` returns (on `cancel` or a fatal error).
pub(crate) async fn consume<T: Decode>(
    queue: Arc<dyn FifoQueue>,
    sink: mpsc::Sender<T>,
    cancel: CancellationToken,
) -> Result<(), ManagerError> {
    let name = queue.name().to_owned();
    let (tx, mut rx) = mpsc::channel(RECEIVE_BUFFER);
    let receiver = {
        let queue = Arc::clone(&queue);
        let cancel = cancel.clone();
        tokio::spawn(async move { queue.receive(cancel, tx).await })
    };
    while let Some(item) = rx.recv().await {
        tracing::debug!(queue = %name, message_id = %item.message_id, channel_id = %item.slack_channel_id, "queue item received");
        if cancel.is_cancelled() {
            nack(item).await;
            continue;
        }
        let msg = match T::decode(item) {
            Ok(msg) => msg,
            Err(failed) => {
                let (item, error) = *failed;
                tracing::error!(queue = %name, message_id = %item.message_id, channel_id = %item.slack_channel_id, %error, "undecodable {} dropped (acked)", T::KIND);
                metrics::counter!("manager_dead_lettered_total", "queue" => name.clone())
                    .increment(1);
                ack(item).await;
                continue;
            }
        };
        tokio::select! {
            res = sink.send(msg) => {
                if let Err(mpsc::error::SendError(msg)) = res {
                    nack(msg.into_item()).await;
                }
            }
            () = cancel.cancelled() => {
                // The message is dropped with the pending send; dropping nacks it.
            }
        }
    }
    match receiver.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(ManagerError::Queue {
            queue: name,
            source,
        }),
        Err(e) => Err(ManagerError::Task {
            task: "queue receive",
            message: e.to_string(),
        }),
    }
}
