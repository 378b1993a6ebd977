//! The rate-limit gate: when Slack answers 429 for a method, every caller sharing the gate holds
//! calls to that method until `Retry-After` has passed.
//!
//! [`RedisGate`] shares the hold across every instance using the same Redis and key prefix (one key
//! per method, expiring when the hold ends); [`InProcessGate`] holds within one process when there is
//! no Redis. The gate fails open: if Redis is unreachable, calls go ahead (Slack will answer 429
//! again, and the retry policy still waits).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// Holds calls per Web API method after a 429.
#[async_trait]
pub trait RateLimitGate: Send + Sync {
    /// Waits until calls to `method` are allowed.
    async fn wait(&self, method: &str);

    /// Holds calls to `method` for `duration` (never shortens an existing hold).
    async fn hold(&self, method: &str, duration: Duration);

    /// How long calls to `method` are still held (zero when open).
    async fn remaining(&self, method: &str) -> Duration;
}

/// A gate for one process.
#[derive(Debug, Default)]
pub struct InProcessGate {
    until: Mutex<HashMap<String, Instant>>,
}

impl InProcessGate {
    /// An open gate.
    pub fn new() -> Self {
        Self::default()
    }

    fn held_until(&self, method: &str) -> Option<Instant> {
        let map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        map.get(method).copied().filter(|t| *t > Instant::now())
    }
}

#[async_trait]
impl RateLimitGate for InProcessGate {
    async fn wait(&self, method: &str) {
        while let Some(t) = self.held_until(method) {
            tokio::time::sleep_until(t).await;
        }
    }

    async fn hold(&self, method: &str, duration: Duration) {
        let until = Instant::now() + duration;
        let mut map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(method.to_owned()).or_insert(until);
        if *e < until {
            *e = until;
        }
    }

    async fn remaining(&self, method: &str) -> Duration {
        self.held_until(method)
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }
}

/// A gate shared through Redis: key `<prefix><method>` with a millisecond expiry.
pub struct RedisGate<C> {
    conn: C,
    prefix: String,
    script: redis::Script,
}

/// Default key prefix of [`RedisGate`].
pub const DEFAULT_GATE_PREFIX: &str = "slack-manager:slack-api-client:rate-limit:";

impl<C> RedisGate<C>
where
    C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A gate on this connection with the default key prefix.
    pub fn new(conn: C) -> Self {
        RedisGate {
            conn,
            prefix: DEFAULT_GATE_PREFIX.to_owned(),
            script: redis::Script::new(include_str!("../lua/gate_hold.lua")),
        }
    }

    /// Sets the key prefix (instances share holds only when they use the same prefix).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, method: &str) -> String {
        format!("{}{method}", self.prefix)
    }

    async fn pttl(&self, method: &str) -> Result<Duration, redis::RedisError> {
        let mut conn = self.conn.clone();
        let ms: i64 = redis::cmd("PTTL")
            .arg(self.key(method))
            .query_async(&mut conn)
            .await?;
        Ok(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
    }
}

#[async_trait]
impl<C> RateLimitGate for RedisGate<C>
where
    C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn wait(&self, method: &str) {
        loop {
            match self.pttl(method).await {
                Ok(d) if d.is_zero() => return,
                Ok(d) => {
                    tracing::debug!(
                        method,
                        wait_ms = d.as_millis() as u64,
                        "slack rate-limit gate: holding call"
                    );
                    tokio::time::sleep(d).await;
                }
                Err(e) => {
                    tracing::warn!(method, error = %e, "slack rate-limit gate: redis unavailable, not holding");
                    return;
                }
            }
        }
    }

    async fn hold(&self, method: &str, duration: Duration) {
        let ms = u64::try_from(duration.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut conn = self.conn.clone();
        let r: Result<i64, _> = self
            .script
            .key(self.key(method))
            .arg(ms)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = r {
            tracing::warn!(method, error = %e, "slack rate-limit gate: cannot record hold in redis");
        }
    }

    async fn remaining(&self, method: &str) -> Duration {
        self.pttl(method).await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn in_process_gate_holds_until_the_hold_ends() {
        let gate = InProcessGate::new();
        gate.wait("chat.postMessage").await;
        gate.hold("chat.postMessage", Duration::from_secs(5)).await;
        gate.hold("chat.postMessage", Duration::from_secs(1)).await;
        assert_eq!(gate.remaining("chat.update").await, Duration::ZERO);
        assert_eq!(
            gate.remaining("chat.postMessage").await,
            Duration::from_secs(5)
        );
        let start = Instant::now();
        gate.wait("chat.postMessage").await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(gate.remaining("chat.postMessage").await, Duration::ZERO);
    }
}
