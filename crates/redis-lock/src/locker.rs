//! [`RedisChannelLocker`]: obtains locks, with retries, wake-ups and the Go retry plan.
//!
//! Retry plan (as in the Go implementation): with `max_wait` zero or shorter than the backoff, one
//! attempt; otherwise attempts at the start and at every backoff tick up to
//! `floor(max_wait / backoff)` ticks. On top of that, a waiting obtain also tries
//! - when the holder releases (Pub/Sub wake-up, with [`with_client`](RedisChannelLocker::with_client)),
//! - when the holder's TTL runs out (the failed attempt reports the remaining TTL),
//!
//! so a hand-over takes milliseconds instead of up to one backoff. The whole wait is also bounded by
//! the lock's TTL, like the Go implementation's implicit deadline (there the result is a deadline
//! error; here it is [`LockError::Unavailable`], so callers can tell contention from Redis trouble).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionLike;
use sm_core::{ChannelLock, ChannelLocker, LockError};
use tokio::time::Instant;

use crate::backend::{Attempt, Backend, ConnBackend};
use crate::keys::{LockKeys, new_token};
use crate::lock::{COMMAND_TIMEOUT, RELEASE_TIMEOUT, RedisChannelLock, ttl_millis};
use crate::notify::{Notifier, Watch};

/// The default key prefix (note the trailing colon).
pub const DEFAULT_KEY_PREFIX: &str = "slack-manager:channel-lock:";

/// The default pause between two obtain attempts.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(2);

/// Obtains channel locks in Redis.
///
/// Cheap to clone (clones share the connection and the Pub/Sub waker).
///
/// ```no_run
/// # async fn dox() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sm_redis_lock::RedisChannelLocker;
///
/// let client = sm_redis_lock::redis::Client::open("redis://127.0.0.1:6379")?;
/// let conn = client.get_connection_manager().await?;
/// let locker = RedisChannelLocker::new(conn).with_client(client);
///
/// let lock = locker
///     .obtain_lock("C0123456", Duration::from_secs(300), Duration::from_secs(30))
///     .await?;
/// // ... act on the channel, passing lock.fencing_token() along with every write ...
/// lock.release().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisChannelLocker {
    backend: Arc<dyn Backend>,
    prefix: String,
    backoff: Duration,
    keep_alive: bool,
    notifier: Option<Arc<Notifier>>,
}

