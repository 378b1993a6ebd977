//! Benchmark of sm-store (`cargo xtask bench store`).
//!
//! For each backend (memory, SQLite file, PostgreSQL in a fresh schema that is dropped at the end)
//! at 10k and 100k stored issues, prints:
//! - saves per second: sequential `save_issue` of a changed copy of a random stored issue;
//! - lookups per second: sequential `find_open_issue_by_correlation_id` of a random stored issue;
//! - each rate against the in-memory store measured in the same run (the baseline).
//!
//! Issues are spread over 100 channels. Stores are pre-filled with batched `save_issues` (1,000 per
//! batch; the "fill s" column is the time to grow to that size), then a fixed number of operations
//! is timed. Set `SM_TEST_POSTGRES_URL` to use another PostgreSQL than the local default.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::{TimeZone, Utc};
use sm_core::{Alert, Issue, IssueAlert, Severity, Store};
use sm_store::{MemoryStore, PostgresStore, PostgresStoreOptions, SqliteStore};

const SIZES: [usize; 2] = [10_000, 100_000];
const CHANNELS: usize = 100;
const BATCH: usize = 1_000;

/// Small deterministic PRNG (xorshift64*), so runs pick the same issues.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        usize::try_from(x % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
    }
}

fn make_issue(n: usize) -> Issue {
    let mut a = Alert::new(Severity::Error);
    a.slack_channel_id = format!("C{:08}", n % CHANNELS);
    a.correlation_id = format!("corr-{n}");
    a.header = "disk full".into();
    a.text = format!("host-{n} is out of disk space on /var");
    a.issue_follow_up_enabled = true;
    a.auto_resolve_seconds = 3600;
    // A fixed creation time per `n` makes the issue ID a function of `n`, so a later
    // `make_issue(n)` is a copy of the stored issue (a save updates it).
    let created = Utc
        .timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default()
        + chrono::Duration::nanoseconds(i64::try_from(n).unwrap_or(0));
    Issue::from_alert(IssueAlert::new(a), created)
}

struct Row {
    backend: &'static str,
    issues: usize,
    saves_per_sec: f64,
    lookups_per_sec: f64,
    fill_secs: f64,
}

struct Backend {
    name: &'static str,
    store: Arc<dyn Store>,
    save_ops: usize,
    lookup_ops: usize,
}

async fn fill(store: &dyn Store, from: usize, to: usize) -> Result<f64> {
    let start = Instant::now();
    let mut n = from;
    while n < to {
        let end = (n + BATCH).min(to);
        let batch: Vec<Issue> = (n..end).map(make_issue).collect();
        store.save_issues(&batch).await.context("pre-filling")?;
        n = end;
    }
    Ok(start.elapsed().as_secs_f64())
}

async fn measure(b: &Backend, issues: usize, fill_secs: f64) -> Result<Row> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut copies: Vec<Issue> = (0..b.save_ops)
        .map(|_| make_issue(rng.below(issues)))
        .collect();
    for (k, issue) in copies.iter_mut().enumerate() {
        issue.alert_count = i64::try_from(k).unwrap_or(0) + 2;
    }
    let start = Instant::now();
    for issue in &copies {
        b.store.save_issue(issue).await.context("saving")?;
    }
    let saves_per_sec = b.save_ops as f64 / start.elapsed().as_secs_f64();

    let keys: Vec<(String, String)> = (0..b.lookup_ops)
        .map(|_| {
            let n = rng.below(issues);
            (format!("C{:08}", n % CHANNELS), format!("corr-{n}"))
        })
        .collect();
    let start = Instant::now();
    for (channel, corr) in &keys {
        let found = b
            .store
            .find_open_issue_by_correlation_id(channel, corr)
            .await
            .context("looking up")?;
        anyhow::ensure!(found.is_some(), "issue {corr} in {channel} not found");
    }
    let lookups_per_sec = b.lookup_ops as f64 / start.elapsed().as_secs_f64();
    Ok(Row {
        backend: b.name,
        issues,
        saves_per_sec,
        lookups_per_sec,
        fill_secs,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let sqlite = SqliteStore::open(dir.path().join("bench.db")).await?;
    sqlite.init(false).await?;

    let schema = format!("sm_store_bench_{}", ulid::Ulid::new()).to_lowercase();
    let url = sm_test_support::postgres_url();
    let postgres =
        PostgresStore::connect(PostgresStoreOptions::new(&url).with_schema(&schema)).await?;
    postgres
        .init(false)
        .await
        .with_context(|| format!("PostgreSQL at {url} is not usable"))?;

    println!("sm-store benchmark: sequential operations, {CHANNELS} channels");
    println!(
        "sqlite: file in {} (WAL); postgres: {url}, schema {schema}",
        dir.path().display()
    );
    println!();

    let backends = [
        Backend {
            name: "memory",
            store: Arc::new(MemoryStore::new()),
            save_ops: 50_000,
            lookup_ops: 100_000,
        },
        Backend {
            name: "sqlite",
            store: Arc::new(sqlite),
            save_ops: 3_000,
            lookup_ops: 10_000,
        },
        Backend {
            name: "postgres",
            store: Arc::new(postgres.clone()),
            save_ops: 2_000,
            lookup_ops: 5_000,
        },
    ];

    let result = run(&backends).await;
    // Drop only this run's schema, whatever happened.
    let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(postgres.pool())
        .await;
    let rows = result?;
    dropped.context("dropping the benchmark schema")?;

    println!(
        "{:<10} {:>8} {:>12} {:>10} {:>14} {:>10} {:>10}",
        "backend", "issues", "saves/s", "vs memory", "lookups/s", "vs memory", "fill s"
    );
    println!("{}", "-".repeat(80));
    for r in &rows {
        let base = rows
            .iter()
            .find(|m| m.backend == "memory" && m.issues == r.issues);
        let ratio = |f: fn(&Row) -> f64| base.map_or(f64::NAN, |m| f(r) / f(m));
        println!(
            "{:<10} {:>8} {:>12.0} {:>9.3}x {:>14.0} {:>9.3}x {:>10.1}",
            r.backend,
            r.issues,
            r.saves_per_sec,
            ratio(|x| x.saves_per_sec),
            r.lookups_per_sec,
            ratio(|x| x.lookups_per_sec),
            r.fill_secs,
        );
    }
    Ok(())
}

async fn run(backends: &[Backend]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for b in backends {
        let mut filled = 0;
        for &size in &SIZES {
            let fill_secs = fill(b.store.as_ref(), filled, size).await?;
            filled = size;
            let row = measure(b, size, fill_secs).await?;
            eprintln!(
                "{} at {size}: {:.0} saves/s, {:.0} lookups/s",
                b.name, row.saves_per_sec, row.lookups_per_sec
            );
            rows.push(row);
        }
    }
    Ok(rows)
}
