//! Construction, ordering, ack/nack, dedup, backpressure, dead letters, fairness.

use std::sync::Arc;
use std::time::Duration;

use sm_core::{FifoQueueProducer, NoopChannelLocker, QueueError};
use sm_redis_queue::redis::AsyncCommands;
use sm_redis_queue::{KeyLayout, RedisFifoQueue, RedisFifoQueueOptions, RedisFifoQueueProducer};

use crate::{Receiver, options, prefix, queue};

#[tokio::test]
async fn construction_validates_name_and_options() {
    let conn = sm_test_support::redis_connection_manager().await;
    let o = RedisFifoQueueOptions::default;
    let err = |r: Result<RedisFifoQueueProducer, QueueError>| r.unwrap_err().to_string();
    assert!(
        err(RedisFifoQueueProducer::new(conn.clone(), "", o()))
            .contains("queue name cannot be empty")
    );
    for bad in ["a:b", "a b", "a\tb", "a\nb"] {
        assert!(
            err(RedisFifoQueueProducer::new(conn.clone(), bad, o()))
                .contains("queue name cannot contain colons, spaces, or whitespace"),
            "{bad:?}"
        );
    }
    RedisFifoQueueProducer::new(conn.clone(), "a\rb", o()).unwrap();
    assert!(
        err(RedisFifoQueueProducer::new(
            conn.clone(),
            "q",
            o().with_max_stream_length(10)
        ))
        .contains("max stream length must be at least 100")
    );
    let q = RedisFifoQueue::new(
        conn.clone(),
        Arc::new(NoopChannelLocker),
        "q",
        o().with_lock_ttl(Duration::from_secs(5)),
    );
    assert!(matches!(q, Err(QueueError::InvalidOption(m)) if m.starts_with("lock TTL")));
    let q = RedisFifoQueue::new(conn.clone(), Arc::new(NoopChannelLocker), "alerts", o()).unwrap();
    assert_eq!(q.name(), "alerts");
    assert!(q.consumer_name().len() > 27);
    assert_eq!(
        q.producer().stream_key("C123"),
        "slack-manager:queue:alerts:stream:C123"
    );
    let e = q.send("", "", "x").await.unwrap_err();
    assert!(matches!(e, QueueError::InvalidArgument(_)));
    let e = q.send("C1", "", "").await.unwrap_err();
    assert!(matches!(e, QueueError::InvalidArgument(_)));
}

#[tokio::test]
async fn per_channel_order_with_one_in_flight_and_acks_chaining() {
    let p = prefix("order");
    let q = queue("q", options(&p)).await;
    for i in 0..30 {
        q.send("C1", "", &format!("a{i}")).await.unwrap();
    }
    let mut r = Receiver::start(&q, 10);
    let first = r.next().await;
    assert_eq!(first.body, "a0");
    // One message in flight per channel: the second waits for the ack.
    r.nothing_for(Duration::from_millis(300)).await;
    first.ack().await.unwrap();
    for i in 1..30 {
        let item = r.next().await;
        assert_eq!(
            (item.slack_channel_id.as_str(), item.body.as_str()),
            ("C1", format!("a{i}").as_str())
        );
        item.ack().await.unwrap();
    }
    // Acked entries leave the stream: it holds only the backlog.
    let mut conn = sm_test_support::redis_connection_manager().await;
    let len: u64 = conn.xlen(q.producer().stream_key("C1")).await.unwrap();
    assert_eq!(len, 0);
    r.stop().await;
}

#[tokio::test]
async fn nack_redelivers_the_same_message_first_w4() {
    let p = prefix("nack");
    let q = queue("q", options(&p)).await;
    for b in ["m1", "m2", "m3"] {
        q.send("C1", "", b).await.unwrap();
    }
    let mut r = Receiver::start(&q, 10);
    let a = r.next().await;
    assert_eq!(a.body, "m1");
    a.nack().await.unwrap();
    let a = r.next().await;
    assert_eq!(a.body, "m1");
    drop(a); // dropping behaves as nack
    let a = r.next().await;
    assert_eq!(a.body, "m1");
    a.ack().await.unwrap();
    let b = r.next().await;
    assert_eq!(b.body, "m2");
    b.ack().await.unwrap();
    assert_eq!(r.next().await.body, "m3");
    r.stop().await;
}

