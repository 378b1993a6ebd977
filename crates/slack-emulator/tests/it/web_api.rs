//! The Web API: encodings, auth, Slack's answers, and scripted failures.

use serde_json::json;
use sm_slack_emulator::{Emulator, Failure};

use crate::support::{config, form, json_call, post, start};

#[tokio::test]
async fn tokens_are_checked_in_form_and_bearer() {
    let slack = start().await;
    let (_, v) = form(&slack, "auth.test", &[]).await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["user_id"], "UBOT");
    let v = json_call(&slack, "auth.test", "xoxb-emulator", json!({})).await;
    assert_eq!(v["ok"], true);
    let v = json_call(&slack, "auth.test", "xoxb-nope", json!({})).await;
    assert_eq!(v, json!({"ok": false, "error": "invalid_auth"}));
    let resp = reqwest::Client::new()
        .post(format!("{}auth.test", slack.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        "not_authed"
    );
    // apps.connections.open needs the app token.
    let v = json_call(&slack, "apps.connections.open", "xoxb-emulator", json!({})).await;
    assert_eq!(v["error"], "invalid_auth");
    let v = json_call(&slack, "apps.connections.open", "xapp-emulator", json!({})).await;
    assert!(v["url"].as_str().unwrap().starts_with("ws://127.0.0.1:"));
    let (_, v) = form(&slack, "no.such.method", &[]).await;
    assert_eq!(v["error"], "unknown_method");
    let calls = slack.calls();
    assert_eq!(calls[0].token_source, "form");
    assert_eq!(calls[1].token_source, "bearer");
    assert_eq!(calls[3].token_source, "none");
}

#[tokio::test]
async fn messages_have_unique_increasing_ts_and_are_stored_per_channel() {
    let slack = start().await;
    let mut last = String::new();
    for i in 0..50 {
        let channel = if i % 2 == 0 { "C1" } else { "CNEW" };
        let ts = post(&slack, channel, &format!("m{i}")).await;
        assert!(ts > last, "{ts} after {last}");
        assert_eq!(ts.len(), 17, "{ts}");
        last = ts;
    }
    assert_eq!(slack.messages("C1").len(), 25);
    assert_eq!(slack.messages("CNEW").len(), 25, "auto-created channel");
    let (_, v) = form(
        &slack,
        "conversations.history",
        &[("channel", "C1"), ("limit", "10")],
    )
    .await;
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 10);
    assert_eq!(msgs[0]["text"], "", "bot messages without text");
    assert!(
        msgs[0]["ts"].as_str() > msgs[1]["ts"].as_str(),
        "history is newest first"
    );
    assert_eq!(v["has_more"], true);
    let cursor = v["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, v) = form(
        &slack,
        "conversations.history",
        &[("channel", "C1"), ("limit", "100"), ("cursor", &cursor)],
    )
    .await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 15);
}

#[tokio::test]
async fn update_delete_and_their_errors() {
    let slack = start().await;
    let ts = post(&slack, "C1", "one").await;
    let blocks = json!([{"type":"section","text":{"type":"mrkdwn","text":"two"}}]).to_string();
    let (_, v) = form(
        &slack,
        "chat.update",
        &[("channel", "C1"), ("ts", &ts), ("blocks", &blocks)],
    )
    .await;
    assert_eq!(
        v,
        json!({"ok": true, "channel": "C1", "ts": ts, "text": ""})
    );
    assert_eq!(slack.messages("C1")[0].blocks[0]["text"]["text"], "two");
    let (_, v) = form(
        &slack,
        "chat.update",
        &[("channel", "C1"), ("ts", "1.000001"), ("blocks", &blocks)],
    )
    .await;
    assert_eq!(v["error"], "message_not_found");
    let user_ts = slack.post_as_user("C1", "U1", "hi", None).unwrap();
    let (_, v) = form(
        &slack,
        "chat.update",
        &[("channel", "C1"), ("ts", &user_ts), ("text", "x")],
    )
    .await;
    assert_eq!(v["error"], "cant_update_message");
    let (_, v) = form(
        &slack,
        "chat.delete",
        &[("channel", "C1"), ("ts", &user_ts)],
    )
    .await;
    assert_eq!(v["error"], "cant_delete_message");
    let (_, v) = form(&slack, "chat.delete", &[("channel", "C1"), ("ts", &ts)]).await;
    assert_eq!(v, json!({"ok": true, "channel": "C1", "ts": ts}));
    let (_, v) = form(&slack, "chat.delete", &[("channel", "C1"), ("ts", &ts)]).await;
    assert_eq!(v["error"], "message_not_found");
}

