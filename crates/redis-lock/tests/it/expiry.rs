//! TTL expiry, stale holders, extend and keep-alive.

use std::time::Duration;

use sm_redis_lock::{LockError, RedisChannelLock, RedisChannelLocker, redis};

use crate::{assert_unavailable, eventually, locker, redis_conn};

const SHORT_TTL: Duration = Duration::from_millis(200);
const LONG_TTL: Duration = Duration::from_secs(30);

/// Obtains `key` with `max_wait` zero, polling until the lock is free.
async fn obtain_when_free(
    locker: &RedisChannelLocker,
    key: &str,
    ttl: Duration,
) -> RedisChannelLock {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match locker.obtain_lock(key, ttl, Duration::ZERO).await {
            Ok(lock) => return lock,
            Err(LockError::Unavailable) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "lock {key} never became free"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("obtaining {key}: {e}"),
        }
    }
}

async fn owner_token(key: &str) -> Option<String> {
    let mut conn = redis_conn().await;
    redis::cmd("GET")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn ttl_expiry_frees_the_lock_and_a_stale_holder_cannot_touch_the_next_one() {
    let locker = locker("expiry").await;
    let stale = locker
        .obtain_lock("C1", SHORT_TTL, Duration::ZERO)
        .await
        .unwrap();
    assert_unavailable(locker.obtain_lock("C1", LONG_TTL, Duration::ZERO).await);

    // Nobody extends or releases: the TTL frees the lock.
    let fresh = obtain_when_free(&locker, "C1", LONG_TTL).await;
    assert!(fresh.fencing_token() > stale.fencing_token());
    let fresh_owner = owner_token(fresh.key()).await;
    assert!(fresh_owner.is_some());

    // The stale holder still believes it holds the lock; its writes must not land.
    assert!(stale.is_held());
    match stale.extend(LONG_TTL).await {
        Err(LockError::NotOwned { key }) => assert_eq!(key, fresh.key()),
        other => panic!("expected NotOwned, got {other:?}"),
    }
    stale.release().await.unwrap();
    assert_eq!(owner_token(fresh.key()).await, fresh_owner);
    assert_unavailable(locker.obtain_lock("C1", LONG_TTL, Duration::ZERO).await);

    // The new owner is unaffected.
    fresh.extend(LONG_TTL).await.unwrap();
    fresh.release().await.unwrap();
    assert_eq!(owner_token(fresh.key()).await, None);
}

#[tokio::test]
async fn extend_keeps_the_lock_past_its_first_ttl() {
    let locker = locker("extend").await;
    let lock = locker
        .obtain_lock("C1", SHORT_TTL, Duration::ZERO)
        .await
        .unwrap();
    lock.extend(LONG_TTL).await.unwrap();
    let mut conn = redis_conn().await;
    let pttl: i64 = redis::cmd("PTTL")
        .arg(lock.key())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > SHORT_TTL.as_millis() as i64, "pttl {pttl}");
    assert_unavailable(locker.obtain_lock("C1", LONG_TTL, Duration::ZERO).await);
    lock.release().await.unwrap();
}

#[tokio::test]
async fn keep_alive_holds_the_lock_past_its_ttl_and_stops_on_release() {
    let locker = locker("keep-alive").await.with_keep_alive(true);
    // Extends every 200 ms; 400 ms of slack for a busy machine.
    let ttl = Duration::from_millis(600);
    let lock = locker.obtain_lock("C1", ttl, Duration::ZERO).await.unwrap();
    assert!(lock.has_keep_alive());
    let contender = locker.clone().with_keep_alive(false);

    // Over three TTLs the lock never becomes free.
    let until = tokio::time::Instant::now() + ttl * 3;
    while tokio::time::Instant::now() < until {
        assert_unavailable(contender.obtain_lock("C1", LONG_TTL, Duration::ZERO).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lock.release().await.unwrap();
    assert!(!lock.has_keep_alive());
    let next = contender
        .obtain_lock("C1", LONG_TTL, Duration::ZERO)
        .await
        .unwrap();
    next.release().await.unwrap();
}

#[tokio::test]
async fn keep_alive_stops_when_the_lock_was_lost() {
    let locker = locker("keep-alive-lost").await;
    let mut lock = locker
        .obtain_lock("C1", SHORT_TTL, Duration::ZERO)
        .await
        .unwrap();
    // Someone deletes the key behind the holder's back (as if it had expired) and takes the lock.
    let mut conn = redis_conn().await;
    let _: () = redis::cmd("DEL")
        .arg(lock.key())
        .query_async(&mut conn)
        .await
        .unwrap();
    let other = locker
        .obtain_lock("C1", LONG_TTL, Duration::ZERO)
        .await
        .unwrap();
    lock.start_keep_alive();
    eventually(
        "keep-alive stopped after finding the lock lost",
        Duration::from_secs(10),
        || {
            let running = lock.has_keep_alive();
            async move { !running }
        },
    )
    .await;
    // The other owner's lock is untouched: same owner, TTL still long.
    let pttl: i64 = redis::cmd("PTTL")
        .arg(other.key())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > SHORT_TTL.as_millis() as i64, "pttl {pttl}");
    other.release().await.unwrap();
}
