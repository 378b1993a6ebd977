//! The full queue: [`RedisFifoQueue`] sends and receives.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use redis::aio::{ConnectionLike, ConnectionManager, PubSubStream};
use sm_core::{
    ChannelLock, ChannelLocker, FifoQueue, FifoQueueItem, FifoQueueProducer, LockError, QueueError,
};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::ack::{ConsumerCtx, RedisAck, ack_batchers};
use crate::dead_letter::DeadLetter;
use crate::lease::{Leases, start_heartbeat};
use crate::options::RedisFifoQueueOptions;
use crate::producer::{Core, RedisFifoQueueProducer};
use crate::reply::{Claimed, as_array, as_i64, as_string, parse_entry};
use crate::scripts::{CLAIM_SCRIPT, SCAN_SCRIPT};

/// Most entries claimed by one claim script call.
const CLAIM_BATCH: usize = 16;
/// Stream keys examined per fallback-scan script call.
const SCAN_BATCH: usize = 500;
/// Wait after a failed Redis call in the receive loop.
const ERROR_BACKOFF: Duration = Duration::from_millis(500);

/// Send-and-receive FIFO queue on Redis Streams, for workers (the manager).
///
/// See the crate documentation for the delivery guarantees and the Redis layout.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use sm_core::{FifoQueue, FifoQueueProducer, NoopChannelLocker};
/// use sm_redis_queue::{RedisFifoQueue, RedisFifoQueueOptions};
///
/// let client = redis::Client::open("redis://127.0.0.1:6379")?;
/// let conn = client.get_connection_manager().await?;
/// let queue = RedisFifoQueue::new(conn, Arc::new(NoopChannelLocker), "alerts",
///     RedisFifoQueueOptions::default())?
///     .with_client(client); // dedicated Pub/Sub connection for instant wake-ups
/// queue.send("C123", "", "{}").await?;
/// let (tx, mut rx) = tokio::sync::mpsc::channel(100);
/// let cancel = tokio_util::sync::CancellationToken::new();
/// let run = tokio::spawn({ let cancel = cancel.clone(); async move { queue.receive(cancel, tx).await } });
/// if let Some(item) = rx.recv().await {
///     item.ack().await?;
/// }
/// cancel.cancel();
/// run.await??;
/// # Ok(()) }
/// ```
pub struct RedisFifoQueue<C = ConnectionManager> {
    producer: RedisFifoQueueProducer<C>,
    locker: Arc<dyn ChannelLocker>,
    consumer: String,
    client: Option<redis::Client>,
    local_wake: Arc<Notify>,
}

