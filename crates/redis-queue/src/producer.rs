//! The write-only queue: [`RedisFifoQueueProducer`], plus dead-letter listing and redrive.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager};
use sm_core::{FifoQueueProducer, QueueError, check_send_args};

use redis::Value;

use crate::batch::{Batcher, invoke_batch};
use crate::dead_letter::DeadLetter;
use crate::keys::Keys;
use crate::options::{KeyLayout, RedisFifoQueueOptions};
use crate::reply::{as_array, as_i64, as_string, code};
use crate::scripts::{REDRIVE_SCRIPT, SEND_SCRIPT};

/// State shared by the producer, the queue and the acknowledgers.
pub(crate) struct Core<C> {
    pub(crate) conn: C,
    pub(crate) name: String,
    pub(crate) options: RedisFifoQueueOptions,
    pub(crate) keys: Keys,
    /// One send batcher per shard, started on first use (needs a runtime).
    senders: OnceLock<Vec<Batcher<SendReq, Value>>>,
}

/// One message of a batched send.
pub(crate) struct SendReq {
    channel: String,
    body: String,
    dedup_ms: u64,
    dedup_key: String,
}

impl<C> Core<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn senders(&self) -> &[Batcher<SendReq, Value>] {
        self.senders.get_or_init(|| {
            self.keys
                .shards
                .iter()
                .map(|shard| {
                    // The task holds no `Core`, so it ends when the producer is dropped.
                    let conn = self.conn.clone();
                    let shard = shard.clone();
                    let group = self.options.consumer_group.clone();
                    let max = self.options.max_stream_length;
                    let notify = self.keys.notify.clone();
                    Batcher::start("sending messages", move |reqs: Vec<SendReq>| {
                        let conn = conn.clone();
                        let mut inv = SEND_SCRIPT.key(&shard.schedule);
                        inv.arg(&shard.base).arg(&group).arg(max).arg(&notify);
                        for r in &reqs {
                            inv.arg(&r.channel)
                                .arg(&r.body)
                                .arg(r.dedup_ms)
                                .arg(&r.dedup_key);
                        }
                        let context = format!("adding messages to the streams of {}", shard.base);
                        invoke_batch(inv, conn, context)
                    })
                })
                .collect()
        })
    }
}

impl<C> Core<C> {
    pub(crate) fn ms(d: std::time::Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
    }
}

fn redis_err(context: String) -> impl FnOnce(redis::RedisError) -> QueueError {
    move |e| QueueError::backend(context, e)
}

/// Checks the queue name as Go's `Init` does (`queue.md` §4).
pub(crate) fn validate_name(name: &str, layout: KeyLayout) -> Result<(), QueueError> {
    if name.is_empty() {
        return Err(QueueError::InvalidArgument(
            "queue name cannot be empty".into(),
        ));
    }
    if name.contains([':', ' ', '\t', '\n']) {
        return Err(QueueError::InvalidArgument(
            "queue name cannot contain colons, spaces, or whitespace".into(),
        ));
    }
    if matches!(layout, KeyLayout::Cluster { .. }) && name.contains(['{', '}']) {
        return Err(QueueError::InvalidArgument(
            "queue name cannot contain braces with the cluster layout".into(),
        ));
    }
    Ok(())
}

/// Write-only FIFO queue on Redis Streams, for services that only enqueue (the API).
///
/// One Redis command (a script call) per send. The script appends the entry with the Go fields,
/// maintains the Go index and activity keys, schedules the channel and wakes waiting consumers.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use sm_core::FifoQueueProducer;
/// use sm_redis_queue::{RedisFifoQueueOptions, RedisFifoQueueProducer};
///
/// let client = redis::Client::open("redis://127.0.0.1:6379")?;
/// let conn = client.get_connection_manager().await?;
/// let producer = RedisFifoQueueProducer::new(conn, "alerts", RedisFifoQueueOptions::default())?;
/// producer.send("C123", "", r#"{"header":"disk full"}"#).await?;
/// # Ok(()) }
/// ```
pub struct RedisFifoQueueProducer<C = ConnectionManager> {
    pub(crate) core: Arc<Core<C>>,
}

impl<C> Clone for RedisFifoQueueProducer<C> {
    fn clone(&self) -> Self {
        RedisFifoQueueProducer {
            core: Arc::clone(&self.core),
        }
    }
}

impl<C> std::fmt::Debug for RedisFifoQueueProducer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFifoQueueProducer")
            .field("name", &self.core.name)
            .field("options", &self.core.options)
            .finish()
    }
}

