//! `GET /ping`, `/mappings`, `/channels`, `/openapi.json`, unknown paths, panic recovery.

use std::sync::Arc;

use sm_api::{ApiConfig, ApiSettings, RoutingRule, StaticChannel, StaticChannelInfo};

use crate::support::{TestApi, error_of, header};

#[tokio::test]
async fn ping_answers_pong_with_an_optional_status() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let resp = api.get("/ping").await;
    assert_eq!(resp.status(), 200);
    assert!(
        header(&resp, "content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(resp.text().await.unwrap(), "pong");
    assert_eq!(api.get("/ping?status=418").await.status(), 418);
    assert_eq!(api.get("/ping?status=99").await.status(), 200);
    assert_eq!(api.get("/ping?status=600").await.status(), 200);
    assert_eq!(api.get("/ping?status=abc").await.status(), 200);
    // Without `verbose` the panic switch does nothing.
    assert_eq!(api.get("/ping?panic=true").await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn panics_become_500_when_verbose() {
    let config = ApiConfig {
        verbose: true,
        ..ApiConfig::default()
    };
    let api = TestApi::start(config, ApiSettings::default()).await;
    assert_eq!(
        error_of(api.get("/ping?panic=true").await).await,
        (500, "Internal server error".to_owned())
    );
    // The server keeps serving.
    assert_eq!(api.get("/ping").await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_404() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    for resp in [
        api.get("/nope").await,
        api.get("/alert").await,
        api.post("/ping", "x").await,
    ] {
        assert_eq!(resp.status(), 404);
        assert_eq!(resp.text().await.unwrap(), "404 page not found");
    }
    api.stop().await;
}

#[tokio::test]
async fn mappings_show_normalised_rules_or_null() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let resp = api.get("/mappings").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "null");

    api.server
        .update_settings(ApiSettings {
            routing_rules: vec![RoutingRule {
                name: " db ".into(),
                alert_type: " Metric ".into(),
                equals: vec![" DB-Main ".into()],
                matches_regex: vec!["^db-".into()],
                channel: " C0123456789 ".into(),
                ..RoutingRule::default()
            }],
        })
        .unwrap();
    let text = api.get("/mappings").await.text().await.unwrap();
    assert!(text.contains("\n    {\n        \"name\": \"db\""), "{text}");
    let rules: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        rules,
        serde_json::json!([{
            "name": "db", "description": "", "alertType": "metric",
            "equals": ["db-main"], "hasPrefix": [], "matchesRegex": ["(?i)^db-"],
            "matchAll": false, "channel": "C0123456789"
        }])
    );
    api.stop().await;
}

#[tokio::test]
async fn channels_lists_the_bots_channels_by_name() {
    let channels = StaticChannelInfo::new([
        StaticChannel::new("C0ZULU0001", "zulu"),
        StaticChannel::new("C0ALPHA001", "alpha"),
        StaticChannel {
            archived: true,
            ..StaticChannel::new("C0OLD00001", "old")
        },
        StaticChannel {
            bot_is_member: false,
            ..StaticChannel::new("C0OTHER001", "other")
        },
    ]);
    let api = TestApi::start_with(
        ApiConfig::default(),
        ApiSettings::default(),
        Some(Arc::new(channels)),
    )
    .await;
    let resp = api.get("/channels").await;
    assert_eq!(resp.status(), 200);
    let list: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        list,
        serde_json::json!([
            {"id": "C0ALPHA001", "name": "alpha"},
            {"id": "C0ZULU0001", "name": "zulu"}
        ])
    );
    api.stop().await;

    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    assert_eq!(api.get("/channels").await.text().await.unwrap(), "[]");
    api.stop().await;
}

#[tokio::test]
async fn openapi_document_lists_every_path() {
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    let resp = api.get("/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/alert",
        "/alert/{slackChannelId}",
        "/alerts",
        "/alerts/{slackChannelId}",
        "/prometheus-alert",
        "/prometheus-alert/{slackChannelId}",
        "/alerts-test",
        "/alerts-test/{slackChannelId}",
        "/mappings",
        "/channels",
        "/ping",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    // Every $ref points at a defined schema.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("#/components/schemas/").skip(1) {
        let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
        assert!(schemas.contains_key(&name), "undefined schema {name}");
    }
    api.stop().await;
}