impl<C> std::fmt::Debug for RedisFifoQueue<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFifoQueue")
            .field("producer", &self.producer)
            .field("consumer", &self.consumer)
            .field("pubsub", &self.client.is_some())
            .finish()
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl<C> RedisFifoQueue<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Validates the name and options (Go `Init`) and picks a unique consumer name
    /// (`<hostname>-<ULID>`).
    pub fn new(
        conn: C,
        locker: Arc<dyn ChannelLocker>,
        name: &str,
        options: RedisFifoQueueOptions,
    ) -> Result<Self, QueueError> {
        let producer = RedisFifoQueueProducer::new(conn, name, options)?;
        Ok(RedisFifoQueue {
            producer,
            locker,
            consumer: format!("{}-{}", hostname(), ulid::Ulid::new()),
            client: None,
            local_wake: Arc::new(Notify::new()),
        })
    }

    /// Gives the queue a client for its dedicated Pub/Sub connection, over which `receive` is
    /// woken the moment a channel gets work (from any process). Without it, `receive` finds work
    /// from other processes only every poll interval. With Redis Cluster, pass a client of any
    /// one node (Pub/Sub messages reach every node).
    pub fn with_client(mut self, client: redis::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// This instance's consumer name in the Redis consumer groups.
    pub fn consumer_name(&self) -> &str {
        &self.consumer
    }

    /// The write-only half (shares the connection).
    pub fn producer(&self) -> &RedisFifoQueueProducer<C> {
        &self.producer
    }

    /// Lists up to `count` dead letters per shard (see
    /// [`RedisFifoQueueProducer::dead_letters`]).
    pub async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.producer.dead_letters(count).await
    }

    /// Sends a dead letter again (see [`RedisFifoQueueProducer::redrive_dead_letter`]).
    pub async fn redrive_dead_letter(&self, letter: &DeadLetter) -> Result<bool, QueueError> {
        self.producer.redrive_dead_letter(letter).await
    }

    /// Redrives all dead letters (see [`RedisFifoQueueProducer::redrive_all_dead_letters`]).
    pub async fn redrive_all_dead_letters(&self) -> Result<usize, QueueError> {
        self.producer.redrive_all_dead_letters().await
    }

    /// Runs the fallback scan once over every shard (normally run every stream refresh interval
    /// by one consumer of the fleet): finds streams written by producers that do not mark channels
    /// ready (Go), forgets deleted streams, removes idle consumers without pending entries, and
    /// deletes streams inactive beyond the timeout that hold no unread or pending entry.
    /// With `force`, runs even when another consumer holds the scan turn.
    /// Returns (channels made ready, streams deleted or forgotten).
    pub async fn scan_streams(&self, force: bool) -> Result<(u64, u64), QueueError> {
        scan(&self.producer.core, &self.consumer, force).await
    }

    async fn subscribe(&self) -> Option<PubSubStream> {
        let client = self.client.as_ref()?;
        let notify = &self.producer.core.keys.notify;
        let attempt = async {
            let mut ps = client.get_async_pubsub().await?;
            ps.subscribe(notify).await?;
            Ok::<_, redis::RedisError>(ps.into_on_message())
        };
        match attempt.await {
            Ok(s) => Some(s),
            Err(error) => {
                tracing::warn!(%error, channel = %notify, "cannot subscribe to queue notifications; polling");
                None
            }
        }
    }

    async fn claim(
        &self,
        shard: usize,
        count: usize,
    ) -> Result<(Option<Duration>, Vec<Claimed>), QueueError> {
        let core = &self.producer.core;
        let s = &core.keys.shards[shard];
        let o = &core.options;
        let mut conn = core.conn.clone();
        let v: redis::Value = CLAIM_SCRIPT
            .key(&s.schedule)
            .arg(&s.base)
            .arg(&o.consumer_group)
            .arg(&self.consumer)
            .arg(Core::<C>::ms(o.lease()))
            .arg(o.max_deliveries)
            .arg(count)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| QueueError::backend(format!("claiming from {}", s.schedule), e))?;
        let a = as_array(&v).unwrap_or_default();
        let wait = a
            .first()
            .and_then(as_i64)
            .and_then(|w| u64::try_from(w).ok())
            .map(Duration::from_millis);
        let entries = a
            .get(1)
            .and_then(as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(parse_entry)
            .collect();
        Ok((wait, entries))
    }

    /// With the locker option on, takes the Go lock for a claimed entry; `None` means the entry
    /// was given back (the lock is held by a Go consumer).
    async fn lock_for(
        &self,
        ctx: &Arc<ConsumerCtx<C>>,
        shard: usize,
        entry: Claimed,
    ) -> Option<(Claimed, Option<Arc<dyn ChannelLock>>)> {
        let o = &self.producer.core.options;
        if !o.use_channel_locker {
            return Some((entry, None));
        }
        let key = self.producer.core.keys.lock_key(&entry.channel);
        match self.locker.obtain(&key, o.lock_ttl, Duration::ZERO).await {
            Ok(lock) => Some((entry, Some(Arc::from(lock)))),
            Err(error) => {
                if !matches!(error, LockError::Unavailable) {
                    tracing::warn!(%error, key, "channel lock error");
                }
                let ack = RedisAck::new(Arc::clone(ctx), shard, entry, None);
                if let Err(error) = ack.release(o.poll_interval).await {
                    tracing::warn!(%error, key, "giving back a message failed");
                }
                None
            }
        }
    }

    async fn claim_loop(
        &self,
        ctx: &Arc<ConsumerCtx<C>>,
        cancel: &CancellationToken,
        sink: &mpsc::Sender<FifoQueueItem>,
    ) {
        let core = &self.producer.core;
        let shards = core.keys.shards.len();
        let poll = core.options.poll_interval;
        let mut notifications = self.subscribe().await;
        let mut next_shard = 0usize;
        loop {
            let first = tokio::select! {
                _ = cancel.cancelled() => return,
                p = sink.reserve() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let mut permits = vec![first];
            while permits.len() < CLAIM_BATCH {
                match sink.try_reserve() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let mut wait = poll;
            let mut claimed = Vec::new();
            let mut failed = false;
            for i in 0..shards {
                let shard = (next_shard + i) % shards;
                match self.claim(shard, permits.len()).await {
                    Ok((w, entries)) => {
                        if let Some(w) = w {
                            wait = wait.min(w.max(Duration::from_millis(1)));
                        }
                        if !entries.is_empty() {
                            next_shard = shard + 1;
                            claimed = entries.into_iter().map(|e| (shard, e)).collect();
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, queue = %core.name, "claim failed");
                        failed = true;
                    }
                }
            }
            if !claimed.is_empty() {
                for (shard, entry) in claimed {
                    tracing::debug!(channel = %entry.channel, message_id = %entry.message_id,
                        attempt = entry.attempt, token = entry.token, "claimed");
                    let Some((entry, lock)) = self.lock_for(ctx, shard, entry).await else {
                        continue;
                    };
                    let ack = RedisAck::new(Arc::clone(ctx), shard, entry, lock);
                    match permits.pop() {
                        Some(p) => p.send(ack.into_item()),
                        None => {
                            // Cannot happen (one entry per permit); give it back rather than lose it.
                            if let Err(error) = ack.release(Duration::ZERO).await {
                                tracing::warn!(%error, "giving back a message failed");
                            }
                        }
                    }
                }
                continue;
            }
            drop(permits);
            if failed {
                wait = ERROR_BACKOFF;
            }
            // Idle: wait for a notification, a local wake-up, the next due time or the poll interval.
            if notifications.is_none() && self.client.is_some() && !failed {
                notifications = self.subscribe().await;
            }
            let sleep = tokio::time::sleep(wait);
            match notifications.as_mut() {
                Some(stream) => {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = self.local_wake.notified() => {}
                        _ = sleep => {}
                        m = stream.next() => {
                            if m.is_none() {
                                notifications = None;
                            } else {
                                // Drain what is already buffered: one claim covers them all.
                                while let Some(Some(_)) = stream.next().now_or_never() {}
                            }
                        }
                    }
                }
                None => {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = self.local_wake.notified() => {}
                        _ = sleep => {}
                    }
                }
            }
        }
    }

    async fn handoff_loop(
        &self,
        cancel: &CancellationToken,
        sink: &mpsc::Sender<FifoQueueItem>,
        rx: &mut mpsc::UnboundedReceiver<RedisAck<C>>,
    ) {
        loop {
            let ack = tokio::select! {
                _ = cancel.cancelled() => break,
                a = rx.recv() => match a {
                    Some(a) => a,
                    None => break,
                },
            };
            tokio::select! {
                _ = cancel.cancelled() => {
                    give_back(ack).await;
                    break;
                }
                p = sink.reserve() => match p {
                    Ok(p) => p.send(ack.into_item()),
                    Err(_) => {
                        give_back(ack).await;
                        break;
                    }
                },
            }
        }
        rx.close();
        while let Ok(ack) = rx.try_recv() {
            give_back(ack).await;
        }
    }

    async fn maintenance_loop(&self, cancel: &CancellationToken) {
        let core = &self.producer.core;
        let period = core.options.stream_refresh_interval;
        loop {
            match scan(core, &self.consumer, false).await {
                Ok((readied, deleted)) if readied + deleted > 0 => {
                    tracing::info!(queue = %core.name, readied, deleted, "stream scan");
                    if readied > 0 {
                        self.local_wake.notify_one();
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, queue = %core.name, "stream scan failed"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(period) => {}
            }
        }
    }
}

async fn give_back<C>(ack: RedisAck<C>)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let channel = ack.entry.channel.clone();
    if let Err(error) = ack.release(Duration::ZERO).await {
        tracing::warn!(%error, channel, "giving back a message failed");
    }
}

