//! Queue benchmark: Redis's own ceiling vs end-to-end throughput, command cost, cross-process
//! latency and idle cost, all against one private `redis-server` started by the bench.
//!
//! Run with `cargo bench -p sm-redis-queue --bench queue` (or `cargo xtask bench queue`).
//! `SM_QUEUE_BENCH_PROFILE=1` adds, for the two throughput runs, each Redis command's calls and
//! in-command microseconds per message (scripts' inner calls included), which shows where the
//! server's time goes.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sm_core::{FifoQueue, FifoQueueProducer, NoopChannelLocker};
use sm_redis_queue::redis::{self, aio::ConnectionManager};
use sm_redis_queue::{RedisFifoQueue, RedisFifoQueueOptions, RedisFifoQueueProducer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const CHILD_ENV: &str = "SM_QUEUE_BENCH_PRODUCER";
const LATENCY_RATE: u64 = 500; // messages per second
const LATENCY_MESSAGES: u64 = 2_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(cfg) = std::env::var(CHILD_ENV) {
        rt.block_on(child_producer(cfg));
        return;
    }
    rt.block_on(run());
}

async fn conn(url: &str) -> ConnectionManager {
    redis::Client::open(url)
        .expect("url")
        .get_connection_manager()
        .await
        .expect("connect")
}

fn opts(prefix: &str) -> RedisFifoQueueOptions {
    RedisFifoQueueOptions::default().with_key_prefix(prefix)
}

async fn consumer(url: &str, prefix: &str) -> Arc<RedisFifoQueue> {
    let client = redis::Client::open(url).expect("url");
    let c = client.get_connection_manager().await.expect("connect");
    Arc::new(
        RedisFifoQueue::new(c, Arc::new(NoopChannelLocker), "q", opts(prefix))
            .expect("queue")
            .with_client(client),
    )
}

async fn commandstats(conn: &mut ConnectionManager) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .expect("info");
    info.lines()
        .filter_map(|l| {
            let (name, stats) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            let usec: u64 = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("usec="))?
                .parse()
                .ok()?;
            Some([(name.to_owned(), calls), (format!("{name}_usec"), usec)])
        })
        .flatten()
        .collect()
}

/// Commands sent by clients: script calls count once; INFO is the bench's own.
fn top_level(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    const CLIENT: &[&str] = &[
        "evalsha",
        "eval",
        "script|load",
        "subscribe",
        "hello",
        "client|setinfo",
        "select",
        "ping",
    ];
    CLIENT
        .iter()
        .map(|k| after.get(*k).copied().unwrap_or(0) - before.get(*k).copied().unwrap_or(0))
        .sum()
}

/// (a) XADD + XREADGROUP + XACK, pipelined 100 cycles at a time.
async fn ceiling(url: &str, stream: &str) -> f64 {
    let mut c = conn(url).await;
    let _: redis::Value = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg("g")
        .arg("$")
        .arg("MKSTREAM")
        .query_async(&mut c)
        .await
        .expect("group");
    let total = 30_000;
    let t = Instant::now();
    for _ in 0..total / 100 {
        let mut p = redis::pipe();
        for _ in 0..100 {
            p.cmd("XADD")
                .arg(stream)
                .arg("*")
                .arg("channel_id")
                .arg("C")
                .arg("body")
                .arg("{\"x\":1}")
                .ignore();
            p.cmd("XREADGROUP")
                .arg("GROUP")
                .arg("g")
                .arg("c")
                .arg("COUNT")
                .arg(1)
                .arg("STREAMS")
                .arg(stream)
                .arg(">");
        }
        let reads: Vec<redis::streams::StreamReadReply> =
            p.query_async(&mut c).await.expect("pipe");
        let mut ack = redis::pipe();
        for r in reads {
            for k in r.keys {
                for id in k.ids {
                    ack.cmd("XACK").arg(stream).arg("g").arg(&id.id).ignore();
                }
            }
        }
        let _: () = ack.query_async(&mut c).await.expect("ack");
    }
    total as f64 / t.elapsed().as_secs_f64()
}

/// One client's sequential round trips per second (PING, unpipelined): the physical limit of one
/// channel's flow, which needs one round trip per message.
async fn round_trips(url: &str) -> f64 {
    let mut c = conn(url).await;
    let total = 5_000;
    let t = Instant::now();
    for _ in 0..total {
        let _: String = redis::cmd("PING").query_async(&mut c).await.expect("ping");
    }
    total as f64 / t.elapsed().as_secs_f64()
}

