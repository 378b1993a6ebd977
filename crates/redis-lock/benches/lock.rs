//! Benchmark of sm-redis-lock (`cargo xtask bench lock`).
//!
//! Runs against a private `redis-server` started for the run (so the command count is exact and
//! nothing else shares the server), and prints:
//! - the Redis round-trip time (sequential `PING`s; its median is the baseline, as medians resist
//!   the noise of a shared machine);
//! - obtain+release pairs per second on one key and spread over 1,000 keys, sequential (with the
//!   median time of one pair in round trips: two script calls, so about 2 RTT) and concurrent
//!   (against the sequential one-key rate), and on one contended key;
//! - Redis commands sent per obtain+release and per hand-over, counted with `MONITOR` (commands run
//!   inside a script are not counted: a script call counts as one);
//! - hand-over latency (holder releases → waiting obtainer holds) with Pub/Sub wake-ups and, for
//!   comparison, with polling only; in multiples of the median round trip.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use futures::StreamExt as _;
use sm_redis_lock::{LockError, RedisChannelLocker, redis};
use sm_test_support::RedisServer;

const TTL: Duration = Duration::from_secs(60);
const LONG: Duration = Duration::from_secs(3600);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url())?;
    let conn = client.get_connection_manager().await?;
    println!(
        "sm-redis-lock benchmark against a private redis-server at {}",
        server.url()
    );
    println!();

    // Baseline: round-trip time.
    let mut ping_conn = conn.clone();
    for _ in 0..500 {
        let _: String = redis::cmd("PING").query_async(&mut ping_conn).await?;
    }
    let mut rtts = Vec::with_capacity(5000);
    for _ in 0..5000 {
        let t = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut ping_conn).await?;
        rtts.push(t.elapsed());
    }
    let rtt = Stats::of(&mut rtts);

    // Throughput.
    let plain = RedisChannelLocker::new(conn.clone()).with_key_prefix("bench:plain:");
    let (one_key, mut one_key_times) = pairs_per_sec(&plain, 1, 1, 5000).await?;
    let one_key_pair = Stats::of(&mut one_key_times);
    let (many_keys, mut many_keys_times) = pairs_per_sec(&plain, 1000, 1, 5000).await?;
    let many_keys_pair = Stats::of(&mut many_keys_times);
    let (many_keys_conc, _) = pairs_per_sec(&plain, 1000, 32, 20_000).await?;
    let woken = RedisChannelLocker::new(conn.clone())
        .with_key_prefix("bench:woken:")
        .with_client(client.clone());
    let contended = contended_pairs_per_sec(&woken, 32, 5000).await?;

    // Command counts.
    let pair_cmds = count_commands(&client, 1000, || async {
        for i in 0..1000 {
            let lock = plain
                .obtain_lock(&format!("K{i}"), TTL, Duration::ZERO)
                .await?;
            lock.release().await?;
        }
        Ok(())
    })
    .await?;
    let handover_locker = RedisChannelLocker::new(conn.clone())
        .with_key_prefix("bench:handover:")
        .with_retry_backoff(LONG)
        .with_client(client.clone());
    let check = client.get_multiplexed_async_connection().await?;
    // Warm up the Pub/Sub connection, so its setup is not counted.
    hand_over(&handover_locker, &check, "warm-up", true).await?;
    let handover_cmds = count_commands(&client, 100, || async {
        for i in 0..100 {
            hand_over(&handover_locker, &check, &format!("H{i}"), true).await?;
        }
        Ok(())
    })
    .await?;

    // Hand-over latency.
    let mut woken_lat = Vec::new();
    for i in 0..300 {
        woken_lat.push(hand_over(&handover_locker, &check, &format!("L{i}"), true).await?);
    }
    let woken_lat = Stats::of(&mut woken_lat);
    let polling_backoff = Duration::from_millis(20);
    let polling = RedisChannelLocker::new(conn.clone())
        .with_key_prefix("bench:polling:")
        .with_retry_backoff(polling_backoff);
    let mut polling_lat = Vec::new();
    for i in 0..40 {
        polling_lat.push(hand_over(&polling, &check, &format!("P{i}"), false).await?);
    }
    let polling_lat = Stats::of(&mut polling_lat);

    println!("{:<58} {:>14} {:>12}", "measure", "value", "vs baseline");
    println!("{}", "-".repeat(86));
    println!(
        "{:<58} {:>11.1} µs {:>12}",
        "Redis round trip (PING), mean",
        micros(rtt.mean),
        ""
    );
    println!(
        "{:<58} {:>11.1} µs {:>12}",
        "Redis round trip (PING), p50 [baseline]",
        micros(rtt.p50),
        "1.00 RTT"
    );
    println!(
        "{:<58} {:>11.1} µs {:>12}",
        "Redis round trip (PING), p99",
        micros(rtt.p99),
        ""
    );
    for (name, rate, pair) in [
        (
            "obtain+release pairs, one key, sequential",
            one_key,
            &one_key_pair,
        ),
        (
            "obtain+release pairs, 1,000 keys, sequential",
            many_keys,
            &many_keys_pair,
        ),
    ] {
        println!("{:<58} {:>12.0}/s {:>12}", name, rate, "");
        for (q, d) in [("p50", pair.p50), ("p99", pair.p99), ("mean", pair.mean)] {
            println!(
                "{:<58} {:>11.1} µs {:>8.2} RTT",
                format!("  time per pair, {q}"),
                micros(d),
                d.as_secs_f64() / rtt.p50.as_secs_f64()
            );
        }
    }
    for (name, rate) in [
        ("obtain+release pairs, 1,000 keys, 32 tasks", many_keys_conc),
        (
            "obtain+release pairs, one key, 32 contending tasks",
            contended,
        ),
    ] {
        println!(
            "{:<58} {:>12.0}/s {:>12}",
            name,
            rate,
            format!("{:.2}x seq.", rate / one_key)
        );
    }
    println!(
        "{:<58} {:>14} {:>12}",
        "Redis commands per obtain+release (uncontended)",
        format!("{:.2}", pair_cmds.per_op),
        pair_cmds.breakdown
    );
    println!(
        "{:<58} {:>14} {:>12}",
        "Redis commands per hand-over cycle (2 pairs, 1 waiter)",
        format!("{:.2}", handover_cmds.per_op),
        handover_cmds.breakdown
    );
    for (name, s) in [
        ("hand-over latency with Pub/Sub wake-up", &woken_lat),
        (
            "hand-over latency, polling only (backoff 20 ms)",
            &polling_lat,
        ),
    ] {
        println!(
            "{:<58} {:>11.1} µs {:>9.1} RTT",
            format!("{name}, p50"),
            micros(s.p50),
            s.p50.as_secs_f64() / rtt.p50.as_secs_f64()
        );
        println!(
            "{:<58} {:>11.1} µs {:>9.1} RTT",
            format!("{name}, p99"),
            micros(s.p99),
            s.p99.as_secs_f64() / rtt.p50.as_secs_f64()
        );
    }
    println!();
    println!(
        "Go reference (polling with the default 2 s backoff): hand-over after 0-2 s, about 1 s on average."
    );
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

