//! Leases and fencing (W6), stale state (W8, W13), safe cleanup (W7).

use std::time::Duration;

use sm_core::{FifoQueueProducer, QueueError};
use sm_redis_queue::redis::{self, AsyncCommands};

use crate::{Receiver, go_consumer_reads, options, prefix, queue};

#[tokio::test]
async fn slow_processing_keeps_the_lease_and_nobody_else_gets_the_channel_w6() {
    let p = prefix("lease");
    let o = options(&p).with_lease_ttl(Duration::from_secs(1));
    let q1 = queue("q", o.clone()).await;
    let q2 = queue("q", o).await;
    q1.send("C1", "", "m1").await.unwrap();
    q1.send("C1", "", "m2").await.unwrap();
    let mut r1 = Receiver::start(&q1, 10);
    let item = r1.next().await;
    assert_eq!(item.body, "m1");
    let mut r2 = Receiver::start(&q2, 10);
    // Processing takes three lease lengths; the heartbeat keeps the channel owned.
    r2.nothing_for(Duration::from_secs(3)).await;
    r1.nothing_for(Duration::from_millis(10)).await;
    item.ack().await.unwrap();
    let next = tokio::select! {
        i = r1.next() => i,
        i = r2.next() => i,
    };
    assert_eq!(next.body, "m2");
    next.ack().await.unwrap();
    r1.stop().await;
    r2.stop().await;
}

#[tokio::test]
async fn a_holder_whose_lease_was_lost_is_fenced_off() {
    let p = prefix("fence");
    // A long lease for the first holder: its heartbeat does not run during the test.
    let q1 = queue("q", options(&p).with_lease_ttl(Duration::from_secs(60))).await;
    let q2 = queue("q", options(&p)).await;
    q1.send("C1", "", "m1").await.unwrap();
    let mut r1 = Receiver::start(&q1, 10);
    let stale = r1.next().await;
    // Simulate a partition that outlasted the lease: expire it in Redis; another consumer
    // then takes the message.
    r1.stop().await;
    let mut conn = sm_test_support::redis_connection_manager().await;
    let base = format!("{p}:q");
    // (the schedule's score of an in-flight channel is its lease deadline)
    let _: () = conn
        .zadd(format!("{base}:schedule"), "C1", 0)
        .await
        .unwrap();
    let mut r2 = Receiver::start(&q2, 10);
    let fresh = r2.next().await;
    assert_eq!(fresh.body, "m1");
    assert_eq!(fresh.message_id, stale.message_id);
    match stale.ack().await {
        Err(QueueError::LeaseLost { message_id, .. }) => assert_eq!(message_id, fresh.message_id),
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    fresh.ack().await.unwrap();
    r2.stop().await;
}

#[tokio::test]
async fn streams_deleted_elsewhere_are_forgotten_and_recreated_streams_work_w8() {
    let p = prefix("stale");
    let q = queue("q", options(&p)).await;
    q.send("C1", "", "old").await.unwrap();
    let mut conn = sm_test_support::redis_connection_manager().await;
    let stream = q.producer().stream_key("C1");
    // Another instance deletes the stream (and its group).
    let _: () = conn.del(&stream).await.unwrap();
    let (_, deleted) = q.scan_streams(true).await.unwrap();
    assert_eq!(deleted, 1);
    let members: Vec<String> = conn.smembers(format!("{p}:q:streams")).await.unwrap();
    assert!(members.is_empty());
    // A producer re-creates it: the group is created again and the message flows.
    q.send("C1", "", "new").await.unwrap();
    let mut r = Receiver::start(&q, 10);
    let item = r.next().await;
    assert_eq!(item.body, "new");
    item.ack().await.unwrap();
    r.stop().await;
}

#[tokio::test]
async fn idle_consumers_are_removed_after_their_entries_are_claimed_oldest_first_w13_w19() {
    let p = prefix("idle-consumer");
    let q = queue(
        "q",
        options(&p).with_consumer_idle_timeout(Duration::from_secs(1)),
    )
    .await;
    q.send("C1", "", "m1").await.unwrap();
    q.send("C1", "", "m2").await.unwrap();
    q.send("C1", "", "m3").await.unwrap();
    let mut conn = sm_test_support::redis_connection_manager().await;
    let stream = q.producer().stream_key("C1");
    // A dead Go consumer read two entries and never acked them.
    go_consumer_reads(&mut conn, &stream, "dead-go-consumer", 2).await;
    let mut r = Receiver::start(&q, 10);
    // Both entries pending on the dead consumer come first, oldest first, then the unread one.
    for body in ["m1", "m2", "m3"] {
        let item = r.next().await;
        assert_eq!(
            item.body, body,
            "pending entries are claimed in entry order"
        );
        item.ack().await.unwrap();
    }
    // Bounded wait for Redis's idle clock to pass the timeout, then scan.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        q.scan_streams(true).await.unwrap();
        let info: redis::Value = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&stream)
            .arg("slack-manager")
            .query_async(&mut conn)
            .await
            .unwrap();
        if !format!("{info:?}").contains("dead-go-consumer") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "idle consumer not removed: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    r.stop().await;
}

