//! Raw alert consumers: extra FIFO queues whose items are single JSON alerts, processed like API
//! requests but without rate limiting or the per-request burst check (spec §9).
//!
//! Each item is acked when processed, when it is invalid (undecodable, no channel, failed
//! validation, refused channel, webhooks without a key) and when ignored by its noise filter; it is
//! nacked (delivered again, after a pause of one second) only when a retry may help: the channel
//! lookup or the alert queue failed.

use std::sync::Arc;
use std::time::Duration;

use sm_core::{Alert, FifoQueue, FifoQueueItem};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::alerts::{Pending, check_channel, queue_one, resolve_channels};
use crate::error::ApiError;
use crate::response::Failure;
use crate::server::AppState;

/// Items buffered between a raw queue and its processing loop.
const BUFFER: usize = 100;

/// Pause before nacking an item whose failure may be temporary, so that a queue that redelivers at
/// once does not spin.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Processes one raw alert body; `Err` carries whether a retry may help.
pub(crate) async fn process_raw_alert(state: &AppState, body: &str) -> Result<(), Failure> {
    let alert: Alert = serde_json::from_str(body)
        .map_err(|e| Failure::bad_request(format!("failed to decode raw alert: {e}")))?;
    let mut pending = resolve_channels(state, "", vec![alert]).await?;
    let Some(Pending { mut alert, target }) = pending.pop() else {
        return Ok(());
    };
    alert.clean();
    alert
        .validate()
        .map_err(|e| Failure::bad_request(format!("input validation failed: {e}")))?;
    if !alert.text.is_empty() && alert.is_ignored_by_text() {
        tracing::info!(
            correlation_id = %alert.correlation_id,
            channel_id = %alert.slack_channel_id,
            reason = "text contains an ignoreIfTextContains term",
            "Alert ignored"
        );
        return Ok(());
    }
    check_channel(state, &alert.slack_channel_id).await?;
    queue_one(state, alert, &target).await
}

async fn finish(item: FifoQueueItem, ack: bool) {
    let result = if ack {
        item.ack().await
    } else {
        item.nack().await
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, ack, "raw alert item could not be settled");
    }
}

/// Consumes `queue` until `cancel` fires or the queue fails.
pub(crate) async fn run_raw_consumer(
    state: Arc<AppState>,
    queue: Arc<dyn FifoQueue>,
    cancel: CancellationToken,
) -> Result<(), ApiError> {
    let (tx, mut rx) = mpsc::channel(BUFFER);
    let receiver = {
        let queue = Arc::clone(&queue);
        let cancel = cancel.clone();
        tokio::spawn(async move { queue.receive(cancel, tx).await })
    };
    tracing::info!(queue = queue.name(), "raw alert consumer started");
    while let Some(item) = rx.recv().await {
        match process_raw_alert(&state, &item.body).await {
            Ok(()) => finish(item, true).await,
            Err(f) if f.retryable => {
                tracing::warn!(queue = queue.name(), error = %f.message, "raw alert failed, will retry");
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tokio::time::sleep(RETRY_PAUSE) => {}
                }
                finish(item, false).await;
            }
            Err(f) => {
                tracing::info!(queue = queue.name(), error = %f.message, "raw alert dropped");
                finish(item, true).await;
            }
        }
    }
    let result = match receiver.await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::RawConsumer(format!(
            "receiver of queue {} stopped: {e}",
            queue.name()
        ))),
    };
    tracing::info!(queue = queue.name(), "raw alert consumer stopped");
    result
}