#[tokio::test]
async fn posting_rules() {
    let slack = start().await;
    let blocks = json!([{"type":"section","text":{"type":"mrkdwn","text":"x"}}]).to_string();
    let (_, v) = form(
        &slack,
        "chat.postMessage",
        &[("channel", "C2"), ("blocks", &blocks)],
    )
    .await;
    assert_eq!(v["error"], "not_in_channel");
    let (_, v) = form(
        &slack,
        "chat.postMessage",
        &[("channel", "C3"), ("blocks", &blocks)],
    )
    .await;
    assert_eq!(v["error"], "is_archived");
    let (_, v) = form(&slack, "chat.postMessage", &[("channel", "C1")]).await;
    assert_eq!(v["error"], "no_text");
    let eleven: Vec<_> = (0..11)
        .map(|i| json!({"type":"mrkdwn","text":format!("f{i}")}))
        .collect();
    let bad = json!([{"type":"section","fields":eleven}]).to_string();
    let (_, v) = form(
        &slack,
        "chat.postMessage",
        &[("channel", "C1"), ("blocks", &bad)],
    )
    .await;
    assert_eq!(v["error"], "invalid_blocks");
    let (_, v) = form(
        &slack,
        "chat.postMessage",
        &[("channel", "C1"), ("blocks", "{not json")],
    )
    .await;
    assert_eq!(v["error"], "invalid_blocks_format");
    // JSON bodies work too.
    let v = json_call(
        &slack,
        "chat.postMessage",
        "xoxb-emulator",
        json!({"channel":"C1","text":"plain","blocks":[{"type":"divider"}]}),
    )
    .await;
    assert_eq!(v["ok"], true);
    assert_eq!(slack.messages("C1")[0].text, "plain");
}

#[tokio::test]
async fn strict_mode_refuses_unknown_channels() {
    let slack = Emulator::start(config().with_strict(true)).await.unwrap();
    let (_, v) = form(&slack, "conversations.info", &[("channel", "CNOPE")]).await;
    assert_eq!(v, json!({"ok": false, "error": "channel_not_found"}));
    let (_, v) = form(
        &slack,
        "chat.postMessage",
        &[("channel", "CNOPE"), ("text", "x")],
    )
    .await;
    assert_eq!(v["error"], "channel_not_found");
    assert_eq!(slack.channels().len(), 3);
    let lenient = start().await;
    let (_, v) = form(&lenient, "conversations.info", &[("channel", "CNEW")]).await;
    assert_eq!(v["channel"]["id"], "CNEW");
    let (_, v) = form(&lenient, "conversations.members", &[("channel", "CNEW")]).await;
    assert_eq!(v["members"], json!(["UBOT"]));
}