#[tokio::test]
async fn redelivery_delay_holds_the_channel_but_not_others() {
    let p = prefix("delay");
    let q = queue(
        "q",
        options(&p).with_redelivery_delay(Duration::from_millis(800)),
    )
    .await;
    q.send("C1", "", "x1").await.unwrap();
    q.send("C1", "", "x2").await.unwrap();
    let mut r = Receiver::start(&q, 10);
    let a = r.next().await;
    assert_eq!(a.body, "x1");
    let nacked_at = std::time::Instant::now();
    a.nack().await.unwrap();
    q.send("C2", "", "y1").await.unwrap();
    let b = r.next().await;
    assert_eq!(b.body, "y1", "another channel is not held up by the delay");
    b.ack().await.unwrap();
    let a = r.next().await;
    assert_eq!(a.body, "x1", "the nacked message comes back before x2");
    assert!(nacked_at.elapsed() >= Duration::from_millis(700));
    a.ack().await.unwrap();
    assert_eq!(r.next().await.body, "x2");
    r.stop().await;
}

#[tokio::test]
async fn dedup_window_drops_repeats_atomically_w12() {
    let p = prefix("dedup");
    let q = queue("q", options(&p)).await;
    q.send("C1", "d1", "first").await.unwrap();
    q.send("C1", "d1", "repeat").await.unwrap();
    q.send("C1", "d2", "second").await.unwrap();
    q.send("C1", "", "no-dedup").await.unwrap();
    q.send("C1", "", "no-dedup").await.unwrap();
    let mut conn = sm_test_support::redis_connection_manager().await;
    let len: u64 = conn.xlen(q.producer().stream_key("C1")).await.unwrap();
    assert_eq!(len, 4);
    let mut r = Receiver::start(&q, 10);
    for b in ["first", "second", "no-dedup", "no-dedup"] {
        let i = r.next().await;
        assert_eq!(i.body, b);
        i.ack().await.unwrap();
    }
    r.stop().await;
}

#[tokio::test]
async fn full_backlog_is_refused_never_trimmed_w11() {
    let p = prefix("full");
    let q = queue("q", options(&p).with_max_stream_length(100)).await;
    for i in 0..100 {
        q.send("C1", "", &format!("m{i}")).await.unwrap();
    }
    match q.send("C1", "", "overflow").await {
        Err(QueueError::Full { channel, max, .. }) => {
            assert_eq!((channel.as_str(), max), ("C1", 100))
        }
        other => panic!("expected Full, got {other:?}"),
    }
    // Other channels are unaffected.
    q.send("C2", "", "other").await.unwrap();
    let mut r = Receiver::start(&q, 1);
    let mut seen = Vec::new();
    let mut first_c1 = None;
    while first_c1.is_none() || seen.len() < 2 {
        let i = r.next().await;
        if i.slack_channel_id == "C1" && first_c1.is_none() {
            first_c1 = Some(i.body.clone());
        }
        seen.push(i.body.clone());
        i.ack().await.unwrap();
    }
    assert_eq!(
        first_c1.as_deref(),
        Some("m0"),
        "the oldest message was not trimmed"
    );
    r.stop().await;
    // After an ack there is room again.
    q.send("C1", "", "fits").await.unwrap();
}

