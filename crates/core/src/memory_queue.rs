//! An in-memory [`FifoQueue`]: the embedded default when no Redis is configured, and the queue for tests.
//!
//! Semantics match the Redis queue: per-channel FIFO, one message in flight per channel, ready
//! channels served round-robin, a nack (or a dropped item) makes the same message the next one of its
//! channel, repeats of a non-empty dedup ID within the dedup window are dropped, and a channel whose
//! backlog reaches the maximum refuses sends with [`QueueError::Full`]. Messages live in this process
//! only: they are lost when it exits.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::queue::{
    Acknowledger, FifoQueue, FifoQueueItem, FifoQueueProducer, QueueError, check_send_args,
};

/// Default maximum backlog per channel.
pub const DEFAULT_MAX_CHANNEL_BACKLOG: usize = 100_000;
/// Default deduplication window (as SQS FIFO).
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
}

#[derive(Default)]
struct Channel {
    waiting: VecDeque<Message>,
    in_flight: Option<u64>,
}

#[derive(Default)]
struct State {
    channels: HashMap<String, Channel>,
    /// Channels with a waiting message and nothing in flight, in the order they became ready.
    ready: VecDeque<String>,
    dedup: HashMap<String, Instant>,
    dedup_order: VecDeque<(Instant, String)>,
    next_id: u64,
    next_lease: u64,
}

struct Shared {
    state: Mutex<State>,
    notify: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update; the state stays usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// In-process per-channel FIFO queue.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use sm_core::{FifoQueue, FifoQueueProducer, InMemoryFifoQueue};
/// use tokio_util::sync::CancellationToken;
///
/// let queue = InMemoryFifoQueue::new("alerts");
/// queue.send("C1", "", r#"{"header":"hi"}"#).await.unwrap();
/// let (tx, mut rx) = tokio::sync::mpsc::channel(8);
/// let cancel = CancellationToken::new();
/// let q = queue.clone();
/// let c = cancel.clone();
/// let task = tokio::spawn(async move { q.receive(c, tx).await });
/// let item = rx.recv().await.unwrap();
/// assert_eq!(item.slack_channel_id, "C1");
/// item.ack().await.unwrap();
/// cancel.cancel();
/// task.await.unwrap().unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct InMemoryFifoQueue {
    name: String,
    max_channel_backlog: usize,
    dedup_window: Duration,
    shared: Arc<Shared>,
}

impl InMemoryFifoQueue {
    /// A queue named `name` with the default limits.
    pub fn new(name: impl Into<String>) -> Self {
        InMemoryFifoQueue {
            name: name.into(),
            max_channel_backlog: DEFAULT_MAX_CHANNEL_BACKLOG,
            dedup_window: DEFAULT_DEDUP_WINDOW,
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
            }),
        }
    }

    /// Sets the maximum number of waiting messages per channel (at least 1).
    pub fn with_max_channel_backlog(mut self, max: usize) -> Self {
        self.max_channel_backlog = max.max(1);
        self
    }

    /// Sets the deduplication window (zero disables deduplication).
    pub fn with_dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// Messages waiting or in flight, over all channels.
    pub fn len(&self) -> usize {
        let state = self.shared.lock();
        state.channels.values().map(|c| c.waiting.len()).sum()
    }

    /// Whether no message is waiting or in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_duplicate(&self, state: &mut State, dedup_id: &str, now: Instant) -> bool {
        if dedup_id.is_empty() || self.dedup_window.is_zero() {
            return false;
        }
        while let Some((at, _)) = state.dedup_order.front() {
            if now.duration_since(*at) < self.dedup_window {
                break;
            }
            if let Some((at, id)) = state.dedup_order.pop_front() {
                if state.dedup.get(&id) == Some(&at) {
                    state.dedup.remove(&id);
                }
            }
        }
        if state.dedup.contains_key(dedup_id) {
            return true;
        }
        state.dedup.insert(dedup_id.to_owned(), now);
        state.dedup_order.push_back((now, dedup_id.to_owned()));
        false
    }

    /// Takes the next ready channel's first message and marks it in flight.
    fn take_next(&self) -> Option<FifoQueueItem> {
        let mut state = self.shared.lock();
        while let Some(channel_id) = state.ready.pop_front() {
            state.next_lease += 1;
            let lease = state.next_lease;
            let Some(channel) = state.channels.get_mut(&channel_id) else {
                continue;
            };
            if channel.in_flight.is_some() {
                continue;
            }
            let Some(message) = channel.waiting.front().cloned() else {
                continue;
            };
            channel.in_flight = Some(lease);
            let ack = MemoryAck {
                shared: Arc::clone(&self.shared),
                channel_id: channel_id.clone(),
                lease,
            };
            return Some(FifoQueueItem::new(
                message.id,
                channel_id,
                message.body,
                Box::new(ack),
            ));
        }
        None
    }
}

