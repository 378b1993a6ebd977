//! Every Web API method against the emulator, with the wire encoding Slack expects.

use serde_json::json;
use sm_slack::{EphemeralContent, PostMessage, SlackApi, SlackClientConfig};

use crate::support::{connected_api, emulator, fast_config};

fn msg(channel: &str, text: &str) -> PostMessage {
    PostMessage {
        channel: channel.into(),
        blocks: vec![json!({"type":"section","text":{"type":"mrkdwn","text":text}})],
        username: "Monitor".into(),
        icon_emoji: Some(":robot_face:".into()),
        icon_url: None,
        text: Some("fallback".into()),
    }
}

#[tokio::test]
async fn connect_stores_the_bot_user_id() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    assert_eq!(api.bot_user_id(), None);
    let err = api.bot_is_in_channel("C1").await.unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
    let info = api.connect().await.unwrap();
    assert_eq!(info.user_id, "UBOT");
    assert_eq!(api.bot_user_id(), Some("UBOT"));
    let call = &slack.calls_to("auth.test")[0];
    assert_eq!(call.token_source, "form");
    assert!(
        call.content_type
            .starts_with("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn a_wrong_token_is_invalid_auth() {
    let slack = emulator().await;
    let mut cfg = fast_config(&slack);
    cfg.bot_token = "xoxb-wrong".into();
    let err = SlackApi::new(cfg).unwrap().connect().await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_auth"));
    // A fatal-class error: retried up to MaxAttemptsForFatalError.
    assert_eq!(slack.calls_to("auth.test").len(), 5);
}

#[tokio::test]
async fn post_update_delete_round_trip() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    let ts1 = api.post_message(&msg("C1", "one")).await.unwrap();
    let ts2 = api.post_message(&msg("C1", "two")).await.unwrap();
    assert!(ts2 > ts1, "ts must increase: {ts1} {ts2}");
    let call = &slack.calls_to("chat.postMessage")[0];
    assert_eq!(call.param("username").as_deref(), Some("Monitor"));
    assert_eq!(call.param("icon_emoji").as_deref(), Some(":robot_face:"));
    assert_eq!(call.param("text").as_deref(), Some("fallback"));
    assert_eq!(call.param("icon_url"), None);

    let updated = api
        .update_message(&ts1, &msg("C1", "one, edited"))
        .await
        .unwrap();
    assert_eq!(updated, ts1);
    let stored = slack.messages("C1");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].blocks[0]["text"]["text"], "one, edited");
    assert_eq!(stored[0].edit_count, 1);

    api.delete_message("C1", &ts2).await.unwrap();
    assert_eq!(slack.messages("C1").len(), 1);
    let err = api.delete_message("C1", &ts2).await.unwrap_err();
    assert_eq!(err.code(), Some("message_not_found"));
    let err = api
        .update_message("1.000001", &msg("C1", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("message_not_found"));
}

#[tokio::test]
async fn icon_url_wins_over_icon_emoji() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    let mut m = msg("C1", "x");
    m.icon_url = Some("https://example.invalid/i.png".into());
    api.post_message(&m).await.unwrap();
    let call = &slack.calls_to("chat.postMessage")[0];
    assert_eq!(
        call.param("icon_url").as_deref(),
        Some("https://example.invalid/i.png")
    );
    assert_eq!(call.param("icon_emoji"), None);
}

