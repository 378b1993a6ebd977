//! Raw alert consumers: queue items that are single alerts, acked when done or invalid, retried
//! when the alert queue refuses them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sm_api::{ApiConfig, ApiServer, ApiSettings};
use sm_core::{Alert, FifoQueue, FifoQueueProducer, InMemoryFifoQueue};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::TestApi;

/// Polls `cond` every 20 ms for up to 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn raw_alerts_are_processed_invalid_ones_dropped_and_queue_errors_retried() {
    // The alert queue holds one waiting message per channel, so a second alert for C0RAW00001 is
    // refused until the first is consumed.
    let alert_queue = Arc::new(InMemoryFifoQueue::new("alerts").with_max_channel_backlog(1));
    let raw = Arc::new(InMemoryFifoQueue::new("raw"));
    let server = ApiServer::new(
        alert_queue.clone(),
        ApiConfig::default(),
        ApiSettings::default(),
    )
    .unwrap()
    .with_raw_alert_consumer(raw.clone());
    let api = TestApi::launch(alert_queue.clone(), server).await;

    let first = json!({"slackChannelId": "c0raw00001", "header": "first"}).to_string();
    let second = json!({"slackChannelId": "C0RAW00001", "header": "second"}).to_string();
    raw.send("R1", "1", "not json").await.unwrap();
    raw.send("R2", "2", &json!({"header": "no channel"}).to_string())
        .await
        .unwrap();
    raw.send(
        "R3",
        "3",
        &json!({"slackChannelId": "C0RAW00002"}).to_string(),
    )
    .await
    .unwrap();
    raw.send("R4", "4", &first).await.unwrap();
    raw.send("R4", "5", &second).await.unwrap();

    // Everything but the refused second alert is settled; the first alert is queued.
    eventually("the first alert", || alert_queue.len() == 1).await;
    eventually("the invalid items to be acked", || raw.len() == 1).await;

    // Consume the first alert: the retried second one follows.
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel(4);
    let receiver = tokio::spawn({
        let q = alert_queue.clone();
        let cancel = cancel.clone();
        async move { q.receive(cancel, tx).await }
    });
    let mut headers = Vec::new();
    for _ in 0..2 {
        let item = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let alert: Alert = serde_json::from_str(&item.body).unwrap();
        assert_eq!(alert.slack_channel_id, "C0RAW00001");
        headers.push(alert.header);
        item.ack().await.unwrap();
    }
    assert_eq!(headers, ["first", "second"]);
    eventually("the raw queue to drain", || raw.is_empty()).await;
    cancel.cancel();
    receiver.await.unwrap().unwrap();
    api.stop().await;
}
