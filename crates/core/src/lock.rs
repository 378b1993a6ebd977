//! The channel lock contracts.
//!
//! A manager instance holds a channel's lock while it acts on that channel, so that several
//! instances never act on one channel at once.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::BoxError;

/// Errors of the lock contracts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// The lock is held elsewhere and was not obtained within the wait.
    #[error("channel lock could not be obtained: it is held by another owner")]
    Unavailable,
    /// The lock is no longer owned by this holder (it expired and may have been taken by another owner).
    #[error("channel lock {key} is no longer owned by this holder")]
    NotOwned {
        /// The lock key.
        key: String,
    },
    /// An argument was invalid (empty key, zero TTL).
    #[error("invalid lock argument: {0}")]
    InvalidArgument(String),
    /// The backend (Redis, ...) failed or could not be reached.
    #[error("lock backend error during {context}: {source}")]
    Backend {
        /// What was being done, with its inputs.
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
}

impl LockError {
    /// Wraps a backend error with a description of what was being done.
    pub fn backend(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        LockError::Backend {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Obtains channel locks.
#[async_trait]
pub trait ChannelLocker: Send + Sync {
    /// Obtains the lock `key` for `ttl`, retrying until `max_wait` has passed (`Duration::ZERO` means
    /// one attempt). Gives `Err(LockError::Unavailable)` when the lock is held elsewhere for the whole wait.
    async fn obtain(
        &self,
        key: &str,
        ttl: Duration,
        max_wait: Duration,
    ) -> Result<Box<dyn ChannelLock>, LockError>;
}

/// A held channel lock.
#[async_trait]
pub trait ChannelLock: Send + Sync {
    /// The lock key.
    fn key(&self) -> &str;

    /// Releases the lock. Idempotent: releasing a lock that expired or was already released is
    /// `Ok(())`, and it never deletes a lock that another holder owns. It completes on its own
    /// timeout regardless of the caller.
    async fn release(&self) -> Result<(), LockError>;

    /// A number that strictly increases with every successful obtain of this key, so a downstream
    /// writer can refuse a stale holder. Locks without fencing return 0.
    fn fencing_token(&self) -> u64 {
        0
    }

    /// Extends the lock to expire `ttl` from now. Succeeds only for the current owner
    /// (`Err(LockError::NotOwned)` otherwise). Locks without expiry return `Ok(())`.
    async fn extend(&self, ttl: Duration) -> Result<(), LockError> {
        let _ = ttl;
        Ok(())
    }
}

/// A locker that always obtains at once: for a single instance without Redis.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopChannelLocker;

/// The lock handed out by [`NoopChannelLocker`]; release does nothing.
#[derive(Debug, Clone)]
pub struct NoopChannelLock {
    key: String,
}

impl NoopChannelLock {
    /// A no-op lock for `key`.
    pub fn new(key: impl Into<String>) -> Self {
        NoopChannelLock { key: key.into() }
    }
}

#[async_trait]
impl ChannelLocker for NoopChannelLocker {
    async fn obtain(
        &self,
        key: &str,
        _ttl: Duration,
        _max_wait: Duration,
    ) -> Result<Box<dyn ChannelLock>, LockError> {
        Ok(Box::new(NoopChannelLock::new(key)))
    }
}

#[async_trait]
impl ChannelLock for NoopChannelLock {
    fn key(&self) -> &str {
        &self.key
    }

    async fn release(&self) -> Result<(), LockError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn noop_lock_always_obtains() {
        let l = NoopChannelLocker
            .obtain("C1", Duration::from_secs(1), Duration::ZERO)
            .await
            .unwrap();
        let l2 = NoopChannelLocker
            .obtain("C1", Duration::from_secs(1), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(l.key(), "C1");
        assert_eq!(l.fencing_token(), 0);
        l.release().await.unwrap();
        l2.release().await.unwrap();
        l2.release().await.unwrap();
        assert!(
            LockError::Unavailable
                .to_string()
                .contains("could not be obtained")
        );
    }
}