#[tokio::test]
async fn ephemeral_and_response_url() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    let blocks = vec![json!({"type":"section","text":{"type":"mrkdwn","text":"hi"}})];
    let ts = api
        .post_ephemeral("C1", "U1", &EphemeralContent::Blocks(blocks))
        .await
        .unwrap();
    assert!(!ts.is_empty());
    let att = vec![json!({"color":"good","blocks":[]})];
    api.post_ephemeral("C1", "U1", &EphemeralContent::Attachments(att))
        .await
        .unwrap();
    let eph = slack.ephemerals();
    assert_eq!(eph.len(), 2);
    assert_eq!(eph[0].user, "U1");
    assert!(eph[0].blocks.is_some() && eph[1].attachments.is_some());
    assert!(
        api.post_ephemeral("", "U1", &EphemeralContent::Blocks(vec![]))
            .await
            .is_err()
    );

    let url = format!("{}/_emulator/response/7", slack.url());
    api.send_response("C1", &url, "ephemeral", "Sorry")
        .await
        .unwrap();
    assert_eq!(
        slack.responses(),
        vec![
            json!({"text":"Sorry","response_type":"ephemeral","replace_original":false,"delete_original":false})
        ]
    );
}

#[tokio::test]
async fn views_open_uses_json_and_bearer() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    let view = json!({"type":"modal","callback_id":"issue_move_modal","title":{"type":"plain_text","text":"Move issue"},
        "blocks":[{"type":"section","block_id":"a","text":{"type":"mrkdwn","text":"x"}}]});
    let id = api.open_modal("T123", &view).await.unwrap();
    assert!(id.starts_with('V'));
    let call = &slack.calls_to("views.open")[0];
    assert_eq!(call.token_source, "bearer");
    assert!(call.content_type.starts_with("application/json"));
    assert_eq!(call.params["view"]["callback_id"], "issue_move_modal");
    assert_eq!(slack.views().len(), 1);
    let err = api.open_modal("", &view).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_arguments"));
}

#[tokio::test]
async fn apps_connections_open_uses_the_app_token() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    let url = api.open_socket_connection().await.unwrap();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    let call = &slack.calls_to("apps.connections.open")[0];
    assert_eq!(call.token_source, "bearer");
    let no_app =
        SlackApi::new(SlackClientConfig::new("xoxb-emulator").with_base_url(slack.base_url()))
            .unwrap();
    assert!(no_app.open_socket_connection().await.is_err());
}

#[tokio::test]
async fn replies_detect_threads() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    let ts = api.post_message(&msg("C1", "parent")).await.unwrap();
    assert!(!api.message_has_replies("C1", &ts).await.unwrap());
    slack
        .post_as_user("C1", "U1", "a reply", Some(&ts))
        .unwrap();
    assert!(api.message_has_replies("C1", &ts).await.unwrap());
    // Expected errors mean "no replies".
    assert!(!api.message_has_replies("C1", "1.000001").await.unwrap());
    let call = slack.calls_to("conversations.replies").pop().unwrap();
    assert_eq!(call.param("inclusive").as_deref(), Some("1"));
    assert_eq!(call.param("limit").as_deref(), Some("3"));
    assert_eq!(call.error.as_deref(), Some("thread_not_found"));
}

#[tokio::test]
async fn channel_info_is_cached_including_not_found() {
    let mut cfg = crate::support::emulator_config();
    cfg.strict = true;
    let slack = sm_slack_emulator::Emulator::start(cfg).await.unwrap();
    let api = connected_api(&slack).await;
    let c = api.get_channel_info("C1").await.unwrap();
    assert_eq!(
        (c.id.as_str(), c.name.as_str(), c.is_archived),
        ("C1", "alerts", false)
    );
    api.get_channel_info("C1").await.unwrap();
    assert!(api.get_channel_info("C3").await.unwrap().is_archived);
    for _ in 0..2 {
        let e = api.get_channel_info("CNOPE").await.unwrap_err();
        assert_eq!(e.code(), Some("channel_not_found"));
    }
    let calls = slack.calls_to("conversations.info");
    assert_eq!(
        calls.len(),
        3,
        "C1 and CNOPE are served from the cache the second time"
    );
    assert_eq!(calls[0].param("include_locale").as_deref(), Some("false"));
    assert_eq!(
        calls[0].param("include_num_members").as_deref(),
        Some("false")
    );
}

