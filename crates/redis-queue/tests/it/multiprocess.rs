//! Consumers in other processes: strict order under concurrency, SIGKILL mid-message, and a
//! Redis restart with AOF. Child consumers are this test binary re-run with `child_consumer`
//! selected and `SM_QUEUE_CHILD` set.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sm_core::{FifoQueue, FifoQueueProducer};
use sm_redis_queue::redis::{self, AsyncCommands};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{options, prefix, queue_at};

const CHILD_ENV: &str = "SM_QUEUE_CHILD";

/// What a child consumer does, passed as `url|prefix|hang_on` in `SM_QUEUE_CHILD`.
#[derive(Debug, PartialEq)]
struct ChildConfig {
    url: String,
    prefix: String,
    /// `channel:body` of a message the child takes and then never finishes.
    hang_on: String,
}

impl ChildConfig {
    fn parse(s: &str) -> Option<ChildConfig> {
        let mut it = s.split('|');
        let c = ChildConfig {
            url: it.next()?.to_owned(),
            prefix: it.next()?.to_owned(),
            hang_on: it.next()?.to_owned(),
        };
        if c.url.is_empty() || c.prefix.is_empty() || it.next().is_some() {
            return None;
        }
        Some(c)
    }

    fn encode(&self) -> String {
        format!("{}|{}|{}", self.url, self.prefix, self.hang_on)
    }
}

/// The child consumer's entry point; without `SM_QUEUE_CHILD` it checks the config encoding.
#[tokio::test]
async fn child_consumer() {
    let Ok(raw) = std::env::var(CHILD_ENV) else {
        let c = ChildConfig {
            url: "redis://x".into(),
            prefix: "p".into(),
            hang_on: "C:1".into(),
        };
        assert_eq!(ChildConfig::parse(&c.encode()), Some(c));
        assert_eq!(ChildConfig::parse("a|b"), None);
        return;
    };
    let cfg = ChildConfig::parse(&raw).unwrap();
    let q = queue_at(
        &cfg.url,
        "q",
        options(&cfg.prefix).with_lease_ttl(Duration::from_secs(2)),
    )
    .await;
    let mut conn = crate::conn_for(&cfg.url).await;
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let qq = Arc::clone(&q);
    tokio::spawn(async move { qq.receive(cancel, tx).await });
    let log = format!("{}:log", cfg.prefix);
    let pid = std::process::id();
    while let Some(item) = rx.recv().await {
        let tag = format!("{}:{}", item.slack_channel_id, item.body);
        if tag == cfg.hang_on {
            let _: () = conn.rpush(&log, format!("{tag}:{pid}:hang")).await.unwrap();
            // Mid-message forever: the parent kills this process.
            std::future::pending::<()>().await;
        }
        let _: () = conn.rpush(&log, format!("{tag}:{pid}")).await.unwrap();
        item.ack().await.unwrap();
    }
}

struct Children(Vec<Child>);

