//! Route keys over HTTP: exact, prefix, regex, catch-all, alert-type scoping, and hot reload.

use serde_json::json;
use sm_api::{ApiConfig, ApiSettings, RoutingRule};

use crate::support::{TestApi, error_of};

fn rule(name: &str, channel: &str) -> RoutingRule {
    RoutingRule {
        name: name.into(),
        channel: channel.into(),
        ..RoutingRule::default()
    }
}

fn settings() -> ApiSettings {
    ApiSettings {
        routing_rules: vec![
            RoutingRule {
                match_all: true,
                ..rule("fallback", "C0FALLBACK")
            },
            RoutingRule {
                matches_regex: vec!["-(eu|us)-prod$".into()],
                ..rule("prod regex", "C0REGEX001")
            },
            RoutingRule {
                has_prefix: vec!["Team-A".into()],
                ..rule("team a", "C0PREFIX01")
            },
            RoutingRule {
                has_prefix: vec!["team-a".into()],
                alert_type: "Security".into(),
                ..rule("team a security", "C0SECURITY")
            },
            RoutingRule {
                equals: vec!["team-a-db-eu-prod".into()],
                ..rule("exact", "C0EXACT001")
            },
        ],
    }
}

async fn routed_channel(api: &TestApi, route_key: &str, alert_type: &str) -> String {
    let body = json!({"routeKey": route_key, "type": alert_type, "header": "h", "text": format!("{route_key}/{alert_type}")});
    let resp = api.post("/alert", body.to_string()).await;
    assert_eq!(resp.status(), 202, "{route_key} {alert_type}");
    api.take_queued(1).await.remove(0).slack_channel_id
}

#[tokio::test]
async fn route_keys_follow_the_precedence_rules() {
    let api = TestApi::start(ApiConfig::default(), settings()).await;
    let cases = [
        ("TEAM-A-DB-EU-PROD", "", "C0EXACT001"),
        ("team-a-web-eu-prod", "", "C0PREFIX01"),
        ("team-a-web", "security", "C0SECURITY"),
        ("team-a-web", "metrics", "C0PREFIX01"),
        ("team-b-web-us-prod", "", "C0REGEX001"),
        ("team-b-web", "", "C0FALLBACK"),
        ("", "", "C0FALLBACK"),
    ];
    for (key, alert_type, channel) in cases {
        assert_eq!(
            routed_channel(&api, key, alert_type).await,
            channel,
            "{key} {alert_type}"
        );
    }
    api.stop().await;
}

#[tokio::test]
async fn update_settings_swaps_rules_and_refuses_invalid_ones() {
    let api = TestApi::start(ApiConfig::default(), settings()).await;
    assert_eq!(routed_channel(&api, "other", "").await, "C0FALLBACK");

    let invalid = ApiSettings {
        routing_rules: vec![rule("no match", "C0NOTHING1")],
    };
    assert_eq!(
        api.server.update_settings(invalid).unwrap_err().to_string(),
        "invalid API settings, the old settings stay in force: rule[0] does not match anything"
    );
    assert_eq!(routed_channel(&api, "other", "").await, "C0FALLBACK");

    let only_exact = ApiSettings {
        routing_rules: vec![RoutingRule {
            equals: vec!["other".into()],
            ..rule("exact", "C0NEWRULE1")
        }],
    };
    api.server.update_settings(only_exact).unwrap();
    assert_eq!(routed_channel(&api, "other", "").await, "C0NEWRULE1");
    let resp = api
        .post(
            "/alert",
            json!({"routeKey": "else", "header": "h"}).to_string(),
        )
        .await;
    assert_eq!(
        error_of(resp).await,
        (
            400,
            "No mapping exists for route key else and alert type ".to_owned()
        )
    );
    api.stop().await;
}