#[tokio::test]
async fn bot_channels_are_paginated_and_sorted() {
    let mut cfg = crate::support::emulator_config();
    for i in 0..1005 {
        cfg.channels.push(sm_slack_emulator::ChannelSeed::new(
            format!("CX{i:04}"),
            format!("z{:04}", 2000 - i),
        ));
    }
    let slack = sm_slack_emulator::Emulator::start(cfg).await.unwrap();
    let api = connected_api(&slack).await;
    let chans = api.list_bot_channels().await.unwrap();
    // C1 plus the 1005 extra channels; C2 lacks the bot, C3 is archived.
    assert_eq!(chans.len(), 1006);
    assert_eq!(chans[0].name, "alerts");
    assert!(chans.windows(2).all(|w| w[0].name <= w[1].name));
    let calls = slack.calls_to("users.conversations");
    assert_eq!(calls.len(), 2, "999 per page");
    assert_eq!(
        calls[0].param("types").as_deref(),
        Some("public_channel,private_channel")
    );
    assert_eq!(calls[0].param("exclude_archived").as_deref(), Some("true"));
    api.list_bot_channels().await.unwrap();
    assert_eq!(slack.calls_to("users.conversations").len(), 2, "cached");
}

#[tokio::test]
async fn users_groups_and_members() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    let u = api.get_user_info("U1").await.unwrap();
    assert_eq!(
        (u.name.as_str(), u.real_name.as_str(), u.is_bot),
        ("jdoe", "Jane Doe", false)
    );
    api.get_user_info("U1").await.unwrap();
    assert_eq!(slack.calls_to("users.info").len(), 1, "cached");
    assert_eq!(
        api.get_user_info("UNOPE").await.unwrap_err().code(),
        Some("user_not_found")
    );

    let g = api.list_user_group_members("S1").await.unwrap();
    assert!(g.contains("U1") && g.len() == 1);
    assert!(
        api.list_user_group_members("SNOPE")
            .await
            .unwrap()
            .is_empty()
    );

    let m = api.get_user_ids_in_channel("C1").await.unwrap();
    assert!(m.contains("UBOT") && m.contains("U1") && m.contains("U2"));
    assert!(api.bot_is_in_channel("C1").await.unwrap());
    assert!(!api.bot_is_in_channel("C2").await.unwrap());
}

#[tokio::test]
async fn members_of_a_missing_channel_are_empty_in_strict_mode() {
    let cfg = crate::support::emulator_config().with_strict(true);
    let slack = sm_slack_emulator::Emulator::start(cfg).await.unwrap();
    let api = connected_api(&slack).await;
    assert!(
        api.get_user_ids_in_channel("CNOPE")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!api.bot_is_in_channel("CNOPE").await.unwrap());
    let e = api.post_message(&msg("CNOPE", "x")).await.unwrap_err();
    assert_eq!(e.code(), Some("channel_not_found"));
}

#[tokio::test]
async fn slack_refusals_come_back_verbatim() {
    let slack = emulator().await;
    let api = connected_api(&slack).await;
    assert_eq!(
        api.post_message(&msg("C2", "x")).await.unwrap_err().code(),
        Some("not_in_channel")
    );
    assert_eq!(
        api.post_message(&msg("C3", "x")).await.unwrap_err().code(),
        Some("is_archived")
    );
    let mut bad = msg("C1", "x");
    bad.blocks = vec![json!({"type":"header","text":{"type":"mrkdwn","text":"no"}})];
    assert_eq!(
        api.post_message(&bad).await.unwrap_err().code(),
        Some("invalid_blocks")
    );
    let user_ts = slack.post_as_user("C1", "U1", "mine", None).unwrap();
    assert_eq!(
        api.delete_message("C1", &user_ts).await.unwrap_err().code(),
        Some("cant_delete_message")
    );
    assert_eq!(
        api.update_message(&user_ts, &msg("C1", "x"))
            .await
            .unwrap_err()
            .code(),
        Some("cant_update_message")
    );
    // Each was a single attempt.
    assert_eq!(slack.calls_to("chat.postMessage").len(), 3);
}