#[tokio::test]
async fn poison_entries_go_to_dead_letters_and_can_be_redriven_w5() {
    let p = prefix("dlq");
    let q = queue("q", options(&p).with_max_deliveries(1)).await;
    let mut conn = sm_test_support::redis_connection_manager().await;
    let stream = q.producer().stream_key("C1");
    q.send("C1", "", "good1").await.unwrap();
    // An entry without a body, as a broken producer might write it.
    let _: String = sm_redis_queue::redis::cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("channel_id")
        .arg("C1")
        .query_async(&mut conn)
        .await
        .unwrap();
    q.send("C1", "", "poison").await.unwrap();
    q.send("C1", "", "good2").await.unwrap();
    let mut r = Receiver::start(&q, 10);
    let i = r.next().await;
    assert_eq!(i.body, "good1");
    i.ack().await.unwrap();
    // The body-less entry is skipped; "poison" fails twice (more than max_deliveries = 1).
    let i = r.next().await;
    assert_eq!(i.body, "poison");
    i.nack().await.unwrap();
    let i = r.next().await;
    assert_eq!(i.body, "poison");
    i.nack().await.unwrap();
    let i = r.next().await;
    assert_eq!(
        i.body, "good2",
        "the channel continues after the dead letters"
    );
    i.ack().await.unwrap();
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].reason, "entry has no body");
    assert_eq!(dead[0].body, "");
    assert_eq!(dead[1].body, "poison");
    assert!(
        dead[1].reason.starts_with("delivery failed 2 times"),
        "{}",
        dead[1].reason
    );
    assert_eq!(dead[1].slack_channel_id, "C1");
    assert_eq!(dead[1].stream, stream);
    assert!(q.redrive_dead_letter(&dead[1]).await.unwrap());
    assert!(
        !q.redrive_dead_letter(&dead[1]).await.unwrap(),
        "a dead letter redrives once"
    );
    assert!(matches!(
        q.redrive_dead_letter(&dead[0]).await,
        Err(QueueError::InvalidArgument(_))
    ));
    let i = r.next().await;
    assert_eq!(i.body, "poison");
    i.ack().await.unwrap();
    assert_eq!(q.dead_letters(10).await.unwrap().len(), 1);
    // Poison again, then redrive everything: only letters with a body go back.
    q.send("C1", "", "poison2").await.unwrap();
    for _ in 0..2 {
        let i = r.next().await;
        assert_eq!(i.body, "poison2");
        i.nack().await.unwrap();
    }
    assert_eq!(q.redrive_all_dead_letters().await.unwrap(), 1);
    let i = r.next().await;
    assert_eq!(i.body, "poison2");
    i.ack().await.unwrap();
    let left = q.dead_letters(10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].reason, "entry has no body");
    r.stop().await;
}

#[tokio::test]
async fn channels_are_served_round_robin_and_a_held_channel_stalls_nobody_w17() {
    let p = prefix("fair");
    let q = queue("q", options(&p)).await;
    for i in 0..3 {
        for c in ["A", "B", "C"] {
            q.send(c, "", &format!("{c}{i}")).await.unwrap();
        }
    }
    q.send("H", "", "held").await.unwrap();
    q.send("H", "", "after-held").await.unwrap();
    let mut r = Receiver::start(&q, 1);
    let mut order = Vec::new();
    let mut held = None;
    while order.len() < 9 {
        let i = r.next().await;
        if i.slack_channel_id == "H" {
            assert_eq!(i.body, "held");
            held = Some(i); // never acked during the run: H is stuck
            continue;
        }
        order.push(i.body.clone());
        i.ack().await.unwrap();
    }
    assert!(held.is_some());
    // Round robin with bounded lead: at no point has one ready channel had more than one message
    // more delivered than another than the claim batch and the ack hand-off allow (the ack of a
    // channel may hand its next message to the same consumer while the others' next messages are
    // already claimed, so one channel can be at most two ahead). A FIFO over channels (A0 A1 A2 …)
    // would be three ahead.
    let mut delivered = std::collections::HashMap::new();
    for body in &order {
        *delivered.entry(&body[..1]).or_insert(0) += 1;
        let counts: Vec<i32> = ["A", "B", "C"]
            .iter()
            .map(|c| *delivered.get(c).unwrap_or(&0))
            .collect();
        let lead = counts.iter().max().unwrap() - counts.iter().min().unwrap();
        assert!(lead <= 2, "round robin broken: {order:?}");
    }
    // Each channel's first message goes out before any channel's third.
    let first_third = order.iter().position(|b| b.ends_with('2')).unwrap();
    for c in ["A0", "B0", "C0"] {
        let at = order.iter().position(|b| b == c).unwrap();
        assert!(at < first_third, "round robin broken: {order:?}");
    }
    held.unwrap().ack().await.unwrap();
    assert_eq!(r.next().await.body, "after-held");
    r.stop().await;
}