/// (b) + (c): send → receive → ack with order checked; returns messages/s, commands/message,
/// the Redis server's CPU share and the Redis calls made inside scripts per message.
async fn throughput(
    url: &str,
    prefix: &str,
    channels: usize,
    per_channel: usize,
    consumers: usize,
) -> (f64, f64, f64, f64) {
    let producer = Arc::new(
        RedisFifoQueueProducer::new(conn(url).await, "q", opts(prefix)).expect("producer"),
    );
    let mut stats = conn(url).await;
    let qs: Vec<_> = futures_join(consumers, url, prefix).await;
    let total = (channels * per_channel) as u64;
    let done = Arc::new(AtomicU64::new(0));
    let cancel = CancellationToken::new();
    let (fin_tx, mut fin_rx) = mpsc::channel::<()>(1);
    let last_seen = Arc::new(std::sync::Mutex::new(HashMap::<String, i64>::new()));
    let before = commandstats(&mut stats).await;
    let cpu_before = redis_cpu(&mut stats).await;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for q in qs {
        let (tx, mut rx) = mpsc::channel(256);
        let c = cancel.clone();
        let qq = Arc::clone(&q);
        tasks.push(tokio::spawn(async move {
            let _ = qq.receive(c, tx).await;
        }));
        let done = Arc::clone(&done);
        let fin = fin_tx.clone();
        let last_seen = Arc::clone(&last_seen);
        tasks.push(tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                // Body `<sender>.<seq>`: FIFO per channel means each sender's messages to a
                // channel arrive in the order it sent them, without gaps.
                let (sender, seq) = item.body.split_once('.').expect("body");
                let seq: i64 = seq.parse().expect("seq");
                {
                    let mut m = last_seen.lock().expect("lock");
                    let key = format!("{}/{sender}", item.slack_channel_id);
                    let last = m.entry(key).or_insert(-1);
                    assert_eq!(seq, *last + 1, "order broken on {}", item.slack_channel_id);
                    *last = seq;
                }
                // Channels are processed concurrently, as the manager does.
                let done = Arc::clone(&done);
                let fin = fin.clone();
                tokio::spawn(async move {
                    item.ack().await.expect("ack");
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == total {
                        let _ = fin.send(()).await;
                    }
                });
            }
        }));
    }
    // Concurrent senders, as API requests are: each owns a set of channels, or, with fewer
    // channels than senders, a share of one channel's messages.
    let senders = if channels == 1 { 4 } else { channels.min(64) };
    let mut send_tasks = Vec::new();
    for part in 0..senders {
        let producer = Arc::clone(&producer);
        let (mine, count): (Vec<usize>, usize) = if channels == 1 {
            (vec![0], per_channel / senders)
        } else {
            ((part..channels).step_by(senders).collect(), per_channel)
        };
        send_tasks.push(tokio::spawn(async move {
            for seq in 0..count {
                for c in &mine {
                    producer
                        .send(&format!("C{c}"), "", &format!("{part}.{seq}"))
                        .await
                        .expect("send");
                }
            }
        }));
    }
    for s in send_tasks {
        s.await.expect("sender");
    }
    let _ = tokio::time::timeout(Duration::from_secs(120), fin_rx.recv()).await;
    let secs = t.elapsed().as_secs_f64();
    let after = commandstats(&mut stats).await;
    let cpu = redis_cpu(&mut stats).await - cpu_before;
    // SM_QUEUE_BENCH_PROFILE=1: per-command breakdown (calls and in-command microseconds per
    // message; wall time inside Redis, so inflated when the machine is busy).
    if std::env::var("SM_QUEUE_BENCH_PROFILE").is_ok() {
        let mut rows: Vec<_> = after
            .iter()
            .filter(|(k, _)| k.ends_with("_usec"))
            .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        let n = total as f64;
        for (k, us) in rows.iter().take(25) {
            let name = k.trim_end_matches("_usec");
            let calls =
                after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
            println!(
                "  {name:<24} {:>8.2} calls/msg {:>8.2} us/msg",
                calls as f64 / n,
                *us as f64 / n
            );
        }
    }
    cancel.cancel();
    for t in tasks {
        let _ = t.await;
    }
    let delivered = done.load(Ordering::Relaxed);
    assert_eq!(delivered, total, "not everything was delivered");
    let top = top_level(&before, &after);
    let all: u64 = after
        .iter()
        .filter(|(k, _)| !k.ends_with("_usec") && k.as_str() != "info")
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0))
        .sum();
    (
        delivered as f64 / secs,
        top as f64 / delivered as f64,
        cpu / secs,
        all.saturating_sub(top) as f64 / delivered as f64,
    )
}

