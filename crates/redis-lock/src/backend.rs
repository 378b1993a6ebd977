//! The Lua scripts and the type-erased connection that runs them.
//!
//! Each script is compiled into the binary from `lua/*.lua` and hashed once (a `LazyLock`); calls
//! go out as `EVALSHA`, falling back to loading the script when Redis answers `NOSCRIPT` (after a
//! restart, for instance). Every call is one round trip.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionLike;
use redis::{RedisResult, Script};

use crate::keys::LockKeys;

/// The obtain script (`SET NX PX` + fencing `INCR`).
static OBTAIN: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("../lua/obtain.lua")));
/// The compare-and-delete release script (also publishes the release).
static RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../lua/release.lua")));
/// The compare-and-extend script.
static EXTEND: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("../lua/extend.lua")));

/// What one obtain attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Obtained, with this fencing token.
    Obtained(u64),
    /// Held by someone else, who holds it for this long at most (`None`: no expiry set).
    Held(Option<Duration>),
}

/// The lock operations on some Redis connection.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// One obtain attempt.
    async fn obtain(&self, keys: &LockKeys, token: &str, ttl_ms: u64) -> RedisResult<Attempt>;
    /// Compare-and-delete; `true` when the lock was deleted.
    async fn release(&self, keys: &LockKeys, token: &str) -> RedisResult<bool>;
    /// Compare-and-extend; `true` when extended.
    async fn extend(&self, keys: &LockKeys, token: &str, ttl_ms: u64) -> RedisResult<bool>;
}

/// [`Backend`] on any clonable async connection (multiplexed connection, connection manager,
/// cluster connection). Each call works on a clone, as these connections are meant to be used.
pub(crate) struct ConnBackend<C>(pub(crate) C);

#[async_trait]
impl<C> Backend for ConnBackend<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn obtain(&self, keys: &LockKeys, token: &str, ttl_ms: u64) -> RedisResult<Attempt> {
        let mut conn = self.0.clone();
        let (obtained, value): (i64, i64) = OBTAIN
            .key(&keys.lock)
            .key(&keys.fence)
            .arg(token)
            .arg(ttl_ms)
            .invoke_async(&mut conn)
            .await?;
        if obtained == 1 {
            // Tokens are positive (INCR results).
            return Ok(Attempt::Obtained(u64::try_from(value).unwrap_or(0)));
        }
        // PTTL is -2 when the key vanished between SET and PTTL (a retry will tell), -1 without
        // expiry.
        let left = match value {
            -2 => Some(Duration::ZERO),
            v => u64::try_from(v).ok().map(Duration::from_millis),
        };
        Ok(Attempt::Held(left))
    }

    async fn release(&self, keys: &LockKeys, token: &str) -> RedisResult<bool> {
        let mut conn = self.0.clone();
        let deleted: i64 = RELEASE
            .key(&keys.lock)
            .arg(token)
            .arg(&keys.channel)
            .invoke_async(&mut conn)
            .await?;
        Ok(deleted == 1)
    }

    async fn extend(&self, keys: &LockKeys, token: &str, ttl_ms: u64) -> RedisResult<bool> {
        let mut conn = self.0.clone();
        let extended: i64 = EXTEND
            .key(&keys.lock)
            .arg(token)
            .arg(ttl_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(extended == 1)
    }
}