async fn scan<C>(core: &Core<C>, consumer: &str, force: bool) -> Result<(u64, u64), QueueError>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let o = &core.options;
    let (mut readied, mut deleted) = (0u64, 0u64);
    for s in &core.keys.shards {
        let mut cursor = if force { "start" } else { "0" }.to_owned();
        loop {
            let mut conn = core.conn.clone();
            let mut inv = SCAN_SCRIPT.key(&s.index);
            inv.key(&s.schedule)
                .key(&s.scan_leader)
                .arg(&s.base)
                .arg(&o.consumer_group)
                .arg(&cursor)
                .arg(SCAN_BATCH)
                .arg(consumer)
                .arg(Core::<C>::ms(o.stream_refresh_interval.mul_f64(0.9)))
                .arg(Core::<C>::ms(o.consumer_idle_timeout))
                .arg(o.stream_inactivity_timeout.as_secs())
                .arg(&core.keys.notify);
            let v: redis::Value = inv
                .invoke_async(&mut conn)
                .await
                .map_err(|e| QueueError::backend(format!("scanning {}", s.index), e))?;
            let a = as_array(&v).unwrap_or_default();
            let next = a
                .first()
                .and_then(as_string)
                .unwrap_or_else(|| "0".to_owned());
            readied += a.get(1).and_then(as_i64).unwrap_or(0).max(0).unsigned_abs();
            deleted += a.get(2).and_then(as_i64).unwrap_or(0).max(0).unsigned_abs();
            if next == "0" || next == "-" {
                break;
            }
            cursor = next;
        }
    }
    Ok((readied, deleted))
}

