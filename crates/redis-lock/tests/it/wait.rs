//! The retry plan (`max_wait` against the backoff) and wake-ups on release and on expiry.

use std::time::Duration;

use sm_redis_lock::{RedisChannelLocker, redis};

use crate::{CountingConn, assert_unavailable, eventually, redis_conn, wait_subscribed};

const LONG: Duration = Duration::from_secs(3600);

/// A locker counting its commands, and a holder of `key` on the same prefix.
async fn counting_locker(name: &str, backoff: Duration) -> (RedisChannelLocker, CountingConn) {
    let conn = CountingConn::open(&sm_test_support::redis_url()).await;
    let locker = RedisChannelLocker::new(conn.clone())
        .with_key_prefix(sm_test_support::unique_prefix(name))
        .with_retry_backoff(backoff);
    // Warm up: make sure the scripts are loaded, so every attempt is exactly one EVALSHA.
    let lock = locker
        .obtain_lock("warm-up", LONG, Duration::ZERO)
        .await
        .unwrap();
    lock.release().await.unwrap();
    (locker, conn)
}

#[tokio::test]
async fn max_wait_zero_is_one_attempt() {
    let (locker, conn) = counting_locker("wait-zero", Duration::from_millis(10)).await;
    let held = locker
        .obtain_lock("C1", LONG, Duration::ZERO)
        .await
        .unwrap();
    let before = conn.count();
    assert_unavailable(locker.obtain_lock("C1", LONG, Duration::ZERO).await);
    assert_eq!(conn.count() - before, 1);
    held.release().await.unwrap();
}

#[tokio::test]
async fn max_wait_shorter_than_the_backoff_is_one_attempt() {
    // Default backoff of 2 s, wait of 1.5 s: Go makes one attempt, and so do we.
    let (locker, conn) = counting_locker("wait-short", Duration::ZERO).await;
    let held = locker
        .obtain_lock("C1", LONG, Duration::ZERO)
        .await
        .unwrap();
    let before = conn.count();
    assert_unavailable(
        locker
            .obtain_lock("C1", LONG, Duration::from_millis(1500))
            .await,
    );
    assert_eq!(conn.count() - before, 1);
    held.release().await.unwrap();
}

#[tokio::test]
async fn several_backoffs_attempt_once_per_tick() {
    // 200 ms backoff, 850 ms wait: attempts at 0, 200, 400, 600 and 800 ms.
    let (locker, conn) = counting_locker("wait-ticks", Duration::from_millis(200)).await;
    let held = locker
        .obtain_lock("C1", LONG, Duration::ZERO)
        .await
        .unwrap();
    let before = conn.count();
    assert_unavailable(
        locker
            .obtain_lock("C1", LONG, Duration::from_millis(850))
            .await,
    );
    assert_eq!(conn.count() - before, 5);
    held.release().await.unwrap();
}

#[tokio::test]
async fn the_wait_is_bounded_by_the_ttl() {
    // Backoff 200 ms, wait 10 s, but a TTL of 500 ms bounds the wait as in Go: attempts at 0, 200,
    // 400 and 500 ms.
    let (locker, conn) = counting_locker("wait-ttl", Duration::from_millis(200)).await;
    let held = locker
        .obtain_lock("C1", LONG, Duration::ZERO)
        .await
        .unwrap();
    let before = conn.count();
    assert_unavailable(
        locker
            .obtain_lock("C1", Duration::from_millis(500), Duration::from_secs(10))
            .await,
    );
    assert_eq!(conn.count() - before, 4);
    held.release().await.unwrap();
}