impl std::fmt::Debug for RedisChannelLocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisChannelLocker")
            .field("prefix", &self.prefix)
            .field("backoff", &self.backoff)
            .field("keep_alive", &self.keep_alive)
            .field("wake_ups", &self.notifier.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisChannelLocker {
    /// A locker on `conn`: a `redis::aio::ConnectionManager` (reconnects by itself; recommended),
    /// a `MultiplexedConnection`, or a cluster connection. Default prefix
    /// [`DEFAULT_KEY_PREFIX`], backoff [`DEFAULT_RETRY_BACKOFF`], no keep-alive, no wake-ups.
    pub fn new<C>(conn: C) -> RedisChannelLocker
    where
        C: ConnectionLike + Clone + Send + Sync + 'static,
    {
        RedisChannelLocker {
            backend: Arc::new(ConnBackend(conn)),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            backoff: DEFAULT_RETRY_BACKOFF,
            keep_alive: false,
            notifier: None,
        }
    }

    /// Sets the key prefix; anything is accepted, including the empty string (then the Redis key
    /// is the lock key itself). Prefix and key are joined with nothing in between.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> RedisChannelLocker {
        self.prefix = prefix.into();
        self
    }

    /// Sets the pause between obtain attempts; `Duration::ZERO` means the default (2 s).
    pub fn with_retry_backoff(mut self, backoff: Duration) -> RedisChannelLocker {
        self.backoff = if backoff.is_zero() {
            DEFAULT_RETRY_BACKOFF
        } else {
            backoff
        };
        self
    }

    /// Lets waiting obtains wake up as soon as the holder releases: the locker opens one dedicated
    /// Pub/Sub connection from `client` (on first need, reconnecting by itself) and subscribes to a
    /// lock's release channel while some obtain of this process waits for it. On a cluster, pass a
    /// client for any one node (Pub/Sub messages reach every node). Without it, waiting obtains
    /// poll at the backoff ticks and at the holder's expiry.
    pub fn with_client(mut self, client: redis::Client) -> RedisChannelLocker {
        self.notifier = Some(Arc::new(Notifier::new(client)));
        self
    }

    /// Starts a keep-alive ([`RedisChannelLock::start_keep_alive`]) on every lock this locker
    /// obtains, including those handed out through the [`ChannelLocker`] trait.
    pub fn with_keep_alive(mut self, enabled: bool) -> RedisChannelLocker {
        self.keep_alive = enabled;
        self
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The pause between obtain attempts.
    pub fn retry_backoff(&self) -> Duration {
        self.backoff
    }

    /// The Redis names the lock `key` uses under this locker's prefix.
    pub fn lock_keys(&self, key: &str) -> LockKeys {
        LockKeys::new(&self.prefix, key)
    }

    /// Obtains the lock `key` for `ttl`, retrying until `max_wait` (see [retries and
    /// wake-ups](crate#retries-and-wake-ups)); returns the concrete lock type.
    ///
    /// Errors: [`LockError::Unavailable`] when the lock stayed held elsewhere,
    /// [`LockError::InvalidArgument`] for an empty key or a TTL under 1 ms, [`LockError::Backend`]
    /// when Redis fails or cannot be reached (each attempt is limited to 2 s; an attempt that
    /// failed that way is undone in the background in case its `SET` went through).
    pub async fn obtain_lock(
        &self,
        key: &str,
        ttl: Duration,
        max_wait: Duration,
    ) -> Result<RedisChannelLock, LockError> {
        if key.is_empty() {
            return Err(LockError::InvalidArgument("lock key is empty".to_owned()));
        }
        let keys = self.lock_keys(key);
        let ttl_ms = ttl_millis(ttl, &keys.lock)?;
        let token = new_token();

        let start = Instant::now();
        let retries = if max_wait.is_zero() || max_wait < self.backoff {
            0
        } else {
            u32::try_from(max_wait.as_nanos() / self.backoff.as_nanos()).unwrap_or(u32::MAX)
        };
        let deadline = later(start, self.backoff.saturating_mul(retries)).min(later(start, ttl));
        let mut next_tick: u32 = 1;
        let mut watch: Option<Watch> = None;

        loop {
            let attempt = match self.attempt(&keys, &token, ttl_ms).await {
                Ok(attempt) => attempt,
                Err(error) => {
                    self.clean_up_after_failed_attempt(keys, token);
                    return Err(error);
                }
            };
            let left = match attempt {
                Attempt::Obtained(fence) => {
                    tracing::debug!(key = keys.lock, fencing_token = fence, "lock obtained");
                    let mut lock =
                        RedisChannelLock::new(self.backend.clone(), keys, token, fence, ttl);
                    if self.keep_alive {
                        lock.start_keep_alive();
                    }
                    return Ok(lock);
                }
                Attempt::Held(left) => left,
            };
            let now = Instant::now();
            if retries == 0 || now >= deadline {
                return Err(LockError::Unavailable);
            }
            if watch.is_none() {
                if let Some(notifier) = &self.notifier {
                    // Subscribed now; try once more at once, since a release may have happened
                    // before the subscription was in place.
                    watch = Some(notifier.watch(&keys.channel).await);
                    continue;
                }
            }

            // Next scheduled tick still ahead (ticks that already passed were covered by the
            // attempt that just failed).
            let tick = |k: u32| later(start, self.backoff.saturating_mul(k));
            while next_tick <= retries && tick(next_tick) <= now {
                next_tick += 1;
            }
            let mut wake_at = if next_tick <= retries {
                tick(next_tick)
            } else {
                deadline
            };
            if let Some(left) = left {
                // The holder's key expires then; a millisecond later it is gone.
                wake_at = wake_at.min(later(now, left.saturating_add(Duration::from_millis(1))));
            }
            let wake_at = wake_at.min(deadline);
            match &watch {
                Some(w) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(wake_at) => {}
                        () = w.released() => {}
                    }
                }
                None => tokio::time::sleep_until(wake_at).await,
            }
        }
    }

    /// After an attempt whose answer was lost (timeout, broken connection), the `SET NX` may still
    /// have happened: delete the lock if it carries our token (best effort, in the background), so
    /// it does not block the channel until its TTL runs out.
    fn clean_up_after_failed_attempt(&self, keys: LockKeys, token: String) {
        let backend = self.backend.clone();
        tokio::spawn(async move {
            let cleanup = backend.release(&keys, &token);
            if let Ok(Ok(true)) = tokio::time::timeout(RELEASE_TIMEOUT, cleanup).await {
                tracing::debug!(
                    key = keys.lock,
                    "removed a lock obtained by an attempt that failed"
                );
            }
        });
    }

    async fn attempt(
        &self,
        keys: &LockKeys,
        token: &str,
        ttl_ms: u64,
    ) -> Result<Attempt, LockError> {
        match tokio::time::timeout(COMMAND_TIMEOUT, self.backend.obtain(keys, token, ttl_ms)).await
        {
            Ok(Ok(attempt)) => Ok(attempt),
            Ok(Err(error)) => Err(LockError::backend(
                format!("obtaining lock {}", keys.lock),
                error,
            )),
            Err(elapsed) => Err(LockError::backend(
                format!("obtaining lock {} (timeout {COMMAND_TIMEOUT:?})", keys.lock),
                elapsed,
            )),
        }
    }
}

/// `at + d`, or about 30 years after `at` when that overflows.
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(30 * 365 * 86_400)))
        .unwrap_or(at)
}

#[async_trait]
impl ChannelLocker for RedisChannelLocker {
    async fn obtain(
        &self,
        key: &str,
        ttl: Duration,
        max_wait: Duration,
    ) -> Result<Box<dyn ChannelLock>, LockError> {
        let lock = self.obtain_lock(key, ttl, max_wait).await?;
        Ok(Box::new(lock))
    }
}
