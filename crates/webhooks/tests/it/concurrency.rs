//! The per-target concurrency limit, counted by the server.

use std::sync::Arc;
use std::time::Duration;

use sm_core::WebhookHandler;
use sm_webhooks::HttpWebhookHandler;
use tokio::sync::watch;

use crate::server::{TestServer, callback, fast_retries, ok, wait_until};

#[tokio::test]
async fn in_flight_requests_per_target_are_limited() {
    let (open_tx, open_rx) = watch::channel(false);
    let gated = TestServer::start(move |_| {
        let mut open = open_rx.clone();
        async move {
            let _ = open.wait_for(|o| *o).await;
            ok()
        }
    })
    .await;
    let other = TestServer::start(|_| async { ok() }).await;
    let handler = Arc::new(
        HttpWebhookHandler::new()
            .with_retry_policy(fast_retries().with_total_deadline(Duration::from_secs(60)))
            .with_request_timeout(Duration::from_secs(30))
            .with_max_concurrency_per_target(2),
    );

    let mut tasks = Vec::new();
    for _ in 0..6 {
        let handler = Arc::clone(&handler);
        let url = gated.url("/gated");
        tasks.push(tokio::spawn(async move {
            handler.handle_webhook(&url, &callback()).await
        }));
    }
    wait_until("two requests are in flight", || gated.in_flight() >= 2).await;
    // Give the other four every chance to get through if the limit were broken.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(gated.count(), 2);

    // Another target is not held up by the saturated one.
    handler
        .handle_webhook(&other.url("/free"), &callback())
        .await
        .unwrap();

    open_tx.send(true).unwrap();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(gated.count(), 6);
    assert_eq!(gated.max_in_flight(), 2);
}
