//! `SlackChannelInfo` against a real Slack emulator (strict mode: unknown channels do not exist).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sm_api::{
    ApiConfig, ApiSettings, ChannelInfo, ChannelInfoProvider, ManagedChannel, SlackChannelInfo,
};
use sm_slack::{SlackApi, SlackClientConfig};
use sm_slack_emulator::{ChannelSeed, Emulator, EmulatorConfig, Failure, UserSeed};
use tokio_util::sync::CancellationToken;

use crate::support::{TestApi, error_of};

/// Upper bound for polling state that changes only after the client's own cache expires
/// (`conversations.info`: at most 20 s); reached only when a test fails.
const POLL_LIMIT: Duration = Duration::from_secs(60);

async fn emulator() -> Emulator {
    let config = EmulatorConfig::default()
        .with_strict(true)
        .with_channel(ChannelSeed::new("C0ALERTS01", "alerts").with_members(["U1", "U2"]))
        .with_channel(ChannelSeed::new("C0BETA0001", "beta"))
        .with_channel(ChannelSeed::new("C0NOBOT001", "nobot").without_bot())
        .with_channel(ChannelSeed::new("C0OLD00001", "old").archived())
        .with_user(UserSeed::new("U1", "jdoe", "Jane Doe"))
        .with_user(UserSeed::new("U2", "rroe", "Richard Roe"));
    Emulator::start(config).await.unwrap()
}

/// A client of `slack` that does not retry (a scripted failure is the call's answer), not
/// connected (the provider connects).
fn api(slack: &Emulator) -> Arc<SlackApi> {
    let cfg = SlackClientConfig::new(slack.config().bot_token.clone())
        .with_base_url(slack.base_url())
        .with_max_attempts(1, 1, 1);
    Arc::new(SlackApi::new(cfg).unwrap())
}

fn existing(archived: bool, bot_is_member: bool, user_count: u32) -> ChannelInfo {
    ChannelInfo {
        exists: true,
        archived,
        bot_is_member,
        user_count,
    }
}

#[tokio::test]
async fn existing_channel_counts_members_including_the_bot() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    let got = info.channel_info("C0ALERTS01").await.unwrap();
    assert_eq!(got, existing(false, true, 3));
    assert_eq!(info.tracked_channels(), 1);
    // Served from the provider's cache: no further Slack calls.
    let calls = slack.calls().len();
    assert_eq!(info.channel_info("C0ALERTS01").await.unwrap(), got);
    assert_eq!(slack.calls().len(), calls);
}

#[tokio::test]
async fn missing_channel_does_not_exist() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    assert_eq!(
        info.channel_info("C0MISSING1").await.unwrap(),
        ChannelInfo::default()
    );
    assert_eq!(slack.calls_to("conversations.info").len(), 1);
    assert!(slack.calls_to("conversations.members").is_empty());
}

#[tokio::test]
async fn archived_channel_is_reported_archived() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    assert_eq!(
        info.channel_info("C0OLD00001").await.unwrap(),
        existing(true, true, 1)
    );
}

#[tokio::test]
async fn bot_not_in_channel() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    assert_eq!(
        info.channel_info("C0NOBOT001").await.unwrap(),
        existing(false, false, 0)
    );
}

#[tokio::test]
async fn lookup_error_is_returned_and_not_cached() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    slack.fail_next("conversations.info", Failure::error("internal_error"));
    let err = info.channel_info("C0ALERTS01").await.unwrap_err();
    assert!(err.to_string().contains("internal_error"), "{err}");
    assert_eq!(
        info.channel_info("C0ALERTS01").await.unwrap(),
        existing(false, true, 3)
    );
}

#[tokio::test]
async fn names_map_to_ids_of_the_bots_channels_case_insensitively() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    for (input, want) in [
        ("alerts", "C0ALERTS01"),
        ("ALERTS", "C0ALERTS01"),
        ("Beta", "C0BETA0001"),
        // The bot is not in it, or it is archived: taken as an ID.
        ("nobot", "nobot"),
        ("old", "old"),
        ("C0ALERTS01", "C0ALERTS01"),
        ("unknown", "unknown"),
        ("", ""),
    ] {
        assert_eq!(info.map_channel_name_to_id(input).await, want, "{input}");
    }
    assert_eq!(
        info.managed_channels().await.unwrap(),
        vec![
            ManagedChannel {
                id: "C0ALERTS01".into(),
                name: "alerts".into()
            },
            ManagedChannel {
                id: "C0BETA0001".into(),
                name: "beta".into()
            },
        ]
    );
    // The list is built once and then kept until a refresh.
    assert_eq!(slack.calls_to("users.conversations").len(), 1);
    assert_eq!(info.refresh_managed_channels().await.unwrap(), 2);
}

