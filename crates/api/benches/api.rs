//! Throughput of the alert API over loopback HTTP, against `GET /ping` measured in the same run.
//!
//! Scenarios (each with 8 concurrent clients, in-memory alert queue, generous rate limits):
//! - `ping`: the framework and middleware baseline;
//! - `alert`: `POST /alert` with one alert (parse, clean, validate, rate limit, queue);
//! - `alerts x10`: `POST /alerts` with ten alerts for ten channels;
//! - `prometheus x10`: `POST /prometheus-alert` with ten Alertmanager alerts;
//! - `webhook`: one alert with an encrypted webhook payload.
//!
//! Figures are requests per second and the ratio of the request time to the `ping` request time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sm_api::{ApiConfig, ApiServer, ApiSettings, RateLimitConfig};
use sm_core::InMemoryFifoQueue;
use tokio_util::sync::CancellationToken;

const CLIENTS: usize = 8;
const DURATION: Duration = Duration::from_secs(3);

enum Req {
    Get(&'static str),
    Post(&'static str, Arc<dyn Fn(usize) -> String + Send + Sync>),
}

async fn run(base: &str, req: Req) -> f64 {
    let client = reqwest::Client::new();
    let counter = Arc::new(AtomicUsize::new(0));
    let req = Arc::new(req);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let client = client.clone();
        let counter = counter.clone();
        let req = req.clone();
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < DURATION {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let resp = match &*req {
                    Req::Get(path) => client.get(format!("{base}{path}")).send().await,
                    Req::Post(path, body) => {
                        client
                            .post(format!("{base}{path}"))
                            .body(body(n))
                            .send()
                            .await
                    }
                };
                let status = resp.expect("request failed").status();
                assert!(status.is_success(), "unexpected status {status}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task panicked");
    }
    counter.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let queue = Arc::new(InMemoryFifoQueue::new("bench").with_dedup_window(Duration::ZERO));
        let config = ApiConfig {
            encryption_key: "0123456789abcdefghijABCDEFGHIJ01".into(),
            rate_limit_per_alert_channel: RateLimitConfig {
                alerts_per_second: 1000.0,
                allowed_burst: 10_000,
            },
            ..ApiConfig::default()
        };
        let server = ApiServer::new(queue.clone(), config, ApiSettings::default()).expect("server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let cancel = CancellationToken::new();
        let serving = tokio::spawn({
            let cancel = cancel.clone();
            async move { server.serve(listener, cancel).await }
        });

        let ping = run(&base, Req::Get("/ping")).await;
        println!("{:<16} {:>9.0} req/s   1.00x ping time", "ping", ping);
        let scenarios: Vec<(&str, Req)> = vec![
            (
                "alert",
                Req::Post(
                    "/alert",
                    Arc::new(|n| {
                        json!({"slackChannelId": format!("C{:04}", n % 500), "header": format!("alert {n}"), "text": "disk full"}).to_string()
                    }),
                ),
            ),
            (
                "alerts x10",
                Req::Post(
                    "/alerts",
                    Arc::new(|n| {
                        let list: Vec<_> = (0..10)
                            .map(|i| json!({"slackChannelId": format!("C{:04}", (n * 10 + i) % 500), "header": format!("alert {n}/{i}")}))
                            .collect();
                        json!(list).to_string()
                    }),
                ),
            ),
            (
                "prometheus x10",
                Req::Post(
                    "/prometheus-alert",
                    Arc::new(|n| {
                        let alerts: Vec<_> = (0..10)
                            .map(|i| json!({"status": "firing",
                                "labels": {"alertname": format!("A{i}"), "namespace": "shop", "channel": format!("C{:04}", (n * 10 + i) % 500)},
                                "annotations": {"summary": "Latency high", "description": "p99 above 2s"},
                                "startsAt": "2024-05-01T10:00:00Z"}))
                            .collect();
                        json!({"groupKey": format!("g{n}"), "alerts": alerts}).to_string()
                    }),
                ),
            ),
            (
                "webhook",
                Req::Post(
                    "/alert",
                    Arc::new(|n| {
                        json!({"slackChannelId": format!("C{:04}", n % 500), "header": format!("alert {n}"),
                            "webhooks": [{"id": "w", "url": "https://example.invalid/x", "buttonText": "Go",
                                "payload": {"host": "db-1", "action": "restart", "attempt": n}}]}).to_string()
                    }),
                ),
            ),
        ];
        for (name, req) in scenarios {
            let rate = run(&base, req).await;
            println!("{name:<16} {rate:>9.0} req/s   {:.2}x ping time", ping / rate);
        }
        println!("alerts queued: {}", queue.len());
        cancel.cancel();
        serving.await.expect("server task").expect("server");
    });
}
