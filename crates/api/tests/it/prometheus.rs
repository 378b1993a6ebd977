//! `POST /prometheus-alert`: Alertmanager webhooks mapped to alerts.

use serde_json::json;
use sm_api::{ApiConfig, ApiSettings, RoutingRule};
use sm_core::{Severity, concat_hash};

use crate::support::{TestApi, error_of};

fn settings() -> ApiSettings {
    ApiSettings {
        routing_rules: vec![RoutingRule {
            name: "payments".into(),
            has_prefix: vec!["payments".into()],
            channel: "C0PAYMENTS".into(),
            ..RoutingRule::default()
        }],
    }
}

#[tokio::test]
async fn webhook_alerts_are_mapped_routed_and_queued() {
    let api = TestApi::start(ApiConfig::default(), settings()).await;
    let payload = json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighLatency\"}",
        "status": "firing",
        "receiver": "slack-manager",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "namespace": "shop", "Severity": "Warning", "SlackChannelId": "C0SHOP0001"},
                "annotations": {"summary": "Latency above 2s", "description": "p99 is 2.4s", "autoResolveSeconds": "600"},
                "startsAt": "2024-05-01T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": "abc"
            },
            {
                "status": "resolved",
                "labels": {"alertname": "QueueStuck", "route_key": "payments-worker", "correlation_id": "queue-stuck-1"},
                "annotations": {"title": ":status: Queue stuck"},
                "startsAt": "2024-05-01T09:00:00.5+01:00",
                "endsAt": "2024-05-01T09:30:00+01:00"
            }
        ]
    });
    let resp = api.post("/prometheus-alert", payload.to_string()).await;
    assert_eq!(resp.status(), 202);
    let mut queued = api.take_queued(2).await;
    queued.sort_by(|a, b| a.slack_channel_id.cmp(&b.slack_channel_id));

    let routed = &queued[0];
    assert_eq!(routed.slack_channel_id, "C0PAYMENTS");
    assert_eq!(routed.route_key, "payments-worker");
    assert_eq!(routed.correlation_id, "queue-stuck-1");
    assert_eq!(routed.header, ":status: Queue stuck");
    assert_eq!(routed.severity, Severity::Resolved);
    assert_eq!(routed.auto_resolve_seconds, 3600);
    assert_eq!(routed.archiving_delay_seconds, 21_600);
    let meta = routed.metadata.as_ref().unwrap();
    assert_eq!(meta["status"], "resolved");
    assert_eq!(meta["startsAt"], "2024-05-01T09:00:00.5+01:00");
    assert_eq!(meta["endsAt"], "2024-05-01T09:30:00+01:00");

    let direct = &queued[1];
    assert_eq!(direct.slack_channel_id, "C0SHOP0001");
    assert_eq!(direct.header, ":status: Latency above 2s");
    assert_eq!(direct.fallback_text, "Latency above 2s");
    assert_eq!(direct.text, "p99 is 2.4s");
    assert_eq!(direct.severity, Severity::Warning);
    assert_eq!(direct.auto_resolve_seconds, 600);
    assert!(direct.issue_follow_up_enabled);
    assert_eq!(
        direct.correlation_id,
        concat_hash(["namespace::shop", "alertname::HighLatency"])
    );
    let meta = direct.metadata.as_ref().unwrap();
    assert_eq!(meta["groupKey"], "{}:{alertname=\"HighLatency\"}");
    assert_eq!(meta["labels"]["severity"], "Warning");
    assert_eq!(meta["labels"]["Severity"], "Warning");
    api.stop().await;
}

#[tokio::test]
async fn url_segment_sets_the_channel() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let payload =
        json!({"groupKey": "g", "alerts": [{"status": "firing", "labels": {"alertname": "A"}}]});
    let resp = api
        .post("/prometheus-alert/C0URLPROM", payload.to_string())
        .await;
    assert_eq!(resp.status(), 202);
    let queued = api.take_queued(1).await;
    assert_eq!(queued[0].slack_channel_id, "C0URLPROM");
    assert_eq!(queued[0].header, ":status: Prometheus alert");
    assert_eq!(queued[0].severity, Severity::Error);
    api.stop().await;
}

#[tokio::test]
async fn webhook_errors() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    assert_eq!(
        error_of(api.post("/prometheus-alert", "").await).await,
        (400, "Missing POST body".to_owned())
    );
    let (status, message) = error_of(api.post("/prometheus-alert", "{oops").await).await;
    assert_eq!(status, 400);
    assert!(
        message.starts_with("Failed to decode POST body: "),
        "{message}"
    );
    assert_eq!(
        error_of(api.post("/prometheus-alert", r#"{"alerts": []}"#).await).await,
        (400, "Prometheus alert list is empty".to_owned())
    );
    // No channel label, no route key, no rules.
    let payload = json!({"alerts": [{"status": "firing", "labels": {"alertname": "A"}}]});
    assert_eq!(
        error_of(api.post("/prometheus-alert", payload.to_string()).await).await,
        (
            400,
            "Alert has no route key, and no fallback mapping exists".to_owned()
        )
    );
    assert!(api.queue.is_empty());
    api.stop().await;
}
