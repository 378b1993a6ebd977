//! Obtain, release, keys, arguments, and the trait objects.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use sm_redis_lock::{ChannelLocker, DEFAULT_KEY_PREFIX, LockError, RedisChannelLocker, redis};

use crate::{CountingConn, assert_unavailable, eventually, exists, locker, redis_conn};

const TTL: Duration = Duration::from_secs(30);

#[tokio::test]
async fn obtain_release_and_fencing_through_the_trait() {
    let locker: Arc<dyn ChannelLocker> = Arc::new(locker("basics").await);
    let first = locker.obtain("C1", TTL, Duration::ZERO).await.unwrap();
    assert!(first.key().ends_with("C1"));
    assert!(first.fencing_token() >= 1);

    // Not re-entrant: a second obtain of the same key fails like any contender.
    assert_unavailable(locker.obtain("C1", TTL, Duration::ZERO).await);
    // Other keys are independent.
    let other = locker.obtain("C2", TTL, Duration::ZERO).await.unwrap();

    let first_token = first.fencing_token();
    first.release().await.unwrap();
    let second = locker.obtain("C1", TTL, Duration::ZERO).await.unwrap();
    assert_eq!(second.fencing_token(), first_token + 1);
    second.extend(TTL).await.unwrap();
    second.release().await.unwrap();
    other.release().await.unwrap();
}

#[tokio::test]
async fn lock_key_is_prefix_plus_key_and_holds_the_owner_token() {
    let prefix = sm_test_support::unique_prefix("keys");
    let locker = RedisChannelLocker::new(redis_conn().await).with_key_prefix(&prefix);
    assert_eq!(locker.key_prefix(), prefix);
    let lock = locker.obtain_lock("C9", TTL, Duration::ZERO).await.unwrap();
    assert_eq!(lock.key(), format!("{prefix}C9"));
    assert_eq!(lock.keys(), &locker.lock_keys("C9"));

    let mut conn = redis_conn().await;
    let value: String = redis::cmd("GET")
        .arg(lock.key())
        .query_async(&mut conn)
        .await
        .unwrap();
    // 16 random bytes, base64url without padding, like bsm/redislock.
    assert_eq!(value.len(), 22);
    let pttl: i64 = redis::cmd("PTTL")
        .arg(lock.key())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 30_000, "pttl {pttl}");
    let fence: u64 = redis::cmd("GET")
        .arg(&lock.keys().fence)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fence, lock.fencing_token());

    lock.release().await.unwrap();
    assert!(!exists(&mut conn, &format!("{prefix}C9")).await);
    // The counter survives the release, so the next token is larger.
    assert!(exists(&mut conn, &lock.keys().fence).await);
    let _: () = redis::cmd("DEL")
        .arg(&lock.keys().fence)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn defaults_and_empty_prefix() {
    let conn = redis_conn().await;
    let locker = RedisChannelLocker::new(conn.clone());
    assert_eq!(locker.key_prefix(), DEFAULT_KEY_PREFIX);
    assert_eq!(DEFAULT_KEY_PREFIX, "slack-manager:channel-lock:");
    assert_eq!(locker.retry_backoff(), Duration::from_secs(2));
    let locker = locker.with_retry_backoff(Duration::ZERO);
    assert_eq!(locker.retry_backoff(), Duration::from_secs(2));
    let locker = locker.with_retry_backoff(Duration::from_millis(5));
    assert_eq!(locker.retry_backoff(), Duration::from_millis(5));

    // With an empty prefix the Redis key is the key itself (here made unique by the test).
    let key = sm_test_support::unique_prefix("empty-prefix");
    let locker = RedisChannelLocker::new(conn.clone()).with_key_prefix("");
    let lock = locker.obtain_lock(&key, TTL, Duration::ZERO).await.unwrap();
    assert_eq!(lock.key(), key);
    let mut check = conn.clone();
    assert!(exists(&mut check, &key).await);
    lock.release().await.unwrap();
    assert!(!exists(&mut check, &key).await);
    let _: () = redis::cmd("DEL")
        .arg(&lock.keys().fence)
        .query_async(&mut check)
        .await
        .unwrap();
}

