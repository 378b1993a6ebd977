//! Integration tests of sm-redis-lock, against a real Redis (`REDIS_URL`, else 127.0.0.1:6379) and,
//! where Redis is stopped, a private `redis-server`.

mod basics;
mod cluster;
mod expiry;
mod mutual_exclusion;
mod outage;
mod wait;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, Value};
use sm_redis_lock::{LockError, RedisChannelLocker, redis};

/// A connection that counts the commands sent through it.
#[derive(Clone)]
pub(crate) struct CountingConn {
    inner: MultiplexedConnection,
    count: Arc<AtomicUsize>,
}

impl CountingConn {
    pub(crate) async fn open(url: &str) -> CountingConn {
        let client = redis::Client::open(url).unwrap();
        CountingConn {
            inner: client.get_multiplexed_async_connection().await.unwrap(),
            count: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl ConnectionLike for CountingConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.count.fetch_add(cmd.len(), Ordering::SeqCst);
        self.inner.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// A locker on the shared test Redis with its own key prefix.
pub(crate) async fn locker(name: &str) -> RedisChannelLocker {
    RedisChannelLocker::new(sm_test_support::redis_connection_manager().await)
        .with_key_prefix(sm_test_support::unique_prefix(name))
}

/// A plain connection to the shared test Redis, for checking state.
pub(crate) async fn redis_conn() -> MultiplexedConnection {
    sm_test_support::redis_client()
        .await
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Whether `key` exists.
pub(crate) async fn exists(conn: &mut MultiplexedConnection, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(conn)
        .await
        .unwrap()
        == 1
}

/// Polls `cond` every 10 ms for up to `limit`; panics with `what` when it never holds.
pub(crate) async fn eventually<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until some client is subscribed to `channel`.
pub(crate) async fn wait_subscribed(conn: &mut MultiplexedConnection, channel: &str) {
    let channel = channel.to_owned();
    eventually(
        "a waiter subscribed to the release channel",
        Duration::from_secs(10),
        || {
            let mut conn = conn.clone();
            let channel = channel.clone();
            async move {
                let (_, n): (String, i64) = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(&channel)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                n >= 1
            }
        },
    )
    .await;
}

/// Asserts that `result` is `Err(LockError::Unavailable)`.
pub(crate) fn assert_unavailable<T>(result: Result<T, LockError>) {
    match result {
        Err(LockError::Unavailable) => {}
        Err(other) => panic!("expected LockError::Unavailable, got {other:?}"),
        Ok(_) => panic!("expected LockError::Unavailable, got a lock"),
    }
}