#[tokio::test]
async fn lookups() {
    let slack = start().await;
    let (_, v) = form(
        &slack,
        "conversations.info",
        &[("channel", "C3"), ("include_num_members", "true")],
    )
    .await;
    assert_eq!(v["channel"]["name"], "old");
    assert_eq!(v["channel"]["is_archived"], true);
    assert_eq!(v["channel"]["num_members"], 1);
    let (_, v) = form(
        &slack,
        "conversations.members",
        &[("channel", "C1"), ("limit", "1")],
    )
    .await;
    assert_eq!(v["members"], json!(["UBOT"]));
    let cursor = v["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, v) = form(
        &slack,
        "conversations.members",
        &[("channel", "C1"), ("cursor", &cursor)],
    )
    .await;
    assert_eq!(v["members"], json!(["U1"]));
    assert_eq!(v["response_metadata"]["next_cursor"], "");
    let (_, v) = form(&slack, "users.info", &[("user", "U1")]).await;
    assert_eq!(v["user"]["real_name"], "Jane Doe");
    assert_eq!(v["user"]["is_bot"], false);
    let (_, v) = form(&slack, "users.info", &[("user", "UX")]).await;
    assert_eq!(v["error"], "user_not_found");
    let (_, v) = form(&slack, "usergroups.users.list", &[("usergroup", "SX")]).await;
    assert_eq!(v["error"], "no_such_subteam");
    let (_, v) = form(
        &slack,
        "users.conversations",
        &[
            ("types", "public_channel,private_channel"),
            ("exclude_archived", "true"),
        ],
    )
    .await;
    let ids: Vec<&str> = v["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["C1"]);
    let (_, v) = form(&slack, "conversations.list", &[]).await;
    assert_eq!(v["channels"].as_array().unwrap().len(), 3);
    let ts = post(&slack, "C1", "parent").await;
    slack.post_as_user("C1", "U1", "reply", Some(&ts)).unwrap();
    let (_, v) = form(
        &slack,
        "conversations.replies",
        &[
            ("channel", "C1"),
            ("ts", &ts),
            ("inclusive", "1"),
            ("limit", "3"),
        ],
    )
    .await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);
    assert_eq!(v["messages"][0]["reply_count"], 1);
    let (_, v) = form(
        &slack,
        "conversations.replies",
        &[("channel", "C1"), ("ts", "9.000009")],
    )
    .await;
    assert_eq!(v["error"], "thread_not_found");
}

#[tokio::test]
async fn ephemeral_and_views() {
    let slack = start().await;
    let (_, v) = form(
        &slack,
        "chat.postEphemeral",
        &[("channel", "C1"), ("user", "U1"), ("text", "psst")],
    )
    .await;
    assert!(v["message_ts"].is_string());
    assert_eq!(slack.ephemerals()[0].text, "psst");
    let view = json!({"type":"modal","blocks":[{"type":"section","block_id":"a","text":{"type":"mrkdwn","text":"x"}},
        {"type":"section","block_id":"a","text":{"type":"mrkdwn","text":"y"}}]});
    let v = json_call(
        &slack,
        "views.open",
        "xoxb-emulator",
        json!({"trigger_id":"T1","view":view}),
    )
    .await;
    assert_eq!(v["error"], "invalid_arguments", "duplicate block_id");
    let view = json!({"type":"modal","blocks":[]});
    let v = json_call(
        &slack,
        "views.open",
        "xoxb-emulator",
        json!({"trigger_id":"T1","view":view}),
    )
    .await;
    assert_eq!(v["view"]["id"], "V1");
}

#[tokio::test]
async fn scripted_failures() {
    let slack = start().await;
    slack.fail_next("users.info", Failure::rate_limited(7));
    slack.fail_next("users.info", Failure::http(500));
    slack.fail_next("users.info", Failure::error("fatal_error"));
    let resp = reqwest::Client::new()
        .post(format!("{}users.info", slack.base_url()))
        .form(&[("token", "xoxb-emulator"), ("user", "U1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let (status, _) = form(&slack, "users.info", &[("user", "U1")]).await;
    assert_eq!(status, 500);
    let (_, v) = form(&slack, "users.info", &[("user", "U1")]).await;
    assert_eq!(v, json!({"ok": false, "error": "fatal_error"}));
    let (_, v) = form(&slack, "users.info", &[("user", "U1")]).await;
    assert_eq!(v["ok"], true);
    // Failures are per method.
    slack.fail_next("users.info", Failure::http(503));
    let (_, v) = form(&slack, "auth.test", &[]).await;
    assert_eq!(v["ok"], true);
    slack.clear_failures();
    let (status, _) = form(&slack, "users.info", &[("user", "U1")]).await;
    assert_eq!(status, 200);
    let statuses: Vec<u16> = slack
        .calls_to("users.info")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![429, 500, 200, 200, 200]);
    assert_eq!(
        slack.calls_to("users.info")[2].error.as_deref(),
        Some("fatal_error")
    );
}