impl Children {
    fn spawn(n: usize, cfg: &ChildConfig) -> Children {
        let exe = std::env::current_exe().unwrap();
        Children(
            (0..n)
                .map(|_| {
                    Command::new(&exe)
                        .args(["--exact", "multiprocess::child_consumer", "--nocapture"])
                        .env(CHILD_ENV, cfg.encode())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Reads the log until it has `n` entries (bounded wait).
async fn wait_log(
    conn: &mut redis::aio::ConnectionManager,
    log: &str,
    n: usize,
    limit: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        let len: usize = conn.llen(log).await.unwrap();
        if len >= n {
            return conn.lrange(log, 0, -1).await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "only {len} of {n} log entries after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Per channel, the sequence of bodies in log order (ignoring hang markers).
fn per_channel(log: &[String]) -> HashMap<String, Vec<u32>> {
    let mut m: HashMap<String, Vec<u32>> = HashMap::new();
    for line in log.iter().filter(|l| !l.ends_with(":hang")) {
        let mut it = line.split(':');
        let (c, b) = (it.next().unwrap(), it.next().unwrap());
        m.entry(c.to_owned()).or_default().push(b.parse().unwrap());
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strict_order_exactly_once_with_four_consumer_processes() {
    const CHANNELS: usize = 200;
    const PER_CHANNEL: u32 = 100;
    let p = prefix("mp-order");
    let url = sm_test_support::redis_url();
    let cfg = ChildConfig {
        url: url.clone(),
        prefix: p.clone(),
        hang_on: String::new(),
    };
    let _children = Children::spawn(4, &cfg);
    let producer = queue_at(&url, "q", options(&p)).await;
    let mut senders = Vec::new();
    for part in 0..8 {
        let producer = Arc::clone(&producer);
        senders.push(tokio::spawn(async move {
            for seq in 0..PER_CHANNEL {
                for c in (part..CHANNELS).step_by(8) {
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
    let mut conn = crate::conn_for(&url).await;
    let total = CHANNELS * PER_CHANNEL as usize;
    let log = wait_log(
        &mut conn,
        &format!("{p}:log"),
        total,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(log.len(), total, "exactly once: no duplicates");
    let m = per_channel(&log);
    assert_eq!(m.len(), CHANNELS);
    let expected: Vec<u32> = (0..PER_CHANNEL).collect();
    for (c, seqs) in &m {
        assert_eq!(seqs, &expected, "channel {c} out of order");
    }
    let pids: HashSet<&str> = log.iter().map(|l| l.rsplit(':').next().unwrap()).collect();
    assert!(pids.len() >= 2, "work spread over processes: {pids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_mid_message_gets_it_redelivered_first() {
    let p = prefix("mp-kill");
    let url = sm_test_support::redis_url();
    let producer = queue_at(&url, "q", options(&p)).await;
    for seq in 0..10 {
        producer.send("C0", "", &seq.to_string()).await.unwrap();
        producer.send("C1", "", &seq.to_string()).await.unwrap();
    }
    let mut conn = crate::conn_for(&url).await;
    let log = format!("{p}:log");
    let mut victim = Children::spawn(
        1,
        &ChildConfig {
            url: url.clone(),
            prefix: p.clone(),
            hang_on: "C0:5".into(),
        },
    );
    // Wait for the victim to be mid-message, then SIGKILL it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines: Vec<String> = conn.lrange(&log, 0, -1).await.unwrap();
        if lines.iter().any(|l| l.ends_with(":hang")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "victim never reached the message"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for c in &mut victim.0 {
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
    }
    let _survivor = Children::spawn(
        1,
        &ChildConfig {
            url: url.clone(),
            prefix: p.clone(),
            hang_on: String::new(),
        },
    );
    // 20 deliveries plus the hang marker.
    let lines = wait_log(&mut conn, &log, 21, Duration::from_secs(60)).await;
    let m = per_channel(&lines);
    assert_eq!(m["C1"], (0..10).collect::<Vec<u32>>());
    assert_eq!(
        m["C0"],
        (0..10).collect::<Vec<u32>>(),
        "5 redelivered first, order kept: {lines:?}"
    );
    let hang = lines
        .iter()
        .position(|l| l.starts_with("C0:5:") && l.ends_with(":hang"))
        .unwrap();
    let redelivered = lines
        .iter()
        .position(|l| l.starts_with("C0:5:") && !l.ends_with(":hang"))
        .unwrap();
    assert!(redelivered > hang);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_confirmed_send_is_lost_across_a_redis_restart_with_aof() {
    let mut server = sm_test_support::RedisServer::start_with_args(&[
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]);
    let url = server.url();
    let p = prefix("aof");
    let q = queue_at(&url, "q", options(&p)).await;
    let (tx, mut rx) = mpsc::channel(100);
    let cancel = CancellationToken::new();
    let run = {
        let q = Arc::clone(&q);
        let cancel = cancel.clone();
        tokio::spawn(async move { q.receive(cancel, tx).await })
    };
    let received = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let collector = {
        let received = Arc::clone(&received);
        tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                received.lock().unwrap().insert(item.body.clone());
                // An ack lost in the restart only means a redelivery.
                let _ = item.ack().await;
            }
        })
    };
    let mut confirmed = Vec::new();
    let mut failed = 0;
    for i in 0..1500 {
        if i == 500 {
            // Kill -9 and restart on the same AOF.
            tokio::task::block_in_place(|| server.restart());
        }
        let body = format!("m{i}");
        match q.send(&format!("C{}", i % 20), "", &body).await {
            Ok(()) => confirmed.push(body),
            Err(_) => failed += 1,
        }
    }
    assert!(
        confirmed.len() > 1000,
        "sends recover after the restart ({failed} failed)"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing: Vec<&String> = {
            let r = received.lock().unwrap();
            confirmed
                .iter()
                .filter(|b| !r.contains(*b))
                .collect::<Vec<_>>()
        };
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} confirmed messages lost, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cancel.cancel();
    run.await.unwrap().unwrap();
    collector.await.unwrap();
}
