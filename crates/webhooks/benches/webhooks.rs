//! Webhook delivery throughput and added latency, against loopback HTTP servers.
//!
//! Baseline: a raw hyper client (`hyper_util` legacy pooled client) POSTing the same pre-serialised
//! callback. Measured in the same run:
//! - deliveries per second with 16 concurrent senders to 1 target and to 100 targets (100 servers
//!   on distinct ports), for the raw client, a plain `reqwest` client (the HTTP stack the handler
//!   is built on, to separate its cost from the handler's own), `HttpWebhookHandler` and
//!   `HttpWebhookHandler` with signing;
//! - per-request latency of sequential deliveries (raw and handler requests interleaved), p50 and
//!   p99, and the p99 the handler adds over the raw client.
//!
//! Run with `cargo bench -p sm-webhooks --bench webhooks` (or `cargo xtask bench webhooks`).
//! `SM_BENCH_SCALE` (default 1.0) scales the request counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sm_core::{WebhookCallback, WebhookHandler};
use sm_webhooks::HttpWebhookHandler;

const CONCURRENCY: usize = 16;

type RawClient = Client<HttpConnector, Full<Bytes>>;

fn callback() -> WebhookCallback {
    let mut payload = serde_json::Map::new();
    payload.insert("action".into(), "restart".into());
    payload.insert("service".into(), "billing-api".into());
    WebhookCallback {
        id: "restart-service".into(),
        user_id: "U123".into(),
        user_real_name: "Ada Lovelace".into(),
        channel_id: "C0123456789".into(),
        message_id: "1700000000.000100".into(),
        timestamp: Utc::now(),
        input: Some([("reason".to_owned(), "stuck".to_owned())].into()),
        checkbox_input: None,
        payload,
    }
}

async fn start_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let app = axum::Router::new().fallback(|_body: Bytes| async { "ok" });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hook")
}

#[derive(Clone)]
enum Sender {
    Raw(Arc<RawClient>, Bytes),
    Reqwest(reqwest::Client, Bytes),
    Handler(Arc<HttpWebhookHandler>, Arc<WebhookCallback>),
}

impl Sender {
    async fn send(&self, url: &str) {
        match self {
            Sender::Raw(client, body) => {
                let req = hyper::Request::post(url)
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .expect("valid request");
                let resp = client.request(req).await.expect("raw request");
                assert!(resp.status().is_success());
                let _ = resp.into_body().collect().await.expect("raw body");
            }
            Sender::Reqwest(client, body) => {
                let resp = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("reqwest request");
                assert!(resp.status().is_success());
                let _ = resp.bytes().await.expect("reqwest body");
            }
            Sender::Handler(handler, data) => {
                handler
                    .handle_webhook(url, data)
                    .await
                    .expect("handler delivery");
            }
        }
    }
}

async fn throughput(sender: &Sender, urls: &[String], total: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let urls = Arc::new(urls.to_vec());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (sender, next, urls) = (sender.clone(), Arc::clone(&next), Arc::clone(&urls));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                sender.send(&urls[i % urls.len()]).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let scale: f64 = std::env::var("SM_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n = |base: usize| ((base as f64 * scale) as usize).max(100);

    let one = vec![start_server().await];
    let mut hundred = Vec::new();
    for _ in 0..100 {
        hundred.push(start_server().await);
    }

    let data = Arc::new(callback());
    let body = Bytes::from(serde_json::to_vec(&*data).expect("serialise callback"));
    let raw_client: RawClient = Client::builder(TokioExecutor::new()).build_http();
    let senders = [
        (
            "raw hyper client",
            Sender::Raw(Arc::new(raw_client), body.clone()),
        ),
        (
            "raw reqwest client",
            Sender::Reqwest(reqwest::Client::new(), body.clone()),
        ),
        (
            "HttpWebhookHandler",
            Sender::Handler(
                Arc::new(HttpWebhookHandler::try_new().expect("client")),
                Arc::clone(&data),
            ),
        ),
        (
            "HttpWebhookHandler + signing",
            Sender::Handler(
                Arc::new(
                    HttpWebhookHandler::new()
                        .with_signing_secret("bench secret")
                        .build()
                        .expect("client"),
                ),
                Arc::clone(&data),
            ),
        ),
    ];

    println!(
        "sm-webhooks delivery benchmark (loopback, {CONCURRENCY} concurrent senders, 2 runtime workers, best of 3 interleaved rounds)"
    );
    println!();
    println!(
        "{:<30} {:>14} {:>14} {:>10} {:>10}",
        "client", "1 target/s", "100 targets/s", "vs raw 1", "vs raw 100"
    );
    // Warm up connections to every target.
    for (_, sender) in &senders {
        throughput(sender, &hundred, 400).await;
        throughput(sender, &one, 200).await;
    }
    // Rounds interleave the clients so that drift in machine load hits all of them; each client's
    // best round is reported.
    const ROUNDS: usize = 3;
    let mut best = vec![(0.0f64, 0.0f64); senders.len()];
    for _ in 0..ROUNDS {
        for (i, (_, sender)) in senders.iter().enumerate() {
            let t1 = throughput(sender, &one, n(8_000)).await;
            let t100 = throughput(sender, &hundred, n(8_000)).await;
            best[i] = (best[i].0.max(t1), best[i].1.max(t100));
        }
    }
    let baseline = best[0];
    for ((name, _), (t1, t100)) in senders.iter().zip(&best) {
        println!(
            "{name:<30} {t1:>14.0} {t100:>14.0} {:>9.2}x {:>9.2}x",
            t1 / baseline.0,
            t100 / baseline.1
        );
    }

    // Sequential latency, raw and handler interleaved so both see the same conditions.
    let raw = &senders[0].1;
    let handler = &senders[2].1;
    let samples = n(5_000);
    let (mut raw_lat, mut handler_lat) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for _ in 0..200 {
        raw.send(&one[0]).await;
        handler.send(&one[0]).await;
    }
    for _ in 0..samples {
        let t = Instant::now();
        raw.send(&one[0]).await;
        raw_lat.push(t.elapsed());
        let t = Instant::now();
        handler.send(&one[0]).await;
        handler_lat.push(t.elapsed());
    }
    raw_lat.sort_unstable();
    handler_lat.sort_unstable();
    let (r50, r99) = (percentile(&raw_lat, 0.50), percentile(&raw_lat, 0.99));
    let (h50, h99) = (
        percentile(&handler_lat, 0.50),
        percentile(&handler_lat, 0.99),
    );
    println!();
    println!("sequential latency, 1 target, {samples} requests each (µs)");
    println!("{:<30} {:>10} {:>10}", "client", "p50", "p99");
    println!(
        "{:<30} {:>10.1} {:>10.1}",
        "raw hyper client",
        us(r50),
        us(r99)
    );
    println!(
        "{:<30} {:>10.1} {:>10.1}",
        "HttpWebhookHandler",
        us(h50),
        us(h99)
    );
    println!(
        "{:<30} {:>10.1} {:>10.1}",
        "added by the handler",
        us(h50) - us(r50),
        us(h99) - us(r99)
    );
}
