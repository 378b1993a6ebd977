//! The happy paths of `POST /alert[s]` and `/alerts-test`.

use std::sync::Arc;

use serde_json::json;
use sm_api::{ApiConfig, ApiSettings, StaticChannel, StaticChannelInfo};
use sm_core::Severity;

use crate::support::{TestApi, header};

#[tokio::test]
async fn one_alert_is_cleaned_and_queued_with_rate_limit_headers() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let resp = api
        .post(
            "/alert",
            json!({"slackChannelId": " c0123abc ", "header": " Disk full ", "text": "on db-1"})
                .to_string(),
        )
        .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("30"));
    assert_eq!(header(&resp, "ratelimit-remaining").as_deref(), Some("29"));
    assert_eq!(header(&resp, "ratelimit-reset").as_deref(), Some("1"));
    assert_eq!(resp.text().await.unwrap(), "");
    let queued = api.take_queued(1).await;
    let a = &queued[0];
    assert_eq!(a.slack_channel_id, "C0123ABC");
    assert_eq!(a.header, "Disk full");
    assert_eq!(a.text, "on db-1");
    assert_eq!(a.severity, Severity::Error);
    api.stop().await;
}

#[tokio::test]
async fn arrays_and_wrapped_arrays_report_the_tightest_channel() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let body = json!([
        {"slackChannelId": "CAAA", "header": "a1"},
        {"slackChannelId": "CBBB", "header": "b1"},
        {"slackChannelId": "CBBB", "header": "b2"},
    ]);
    let resp = api.post("/alerts", body.to_string()).await;
    assert_eq!(resp.status(), 202);
    // CBBB took two tokens: it is the tightest channel.
    assert_eq!(header(&resp, "ratelimit-remaining").as_deref(), Some("28"));
    assert_eq!(header(&resp, "ratelimit-reset").as_deref(), Some("2"));
    let mut headers: Vec<(String, String)> = api
        .take_queued(3)
        .await
        .into_iter()
        .map(|a| (a.slack_channel_id, a.header))
        .collect();
    headers.sort();
    assert_eq!(
        headers,
        vec![
            ("CAAA".into(), "a1".into()),
            ("CBBB".into(), "b1".into()),
            ("CBBB".into(), "b2".into())
        ]
    );

    // An object with a non-empty `alerts` array: the other root fields are ignored.
    let wrapped = json!({"header": "ignored", "slackChannelId": "CIGN", "alerts": [{"slackChannelId": "CAAA", "header": "w"}]});
    let resp = api.post("/alert", wrapped.to_string()).await;
    assert_eq!(resp.status(), 202);
    let queued = api.take_queued(1).await;
    assert_eq!(
        (
            queued[0].slack_channel_id.as_str(),
            queued[0].header.as_str()
        ),
        ("CAAA", "w")
    );
    api.stop().await;
}

#[tokio::test]
async fn body_channel_beats_url_segment_and_names_map_to_ids() {
    let channels = StaticChannelInfo::new([
        StaticChannel::new("C0URL00001", "url-channel"),
        StaticChannel::new("C0BODY0001", "Body-Channel"),
    ]);
    let api = TestApi::start_with(
        ApiConfig::default(),
        ApiSettings::default(),
        Some(Arc::new(channels)),
    )
    .await;
    let body = json!([
        {"header": "from url"},
        {"header": "from body", "slackChannelId": "body-channel"},
    ]);
    let resp = api.post("/alerts/url-channel", body.to_string()).await;
    assert_eq!(resp.status(), 202);
    let mut got: Vec<(String, String)> = api
        .take_queued(2)
        .await
        .into_iter()
        .map(|a| (a.header, a.slack_channel_id))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("from body".into(), "C0BODY0001".into()),
            ("from url".into(), "C0URL00001".into())
        ]
    );
    let resp = api
        .post("/alert/C0URL00001", json!({"header": "x"}).to_string())
        .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(api.take_queued(1).await[0].slack_channel_id, "C0URL00001");
    api.stop().await;
}

#[tokio::test]
async fn nothing_to_queue_is_204() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let resp = api.post("/alerts", "[]").await;
    assert_eq!(resp.status(), 204);
    assert!(header(&resp, "ratelimit-limit").is_none());
    let ignored = json!({
        "slackChannelId": "C1", "header": "h", "text": "Known NOISE here",
        "ignoreIfTextContains": ["  ", " noise "]
    });
    let resp = api.post("/alert", ignored.to_string()).await;
    assert_eq!(resp.status(), 204);
    assert!(api.queue.is_empty());
    // The same alert without the matching term is queued.
    let kept = json!({"slackChannelId": "C1", "header": "h", "text": "Known here", "ignoreIfTextContains": ["noise"]});
    assert_eq!(api.post("/alert", kept.to_string()).await.status(), 202);
    api.take_queued(1).await;
    api.stop().await;
}

#[tokio::test]
async fn alerts_test_resolves_but_queues_nothing() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let resp = api
        .post("/alerts-test/C0TEST", json!([{"header": "x"}]).to_string())
        .await;
    assert_eq!(resp.status(), 204);
    let resp = api
        .post("/alerts-test", json!({"header": "x"}).to_string())
        .await;
    assert_eq!(resp.status(), 400);
    assert!(api.queue.is_empty());
    api.stop().await;
}