#[tokio::test]
async fn cleanup_deletes_only_inactive_empty_streams_w7() {
    let p = prefix("cleanup");
    let q = queue(
        "q",
        options(&p).with_stream_inactivity_timeout(Duration::from_secs(3600)),
    )
    .await;
    q.send("FULL", "", "pending").await.unwrap();
    q.send("EMPTY", "", "x").await.unwrap();
    let mut r = Receiver::start(&q, 10);
    let mut held = Vec::new();
    while held.len() < 2 {
        held.push(r.next().await);
    }
    // EMPTY's message is acked; FULL's stays in flight (pending).
    let (empty, in_flight): (Vec<_>, Vec<_>) = held
        .into_iter()
        .partition(|i| i.slack_channel_id == "EMPTY");
    for i in empty {
        i.ack().await.unwrap();
    }
    r.stop().await;
    // UNREAD gets an entry nobody has read.
    q.send("UNREAD", "", "unread").await.unwrap();
    let mut conn = sm_test_support::redis_connection_manager().await;
    let activity = format!("{p}:q:stream-activity");
    // Both streams look inactive for two days.
    for c in ["FULL", "EMPTY", "UNREAD"] {
        let _: () = conn
            .zadd(&activity, q.producer().stream_key(c), 1)
            .await
            .unwrap();
    }
    q.scan_streams(true).await.unwrap();
    let full: bool = conn.exists(q.producer().stream_key("FULL")).await.unwrap();
    let empty: bool = conn.exists(q.producer().stream_key("EMPTY")).await.unwrap();
    let unread: bool = conn
        .exists(q.producer().stream_key("UNREAD"))
        .await
        .unwrap();
    assert!(full, "a stream with a pending entry is never deleted");
    assert!(unread, "a stream with an unread entry is never deleted");
    for i in in_flight {
        i.ack().await.unwrap();
    }
    assert!(!empty, "an inactive empty stream is deleted");
}

#[tokio::test]
async fn a_broken_stream_does_not_stop_other_channels_w9() {
    let p = prefix("broken");
    let q = queue("q", options(&p)).await;
    let mut conn = sm_test_support::redis_connection_manager().await;
    // A key of the wrong type where a stream should be, listed and marked ready.
    let bad = q.producer().stream_key("BAD");
    let _: () = conn.set(&bad, "not a stream").await.unwrap();
    let _: () = conn.sadd(format!("{p}:q:streams"), &bad).await.unwrap();
    let _: () = conn
        .zadd(format!("{p}:q:schedule"), "BAD", 0)
        .await
        .unwrap();
    q.send("GOOD", "", "g1").await.unwrap();
    q.scan_streams(true).await.unwrap();
    let mut r = Receiver::start(&q, 10);
    let item = r.next().await;
    assert_eq!(item.body, "g1");
    item.ack().await.unwrap();
    assert!(
        q.send("BAD", "", "x").await.is_err(),
        "sending to a broken stream reports the error"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_waiting_consumer_is_woken_by_another_process_without_polling_w3_w10() {
    let p = prefix("wake");
    // Poll interval and refresh at their maxima: only a notification can deliver within the test.
    let o = options(&p)
        .with_poll_interval(Duration::from_secs(60))
        .with_stream_refresh_interval(Duration::from_secs(300));
    let q = queue("q", o.clone()).await;
    let producer = sm_redis_queue::RedisFifoQueueProducer::new(
        sm_test_support::redis_connection_manager().await,
        "q",
        o,
    )
    .unwrap();
    let mut r = Receiver::start(&q, 10);
    // Give the consumer time to go idle (its first claim finds nothing).
    tokio::time::sleep(Duration::from_millis(300)).await;
    producer.send("NEW", "", "n1").await.unwrap();
    producer.send("NEW", "", "n2").await.unwrap();
    // `next` gives up after 20 s, well inside the 60 s poll interval.
    let item = r.next().await;
    assert_eq!(item.body, "n1");
    item.ack().await.unwrap();
    // The ack lets the channel's next message out at once.
    let item = r.next().await;
    assert_eq!(item.body, "n2");
    item.ack().await.unwrap();
    r.stop().await;
}

#[tokio::test]
async fn entries_a_go_consumer_left_pending_later_are_delivered_first_after_a_scan() {
    let p = prefix("late-go");
    let q = queue("q", options(&p)).await;
    // The channel is consumed here first, so its pending list is known to be clear.
    q.send("C1", "", "m0").await.unwrap();
    let mut r = Receiver::start(&q, 10);
    r.next().await.ack().await.unwrap();
    r.stop().await;
    q.send("C1", "", "m1").await.unwrap();
    q.send("C1", "", "m2").await.unwrap();
    // Then a Go consumer reads one entry and dies without acking it.
    let mut conn = sm_test_support::redis_connection_manager().await;
    let stream = q.producer().stream_key("C1");
    go_consumer_reads(&mut conn, &stream, "dead-go-consumer", 1).await;
    // The scan notices the foreign pending entry; it goes out first, then the unread one.
    q.scan_streams(true).await.unwrap();
    let mut r = Receiver::start(&q, 10);
    for body in ["m1", "m2"] {
        let item = r.next().await;
        assert_eq!(item.body, body);
        item.ack().await.unwrap();
    }
    let pending: redis::Value = redis::cmd("XPENDING")
        .arg(&stream)
        .arg("slack-manager")
        .query_async(&mut conn)
        .await
        .unwrap();
    let count = match &pending {
        redis::Value::Array(a) => a.first().cloned(),
        _ => None,
    };
    assert_eq!(
        count,
        Some(redis::Value::Int(0)),
        "nothing stays pending: {pending:?}"
    );
    r.stop().await;
}