#[tokio::test]
async fn cluster_layout_works_on_a_single_node_too() {
    let p = prefix("layout");
    let q = queue(
        "q",
        options(&p).with_key_layout(KeyLayout::Cluster { shards: 4 }),
    )
    .await;
    for c in 0..8 {
        for i in 0..3 {
            q.send(&format!("C{c}"), "", &format!("{i}")).await.unwrap();
        }
    }
    assert!(
        q.producer()
            .stream_key("C1")
            .starts_with(&format!("{p}:{{q:"))
    );
    let mut r = Receiver::start(&q, 10);
    let mut next = std::collections::HashMap::new();
    for _ in 0..24 {
        let i = r.next().await;
        let n = next.entry(i.slack_channel_id.clone()).or_insert(0);
        assert_eq!(i.body, n.to_string());
        *n += 1;
        i.ack().await.unwrap();
    }
    r.stop().await;
}

/// An in-process locker standing in for a Go consumer's locks (same contract as the Redis one).
#[derive(Default, Clone)]
struct MemoryLocker {
    held: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

struct MemoryLock {
    key: String,
    held: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    released: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl sm_core::ChannelLocker for MemoryLocker {
    async fn obtain(
        &self,
        key: &str,
        _ttl: Duration,
        _max_wait: Duration,
    ) -> Result<Box<dyn sm_core::ChannelLock>, sm_core::LockError> {
        if !self.held.lock().unwrap().insert(key.to_owned()) {
            return Err(sm_core::LockError::Unavailable);
        }
        Ok(Box::new(MemoryLock {
            key: key.to_owned(),
            held: Arc::clone(&self.held),
            released: false.into(),
        }))
    }
}

#[async_trait::async_trait]
impl sm_core::ChannelLock for MemoryLock {
    fn key(&self) -> &str {
        &self.key
    }

    async fn release(&self) -> Result<(), sm_core::LockError> {
        if !self
            .released
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.held.lock().unwrap().remove(&self.key);
        }
        Ok(())
    }
}

#[tokio::test]
async fn with_the_channel_locker_option_the_go_lock_is_held_per_message() {
    let p = prefix("locker");
    let locker = MemoryLocker::default();
    let client = sm_redis_queue::redis::Client::open(sm_test_support::redis_url()).unwrap();
    let q = Arc::new(
        RedisFifoQueue::new(
            client.get_connection_manager().await.unwrap(),
            Arc::new(locker.clone()),
            "q",
            options(&p).with_channel_locker(true),
        )
        .unwrap()
        .with_client(client),
    );
    // A Go consumer holds C1's lock, under the Go key name.
    let go_lock = sm_core::ChannelLocker::obtain(
        &locker,
        &format!("{p}:q:lock:C1"),
        Duration::from_secs(30),
        Duration::ZERO,
    )
    .await
    .unwrap();
    q.send("C1", "", "c1").await.unwrap();
    q.send("C2", "", "c2").await.unwrap();
    let mut r = Receiver::start(&q, 10);
    let item = r.next().await;
    assert_eq!(item.body, "c2", "C1 waits for the Go consumer's lock");
    assert!(
        locker
            .held
            .lock()
            .unwrap()
            .contains(&format!("{p}:q:lock:C2")),
        "lock held while in flight"
    );
    item.ack().await.unwrap();
    assert!(
        !locker
            .held
            .lock()
            .unwrap()
            .contains(&format!("{p}:q:lock:C2")),
        "released after the ack"
    );
    go_lock.release().await.unwrap();
    let item = r.next().await;
    assert_eq!(item.body, "c1");
    item.ack().await.unwrap();
    r.stop().await;
}
