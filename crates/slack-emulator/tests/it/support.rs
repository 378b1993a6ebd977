//! Helpers: a seeded emulator and a raw HTTP client.

use serde_json::Value;
use sm_slack_emulator::{ChannelSeed, Emulator, EmulatorConfig, UserGroupSeed, UserSeed};

pub(crate) fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_channel(ChannelSeed::new("C1", "alerts").with_members(["U1"]))
        .with_channel(ChannelSeed::new("C2", "private-ops").without_bot())
        .with_channel(ChannelSeed::new("C3", "old").archived())
        .with_user(UserSeed::new("U1", "jdoe", "Jane Doe"))
        .with_usergroup(UserGroupSeed::new("S1", ["U1"]))
}

pub(crate) async fn start() -> Emulator {
    Emulator::start(config()).await.unwrap()
}

/// POSTs a form with the bot token as a field; returns (status, JSON body or Null).
pub(crate) async fn form(slack: &Emulator, method: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut f: Vec<(&str, &str)> = fields.to_vec();
    let token = slack.config().bot_token.clone();
    f.push(("token", &token));
    let resp = reqwest::Client::new()
        .post(format!("{}{method}", slack.base_url()))
        .form(&f)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// POSTs JSON with a bearer token.
pub(crate) async fn json_call(slack: &Emulator, method: &str, token: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}{method}", slack.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Posts a bot message with one section; returns its ts.
pub(crate) async fn post(slack: &Emulator, channel: &str, text: &str) -> String {
    let blocks = serde_json::json!([{"type":"section","text":{"type":"mrkdwn","text":text}},
        {"type":"actions","block_id":"issue_actions","elements":[
            {"type":"button","action_id":"webhook_action_0","value":"hook1","text":{"type":"plain_text","text":"Run"}}]}])
    .to_string();
    let (status, v) = form(
        slack,
        "chat.postMessage",
        &[
            ("channel", channel),
            ("blocks", &blocks),
            ("username", "Bot"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["ok"], true, "{v}");
    v["ts"].as_str().unwrap().to_owned()
}