impl Stats {
    fn of(samples: &mut [Duration]) -> Stats {
        samples.sort_unstable();
        let n = samples.len().max(1);
        let total: Duration = samples.iter().sum();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        Stats {
            mean: total / u32::try_from(n).unwrap_or(u32::MAX),
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// Uncontended pairs per second and the time of each pair: `tasks` tasks, each cycling over its
/// own share of `keys` keys.
async fn pairs_per_sec(
    locker: &RedisChannelLocker,
    keys: usize,
    tasks: usize,
    total: usize,
) -> Result<(f64, Vec<Duration>)> {
    let per_task = total / tasks;
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let locker = locker.clone();
        handles.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(per_task);
            for i in 0..per_task {
                // Task t uses keys t, t + tasks, t + 2 * tasks, ... so no two tasks share a key.
                let key = if keys == 1 {
                    "one".to_owned()
                } else {
                    format!("k{}", (t + tasks * i) % keys)
                };
                let pair = Instant::now();
                let lock = locker.obtain_lock(&key, TTL, Duration::ZERO).await?;
                lock.release().await?;
                times.push(pair.elapsed());
            }
            Ok::<_, LockError>(times)
        }));
    }
    let mut times = Vec::with_capacity(total);
    for h in handles {
        times.extend(h.await.context("bench task")??);
    }
    Ok((
        (per_task * tasks) as f64 / start.elapsed().as_secs_f64(),
        times,
    ))
}

