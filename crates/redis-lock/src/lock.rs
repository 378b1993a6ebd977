//! [`RedisChannelLock`]: a held lock — release, extend, keep-alive, fencing token.
//!
//! Invariants:
//! - Every write is conditional on the owner token (compare-and-delete, compare-and-extend), so a
//!   holder whose lock expired can never delete or prolong the lock of the next owner.
//! - A release runs in its own task with its own timeout ([`RELEASE_TIMEOUT`]); the caller's future
//!   only awaits that task, so cancelling the caller does not cancel the release.
//! - The keep-alive task never outlives the handle: it stops on release, on drop, and when it
//!   finds the lock owned by someone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sm_core::{ChannelLock, LockError};
use tokio::task::AbortHandle;

use crate::backend::Backend;
use crate::keys::LockKeys;

/// Time limit of one release (the Go implementation's `lockReleaseTimeout`).
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Time limit of one obtain attempt or extend call.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// A channel lock held in Redis, handed out by [`RedisChannelLocker`](crate::RedisChannelLocker).
///
/// - [`key`](Self::key) is the full Redis key (prefix included), as in the Go implementation, and
///   stays readable after release.
/// - [`fencing_token`](Self::fencing_token) strictly increases with every successful obtain of the
///   same key; see the [crate docs](crate#fencing-tokens) for how a store uses it.
/// - [`release`](Self::release) is idempotent and never touches another owner's lock.
/// - Dropping a handle that is still held stops its keep-alive and releases the lock in the
///   background (best effort, when a Tokio runtime is running); the lock expires by its TTL
///   otherwise.
pub struct RedisChannelLock {
    shared: Arc<Shared>,
    keep_alive: Option<AbortHandle>,
}

struct Shared {
    backend: Arc<dyn Backend>,
    keys: LockKeys,
    token: String,
    fence: u64,
    ttl: Duration,
    /// `true` until a release succeeded (or found the lock gone).
    held: AtomicBool,
}

impl std::fmt::Debug for RedisChannelLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisChannelLock")
            .field("key", &self.shared.keys.lock)
            .field("fencing_token", &self.shared.fence)
            .field("held", &self.shared.held.load(Ordering::Acquire))
            .field("keep_alive", &self.keep_alive.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisChannelLock {
    pub(crate) fn new(
        backend: Arc<dyn Backend>,
        keys: LockKeys,
        token: String,
        fence: u64,
        ttl: Duration,
    ) -> RedisChannelLock {
        RedisChannelLock {
            shared: Arc::new(Shared {
                backend,
                keys,
                token,
                fence,
                ttl,
                held: AtomicBool::new(true),
            }),
            keep_alive: None,
        }
    }

    /// The full Redis key of the lock (prefix included).
    pub fn key(&self) -> &str {
        &self.shared.keys.lock
    }

    /// The Redis names this lock uses (lock key, fencing counter key, release channel).
    pub fn keys(&self) -> &LockKeys {
        &self.shared.keys
    }

    /// The fencing token of this hold: larger than the token of every earlier hold of the same key.
    pub fn fencing_token(&self) -> u64 {
        self.shared.fence
    }

    /// The TTL the lock was obtained with (also the TTL the keep-alive renews to).
    pub fn ttl(&self) -> Duration {
        self.shared.ttl
    }

    /// Whether this handle still considers the lock held: `false` after a successful release. (The
    /// lock may have expired in Redis meanwhile; [`extend`](Self::extend) tells for sure.)
    pub fn is_held(&self) -> bool {
        self.shared.held.load(Ordering::Acquire)
    }

    /// Whether a keep-alive task runs for this lock.
    pub fn has_keep_alive(&self) -> bool {
        self.keep_alive.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Starts extending the lock in the background every third of its TTL, back to its full TTL,
    /// until it is released or this handle is dropped. The task also stops when the lock turns out
    /// to be owned by someone else (it had expired), logging a warning. A release stops it even
    /// when the release itself fails. Calling it again while a keep-alive runs does nothing. Needs
    /// a Tokio runtime.
    pub fn start_keep_alive(&mut self) {
        if self.has_keep_alive() || !self.is_held() {
            return;
        }
        let shared = self.shared.clone();
        let period = (shared.ttl / 3).max(Duration::from_millis(1));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if !shared.held.load(Ordering::Acquire) {
                    return;
                }
                match shared.extend(shared.ttl).await {
                    Ok(()) => {}
                    Err(LockError::NotOwned { key }) => {
                        tracing::warn!(key, "lock lost before keep-alive could extend it");
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(key = shared.keys.lock, %error, "lock keep-alive failed; retrying");
                    }
                }
            }
        });
        self.keep_alive = Some(task.abort_handle());
    }

    /// Stops the keep-alive task, if any; the lock then expires by its TTL unless extended.
    pub fn stop_keep_alive(&mut self) {
        if let Some(handle) = self.keep_alive.take() {
            handle.abort();
        }
    }

    /// Releases the lock: deletes it in Redis if this holder still owns it and announces the
    /// release to waiting obtainers.
    ///
    /// Idempotent: a lock that expired, belongs to someone else now, or was released already gives
    /// `Ok(())` (after a successful release, without a Redis call). The release runs in its own
    /// task limited to [`RELEASE_TIMEOUT`]; dropping this future does not stop it. On a timeout or
    /// connection error the handle stays held, so a later call can retry.
    pub async fn release(&self) -> Result<(), LockError> {
        if !self.is_held() {
            return Ok(());
        }
        if let Some(handle) = &self.keep_alive {
            handle.abort();
        }
        let task = tokio::spawn(self.shared.clone().release());
        match task.await {
            Ok(result) => result,
            Err(join) => Err(LockError::backend(
                format!("releasing lock {}", self.shared.keys.lock),
                join,
            )),
        }
    }

    /// Sets the lock to expire `ttl` from now. Succeeds only while this holder owns the lock:
    /// `Err(LockError::NotOwned)` when it expired (and maybe went to someone else) or was released.
    pub async fn extend(&self, ttl: Duration) -> Result<(), LockError> {
        if !self.is_held() {
            return Err(LockError::NotOwned {
                key: self.shared.keys.lock.clone(),
            });
        }
        self.shared.extend(ttl).await
    }
}

