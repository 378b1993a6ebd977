//! Per-channel rate limiting (`restapi.md` §5): default burst 30, one alert per second.

use serde_json::Value;

use crate::support::{SmCommand, alert, free_addr};

fn header(response: &reqwest::Response, name: &str) -> u64 {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}: {:?}", response.headers()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn burst(channel: &str, request: usize) -> Value {
    Value::Array(
        (0..30)
            .map(|i| alert(channel, &format!("burst {request} alert {i}"), "burst"))
            .collect(),
    )
}

/// A request taking the whole burst is accepted with `Ratelimit-Remaining: 0`; the next request of
/// the same size needs 30 s of refill, so it is answered 429 with the rate-limit headers and
/// nothing is consumed; another channel has its own bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceeding_the_burst_is_answered_with_429_and_ratelimit_headers() {
    let data = tempfile::tempdir().unwrap();
    let sm = SmCommand::new(&[])
        .env("SM_EMULATOR_ADDR", free_addr().to_string())
        .env("SM_DATA_DIR", data.path().display().to_string())
        .start()
        .ready()
        .await;
    let http = reqwest::Client::new();
    let url = format!("{}/alerts", sm.url());

    let first = http
        .post(&url)
        .json(&burst("C0RATE001", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 202);
    assert_eq!(header(&first, "ratelimit-limit"), 30);
    assert_eq!(header(&first, "ratelimit-remaining"), 0);
    let reset = header(&first, "ratelimit-reset");
    assert!((1..=30).contains(&reset), "reset {reset}");

    let second = http
        .post(&url)
        .json(&burst("C0RATE001", 2))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(header(&second, "ratelimit-limit"), 30);
    assert_eq!(header(&second, "ratelimit-remaining"), 0);
    let retry_after = header(&second, "retry-after");
    assert!((1..=30).contains(&retry_after), "retry-after {retry_after}");
    assert_eq!(header(&second, "ratelimit-reset"), retry_after);
    let body: Value = second.json().await.unwrap();
    assert_eq!(
        body["error"],
        "Rate limit exceeded for 30 alerts in channel C0RATE001"
    );

    let other = http
        .post(format!("{}/alert", sm.url()))
        .json(&alert("C0RATE002", "another channel", "other"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 202, "each channel has its own bucket");
    assert_eq!(header(&other, "ratelimit-remaining"), 29);
}