/// (b) variant: one channel's backlog drained by one consumer, with no producer running at the
/// same time (a storm that arrived before the consumer caught up); order checked.
async fn drain_one_channel(url: &str, prefix: &str, messages: usize) -> f64 {
    let producer =
        RedisFifoQueueProducer::new(conn(url).await, "q", opts(prefix)).expect("producer");
    for seq in 0..messages {
        producer
            .send("C0", "", &seq.to_string())
            .await
            .expect("send");
    }
    let q = consumer(url, prefix).await;
    let (mut rx, cancel, run) = start_receiving(&q, 256);
    let t = Instant::now();
    for expected in 0..messages {
        let item = rx.recv().await.expect("item");
        assert_eq!(item.body, expected.to_string(), "order broken");
        item.ack().await.expect("ack");
    }
    let rate = messages as f64 / t.elapsed().as_secs_f64();
    cancel.cancel();
    let _ = run.await;
    rate
}

/// CPU seconds the Redis server has used (user + system).
async fn redis_cpu(conn: &mut ConnectionManager) -> f64 {
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(conn)
        .await
        .expect("info");
    info.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            matches!(k, "used_cpu_sys" | "used_cpu_user").then(|| v.parse::<f64>().ok())?
        })
        .sum()
}

async fn futures_join(n: usize, url: &str, prefix: &str) -> Vec<Arc<RedisFifoQueue>> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(consumer(url, prefix).await);
    }
    v
}

/// The child process of (d): sends at a fixed rate, the send time in the body.
async fn child_producer(cfg: String) {
    let (url, prefix) = cfg.split_once('|').expect("config");
    let producer =
        RedisFifoQueueProducer::new(conn(url).await, "q", opts(prefix)).expect("producer");
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / LATENCY_RATE));
    for i in 0..LATENCY_MESSAGES {
        tick.tick().await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        // 50 channels, every tenth message on a brand-new channel.
        let channel = if i % 10 == 0 {
            format!("NEW{i}")
        } else {
            format!("C{}", i % 50)
        };
        producer
            .send(&channel, "", &now.to_string())
            .await
            .expect("send");
    }
}

/// Runs `q.receive` in a task: its items, its cancel token and the task.
fn start_receiving(
    q: &Arc<RedisFifoQueue>,
    capacity: usize,
) -> (
    mpsc::Receiver<sm_core::FifoQueueItem>,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), sm_core::QueueError>>,
) {
    let (tx, rx) = mpsc::channel(capacity);
    let cancel = CancellationToken::new();
    let q = Arc::clone(q);
    let c = cancel.clone();
    let run = tokio::spawn(async move { q.receive(c, tx).await });
    (rx, cancel, run)
}

