//! Redis unreachable, then back: clear errors, then working locks and wake-ups again.

use std::time::Duration;

use sm_redis_lock::{LockError, RedisChannelLocker, redis};
use sm_test_support::RedisServer;

use crate::wait_subscribed;

const TTL: Duration = Duration::from_secs(60);

#[tokio::test]
async fn obtain_reports_a_backend_error_while_redis_is_down_and_recovers() {
    let mut server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let conn = client.get_connection_manager().await.unwrap();
    let locker = RedisChannelLocker::new(conn)
        .with_retry_backoff(Duration::from_secs(3600))
        .with_client(client.clone());

    let before = locker.obtain_lock("C1", TTL, Duration::ZERO).await.unwrap();
    server.kill();

    // While Redis is down: a backend error naming the lock, not Unavailable, not a panic.
    match locker.obtain_lock("C2", TTL, Duration::ZERO).await {
        Err(LockError::Backend { context, .. }) => {
            assert!(
                context.contains("slack-manager:channel-lock:C2"),
                "{context}"
            );
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    // Release fails too (within its own timeout) and keeps the handle for a retry.
    assert!(matches!(
        before.release().await,
        Err(LockError::Backend { .. })
    ));
    assert!(before.is_held());

    server.restart();
    // The connection manager reconnects in the background; poll until it has.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let lock = loop {
        match locker.obtain_lock("C2", TTL, Duration::ZERO).await {
            Ok(lock) => break lock,
            Err(LockError::Backend { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("obtain after restart: {e}"),
        }
    };
    // The restarted server lost its data (no persistence): the old lock is gone, so its retried
    // release is fine.
    before.release().await.unwrap();

    // Wake-ups work again: the Pub/Sub connection reconnected.
    let waiter = {
        let locker = locker.clone();
        tokio::spawn(async move {
            locker
                .obtain_lock("C2", TTL, Duration::from_secs(3600))
                .await
        })
    };
    let mut check = client.get_multiplexed_async_connection().await.unwrap();
    wait_subscribed(&mut check, &lock.keys().channel).await;
    lock.release().await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("the waiter was not woken after the restart")
        .unwrap()
        .unwrap();
    next.release().await.unwrap();
}