/// Pairs per second on one key with `tasks` tasks contending (waiting with wake-ups).
async fn contended_pairs_per_sec(
    locker: &RedisChannelLocker,
    tasks: usize,
    total: usize,
) -> Result<f64> {
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let locker = locker.clone();
        let done = done.clone();
        handles.push(tokio::spawn(async move {
            while done.load(Ordering::Relaxed) < total {
                match locker
                    .obtain_lock("contended", TTL, Duration::from_secs(30))
                    .await
                {
                    Ok(lock) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        lock.release().await?;
                    }
                    Err(LockError::Unavailable) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }));
    }
    for h in handles {
        h.await.context("bench task")??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// One hand-over on `key`: a holder obtains, a waiter starts waiting, the holder releases; returns
/// the time from the release call to the waiter holding the lock.
async fn hand_over(
    locker: &RedisChannelLocker,
    check: &redis::aio::MultiplexedConnection,
    key: &str,
    subscribes: bool,
) -> Result<Duration> {
    let held = locker.obtain_lock(key, TTL, Duration::ZERO).await?;
    let waiter = {
        let locker = locker.clone();
        let key = key.to_owned();
        tokio::spawn(async move {
            let lock = locker.obtain_lock(&key, TTL, LONG).await;
            (Instant::now(), lock)
        })
    };
    // Let the waiter fail its attempt(s) and park (subscribed, when the locker has a client).
    let channel = held.keys().channel.clone();
    let mut conn = check.clone();
    for _ in 0..200 {
        if !subscribes {
            break;
        }
        let (_, n): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut conn)
            .await?;
        if n >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(3)).await;
    let start = Instant::now();
    held.release().await?;
    let (obtained_at, lock) = waiter.await.context("waiter task")?;
    let lock = lock?;
    let latency = obtained_at.saturating_duration_since(start);
    lock.release().await?;
    Ok(latency)
}

struct Counted {
    per_op: f64,
    breakdown: String,
}

/// Runs `work` (`ops` operations) under `MONITOR` and counts the commands clients sent, except
/// those the benchmark itself sends for bookkeeping (`PUBSUB`, connection setup, the end marker).
async fn count_commands<F, Fut>(client: &redis::Client, ops: usize, work: F) -> Result<Counted>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let monitor = client.get_async_monitor().await?;
    let mut lines = monitor.into_on_message::<String>();
    let marker = format!("bench-end-marker-{}", std::process::id());
    let counter = tokio::spawn({
        let marker = marker.clone();
        async move {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            while let Some(line) = lines.next().await {
                if line.contains(&marker) {
                    break;
                }
                // `<time> [<db> <client>] "<command>" ...`; script-internal commands show `lua`.
                let Some((client, rest)) = line.split_once("] ") else {
                    continue;
                };
                if client.ends_with(" lua") {
                    continue;
                }
                let name = rest
                    .split('"')
                    .nth(1)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                *counts.entry(name).or_default() += 1;
            }
            counts
        }
    });
    work().await?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let _: String = redis::cmd("ECHO")
        .arg(&marker)
        .query_async(&mut conn)
        .await?;
    let counts = counter.await.context("monitor task")?;
    let counts: BTreeMap<String, usize> = counts
        .into_iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "pubsub" | "client" | "hello" | "select" | "echo"
            )
        })
        .collect();
    let total: usize = counts.values().sum();
    let breakdown = counts
        .iter()
        .map(|(name, n)| format!("{name} {:.2}", *n as f64 / ops as f64))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Counted {
        per_op: total as f64 / ops as f64,
        breakdown,
    })
}
