//! The leases of one `receive` call's in-flight entries: a registry, and one heartbeat task that
//! extends them all together every third of the lease (one script call per shard and tick, not
//! one task and one call per message).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use redis::aio::ConnectionLike;
use sm_core::ChannelLock;

use crate::ack::ConsumerCtx;
use crate::producer::Core;
use crate::reply::{as_array, as_i64};
use crate::scripts::EXTEND_SCRIPT;

/// Most entries extended by one script call.
const EXTEND_BATCH: usize = 500;

/// One in-flight entry whose lease the heartbeat keeps alive.
#[derive(Clone)]
pub(crate) struct Held {
    pub(crate) shard: usize,
    pub(crate) channel: String,
    pub(crate) message_id: String,
    pub(crate) state: String,
    /// The Go channel lock, when the locker option is on (extended with the lease).
    pub(crate) lock: Option<Arc<dyn ChannelLock>>,
}

/// The in-flight entries of one `receive` call.
#[derive(Default)]
pub(crate) struct Leases {
    next: AtomicU64,
    held: Mutex<HashMap<u64, Held>>,
}

impl Leases {
    /// Registers an entry; the returned key ends its registration.
    pub(crate) fn hold(&self, held: Held) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.map().insert(key, held);
        key
    }

    /// Ends a registration (the entry was acked, nacked, given back or dropped).
    pub(crate) fn end(&self, key: u64) {
        self.map().remove(&key);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Held>> {
        // A panic while holding the lock leaves the map usable.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Vec<(u64, Held)> {
        self.map().iter().map(|(k, h)| (*k, h.clone())).collect()
    }
}

/// Starts the heartbeat of a `receive` call. It runs while the context lives, that is while
/// `receive` runs or any of its items is still in flight.
pub(crate) fn start_heartbeat<C>(ctx: &Arc<ConsumerCtx<C>>)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let period = ctx.core.options.lease() / 3;
    let weak: Weak<ConsumerCtx<C>> = Arc::downgrade(ctx);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            let Some(ctx) = weak.upgrade() else { return };
            extend_all(&ctx).await;
        }
    });
}

/// Extends every registered lease (and Go channel lock).
async fn extend_all<C>(ctx: &ConsumerCtx<C>)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let core = &ctx.core;
    let lease_ms = Core::<C>::ms(core.options.lease());
    let held = ctx.leases.snapshot();
    let mut by_shard: HashMap<usize, Vec<(u64, Held)>> = HashMap::new();
    for (key, h) in held {
        by_shard.entry(h.shard).or_default().push((key, h));
    }
    for (shard, entries) in by_shard {
        let Some(s) = core.keys.shards.get(shard) else {
            continue;
        };
        for chunk in entries.chunks(EXTEND_BATCH) {
            let mut inv = EXTEND_SCRIPT.key(&s.schedule);
            inv.arg(&s.base).arg(lease_ms);
            for (_, h) in chunk {
                inv.arg(&h.channel).arg(&h.state);
            }
            let mut conn = core.conn.clone();
            let reply: Result<redis::Value, _> = inv.invoke_async(&mut conn).await;
            let reply = match reply {
                Ok(v) => v,
                Err(error) => {
                    tracing::warn!(%error, shard = %s.base, "lease extension failed; retrying");
                    continue;
                }
            };
            let results = as_array(&reply).unwrap_or_default();
            for (i, (key, h)) in chunk.iter().enumerate() {
                if results.get(i).and_then(as_i64) == Some(0) {
                    tracing::warn!(channel = %h.channel, message_id = %h.message_id,
                        "lease of an in-flight message was lost; its ack will fail");
                    ctx.leases.end(*key);
                }
            }
        }
    }
    let locks: Vec<_> = ctx
        .leases
        .snapshot()
        .into_iter()
        .filter_map(|(_, h)| h.lock.map(|l| (h.channel, l)))
        .collect();
    let ttl = core.options.lock_ttl;
    futures::future::join_all(locks.iter().map(|(channel, lock)| async move {
        if let Err(error) = lock.extend(ttl).await {
            tracing::warn!(%error, %channel, "channel lock extension failed");
        }
    }))
    .await;
}
