//! The acknowledger of a delivered item: ack / nack scripts with fencing. While the item is in
//! flight its lease is registered with the `receive` call's heartbeat (see [`crate::lease`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionLike;
use sm_core::{Acknowledger, ChannelLock, FifoQueueItem, QueueError};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use redis::Value;

use crate::batch::{Batcher, invoke_batch};
use crate::lease::{Held, Leases};
use crate::producer::Core;
use crate::reply::{Claimed, as_array, as_string, code, parse_entry};
use crate::scripts::{ACK_SCRIPT, NACK_SCRIPT};

/// How long an ack/nack may take before it gives up (the item API has no deadline argument).
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// What one `receive` call shares with the acknowledgers of its items.
pub(crate) struct ConsumerCtx<C> {
    pub(crate) core: Arc<Core<C>>,
    /// The sink of `receive` (weak: it must not keep the consumer's channel open after
    /// `receive` returned); an ack hands its channel's next entry straight to it when it has room.
    pub(crate) sink: mpsc::WeakSender<FifoQueueItem>,
    pub(crate) cancel: CancellationToken,
    /// Entries an ack took over for the same channel (see [`ACK_SCRIPT`]), delivered by `receive`.
    pub(crate) handoff: mpsc::UnboundedSender<RedisAck<C>>,
    pub(crate) local_wake: Arc<Notify>,
    /// Chaining is off while the Go channel locker is held per message.
    pub(crate) chain: bool,
    /// One ack batcher per shard.
    pub(crate) acks: Vec<Batcher<AckReq, Value>>,
    /// The leases of the in-flight entries, extended by one heartbeat task.
    pub(crate) leases: Leases,
}

/// One ack of a batched ack call.
pub(crate) struct AckReq {
    channel: String,
    state: String,
    chain: bool,
}

/// Starts the ack batchers of one `receive` call (one per shard).
pub(crate) fn ack_batchers<C>(core: &Core<C>, consumer: &str) -> Vec<Batcher<AckReq, Value>>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let o = &core.options;
    core.keys
        .shards
        .iter()
        .map(|shard| {
            let conn = core.conn.clone();
            let shard = shard.clone();
            let group = o.consumer_group.clone();
            let consumer = consumer.to_owned();
            let lease = Core::<C>::ms(o.lease());
            let max_deliveries = o.max_deliveries;
            let notify = core.keys.notify.clone();
            Batcher::start("acknowledging messages", move |reqs: Vec<AckReq>| {
                let conn = conn.clone();
                let mut inv = ACK_SCRIPT.key(&shard.schedule);
                inv.arg(&shard.base)
                    .arg(&group)
                    .arg(&consumer)
                    .arg(lease)
                    .arg(max_deliveries)
                    .arg(&notify);
                for r in &reqs {
                    inv.arg(&r.channel)
                        .arg(&r.state)
                        .arg(if r.chain { "1" } else { "0" });
                }
                let context = format!("acknowledging messages of {}", shard.base);
                invoke_batch(inv, conn, context)
            })
        })
        .collect()
}

/// The acknowledger of one in-flight entry.
pub(crate) struct RedisAck<C> {
    ctx: Arc<ConsumerCtx<C>>,
    shard: usize,
    pub(crate) entry: Claimed,
    lock: Option<Arc<dyn ChannelLock>>,
    /// The registration with the heartbeat; `None` once finished.
    lease: Option<u64>,
}

enum Finish {
    Ack,
    Nack,
    Release,
}