#[async_trait]
impl<C> FifoQueueProducer for RedisFifoQueue<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.producer.name()
    }

    async fn send(
        &self,
        slack_channel_id: &str,
        dedup_id: &str,
        body: &str,
    ) -> Result<(), QueueError> {
        if self
            .producer
            .send_inner(slack_channel_id, dedup_id, body)
            .await?
        {
            self.local_wake.notify_one();
        }
        Ok(())
    }
}

#[async_trait]
impl<C> FifoQueue for RedisFifoQueue<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn receive(
        &self,
        cancel: CancellationToken,
        sink: mpsc::Sender<FifoQueueItem>,
    ) -> Result<(), QueueError> {
        let core = Arc::clone(&self.producer.core);
        // Start-up scan: find streams written by producers that do not mark channels ready.
        scan(&core, &self.consumer, false)
            .await
            .map_err(|e| QueueError::backend("scanning streams on startup", e))?;
        let cancel = cancel.child_token();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(ConsumerCtx {
            core: Arc::clone(&core),
            sink: sink.downgrade(),
            cancel: cancel.clone(),
            handoff: tx,
            local_wake: Arc::clone(&self.local_wake),
            chain: !core.options.use_channel_locker,
            acks: ack_batchers(&core, &self.consumer),
            leases: Leases::default(),
        });
        start_heartbeat(&ctx);
        tracing::info!(queue = %core.name, consumer = %self.consumer, "receiving");
        tokio::join!(
            async {
                self.claim_loop(&ctx, &cancel, &sink).await;
                cancel.cancel();
            },
            self.handoff_loop(&cancel, &sink, &mut rx),
            self.maintenance_loop(&cancel),
        );
        drop(sink);
        Ok(())
    }
}
