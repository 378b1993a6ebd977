//! Socket Mode over a real WebSocket: hello, events, interactions, acks, disconnect.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sm_slack_emulator::Emulator;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::support::{json_call, post, start};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(slack: &Emulator) -> Socket {
    let v = json_call(slack, "apps.connections.open", "xapp-emulator", json!({})).await;
    let url = v["url"].as_str().unwrap().to_owned();
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws
}

/// The next JSON text frame (`None` when the socket closes).
async fn next_json(ws: &mut Socket) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no frame within 10 s")?;
        match frame {
            Ok(Ws::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Ws::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn ack(ws: &mut Socket, envelope_id: &str, payload: Option<Value>) {
    let mut frame = json!({"envelope_id": envelope_id});
    if let Some(p) = payload {
        frame["payload"] = p;
    }
    ws.send(Ws::Text(frame.to_string().into())).await.unwrap();
}

#[tokio::test]
async fn hello_then_reaction_events_and_acks() {
    let slack = start().await;
    let ts = post(&slack, "C1", "alert").await;
    let mut ws = connect(&slack).await;
    let hello = next_json(&mut ws).await.unwrap();
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["connection_info"]["app_id"], "A1");

    let id = slack
        .add_reaction("C1", &ts, "U1", ":white_check_mark:")
        .unwrap();
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["type"], "events_api");
    assert_eq!(env["envelope_id"], id.as_str());
    let event = &env["payload"]["event"];
    assert_eq!(env["payload"]["type"], "event_callback");
    assert_eq!(event["type"], "reaction_added");
    assert_eq!(event["reaction"], "white_check_mark");
    assert_eq!(event["user"], "U1");
    assert_eq!(
        event["item"],
        json!({"type":"message","channel":"C1","ts":ts})
    );
    assert_eq!(
        slack.messages("C1")[0].reactions[0].users,
        vec!["U1".to_owned()]
    );
    assert_eq!(slack.ack(&id), None);
    ack(&mut ws, &id, None).await;
    assert_eq!(
        slack.wait_for_ack(&id, Duration::from_secs(10)).await,
        Some(Value::Null)
    );

    let id = slack
        .remove_reaction("C1", &ts, "U1", "white_check_mark")
        .unwrap();
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["payload"]["event"]["type"], "reaction_removed");
    ack(&mut ws, &id, None).await;
    slack
        .wait_for_ack(&id, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(slack.messages("C1")[0].reactions.is_empty());
    assert!(slack.add_reaction("C1", "1.000001", "U1", "eyes").is_err());
}

#[tokio::test]
async fn button_clicks_are_block_actions_with_a_response_url() {
    let slack = start().await;
    let ts = post(&slack, "C1", "alert").await;
    let mut ws = connect(&slack).await;
    next_json(&mut ws).await.unwrap();
    let id = slack
        .click_button("C1", &ts, "U1", "webhook_action_0")
        .unwrap();
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["type"], "interactive");
    let p = &env["payload"];
    assert_eq!(p["type"], "block_actions");
    assert_eq!(p["user"]["id"], "U1");
    assert_eq!(p["channel"]["id"], "C1");
    assert_eq!(p["message"]["ts"], ts.as_str());
    assert_eq!(p["actions"][0]["block_id"], "issue_actions");
    assert_eq!(p["actions"][0]["action_id"], "webhook_action_0");
    assert_eq!(p["actions"][0]["value"], "hook1");
    assert!(!p["trigger_id"].as_str().unwrap().is_empty());
    let response_url = p["response_url"].as_str().unwrap().to_owned();
    ack(&mut ws, &id, Some(json!({"response_action": "clear"}))).await;
    assert_eq!(
        slack.wait_for_ack(&id, Duration::from_secs(10)).await,
        Some(json!({"response_action": "clear"}))
    );
    // The response URL is served by the emulator.
    let resp = reqwest::Client::new()
        .post(&response_url)
        .json(&json!({"text":"Sorry","response_type":"ephemeral"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(slack.responses()[0]["text"], "Sorry");
    assert!(
        slack
            .click_button("C1", &ts, "U1", "no_such_action")
            .is_err()
    );
}

#[tokio::test]
async fn events_wait_for_a_client_and_disconnect_makes_it_reconnect() {
    let slack = start().await;
    // Sent while nobody is connected: delivered after hello.
    let id = slack.send_event(json!({"type":"member_joined_channel","user":"U1","channel":"C1"}));
    let mut ws = connect(&slack).await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "hello");
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["envelope_id"], id.as_str());
    assert_eq!(env["payload"]["event"]["type"], "member_joined_channel");
    slack
        .wait_until(Duration::from_secs(10), || {
            (slack.socket_connections() == 1).then_some(())
        })
        .await
        .unwrap();

    assert_eq!(slack.disconnect_sockets("refresh_requested"), 1);
    let frame = next_json(&mut ws).await.unwrap();
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "refresh_requested");
    assert!(
        next_json(&mut ws).await.is_none(),
        "socket closes after disconnect"
    );

    let mut ws = connect(&slack).await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "hello");
    assert_eq!(slack.socket_connects_total(), 2);
    let id = slack.send_interactive(json!({"type":"shortcut","callback_id":"issue_create","trigger_id":"T9","user":{"id":"U1"}}));
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["payload"]["callback_id"], "issue_create");
    ack(&mut ws, &id, None).await;
    slack
        .wait_for_ack(&id, Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test]
async fn joining_and_leaving_channels_changes_members_and_sends_events() {
    let slack = start().await;
    let mut ws = connect(&slack).await;
    next_json(&mut ws).await.unwrap();
    let id = slack.join_channel("C1", "U7").unwrap();
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["envelope_id"], id.as_str());
    assert_eq!(env["payload"]["event"]["type"], "member_joined_channel");
    assert_eq!(env["payload"]["event"]["user"], "U7");
    let c1 = slack.channels().into_iter().find(|c| c.id == "C1").unwrap();
    assert!(c1.members.contains(&"U7".to_owned()));
    slack.leave_channel("C1", "U7").unwrap();
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["payload"]["event"]["type"], "member_left_channel");
    let c1 = slack.channels().into_iter().find(|c| c.id == "C1").unwrap();
    assert!(!c1.members.contains(&"U7".to_owned()));
    assert!(slack.join_channel("CNOPE", "U7").is_err());
}