impl<C> RedisAck<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Wraps a claimed entry and registers its lease with the heartbeat.
    pub(crate) fn new(
        ctx: Arc<ConsumerCtx<C>>,
        shard: usize,
        entry: Claimed,
        lock: Option<Arc<dyn ChannelLock>>,
    ) -> Self {
        let lease = ctx.leases.hold(Held {
            shard,
            channel: entry.channel.clone(),
            message_id: entry.message_id.clone(),
            state: entry.state.clone(),
            lock: lock.clone(),
        });
        RedisAck {
            ctx,
            shard,
            entry,
            lock,
            lease: Some(lease),
        }
    }

    /// The item handed to the sink.
    pub(crate) fn into_item(self) -> FifoQueueItem {
        let e = &self.entry;
        FifoQueueItem::new(
            e.message_id.clone(),
            e.slack_channel_id.clone(),
            e.body.clone(),
            Box::new(self),
        )
    }

    /// Gives the entry back without counting a failed delivery (shutdown, lock unavailable).
    pub(crate) async fn release(self, delay: Duration) -> Result<(), QueueError> {
        self.finish(Finish::Release, delay).await
    }

    async fn finish(mut self, how: Finish, delay: Duration) -> Result<(), QueueError> {
        if let Some(key) = self.lease.take() {
            self.ctx.leases.end(key);
        }
        let result = match tokio::time::timeout(FINISH_TIMEOUT, self.run_script(&how, delay)).await
        {
            Ok(r) => r,
            Err(_) => Err(QueueError::Timeout(format!(
                "finishing message {} of channel {}",
                self.entry.message_id, self.entry.channel
            ))),
        };
        if let Some(lock) = self.lock.take() {
            if let Err(error) = lock.release().await {
                tracing::warn!(%error, channel = %self.entry.channel, "channel lock release failed");
            }
        }
        result
    }

    async fn run_script(&self, how: &Finish, delay: Duration) -> Result<(), QueueError> {
        let core = &self.ctx.core;
        let shard = &core.keys.shards[self.shard];
        let e = &self.entry;
        let mut conn = core.conn.clone();
        let context = || {
            format!(
                "finishing message {} of channel {}",
                e.message_id, e.channel
            )
        };
        let v: redis::Value = match how {
            Finish::Ack => {
                let chain = self.ctx.chain && !self.ctx.cancel.is_cancelled();
                let req = AckReq {
                    channel: e.channel.clone(),
                    state: e.state.clone(),
                    chain,
                };
                let batcher = self.ctx.acks.get(self.shard).ok_or_else(|| {
                    QueueError::backend(context(), "no ack batcher for the shard")
                })?;
                batcher.call(req).await?
            }
            Finish::Nack | Finish::Release => {
                let count = matches!(how, Finish::Nack);
                NACK_SCRIPT
                    .key(&shard.schedule)
                    .arg(&shard.base)
                    .arg(&e.channel)
                    .arg(&e.state)
                    .arg(Core::<C>::ms(delay))
                    .arg(if count { "1" } else { "0" })
                    .arg(&core.keys.notify)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(|err| QueueError::backend(context(), err))?
            }
        };
        match code(&v) {
            Some(-1) => Err(QueueError::LeaseLost {
                message_id: e.message_id.clone(),
                channel: e.slack_channel_id.clone(),
            }),
            Some(0) => {
                self.ctx.local_wake.notify_one();
                Ok(())
            }
            Some(1) => {
                let next = as_array(&v).and_then(|a| a.get(1)).and_then(parse_entry);
                if let Some(next) = next {
                    let ack = RedisAck::new(Arc::clone(&self.ctx), self.shard, next, None);
                    // Straight to the sink when it has room (no task hop on the channel's
                    // critical path), else through `receive`'s hand-off loop, which waits for room.
                    let permit = match self.ctx.sink.upgrade() {
                        Some(sink) if !self.ctx.cancel.is_cancelled() => {
                            sink.try_reserve_owned().ok()
                        }
                        _ => None,
                    };
                    if let Some(permit) = permit {
                        permit.send(ack.into_item());
                    } else if let Err(mpsc::error::SendError(ack)) = self.ctx.handoff.send(ack) {
                        // Boxed: release -> finish -> run_script is recursive.
                        Box::pin(ack.release(Duration::ZERO)).await?;
                    }
                }
                Ok(())
            }
            Some(9) => Err(QueueError::backend(
                context(),
                as_array(&v)
                    .and_then(|a| a.get(1))
                    .and_then(as_string)
                    .unwrap_or_default(),
            )),
            _ => Err(QueueError::backend(
                context(),
                format!("unexpected script reply {v:?}"),
            )),
        }
    }
}

impl<C> Drop for RedisAck<C> {
    fn drop(&mut self) {
        // Dropped without ack or nack: the lease runs out and the entry is delivered again.
        if let Some(key) = self.lease.take() {
            self.ctx.leases.end(key);
        }
    }
}

#[async_trait]
impl<C> Acknowledger for RedisAck<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        (*self).finish(Finish::Ack, Duration::ZERO).await
    }

    async fn nack(self: Box<Self>) -> Result<(), QueueError> {
        let delay = self.ctx.core.options.redelivery_delay;
        (*self).finish(Finish::Nack, delay).await
    }
}
