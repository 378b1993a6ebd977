//! Go interoperability: entries written with exactly the Go send script's commands are consumed;
//! entries written here have the Go keys and fields and can be read by a Go consumer.

use sm_core::FifoQueueProducer;
use sm_redis_queue::redis::{self, AsyncCommands, Value};

use crate::{Receiver, go_consumer_reads, options, prefix, queue};

/// The Go send script (`queue.md` §6.1), verbatim in behaviour: XADD MAXLEN ~, SADD, ZADD.
const GO_SEND: &str = r#"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'channel_id', ARGV[2], 'body', ARGV[3])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('ZADD', KEYS[3], ARGV[4], KEYS[1])
return id
"#;

async fn go_send(
    conn: &mut redis::aio::ConnectionManager,
    p: &str,
    q: &str,
    channel: &str,
    body: &str,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let _: String = redis::Script::new(GO_SEND)
        .key(format!("{p}:{q}:stream:{channel}"))
        .key(format!("{p}:{q}:streams"))
        .key(format!("{p}:{q}:stream-activity"))
        .arg(10_000)
        .arg(channel)
        .arg(body)
        .arg(now)
        .invoke_async(conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn entries_of_a_go_producer_are_consumed_in_order() {
    let p = prefix("go-producer");
    let mut conn = sm_test_support::redis_connection_manager().await;
    // Written before the consumer starts: found by the start-up scan.
    for i in 0..5 {
        go_send(&mut conn, &p, "alerts", "CGO1", &format!("early{i}")).await;
    }
    let q = queue("alerts", options(&p)).await;
    let mut r = Receiver::start(&q, 10);
    for i in 0..5 {
        let item = r.next().await;
        assert_eq!(
            (item.slack_channel_id.as_str(), item.body.clone()),
            ("CGO1", format!("early{i}"))
        );
        item.ack().await.unwrap();
    }
    // Written while the consumer runs, to a new channel: found by the fallback scan.
    go_send(&mut conn, &p, "alerts", "CGO2", "late").await;
    let (readied, _) = q.scan_streams(true).await.unwrap();
    assert_eq!(readied, 1);
    let item = r.next().await;
    assert_eq!(
        (item.slack_channel_id.as_str(), item.body.as_str()),
        ("CGO2", "late")
    );
    item.ack().await.unwrap();
    r.stop().await;
}

#[tokio::test]
async fn our_entries_have_the_go_keys_and_fields_and_a_go_consumer_reads_them() {
    let p = prefix("go-consumer");
    let q = queue("alerts", options(&p)).await;
    q.send("C123", "", r#"{"a":1}"#).await.unwrap();
    let mut conn = sm_test_support::redis_connection_manager().await;
    let stream = format!("{p}:alerts:stream:C123");
    let entries: Value = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let Value::Array(entries) = entries else {
        panic!("{entries:?}")
    };
    assert_eq!(entries.len(), 1);
    let Value::Array(entry) = &entries[0] else {
        panic!()
    };
    let fields: Vec<String> = redis::from_redis_value(entry[1].clone()).unwrap();
    assert_eq!(fields, ["channel_id", "C123", "body", r#"{"a":1}"#]);
    let members: Vec<String> = conn.smembers(format!("{p}:alerts:streams")).await.unwrap();
    assert_eq!(members, std::slice::from_ref(&stream));
    let score: f64 = conn
        .zscore(format!("{p}:alerts:stream-activity"), &stream)
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - score).abs() < 60.0, "activity is in Unix seconds");
    // A Go consumer: XAUTOCLAIM then XREADGROUP on the group "slack-manager" (created by the send).
    let read: redis::streams::StreamReadReply =
        redis::from_redis_value(go_consumer_reads(&mut conn, &stream, "go-host-1", 1).await)
            .unwrap();
    let entry = &read.keys[0].ids[0];
    let channel: String = entry.get("channel_id").unwrap();
    let body: String = entry.get("body").unwrap();
    assert_eq!((channel.as_str(), body.as_str()), ("C123", r#"{"a":1}"#));
}
