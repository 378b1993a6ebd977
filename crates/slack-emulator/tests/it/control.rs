//! The HTTP control API under `/_emulator/`.

use serde_json::{Value, json};

use crate::support::{form, post, start};

async fn get(url: String) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn send(url: String, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn failures_reactions_clicks_and_reads() {
    let slack = start().await;
    let base = slack.url();
    let (s, _) = send(format!("{base}/_emulator/failures"),
        json!({"method":"users.info","failure":{"kind":"rate_limited","retry_after_secs":3},"times":2})).await;
    assert_eq!(s, 200);
    assert_eq!(form(&slack, "users.info", &[("user", "U1")]).await.0, 429);
    let r = reqwest::Client::new()
        .delete(format!("{base}/_emulator/failures"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(form(&slack, "users.info", &[("user", "U1")]).await.0, 200);
    send(
        format!("{base}/_emulator/failures"),
        json!({"method":"chat.delete","failure":{"kind":"error","code":"cant_delete_message"}}),
    )
    .await;
    assert_eq!(
        form(&slack, "chat.delete", &[("channel", "C1"), ("ts", "1.1")])
            .await
            .1["error"],
        "cant_delete_message"
    );

    let ts = post(&slack, "C1", "from the bot").await;
    let (s, v) = send(
        format!("{base}/_emulator/reactions"),
        json!({"channel":"C1","ts":ts,"user":"U1","reaction":"eyes"}),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v["envelope_id"].as_str().unwrap().starts_with('E'));
    let (s, v) = send(
        format!("{base}/_emulator/clicks"),
        json!({"channel":"C1","ts":ts,"user":"U1","action_id":"webhook_action_0"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = send(
        format!("{base}/_emulator/clicks"),
        json!({"channel":"C1","ts":"1.1","user":"U1","action_id":"x"}),
    )
    .await;
    assert_eq!(s, 404);
    assert!(v["error"].as_str().unwrap().contains("not found"));
    let (_, v) = send(
        format!("{base}/_emulator/messages"),
        json!({"channel":"C1","user":"U1","text":"in thread","thread_ts":ts}),
    )
    .await;
    assert!(v["ts"].is_string());

    let msgs = get(format!("{base}/_emulator/channels/C1/messages")).await;
    assert_eq!(
        msgs.as_array().unwrap().len(),
        1,
        "the reply is in the thread"
    );
    assert_eq!(msgs[0]["reactions"][0]["name"], "eyes");
    assert_eq!(msgs[0]["reply_count"], 1);
    let calls = get(format!("{base}/_emulator/calls")).await;
    assert_eq!(calls.as_array().unwrap().len(), 4);
    assert_eq!(calls[0]["status"], 429);
    let r = reqwest::get(format!("{base}/_emulator/channels/CX/messages"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let (_, v) = send(format!("{base}/_emulator/disconnect"), json!({})).await;
    assert_eq!(v["disconnected"], 0);
    let acks = get(format!("{base}/_emulator/acks")).await;
    assert_eq!(acks, json!({}), "nobody acked: no socket client");

    form(
        &slack,
        "chat.postEphemeral",
        &[("channel", "C1"), ("user", "U1"), ("text", "psst")],
    )
    .await;
    let eph = get(format!("{base}/_emulator/ephemerals")).await;
    assert_eq!(eph[0]["text"], "psst");
    assert_eq!(get(format!("{base}/_emulator/views")).await, json!([]));
    send(
        format!("{base}/_emulator/response/3"),
        json!({"text": "done"}),
    )
    .await;
    let responses = get(format!("{base}/_emulator/responses")).await;
    assert_eq!(responses, json!([{"id": 3, "body": {"text": "done"}}]));
}