#[tokio::test]
async fn invalid_arguments_are_refused() {
    let locker = locker("invalid").await;
    match locker.obtain_lock("", TTL, Duration::ZERO).await {
        Err(LockError::InvalidArgument(msg)) => assert!(msg.contains("empty"), "{msg}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    match locker
        .obtain_lock("C1", Duration::from_micros(999), Duration::ZERO)
        .await
    {
        Err(LockError::InvalidArgument(msg)) => assert!(msg.contains("ttl"), "{msg}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    let lock = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    assert!(matches!(
        lock.extend(Duration::ZERO).await,
        Err(LockError::InvalidArgument(_))
    ));
    lock.release().await.unwrap();
}

#[tokio::test]
async fn release_is_idempotent_and_second_release_sends_nothing() {
    let conn = CountingConn::open(&sm_test_support::redis_url()).await;
    let locker = RedisChannelLocker::new(conn.clone())
        .with_key_prefix(sm_test_support::unique_prefix("idempotent"));
    let lock = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    lock.release().await.unwrap();
    assert!(!lock.is_held());
    let sent = conn.count();
    lock.release().await.unwrap();
    lock.release().await.unwrap();
    assert_eq!(conn.count(), sent);
    // A released lock cannot be extended.
    assert!(matches!(
        lock.extend(TTL).await,
        Err(LockError::NotOwned { .. })
    ));
    // The key still reads back after release.
    assert!(lock.key().ends_with("C1"));
}

#[tokio::test]
async fn release_completes_when_the_caller_gives_up_at_once() {
    let locker = locker("cancelled-release").await;
    let lock = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    let key = lock.key().to_owned();
    // Poll the release once and drop it: the release task runs on regardless.
    assert!(lock.release().now_or_never().is_none());
    let mut conn = redis_conn().await;
    eventually("the lock key deleted", Duration::from_secs(5), || {
        let mut conn = conn.clone();
        let key = key.clone();
        async move { !exists(&mut conn, &key).await }
    })
    .await;
    // The handle learns about it too.
    eventually("the handle marked released", Duration::from_secs(5), || {
        let held = lock.is_held();
        async move { !held }
    })
    .await;
    assert!(!exists(&mut conn, &key).await);
}

#[tokio::test]
async fn dropping_a_held_lock_releases_it() {
    let locker = locker("drop").await;
    let lock = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    drop(lock);
    let locker2 = locker.clone();
    eventually("the dropped lock released", Duration::from_secs(5), || {
        let locker = locker2.clone();
        async move {
            match locker.obtain_lock("C1", TTL, Duration::ZERO).await {
                Ok(lock) => {
                    lock.release().await.unwrap();
                    true
                }
                Err(LockError::Unavailable) => false,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn works_on_a_multiplexed_connection_and_a_connection_manager() {
    let prefix = sm_test_support::unique_prefix("conn-kinds");
    let multiplexed = RedisChannelLocker::new(redis_conn().await).with_key_prefix(&prefix);
    let manager = RedisChannelLocker::new(sm_test_support::redis_connection_manager().await)
        .with_key_prefix(&prefix);
    let a = multiplexed
        .obtain_lock("C1", TTL, Duration::ZERO)
        .await
        .unwrap();
    assert_unavailable(manager.obtain_lock("C1", TTL, Duration::ZERO).await);
    a.release().await.unwrap();
    let b = manager
        .obtain_lock("C1", TTL, Duration::ZERO)
        .await
        .unwrap();
    assert!(b.fencing_token() > a.fencing_token());
    assert_unavailable(multiplexed.obtain_lock("C1", TTL, Duration::ZERO).await);
    b.release().await.unwrap();
}

#[tokio::test]
async fn fencing_tokens_keep_increasing_when_the_counter_is_lost() {
    let locker = locker("fence-lost").await;
    let first = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    first.release().await.unwrap();
    // Seeded from the server clock in microseconds.
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    assert!(
        first.fencing_token().abs_diff(now_us) < 600_000_000,
        "{}",
        first.fencing_token()
    );

    // The counter is evicted or deleted: the next token is still larger.
    let mut conn = redis_conn().await;
    let _: () = redis::cmd("DEL")
        .arg(&first.keys().fence)
        .query_async(&mut conn)
        .await
        .unwrap();
    let second = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    assert!(second.fencing_token() > first.fencing_token());
    second.release().await.unwrap();
    let third = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    assert_eq!(third.fencing_token(), second.fencing_token() + 1);
    third.release().await.unwrap();
}

/// A connection whose next reply can be "lost": the command runs in Redis, the caller gets an
/// I/O error.
#[derive(Clone)]
struct LossyConn {
    inner: redis::aio::MultiplexedConnection,
    lose_next: Arc<std::sync::atomic::AtomicBool>,
}

impl redis::aio::ConnectionLike for LossyConn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        let lose = self
            .lose_next
            .swap(false, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            let reply = self.inner.req_packed_command(cmd).await;
            if lose {
                let _ = reply;
                return Err(
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reply lost").into(),
                );
            }
            reply
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        self.inner.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

#[tokio::test]
async fn an_obtain_whose_reply_was_lost_does_not_leave_the_lock_behind() {
    let conn = LossyConn {
        inner: redis_conn().await,
        lose_next: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let locker = RedisChannelLocker::new(conn.clone())
        .with_key_prefix(sm_test_support::unique_prefix("lost-reply"));
    // Warm up so the next obtain is a single EVALSHA.
    locker
        .obtain_lock("C1", TTL, Duration::ZERO)
        .await
        .unwrap()
        .release()
        .await
        .unwrap();

    conn.lose_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    match locker.obtain_lock("C1", TTL, Duration::ZERO).await {
        Err(LockError::Backend { context, .. }) => assert!(context.contains("C1"), "{context}"),
        other => panic!("expected a backend error, got {other:?}"),
    }
    // The SET went through in Redis, but is undone in the background.
    let key = locker.lock_keys("C1").lock;
    let mut check = redis_conn().await;
    eventually("the orphaned lock removed", Duration::from_secs(5), || {
        let mut check = check.clone();
        let key = key.clone();
        async move { !exists(&mut check, &key).await }
    })
    .await;
    let lock = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    lock.release().await.unwrap();
    assert!(!exists(&mut check, &key).await);
}
