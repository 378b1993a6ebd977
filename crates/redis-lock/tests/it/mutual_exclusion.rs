//! Many concurrent obtainers on one key: never two holders, fencing tokens strictly increasing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sm_redis_lock::{LockError, RedisChannelLocker};
use tokio::sync::Mutex;

const OBTAINERS: usize = 100;
const ROUNDS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_obtainers_thousand_rounds_never_overlap() {
    let prefix = sm_test_support::unique_prefix("mutex");
    let conn = sm_test_support::redis_connection_manager().await;
    // Half the obtainers are woken by Pub/Sub, half poll every 5 ms (two processes' worth of
    // lockers: they share only Redis).
    let woken = RedisChannelLocker::new(conn.clone())
        .with_key_prefix(&prefix)
        .with_retry_backoff(Duration::from_millis(50))
        .with_client(sm_test_support::redis_client().await);
    let polling = RedisChannelLocker::new(conn)
        .with_key_prefix(&prefix)
        .with_retry_backoff(Duration::from_millis(5));

    let inside = Arc::new(AtomicUsize::new(0));
    let rounds = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(Mutex::new(Vec::with_capacity(ROUNDS)));
    let mut tasks = Vec::new();
    for i in 0..OBTAINERS {
        let locker = if i % 2 == 0 {
            woken.clone()
        } else {
            polling.clone()
        };
        let (inside, rounds, tokens) = (inside.clone(), rounds.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let mut unavailable = 0usize;
            while rounds.load(Ordering::SeqCst) < ROUNDS {
                // TTL far above a critical section; wait bounded by the TTL.
                let lock = match locker
                    .obtain_lock("C1", Duration::from_secs(10), Duration::from_secs(10))
                    .await
                {
                    Ok(lock) => lock,
                    Err(LockError::Unavailable) => {
                        unavailable += 1;
                        continue;
                    }
                    Err(e) => panic!("obtain failed: {e}"),
                };
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders at once"
                );
                let counted = rounds.fetch_add(1, Ordering::SeqCst) < ROUNDS;
                if counted {
                    tokens.lock().await.push(lock.fencing_token());
                }
                tokio::task::yield_now().await;
                assert_eq!(
                    inside.fetch_sub(1, Ordering::SeqCst),
                    1,
                    "two holders at once"
                );
                lock.release().await.unwrap();
            }
            unavailable
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let tokens = tokens.lock().await;
    assert_eq!(tokens.len(), ROUNDS);
    // Pushed inside the critical section, so in holder order: strictly increasing.
    for pair in tokens.windows(2) {
        assert!(pair[0] < pair[1], "fencing tokens not increasing: {pair:?}");
    }
}
