//! W16: the cluster layout on a local 3-master Redis Cluster started by the test.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use sm_core::{FifoQueue, FifoQueueProducer, NoopChannelLocker};
use sm_redis_queue::redis;
use sm_redis_queue::{KeyLayout, RedisFifoQueue};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{options, prefix};

/// The private cluster and a per-node key count.
struct Cluster(sm_test_support::RedisCluster);

impl Cluster {
    fn start() -> Cluster {
        Cluster(sm_test_support::RedisCluster::start())
    }

    fn ports(&self) -> Vec<u16> {
        self.0.ports()
    }

    fn keys_per_node(&self) -> Vec<u64> {
        self.ports()
            .iter()
            .map(|p| {
                let out = Command::new("redis-cli")
                    .args(["-p", &p.to_string(), "dbsize"])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_layout_runs_on_a_three_master_cluster_w16() {
    let cluster = tokio::task::block_in_place(Cluster::start);
    let urls = cluster.0.urls();
    let conn = redis::cluster::ClusterClient::new(urls.clone())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    let p = prefix("cluster");
    let o = options(&p).with_key_layout(KeyLayout::Cluster { shards: 16 });
    let q = Arc::new(
        RedisFifoQueue::new(conn, Arc::new(NoopChannelLocker), "q", o)
            .unwrap()
            .with_client(redis::Client::open(urls[0].as_str()).unwrap()),
    );
    const CHANNELS: usize = 24;
    const PER_CHANNEL: usize = 10;
    for seq in 0..PER_CHANNEL {
        for c in 0..CHANNELS {
            q.send(&format!("C{c}"), &format!("d{c}-{seq}"), &seq.to_string())
                .await
                .unwrap();
        }
    }
    // A repeat within the dedup window is dropped on the cluster too.
    q.send("C0", "d0-0", "0").await.unwrap();
    let spread = cluster.keys_per_node();
    assert!(
        spread.iter().filter(|n| **n > 0).count() >= 2,
        "channels spread over nodes: {spread:?}"
    );
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let run = {
        let q = Arc::clone(&q);
        let c = cancel.clone();
        tokio::spawn(async move { q.receive(c, tx).await })
    };
    let mut next = std::collections::HashMap::new();
    for _ in 0..CHANNELS * PER_CHANNEL {
        let item = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let n = next.entry(item.slack_channel_id.clone()).or_insert(0usize);
        assert_eq!(
            item.body,
            n.to_string(),
            "order on {}",
            item.slack_channel_id
        );
        *n += 1;
        item.ack().await.unwrap();
    }
    // A message sent now, on a new channel, wakes the waiting consumer through Pub/Sub.
    q.producer().send("LATE", "", "late").await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.body, "late");
    item.nack().await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.body, "late");
    item.ack().await.unwrap();
    assert!(q.dead_letters(10).await.unwrap().is_empty());
    q.scan_streams(true).await.unwrap();
    cancel.cancel();
    run.await.unwrap().unwrap();
}
