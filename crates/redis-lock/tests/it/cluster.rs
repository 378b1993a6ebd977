//! Redis Cluster: all keys of one lock in one slot, locks and wake-ups across nodes (tested on a
//! private three-node cluster started for this test).

use std::time::Duration;

use sm_redis_lock::{RedisChannelLocker, redis};
use sm_test_support::RedisCluster as Cluster;

use crate::{assert_unavailable, wait_subscribed};

const TTL: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_work_on_a_cluster_connection() {
    let cluster = tokio::task::block_in_place(Cluster::start);
    let cluster_client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let conn = cluster_client.get_async_connection().await.unwrap();
    // Pub/Sub through the first node only: PUBLISH reaches every node's subscribers.
    let node0 = redis::Client::open(cluster.urls()[0].as_str()).unwrap();
    let locker = RedisChannelLocker::new(conn.clone())
        .with_retry_backoff(Duration::from_secs(3600))
        .with_client(node0.clone());
    let hash_tagged = RedisChannelLocker::new(conn.clone()).with_key_prefix("{queue}:lock:");

    // Keys spread over all three nodes; the lock and fencing keys share a slot (checked by the
    // cluster itself), and the scripts run (they would fail with CROSSSLOT otherwise).
    let mut check = node0.get_multiplexed_async_connection().await.unwrap();
    for i in 0..30 {
        let key = format!("C{i}");
        for locker in [&locker, &hash_tagged] {
            let keys = locker.lock_keys(&key);
            let slot = |k: String| {
                let mut check = check.clone();
                async move {
                    redis::cmd("CLUSTER")
                        .arg("KEYSLOT")
                        .arg(k)
                        .query_async::<i64>(&mut check)
                        .await
                        .unwrap()
                }
            };
            assert_eq!(
                slot(keys.lock.clone()).await,
                slot(keys.fence.clone()).await
            );
            let lock = locker.obtain_lock(&key, TTL, Duration::ZERO).await.unwrap();
            assert_unavailable(locker.obtain_lock(&key, TTL, Duration::ZERO).await);
            lock.extend(TTL).await.unwrap();
            lock.release().await.unwrap();
            let again = locker.obtain_lock(&key, TTL, Duration::ZERO).await.unwrap();
            assert!(again.fencing_token() > lock.fencing_token());
            again.release().await.unwrap();
        }
    }

    // A waiter subscribed on node 0 wakes when a lock on any node is released.
    for i in 0..6 {
        let key = format!("W{i}");
        let held = locker.obtain_lock(&key, TTL, Duration::ZERO).await.unwrap();
        let waiter = {
            let locker = locker.clone();
            let key = key.clone();
            tokio::spawn(async move {
                locker
                    .obtain_lock(&key, TTL, Duration::from_secs(3600))
                    .await
            })
        };
        wait_subscribed(&mut check, &held.keys().channel).await;
        held.release().await.unwrap();
        let lock = tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("the waiter was not woken by a release on another node")
            .unwrap()
            .unwrap();
        lock.release().await.unwrap();
    }
}