impl Shared {
    async fn release(self: Arc<Self>) -> Result<(), LockError> {
        let key = &self.keys.lock;
        match tokio::time::timeout(
            RELEASE_TIMEOUT,
            self.backend.release(&self.keys, &self.token),
        )
        .await
        {
            Ok(Ok(deleted)) => {
                self.held.store(false, Ordering::Release);
                if deleted {
                    tracing::debug!(key, fencing_token = self.fence, "lock released");
                } else {
                    tracing::debug!(key, "lock already expired or owned by another holder");
                }
                Ok(())
            }
            Ok(Err(error)) => Err(LockError::backend(format!("releasing lock {key}"), error)),
            Err(elapsed) => Err(LockError::backend(
                format!("releasing lock {key} (timeout {RELEASE_TIMEOUT:?})"),
                elapsed,
            )),
        }
    }

    async fn extend(&self, ttl: Duration) -> Result<(), LockError> {
        let key = &self.keys.lock;
        let ttl_ms = ttl_millis(ttl, key)?;
        match tokio::time::timeout(
            COMMAND_TIMEOUT,
            self.backend.extend(&self.keys, &self.token, ttl_ms),
        )
        .await
        {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(LockError::NotOwned { key: key.clone() }),
            Ok(Err(error)) => Err(LockError::backend(format!("extending lock {key}"), error)),
            Err(elapsed) => Err(LockError::backend(
                format!("extending lock {key} (timeout {COMMAND_TIMEOUT:?})"),
                elapsed,
            )),
        }
    }
}

/// `ttl` in whole milliseconds (truncated, as in the Go implementation); at least 1 ms.
pub(crate) fn ttl_millis(ttl: Duration, key: &str) -> Result<u64, LockError> {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return Err(LockError::InvalidArgument(format!(
            "ttl {ttl:?} of lock {key} is shorter than 1 ms"
        )));
    }
    Ok(ms)
}

impl Drop for RedisChannelLock {
    fn drop(&mut self) {
        self.stop_keep_alive();
        if !self.is_held() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = self.shared.clone();
            runtime.spawn(async move {
                if let Err(error) = shared.release().await {
                    tracing::warn!(%error, "releasing a dropped lock failed; it expires by its ttl");
                }
            });
        }
    }
}

#[async_trait]
impl ChannelLock for RedisChannelLock {
    fn key(&self) -> &str {
        RedisChannelLock::key(self)
    }

    async fn release(&self) -> Result<(), LockError> {
        RedisChannelLock::release(self).await
    }

    fn fencing_token(&self) -> u64 {
        RedisChannelLock::fencing_token(self)
    }

    async fn extend(&self, ttl: Duration) -> Result<(), LockError> {
        RedisChannelLock::extend(self, ttl).await
    }
}