impl<C> RedisFifoQueueProducer<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Validates the name and the options (Go `Init`) and builds the producer.
    pub fn new(conn: C, name: &str, options: RedisFifoQueueOptions) -> Result<Self, QueueError> {
        validate_name(name, options.layout)?;
        options.validate()?;
        let keys = Keys::new(&options.key_prefix, name, options.layout);
        Ok(RedisFifoQueueProducer {
            core: Arc::new(Core {
                conn,
                name: name.to_owned(),
                options,
                keys,
                senders: OnceLock::new(),
            }),
        })
    }

    /// The Redis key of a channel's stream (Go layout: `<prefix>:<name>:stream:<channel>`).
    pub fn stream_key(&self, slack_channel_id: &str) -> String {
        self.core
            .keys
            .shard_of(slack_channel_id)
            .stream_key(slack_channel_id)
    }

    /// Lists up to `count` dead letters per shard, oldest first.
    pub async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut out = Vec::new();
        for shard in &self.core.keys.shards {
            let mut conn = self.core.conn.clone();
            let v: Value = redis::cmd("XRANGE")
                .arg(&shard.dead_letter)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(count)
                .query_async(&mut conn)
                .await
                .map_err(redis_err(format!(
                    "listing dead letters of {}",
                    shard.dead_letter
                )))?;
            for e in as_array(&v).unwrap_or_default() {
                if let Some(d) = DeadLetter::from_entry(e) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Sends a dead letter's body to the end of its channel again and removes the dead letter, in
    /// one atomic step. Returns `false` when the dead letter no longer exists.
    pub async fn redrive_dead_letter(&self, letter: &DeadLetter) -> Result<bool, QueueError> {
        let shard = self
            .core
            .keys
            .shards
            .iter()
            .find(|s| letter.stream.starts_with(&format!("{}:stream:", s.base)))
            .unwrap_or_else(|| self.core.keys.shard_of(&letter.slack_channel_id));
        let o = &self.core.options;
        let mut conn = self.core.conn.clone();
        let v: Value = REDRIVE_SCRIPT
            .key(&shard.dead_letter)
            .key(&shard.schedule)
            .arg(&shard.base)
            .arg(&letter.id)
            .arg(&o.consumer_group)
            .arg(o.max_stream_length)
            .arg(&self.core.keys.notify)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err(format!("redriving dead letter {}", letter.id)))?;
        match code(&v) {
            Some(0) => Ok(true),
            Some(1) => Err(QueueError::Full {
                queue: self.core.name.clone(),
                channel: letter.slack_channel_id.clone(),
                max: o.max_stream_length,
            }),
            Some(3) => Ok(false),
            Some(4) => Err(QueueError::InvalidArgument(format!(
                "dead letter {} has no body to redrive",
                letter.id
            ))),
            _ => Err(QueueError::backend(
                format!("redriving dead letter {}", letter.id),
                format!("unexpected script reply {v:?}"),
            )),
        }
    }

    /// Redrives every dead letter that has a body (those without one stay); returns how many
    /// were sent again. Stops at the first error (for example a full channel).
    pub async fn redrive_all_dead_letters(&self) -> Result<usize, QueueError> {
        let mut n = 0;
        // The dead-letter stream is capped (about 100 000 entries), so one listing covers it.
        for letter in self.dead_letters(200_000).await? {
            if !letter.body.is_empty() && self.redrive_dead_letter(&letter).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    pub(crate) async fn send_inner(
        &self,
        slack_channel_id: &str,
        dedup_id: &str,
        body: &str,
    ) -> Result<bool, QueueError> {
        check_send_args(slack_channel_id, body)?;
        let core = &self.core;
        let o = &core.options;
        let shard_index = core.keys.shard_index(slack_channel_id);
        let shard = &core.keys.shards[shard_index];
        let stream = shard.stream_key(slack_channel_id);
        let dedup_ms = if dedup_id.is_empty() {
            0
        } else {
            Core::<C>::ms(o.dedup_window)
        };
        let req = SendReq {
            channel: slack_channel_id.to_owned(),
            body: body.to_owned(),
            dedup_ms,
            dedup_key: shard.dedup_key(slack_channel_id, dedup_id),
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(QueueError::Closed(format!(
                "queue {} needs a Tokio runtime to send",
                core.name
            )));
        }
        let v = core.senders()[shard_index].call(req).await?;
        match code(&v) {
            Some(0) => {
                let id = as_array(&v).and_then(|a| a.get(1)).and_then(as_string);
                tracing::debug!(queue = %core.name, channel = slack_channel_id, message_id = ?id, "message sent");
                // `1` when this call scheduled a channel that had no work: a consumer may be idle.
                Ok(as_array(&v).and_then(|a| a.get(2)).and_then(as_i64) == Some(1))
            }
            Some(1) => {
                let backlog = as_array(&v).and_then(|a| a.get(1)).and_then(as_i64);
                tracing::warn!(queue = %core.name, channel = slack_channel_id, ?backlog, "channel backlog full");
                Err(QueueError::Full {
                    queue: core.name.clone(),
                    channel: slack_channel_id.to_owned(),
                    max: o.max_stream_length,
                })
            }
            Some(2) => {
                tracing::debug!(queue = %core.name, channel = slack_channel_id, dedup_id, "duplicate send ignored");
                Ok(false)
            }
            Some(9) => Err(QueueError::backend(
                format!("adding a message to Redis stream {stream}"),
                as_array(&v)
                    .and_then(|a| a.get(1))
                    .and_then(as_string)
                    .unwrap_or_default(),
            )),
            _ => Err(QueueError::backend(
                format!("adding a message to Redis stream {stream}"),
                format!("unexpected script reply {v:?}"),
            )),
        }
    }
}

#[async_trait]
impl<C> FifoQueueProducer for RedisFifoQueueProducer<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        &self.core.name
    }

    async fn send(
        &self,
        slack_channel_id: &str,
        dedup_id: &str,
        body: &str,
    ) -> Result<(), QueueError> {
        self.send_inner(slack_channel_id, dedup_id, body)
            .await
            .map(|_| ())
    }
}
