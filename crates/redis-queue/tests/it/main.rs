//! Integration tests of sm-redis-queue against a real Redis.

mod basics;
mod cluster;
mod cost;
mod interop;
mod multiprocess;
mod resilience;

use std::sync::Arc;
use std::time::Duration;

use sm_core::{FifoQueue, FifoQueueItem, NoopChannelLocker};
use sm_redis_queue::redis::aio::ConnectionManager;
use sm_redis_queue::{RedisFifoQueue, RedisFifoQueueOptions};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A key prefix of its own for one test (without the trailing colon).
pub(crate) fn prefix(name: &str) -> String {
    sm_test_support::unique_prefix(name)
        .trim_end_matches(':')
        .to_owned()
}

pub(crate) fn options(prefix: &str) -> RedisFifoQueueOptions {
    RedisFifoQueueOptions::default()
        .with_key_prefix(prefix)
        .with_poll_interval(Duration::from_secs(1))
        .with_lease_ttl(Duration::from_secs(3))
}

pub(crate) async fn conn_for(url: &str) -> ConnectionManager {
    let client = sm_redis_queue::redis::Client::open(url).unwrap();
    client.get_connection_manager().await.unwrap()
}

pub(crate) async fn queue_at(
    url: &str,
    name: &str,
    options: RedisFifoQueueOptions,
) -> Arc<RedisFifoQueue> {
    let client = sm_redis_queue::redis::Client::open(url).unwrap();
    let conn = client.get_connection_manager().await.unwrap();
    Arc::new(
        RedisFifoQueue::new(conn, Arc::new(NoopChannelLocker), name, options)
            .unwrap()
            .with_client(client),
    )
}

pub(crate) async fn queue(name: &str, options: RedisFifoQueueOptions) -> Arc<RedisFifoQueue> {
    queue_at(&sm_test_support::redis_url(), name, options).await
}

/// A running `receive` with its output channel.
pub(crate) struct Receiver {
    pub(crate) rx: mpsc::Receiver<FifoQueueItem>,
    pub(crate) cancel: CancellationToken,
    pub(crate) handle: JoinHandle<Result<(), sm_core::QueueError>>,
}

impl Receiver {
    pub(crate) fn start(queue: &Arc<RedisFifoQueue>, capacity: usize) -> Receiver {
        let (tx, rx) = mpsc::channel(capacity);
        let cancel = CancellationToken::new();
        let q = Arc::clone(queue);
        let c = cancel.clone();
        let handle = tokio::spawn(async move { q.receive(c, tx).await });
        Receiver { rx, cancel, handle }
    }

    /// The next item, failing the test after 20 s without one.
    pub(crate) async fn next(&mut self) -> FifoQueueItem {
        match tokio::time::timeout(Duration::from_secs(20), self.rx.recv()).await {
            Ok(Some(item)) => item,
            Ok(None) => panic!("receiver closed"),
            Err(_) => panic!("no item within 20 s"),
        }
    }

    /// Asserts that nothing arrives within `d` (used only where the absence is the property).
    pub(crate) async fn nothing_for(&mut self, d: Duration) {
        if let Ok(Some(item)) = tokio::time::timeout(d, self.rx.recv()).await {
            panic!("unexpected item {} {}", item.slack_channel_id, item.body);
        }
    }

    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        self.handle.await.unwrap().unwrap();
    }
}

/// Reads `count` entries of `stream` as a Go consumer named `consumer` does (group
/// `slack-manager`, no ack): they stay pending on that consumer.
pub(crate) async fn go_consumer_reads(
    conn: &mut ConnectionManager,
    stream: &str,
    consumer: &str,
    count: usize,
) -> sm_redis_queue::redis::Value {
    sm_redis_queue::redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("slack-manager")
        .arg(consumer)
        .arg("COUNT")
        .arg(count)
        .arg("STREAMS")
        .arg(stream)
        .arg(">")
        .query_async(conn)
        .await
        .unwrap()
}
