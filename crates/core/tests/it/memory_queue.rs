//! The in-memory queue: per-channel FIFO, one in flight per channel, nack redelivers first.

use std::time::Duration;

use sm_core::{FifoQueue, FifoQueueItem, FifoQueueProducer, InMemoryFifoQueue, QueueError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Running {
    rx: mpsc::Receiver<FifoQueueItem>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), QueueError>>,
}

fn start(queue: &InMemoryFifoQueue) -> Running {
    let (tx, rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let q = queue.clone();
    let c = cancel.clone();
    let task = tokio::spawn(async move { q.receive(c, tx).await });
    Running { rx, cancel, task }
}

impl Running {
    async fn next(&mut self) -> FifoQueueItem {
        self.rx.recv().await.expect("receiver closed")
    }

    async fn stop(mut self) {
        self.cancel.cancel();
        self.task.await.unwrap().unwrap();
        // The sink is dropped when receive returns: draining ends (items still buffered are nacked on drop).
        while self.rx.recv().await.is_some() {}
    }
}

#[tokio::test]
async fn per_channel_fifo_with_one_in_flight() {
    let q = InMemoryFifoQueue::new("q");
    for i in 0..3 {
        q.send("A", "", &format!("a{i}")).await.unwrap();
        q.send("B", "", &format!("b{i}")).await.unwrap();
    }
    let mut r = start(&q);
    let first = r.next().await;
    let second = r.next().await;
    // Round-robin over ready channels, one message per channel in flight.
    assert_eq!((first.body.as_str(), second.body.as_str()), ("a0", "b0"));
    assert!(
        tokio::time::timeout(Duration::from_millis(50), r.rx.recv())
            .await
            .is_err()
    );
    first.ack().await.unwrap();
    let third = r.next().await;
    assert_eq!(third.body, "a1");
    second.ack().await.unwrap();
    let fourth = r.next().await;
    assert_eq!(fourth.body, "b1");
    third.ack().await.unwrap();
    fourth.ack().await.unwrap();
    r.stop().await;
}

#[tokio::test]
async fn nack_and_drop_redeliver_the_same_message_first() {
    let q = InMemoryFifoQueue::new("q");
    q.send("A", "", "1").await.unwrap();
    q.send("A", "", "2").await.unwrap();
    let mut r = start(&q);
    let item = r.next().await;
    assert_eq!(item.body, "1");
    item.nack().await.unwrap();
    let item = r.next().await;
    assert_eq!(item.body, "1");
    drop(item);
    let item = r.next().await;
    assert_eq!(item.body, "1");
    item.ack().await.unwrap();
    let item = r.next().await;
    assert_eq!(item.body, "2");
    item.ack().await.unwrap();
    assert!(q.is_empty());
    r.stop().await;
}

#[tokio::test]
async fn send_wakes_a_waiting_receiver() {
    let q = InMemoryFifoQueue::new("q");
    let mut r = start(&q);
    tokio::task::yield_now().await;
    q.send("NEW", "", "x").await.unwrap();
    let item = r.next().await;
    assert_eq!(item.slack_channel_id, "NEW");
    item.ack().await.unwrap();
    r.stop().await;
}

#[tokio::test]
async fn dedup_window_drops_repeats() {
    let q = InMemoryFifoQueue::new("q");
    q.send("A", "id-1", "x").await.unwrap();
    q.send("A", "id-1", "x").await.unwrap();
    q.send("A", "", "y").await.unwrap();
    q.send("A", "", "y").await.unwrap();
    assert_eq!(q.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn dedup_window_expires() {
    let q = InMemoryFifoQueue::new("q").with_dedup_window(Duration::from_secs(10));
    q.send("A", "id-1", "x").await.unwrap();
    tokio::time::advance(Duration::from_secs(11)).await;
    q.send("A", "id-1", "x").await.unwrap();
    assert_eq!(q.len(), 2);
}

#[tokio::test]
async fn full_channel_refuses_sends_and_other_channels_continue() {
    let q = InMemoryFifoQueue::new("alerts").with_max_channel_backlog(2);
    q.send("A", "", "1").await.unwrap();
    q.send("A", "", "2").await.unwrap();
    let err = q.send("A", "", "3").await.unwrap_err();
    assert!(matches!(err, QueueError::Full { ref channel, max: 2, .. } if channel == "A"));
    assert_eq!(
        err.to_string(),
        "queue alerts is full for channel A (2 messages waiting)"
    );
    q.send("B", "", "1").await.unwrap();
}

#[tokio::test]
async fn empty_arguments_are_errors() {
    let q = InMemoryFifoQueue::new("q");
    assert!(matches!(
        q.send("", "", "x").await,
        Err(QueueError::InvalidArgument(_))
    ));
    assert!(matches!(
        q.send("A", "", "").await,
        Err(QueueError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn many_channels_all_delivered_in_order() {
    let q = InMemoryFifoQueue::new("q");
    for i in 0..50 {
        for c in 0..20 {
            q.send(&format!("C{c}"), "", &i.to_string()).await.unwrap();
        }
    }
    let mut r = start(&q);
    let mut next = [0; 20];
    for _ in 0..1000 {
        let item = r.next().await;
        let c: usize = item.slack_channel_id[1..].parse().unwrap();
        assert_eq!(item.body, next[c].to_string());
        next[c] += 1;
        item.ack().await.unwrap();
    }
    assert!(next.iter().all(|n| *n == 50));
    r.stop().await;
}
