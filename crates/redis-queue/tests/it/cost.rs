//! Redis command cost (W1, W2, W14), counted with INFO commandstats on a private server.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sm_core::{FifoQueue, FifoQueueProducer};
use sm_redis_queue::redis;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{conn_for, options, prefix, queue_at};

/// Commands only ever called from inside our scripts (they show up in commandstats too).
const SCRIPT_INTERNAL: &[&str] = &[
    "xadd",
    "xlen",
    "exists",
    "xgroup|create",
    "xgroup|delconsumer",
    "sadd",
    "zadd",
    "hmget",
    "get",
    "xrange",
    "publish",
    "zrangebyscore",
    "zrem",
    "xpending",
    "xclaim",
    "xreadgroup",
    "hincrby",
    "hset",
    "xack",
    "xdel",
    "hdel",
    "zrange",
    "set",
    "sscan",
    "xinfo|consumers",
    "xtrim",
    "del",
    "srem",
    "zscore",
    "time",
    "hget",
];

async fn commandstats(conn: &mut redis::aio::ConnectionManager) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// Commands sent by clients (script calls count once) between two snapshots; INFO excluded.
fn top_level(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after
        .iter()
        .filter(|(k, _)| k.as_str() != "info" && !SCRIPT_INTERNAL.contains(&k.as_str()))
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_three_commands_per_message_with_1000_active_channels() {
    const CHANNELS: usize = 1000;
    const PER_CHANNEL: usize = 3;
    let server = sm_test_support::RedisServer::start();
    let url = server.url();
    let p = prefix("cost");
    let producer = queue_at(&url, "q", options(&p)).await;
    let consumers = [
        queue_at(&url, "q", options(&p)).await,
        queue_at(&url, "q", options(&p)).await,
    ];
    let mut stats_conn = conn_for(&url).await;
    let before = commandstats(&mut stats_conn).await;
    let delivered = Arc::new(AtomicUsize::new(0));
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for q in &consumers {
        let (tx, mut rx) = mpsc::channel(100);
        let q = Arc::clone(q);
        let c = cancel.clone();
        tasks.push(tokio::spawn(async move { q.receive(c, tx).await.unwrap() }));
        let delivered = Arc::clone(&delivered);
        tasks.push(tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                item.ack().await.unwrap();
                delivered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut senders = Vec::new();
    for part in 0..4 {
        let producer = Arc::clone(&producer);
        senders.push(tokio::spawn(async move {
            for seq in 0..PER_CHANNEL {
                for c in (part..CHANNELS).step_by(4) {
                    producer
                        .send(&format!("C{c}"), "", &seq.to_string())
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    let total = CHANNELS * PER_CHANNEL;
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered.load(Ordering::Relaxed) < total {
        assert!(Instant::now() < deadline, "not all messages delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = commandstats(&mut stats_conn).await;
    cancel.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let commands = top_level(&before, &after);
    let per_message = commands as f64 / total as f64;
    eprintln!("{per_message:.2} commands per message");
    assert!(
        per_message <= 3.0,
        "{commands} commands for {total} messages = {per_message:.2} per message"
    );
    // Counted by the script calls themselves: one send each.
    assert!(after.get("evalsha").copied().unwrap_or(0) >= total as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_cost_does_not_grow_with_10000_streams() {
    const STREAMS: usize = 10_000;
    let server = sm_test_support::RedisServer::start();
    let url = server.url();
    let p = prefix("idle");
    let mut conn = conn_for(&url).await;
    // 10,000 drained streams, as a long-running queue leaves them.
    for chunk in 0..STREAMS / 500 {
        let mut pipe = redis::pipe();
        for i in chunk * 500..(chunk + 1) * 500 {
            let stream = format!("{p}:q:stream:C{i}");
            pipe.cmd("XGROUP")
                .arg("CREATE")
                .arg(&stream)
                .arg("slack-manager")
                .arg("$")
                .arg("MKSTREAM")
                .ignore();
            pipe.cmd("SADD")
                .arg(format!("{p}:q:streams"))
                .arg(&stream)
                .ignore();
            pipe.cmd("ZADD")
                .arg(format!("{p}:q:stream-activity"))
                .arg(2_000_000_000u64)
                .arg(&stream)
                .ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.unwrap();
    }
    let q = queue_at(&url, "q", options(&p)).await;
    // One full fallback scan, as one consumer of the fleet runs it per refresh interval.
    let before_scan = commandstats(&mut conn).await;
    let t = Instant::now();
    q.scan_streams(true).await.unwrap();
    eprintln!("full scan of {STREAMS} streams took {:?}", t.elapsed());
    let scan_commands = top_level(&before_scan, &commandstats(&mut conn).await);
    let (tx, _rx) = mpsc::channel(100);
    let cancel = CancellationToken::new();
    let run = {
        let q = Arc::clone(&q);
        let c = cancel.clone();
        tokio::spawn(async move { q.receive(c, tx).await })
    };
    // Let the start-up scan finish, then measure a 5 s idle window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = commandstats(&mut conn).await;
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = commandstats(&mut conn).await;
    let secs = window.elapsed().as_secs_f64();
    cancel.cancel();
    run.await.unwrap().unwrap();
    let idle_rate = top_level(&before, &after) as f64 / secs;
    eprintln!("idle {idle_rate:.2} commands/s, scan {scan_commands} commands per refresh");
    let scan_rate = scan_commands as f64 / 30.0; // default stream refresh interval
    assert!(
        idle_rate + scan_rate <= 2.0,
        "idle {idle_rate:.2}/s + scan {scan_commands} per 30 s = {:.2} commands/s",
        idle_rate + scan_rate
    );
    assert!(
        scan_commands <= 25,
        "the scan batches {STREAMS} streams: {scan_commands} commands"
    );
    let _ = q.name();
}
