//! Every validation error of the alert endpoints, with its exact message and status.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use sm_api::{ApiConfig, ApiSettings, StaticChannel, StaticChannelInfo};
use sm_core::{FifoQueueProducer, InMemoryFifoQueue, QueueError};

use crate::support::{TestApi, error_of, header};

const KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

fn channels() -> StaticChannelInfo {
    StaticChannelInfo::new([
        StaticChannel::new("C0OK000001", "ok"),
        StaticChannel {
            archived: true,
            ..StaticChannel::new("C0ARCHIVED", "archived")
        },
        StaticChannel {
            bot_is_member: false,
            ..StaticChannel::new("C0NOBOT001", "nobot")
        },
        StaticChannel {
            user_count: 101,
            ..StaticChannel::new("C0CROWDED1", "crowded")
        },
    ])
}

#[tokio::test]
async fn alert_errors_have_exact_messages_and_queue_nothing() {
    let api = TestApi::start_with(
        ApiConfig::default(),
        ApiSettings::default(),
        Some(Arc::new(channels())),
    )
    .await;
    let too_many: Vec<_> = (0..31)
        .map(|i| json!({"slackChannelId": "C0OK000001", "header": format!("h{i}")}))
        .collect();
    let webhook = json!({"slackChannelId": "C0OK000001", "header": "h",
        "webhooks": [{"id": "w", "url": "https://example.invalid/hook", "buttonText": "Go", "payload": {"a": 1}}]});
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("/alert", String::new(), 400, "Missing POST body"),
        (
            "/alerts",
            json!({"header": "x"}).to_string(),
            400,
            "Alert has no route key, and no fallback mapping exists",
        ),
        (
            "/alert",
            json!({"header": "x", "routeKey": "Svc", "type": "Metric"}).to_string(),
            400,
            "No mapping exists for route key Svc and alert type Metric",
        ),
        (
            "/alert",
            json!({"slackChannelId": "C0OK000001"}).to_string(),
            400,
            "Input validation failed: header and text cannot both be empty",
        ),
        (
            "/alerts",
            json!(too_many).to_string(),
            400,
            "Too many alerts for channel C0OK000001: 31 alerts (limit: 30)",
        ),
        (
            "/alert/C0MISSING1",
            json!({"header": "x"}).to_string(),
            400,
            "Unable to find channel C0MISSING1 in workspace",
        ),
        (
            "/alert/C0ARCHIVED",
            json!({"header": "x"}).to_string(),
            400,
            "Channel C0ARCHIVED is archived",
        ),
        (
            "/alert/C0NOBOT001",
            json!({"header": "x"}).to_string(),
            400,
            "The Slack Manager integration is not in channel C0NOBOT001",
        ),
        (
            "/alert/C0CROWDED1",
            json!({"header": "x"}).to_string(),
            400,
            "The number of users (101) in channel C0CROWDED1 exceeds the limit (100)",
        ),
        (
            "/alert",
            webhook.to_string(),
            400,
            "Alert contains webhooks, but no encryption key is configured",
        ),
    ];
    for (path, body, status, message) in cases {
        let resp = api.post(path, body.clone()).await;
        assert!(header(&resp, "ratelimit-limit").is_none(), "{path} {body}");
        assert_eq!(
            error_of(resp).await,
            (status, message.to_owned()),
            "{path} {body}"
        );
    }
    // Parse errors carry the decoder's message after the fixed prefix.
    for body in ["{", "null", "[null]", r#"{"autoResolveSeconds": "soon"}"#] {
        let (status, message) = error_of(api.post("/alert", body).await).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            message.starts_with("Failed to parse POST body: failed to json unmarshal input: "),
            "{body}: {message}"
        );
    }
    assert!(api.queue.is_empty());
    api.stop().await;
}

#[tokio::test]
async fn encryption_failure_is_a_500_and_big_bodies_a_413() {
    let config = ApiConfig {
        encryption_key: KEY.into(),
        max_body_bytes: 4096,
        ..ApiConfig::default()
    };
    let api = TestApi::start(config, ApiSettings::default()).await;
    let big_payload = json!({"slackChannelId": "C1", "header": "h",
        "webhooks": [{"id": "w", "url": "https://example.invalid/hook", "buttonText": "Go", "payload": {"k": "x".repeat(2100)}}]});
    let resp = api.post("/alert", big_payload.to_string()).await;
    assert_eq!(
        error_of(resp).await,
        (500, "Internal server error".to_owned())
    );
    let huge = json!({"slackChannelId": "C1", "header": "h", "text": "y".repeat(5000)});
    let resp = api.post("/alert", huge.to_string()).await;
    assert_eq!(
        error_of(resp).await,
        (413, "Request body is larger than 4096 bytes".to_owned())
    );
    assert!(api.queue.is_empty());
    api.stop().await;
}

#[tokio::test]
async fn errors_are_reported_to_the_error_report_channel() {
    let config = ApiConfig {
        error_report_channel_id: "C0REPORTS1".into(),
        ..ApiConfig::default()
    };
    let api = TestApi::start(config, ApiSettings::default()).await;
    let resp = api
        .post(
            "/alert",
            json!({"routeKey": "billing", "header": "Invoice run failed"}).to_string(),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = api.post("/alert", "").await;
    assert_eq!(resp.status(), 400);
    let reports = api.take_queued(2).await;
    assert!(reports.iter().all(|r| r.slack_channel_id == "C0REPORTS1"));
    assert!(
        reports
            .iter()
            .all(|r| r.header == ":status: Client error 400")
    );
    let texts: Vec<&str> = reports.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(
        texts[0],
        "*Target*: `billing (route key)`\n*Error*: `no mapping exists for route key billing and alert type `\n*CorrelationId*: ``\n*Header*: `Invoice run failed`\n*Body*: ``"
    );
    assert_eq!(
        texts[1],
        "*Target*: `[no channel ID or route key found]`\n*Error*: `missing POST body`"
    );
    api.stop().await;
}

/// A producer whose sends never finish, to reach the handler timeout.
struct StalledProducer;

#[async_trait]
impl FifoQueueProducer for StalledProducer {
    fn name(&self) -> &str {
        "stalled"
    }

    async fn send(&self, _: &str, _: &str, _: &str) -> Result<(), QueueError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn handler_timeout_is_a_503() {
    let config = ApiConfig {
        handler_timeout: Duration::from_millis(200),
        ..ApiConfig::default()
    };
    let api = TestApi::start_on(
        Arc::new(InMemoryFifoQueue::new("unused")),
        Arc::new(StalledProducer),
        config,
        ApiSettings::default(),
        None,
    )
    .await;
    let resp = api
        .post(
            "/alert",
            json!({"slackChannelId": "C1", "header": "h"}).to_string(),
        )
        .await;
    assert_eq!(error_of(resp).await, (503, "Request timeout".to_owned()));
    api.stop().await;
}