#[async_trait]
impl FifoQueueProducer for InMemoryFifoQueue {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(
        &self,
        slack_channel_id: &str,
        dedup_id: &str,
        body: &str,
    ) -> Result<(), QueueError> {
        check_send_args(slack_channel_id, body)?;
        {
            let mut state = self.shared.lock();
            if self.is_duplicate(&mut state, dedup_id, Instant::now()) {
                tracing::debug!(queue = %self.name, channel = slack_channel_id, dedup_id, "duplicate send dropped");
                return Ok(());
            }
            state.next_id += 1;
            let id = state.next_id.to_string();
            let channel = state
                .channels
                .entry(slack_channel_id.to_owned())
                .or_default();
            if channel.waiting.len() >= self.max_channel_backlog {
                return Err(QueueError::Full {
                    queue: self.name.clone(),
                    channel: slack_channel_id.to_owned(),
                    max: self.max_channel_backlog as u64,
                });
            }
            channel.waiting.push_back(Message {
                id,
                body: body.to_owned(),
            });
            let becomes_ready = channel.in_flight.is_none() && channel.waiting.len() == 1;
            if becomes_ready {
                state.ready.push_back(slack_channel_id.to_owned());
            }
        }
        self.shared.notify.notify_waiters();
        self.shared.notify.notify_one();
        Ok(())
    }
}

#[async_trait]
impl FifoQueue for InMemoryFifoQueue {
    async fn receive(
        &self,
        cancel: CancellationToken,
        sink: mpsc::Sender<FifoQueueItem>,
    ) -> Result<(), QueueError> {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(item) = self.take_next() {
                // Wait for room in the sink; if it closes or we are cancelled the item is dropped,
                // which nacks it and puts the message back first in line.
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    sent = sink.send(item) => {
                        if sent.is_err() {
                            return Ok(());
                        }
                    }
                }
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = sink.closed() => return Ok(()),
                _ = notified => {}
            }
        }
    }
}

struct MemoryAck {
    shared: Arc<Shared>,
    channel_id: String,
    lease: u64,
}

impl MemoryAck {
    fn finish(&self, remove: bool) -> Result<(), QueueError> {
        {
            let mut state = self.shared.lock();
            let Some(channel) = state.channels.get_mut(&self.channel_id) else {
                return Err(self.lease_lost());
            };
            if channel.in_flight != Some(self.lease) {
                return Err(self.lease_lost());
            }
            channel.in_flight = None;
            if remove {
                channel.waiting.pop_front();
            }
            if channel.waiting.is_empty() {
                state.channels.remove(&self.channel_id);
            } else {
                state.ready.push_back(self.channel_id.clone());
            }
        }
        self.shared.notify.notify_one();
        Ok(())
    }

    fn lease_lost(&self) -> QueueError {
        QueueError::LeaseLost {
            message_id: format!("lease {}", self.lease),
            channel: self.channel_id.clone(),
        }
    }
}

#[async_trait]
impl Acknowledger for MemoryAck {
    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        self.finish(true)
    }

    async fn nack(self: Box<Self>) -> Result<(), QueueError> {
        self.finish(false)
    }

    fn on_drop(self: Box<Self>) {
        if let Err(error) = self.finish(false) {
            tracing::warn!(%error, "dropped in-memory queue item could not be returned");
        }
    }
}
