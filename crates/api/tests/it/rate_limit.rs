//! Per-channel rate limiting over HTTP: 429 with `Retry-After` and `Ratelimit-*` headers.

use serde_json::json;
use sm_api::{ApiConfig, ApiSettings, RateLimitConfig};

use crate::support::{TestApi, error_of, header};

fn alerts(channel: &str, n: usize) -> String {
    let list: Vec<_> = (0..n)
        .map(|i| json!({"slackChannelId": channel, "header": format!("alert {i}")}))
        .collect();
    json!(list).to_string()
}

#[tokio::test]
async fn exhausted_channel_gets_429_and_nothing_is_consumed() {
    let config = ApiConfig {
        rate_limit_per_alert_channel: RateLimitConfig {
            alerts_per_second: 0.001,
            allowed_burst: 3,
        },
        ..ApiConfig::default()
    };
    let api = TestApi::start(config, ApiSettings::default()).await;

    let resp = api.post("/alerts", alerts("C0LIMIT", 2)).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(header(&resp, "ratelimit-remaining").as_deref(), Some("1"));
    // Two tokens missing at 0.001/s.
    assert_eq!(header(&resp, "ratelimit-reset").as_deref(), Some("2000"));

    let resp = api.post("/alerts", alerts("C0LIMIT", 2)).await;
    assert_eq!(resp.status(), 429);
    let retry_after: u64 = header(&resp, "retry-after").unwrap().parse().unwrap();
    // One token is missing: about 1000 s (less the time since the first request).
    assert!((900..=1000).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(header(&resp, "ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(
        header(&resp, "ratelimit-reset"),
        Some(retry_after.to_string())
    );
    assert_eq!(
        error_of(resp).await,
        (
            429,
            "Rate limit exceeded for 2 alerts in channel C0LIMIT".to_owned()
        )
    );

    // The rejected request took nothing: one token is still there.
    let resp = api.post("/alert", alerts("C0LIMIT", 1)).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(header(&resp, "ratelimit-remaining").as_deref(), Some("0"));
    // Other channels have their own bucket.
    let resp = api.post("/alerts", alerts("C0OTHER", 3)).await;
    assert_eq!(resp.status(), 202);

    api.take_queued(6).await;
    api.stop().await;
}