#[tokio::test]
async fn polling_waiter_gets_the_lock_at_a_later_tick() {
    let (locker, conn) = counting_locker("wait-poll", Duration::from_millis(20)).await;
    let held = locker
        .obtain_lock("C1", LONG, Duration::ZERO)
        .await
        .unwrap();
    let before = conn.count();
    let waiter = {
        let locker = locker.clone();
        tokio::spawn(async move {
            locker
                .obtain_lock("C1", LONG, Duration::from_secs(60))
                .await
        })
    };
    // Release only once the waiter has failed at least once.
    eventually(
        "the waiter's first attempt",
        Duration::from_secs(10),
        || {
            let n = conn.count();
            async move { n > before }
        },
    )
    .await;
    held.release().await.unwrap();
    let lock = waiter.await.unwrap().unwrap();
    assert!(lock.fencing_token() > held.fencing_token());
    lock.release().await.unwrap();
}

#[tokio::test]
async fn waiting_obtain_wakes_on_release() {
    // Backoff and TTLs of an hour: only the release message can wake the waiter in time.
    let client = sm_test_support::redis_client().await;
    let locker = RedisChannelLocker::new(redis_conn().await)
        .with_key_prefix(sm_test_support::unique_prefix("wake"))
        .with_retry_backoff(LONG)
        .with_client(client);
    let held = locker
        .obtain_lock("C1", LONG, Duration::ZERO)
        .await
        .unwrap();
    let waiter = {
        let locker = locker.clone();
        tokio::spawn(async move { locker.obtain_lock("C1", LONG, LONG).await })
    };
    let mut conn = redis_conn().await;
    wait_subscribed(&mut conn, &held.keys().channel).await;
    held.release().await.unwrap();
    let lock = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("the waiter was not woken by the release")
        .unwrap()
        .unwrap();
    assert!(lock.fencing_token() > held.fencing_token());
    // The waiter unsubscribed once it had the lock.
    eventually("the waiter unsubscribed", Duration::from_secs(10), || {
        let mut conn = conn.clone();
        let channel = lock.keys().channel.clone();
        async move {
            let (_, n): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async(&mut conn)
                .await
                .unwrap();
            n == 0
        }
    })
    .await;
    lock.release().await.unwrap();
}

#[tokio::test]
async fn several_waiters_all_get_the_lock_in_turn() {
    let client = sm_test_support::redis_client().await;
    let locker = RedisChannelLocker::new(redis_conn().await)
        .with_key_prefix(sm_test_support::unique_prefix("wake-many"))
        .with_retry_backoff(LONG)
        .with_client(client);
    let held = locker
        .obtain_lock("C1", LONG, Duration::ZERO)
        .await
        .unwrap();
    let mut waiters = Vec::new();
    for _ in 0..5 {
        let locker = locker.clone();
        waiters.push(tokio::spawn(async move {
            let lock = locker.obtain_lock("C1", LONG, LONG).await.unwrap();
            let token = lock.fencing_token();
            lock.release().await.unwrap();
            token
        }));
    }
    let mut conn = redis_conn().await;
    wait_subscribed(&mut conn, &held.keys().channel).await;
    held.release().await.unwrap();
    let mut tokens = Vec::new();
    for waiter in waiters {
        let token = tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("a waiter was not woken by a release")
            .unwrap();
        tokens.push(token);
    }
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), 5);
    assert!(tokens[0] > held.fencing_token());
}

#[tokio::test]
async fn waiting_obtain_wakes_when_the_holder_expires() {
    // Backoff of an hour and no Pub/Sub: the attempt scheduled at the holder's expiry gets it.
    let locker = RedisChannelLocker::new(redis_conn().await)
        .with_key_prefix(sm_test_support::unique_prefix("wake-expiry"))
        .with_retry_backoff(LONG);
    let held = locker
        .obtain_lock("C1", Duration::from_millis(300), Duration::ZERO)
        .await
        .unwrap();
    let lock = tokio::time::timeout(
        Duration::from_secs(30),
        locker.obtain_lock("C1", LONG, LONG),
    )
    .await
    .expect("the waiter did not retry at the holder's expiry")
    .unwrap();
    assert!(lock.fencing_token() > held.fencing_token());
    lock.release().await.unwrap();
}