#[tokio::test]
async fn failed_channel_listing_keeps_the_input_and_is_an_error_for_the_list() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    slack.fail_next("users.conversations", Failure::error("internal_error"));
    assert_eq!(info.map_channel_name_to_id("alerts").await, "alerts");
    slack.fail_next("users.conversations", Failure::error("internal_error"));
    let err = info.managed_channels().await.unwrap_err();
    assert!(err.to_string().contains("internal_error"), "{err}");
    assert_eq!(info.map_channel_name_to_id("alerts").await, "C0ALERTS01");
}

#[tokio::test]
async fn refresh_forgets_channels_not_seen_within_the_window() {
    let slack = emulator().await;
    let keep = SlackChannelInfo::new(api(&slack));
    keep.channel_info("C0ALERTS01").await.unwrap();
    assert_eq!(keep.refresh_channels().await.unwrap(), 1);
    assert_eq!(keep.tracked_channels(), 1);

    // A 1 ns window has passed by the time the refresh runs (an HTTP round trip later).
    let forget = SlackChannelInfo::new(api(&slack)).with_seen_window(Duration::from_nanos(1));
    forget.channel_info("C0ALERTS01").await.unwrap();
    assert_eq!(forget.tracked_channels(), 1);
    assert_eq!(forget.refresh_channels().await.unwrap(), 0);
    assert_eq!(forget.tracked_channels(), 0);
}

#[tokio::test]
async fn refresh_error_is_returned_and_the_next_refresh_recovers() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack));
    // A failed first fetch leaves the channel tracked without information (and the client's
    // cache empty), so the refresh has to ask Slack.
    slack.fail_next("conversations.info", Failure::error("internal_error"));
    assert!(info.channel_info("C0ALERTS01").await.is_err());
    assert_eq!(info.tracked_channels(), 1);
    slack.fail_next("conversations.info", Failure::error("internal_error"));
    let err = info.refresh_channels().await.unwrap_err();
    assert_eq!(err.code(), Some("internal_error"));
    assert_eq!(info.refresh_channels().await.unwrap(), 1);
    let calls = slack.calls().len();
    assert_eq!(
        info.channel_info("C0ALERTS01").await.unwrap(),
        existing(false, true, 3)
    );
    assert_eq!(
        slack.calls().len(),
        calls,
        "served what the refresh fetched"
    );
}

#[tokio::test]
async fn refresh_task_picks_up_changes_and_stops_on_cancel() {
    let slack = emulator().await;
    let info = SlackChannelInfo::new(api(&slack))
        .with_refresh_intervals(Duration::from_millis(100), Duration::from_millis(100));
    let cancel = CancellationToken::new();
    let task = info.spawn_refresh(cancel.clone());
    assert_eq!(
        info.channel_info("C0BETA0001").await.unwrap(),
        existing(false, true, 1)
    );
    slack.set_archived("C0BETA0001", true).unwrap();
    let start = Instant::now();
    loop {
        if info.channel_info("C0BETA0001").await.unwrap().archived {
            break;
        }
        assert!(start.elapsed() < POLL_LIMIT, "refresh never saw the change");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The channel list was built by the task (at start), not on demand.
    assert!(!slack.calls_to("users.conversations").is_empty());
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn api_rejects_unknown_channels_and_maps_names() {
    let slack = emulator().await;
    let provider = Arc::new(SlackChannelInfo::new(api(&slack)));
    let api = TestApi::start_with(
        ApiConfig::default(),
        ApiSettings::default(),
        Some(provider as Arc<dyn ChannelInfoProvider>),
    )
    .await;

    let cases = [
        (
            "/alert/C0MISSING1",
            "Unable to find channel C0MISSING1 in workspace",
        ),
        ("/alert/C0OLD00001", "Channel C0OLD00001 is archived"),
        (
            "/alert/C0NOBOT001",
            "The Slack Manager integration is not in channel C0NOBOT001",
        ),
    ];
    for (path, message) in cases {
        let resp = api.post(path, json!({"header": "x"}).to_string()).await;
        assert_eq!(error_of(resp).await, (400, message.to_owned()), "{path}");
    }

    let resp = api
        .post(
            "/alert",
            json!({"header": "x", "slackChannelId": "Alerts"}).to_string(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let queued = api.take_queued(1).await;
    assert_eq!(queued[0].slack_channel_id, "C0ALERTS01");

    let channels: serde_json::Value = api.get("/channels").await.json().await.unwrap();
    assert_eq!(
        channels,
        json!([{"id": "C0ALERTS01", "name": "alerts"}, {"id": "C0BETA0001", "name": "beta"}])
    );
    api.stop().await;
}
