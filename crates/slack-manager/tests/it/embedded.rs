//! Embedded defaults: no Redis, no database, no Slack tokens.

use crate::support::{STATE_TIMEOUT, SmCommand, alert, free_addr, header_of, history, wait_for};

/// A process started with nothing but its addresses and data directory: an alert sent to
/// `POST /alert` becomes a post on the embedded emulator, the SQLite file appears under the data
/// directory, the operations endpoints answer, and SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_over_http_becomes_a_post_on_the_embedded_emulator() {
    let data = tempfile::tempdir().unwrap();
    let emulator_addr = free_addr();
    let mut sm = SmCommand::new(&[])
        .env("SM_EMULATOR_ADDR", emulator_addr.to_string())
        .env("SM_DATA_DIR", data.path().display().to_string())
        .start()
        .ready()
        .await;
    let http = reqwest::Client::new();

    let response = http
        .post(format!("{}/alert", sm.url()))
        .json(&alert("C0EMBED01", "Embedded disk full", "embedded-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());

    let emulator_api = format!("http://{emulator_addr}/api");
    let posts = wait_for(
        "the post on the embedded emulator",
        STATE_TIMEOUT,
        || async {
            let messages = history(&emulator_api, "C0EMBED01").await?;
            if messages.is_empty() {
                Err("no messages yet".to_owned())
            } else {
                Ok(messages)
            }
        },
    )
    .await;
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(header_of(&posts[0]), "Embedded disk full");
    assert!(
        posts[0].to_string().contains("text of Embedded disk full"),
        "{:#}",
        posts[0]
    );
    // The emulator's control API shows the same post.
    let controlled: Vec<serde_json::Value> = http
        .get(format!(
            "http://{emulator_addr}/_emulator/channels/C0EMBED01/messages"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(controlled.len(), 1);
    assert_eq!(controlled[0]["ts"], posts[0]["ts"]);

    assert!(data.path().join("slack-manager.db").exists());
    let output = sm.output();
    assert!(
        output.contains(&format!("http://{emulator_addr}")),
        "the emulator's address is printed at start:\n{output}"
    );
    assert!(
        output.contains("REDIS_URL is not set"),
        "single-instance mode is said at start:\n{output}"
    );

    let healthz = http
        .get(format!("{}/healthz", sm.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);
    assert_eq!(healthz.text().await.unwrap(), "ok");
    let metrics = http
        .get(format!("{}/metrics", sm.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("http_server_request_duration_seconds"),
        "{metrics}"
    );

    sm.sigterm();
    let status = sm.wait_exit().await;
    assert!(status.success(), "SIGTERM exits cleanly: {status}");
}