/// (d) cross-process send → receive latency.
async fn latency(url: &str, prefix: &str) -> (Duration, Duration) {
    let q = consumer(url, prefix).await;
    let (mut rx, cancel, run) = start_receiving(&q, 256);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .env(CHILD_ENV, format!("{url}|{prefix}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("child");
    let mut lat = Vec::new();
    while (lat.len() as u64) < LATENCY_MESSAGES {
        let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await else {
            break;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let sent: u128 = item.body.parse().unwrap_or(now);
        lat.push(Duration::from_nanos(
            u64::try_from(now.saturating_sub(sent)).unwrap_or(u64::MAX),
        ));
        item.ack().await.expect("ack");
    }
    let _ = child.wait();
    cancel.cancel();
    let _ = run.await;
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    (pct(0.50), pct(0.99))
}

/// (e) idle commands per second with 10,000 drained streams (default options).
async fn idle(url: &str, prefix: &str) -> (f64, u64) {
    let mut c = conn(url).await;
    for chunk in 0..20 {
        let mut p = redis::pipe();
        for i in chunk * 500..(chunk + 1) * 500 {
            let stream = format!("{prefix}:q:stream:I{i}");
            p.cmd("XGROUP")
                .arg("CREATE")
                .arg(&stream)
                .arg("slack-manager")
                .arg("$")
                .arg("MKSTREAM")
                .ignore();
            p.cmd("SADD")
                .arg(format!("{prefix}:q:streams"))
                .arg(&stream)
                .ignore();
            p.cmd("ZADD")
                .arg(format!("{prefix}:q:stream-activity"))
                .arg(2_000_000_000u64)
                .arg(&stream)
                .ignore();
        }
        let _: () = p.query_async(&mut c).await.expect("setup");
    }
    let q = consumer(url, prefix).await;
    let before_scan = commandstats(&mut c).await;
    q.scan_streams(true).await.expect("scan");
    let scan = top_level(&before_scan, &commandstats(&mut c).await);
    let (_rx, cancel, run) = start_receiving(&q, 10);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = commandstats(&mut c).await;
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = commandstats(&mut c).await;
    let rate = top_level(&before, &after) as f64 / t.elapsed().as_secs_f64();
    cancel.cancel();
    let _ = run.await;
    (rate + scan as f64 / 30.0, scan)
}

/// Rounds of (b); each round sits between two ceiling measurements and is compared with the
/// higher of the two, so a slow moment of a shared machine does not flatter the ratio, and the
/// median round is reported with the range.
const ROUNDS: usize = 3;

/// One throughput run: messages/s, commands/message, Redis CPU share, inner calls/message.
type Run = (f64, f64, f64, f64);

fn median_by<T: Clone>(items: &[T], key: impl Fn(&T) -> f64) -> T {
    let mut v: Vec<_> = items.to_vec();
    v.sort_by(|x, y| key(x).total_cmp(&key(y)));
    v[v.len() / 2].clone()
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

async fn run() {
    let server = sm_test_support::RedisServer::start();
    let url = server.url();
    println!("sm-redis-queue benchmark (private redis-server {url})");
    let mut ceilings = vec![ceiling(&url, "bench:ceiling:0").await];
    // (round trips/s, 1 channel, 1,000 channels, baseline)
    let mut rounds: Vec<(f64, Run, Run, f64)> = Vec::new();
    for i in 0..ROUNDS {
        let rtt = round_trips(&url).await;
        let one = throughput(&url, &format!("bench1-{i}"), 1, 10_000, 1).await;
        let many = throughput(&url, &format!("bench1000-{i}"), 1000, 20, 2).await;
        ceilings.push(ceiling(&url, &format!("bench:ceiling:{}", i + 1)).await);
        let baseline = ceilings[i].max(ceilings[i + 1]);
        rounds.push((rtt, one, many, baseline));
    }
    let drain = drain_one_channel(&url, "benchdrain", 5_000).await;
    let (p50, p99) = latency(&url, "benchlat").await;
    let (idle_rate, scan) = idle(&url, "benchidle").await;

    let ratio_many = |r: &(f64, Run, Run, f64)| r.2.0 / r.3;
    let ratio_one = |r: &(f64, Run, Run, f64)| r.1.0 / r.0;
    let mid = median_by(&rounds, ratio_many);
    let (_, one, many, baseline) = mid;
    let (one_lo, one_hi) = range(rounds.iter().map(|r| r.1.0));
    let (many_lo, many_hi) = range(rounds.iter().map(|r| r.2.0));
    let (rm_lo, rm_hi) = range(rounds.iter().map(ratio_many));
    let one_mid = median_by(&rounds, |r| r.1.0).1.0;
    let one_rtt = median_by(&rounds, ratio_one);
    let ceilings_text: Vec<String> = ceilings.iter().map(|c| format!("{c:.0}")).collect();
    println!();
    println!(
        "{ROUNDS} rounds; per-run details are from the median round of (b)/(a), 1,000 channels."
    );
    println!();
    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| (a) Redis ceiling, pipelined XADD+XREADGROUP+XACK, around the rounds | {} msg/s | baseline: the higher one around each round |",
        ceilings_text.join(" / ")
    );
    println!(
        "| (b) end-to-end, 1 channel, 1 consumer, 4 senders: median (range) | {one_mid:.0} ({one_lo:.0}–{one_hi:.0}) msg/s | >= 2000 msg/s |"
    );
    println!(
        "| (b), 1 channel / one client's unpipelined round trips per second, median round | {:.0}% ({:.0}/s) | physical limit: 1 round trip per message |",
        100.0 * ratio_one(&one_rtt),
        one_rtt.0
    );
    println!(
        "| (b) 1 channel's backlog drained by 1 consumer (no sends meanwhile) | {drain:.0} msg/s | |"
    );
    println!(
        "| (b) end-to-end, 1,000 channels, 2 consumers, 64 senders: median round (range) | {:.0} ({many_lo:.0}–{many_hi:.0}) msg/s | |",
        many.0
    );
    println!(
        "| (b)/(a), 1,000 channels: median (range) | {:.1}% ({:.1}–{:.1}%) | >= 30% |",
        100.0 * many.0 / baseline,
        100.0 * rm_lo,
        100.0 * rm_hi
    );
    println!(
        "| (b)/(a), 1 channel, median round | {:.1}% | |",
        100.0 * one.0 / baseline
    );
    println!(
        "| Redis server CPU busy during (b), 1 channel / 1,000 channels | {:.0}% / {:.0}% | |",
        100.0 * one.2,
        100.0 * many.2
    );
    println!(
        "| (c) commands per message, 1 channel / 1,000 channels | {:.2} / {:.2} | <= 3 (Go: 6) |",
        one.1, many.1
    );
    println!(
        "| Redis calls inside the scripts per message, 1 channel / 1,000 channels | {:.1} / {:.1} | |",
        one.3, many.3
    );
    println!(
        "| (d) cross-process latency at {LATENCY_RATE} msg/s, p50 / p99 | {p50:.2?} / {p99:.2?} | milliseconds |"
    );
    println!(
        "| (e) idle commands/s per consumer, 10,000 streams (scan: {scan} per 30 s) | {idle_rate:.2} | <= 2 (Go: ~20,000) |"
    );
}
