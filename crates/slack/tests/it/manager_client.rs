//! `SlackManagerClient` (the `SlackClient` contract) against the emulator.

use std::sync::Arc;

use chrono::{Duration, Utc};
use sm_core::{INVALID_CHANNEL_POST_ID, Issue, PostState, Severity, SlackAction, SlackClient};
use sm_slack::{PostSettings, SlackApi, SlackManagerClient};
use sm_slack_emulator::{Emulator, Failure};

use crate::support::{connected_api, emulator, fast_config, live_issue};

async fn client(slack: &Emulator) -> SlackManagerClient {
    SlackManagerClient::new(connected_api(slack).await, PostSettings::default())
}

fn apply(issues: &mut [Issue], states: &[PostState]) {
    for s in states {
        let applied = issues.iter_mut().any(|i| i.apply_post_state(s));
        assert!(applied, "state for unknown issue {}", s.issue_id);
    }
}

fn headers(slack: &Emulator, channel: &str) -> Vec<String> {
    slack
        .messages(channel)
        .iter()
        .map(|m| {
            m.blocks[0]["text"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Three open issues with distinct receive times (warning oldest).
fn three() -> Vec<Issue> {
    let mut v = vec![
        live_issue("C1", "p", Severity::Panic),
        live_issue("C1", "w", Severity::Warning),
        live_issue("C1", "e", Severity::Error),
    ];
    for (n, i) in v.iter_mut().enumerate() {
        i.last_alert_received -= Duration::seconds(10 - n as i64);
    }
    v
}

#[tokio::test]
async fn update_posts_in_priority_order_most_severe_last() {
    let slack = emulator().await;
    let c = client(&slack).await;
    let mut issues = three();
    let states = c.update("C1", &issues).await.unwrap();
    assert_eq!(states.len(), 3);
    apply(&mut issues, &states);
    assert!(
        issues
            .iter()
            .all(|i| !i.slack_post_id.is_empty() && !i.slack_post_needs_update)
    );
    assert!(issues.iter().all(|i| i.slack_alert_sent_at_least_once));
    assert_eq!(
        headers(&slack, "C1"),
        vec![":warning: w is down", ":x: e is down", ":scream: p is down"]
    );
    // Nothing to do on a second pass.
    assert!(c.update("C1", &issues).await.unwrap().is_empty());
    assert_eq!(slack.calls_to("chat.postMessage").len(), 3);
}

#[tokio::test]
async fn escalated_issue_is_reposted_at_the_bottom() {
    let slack = emulator().await;
    let c = client(&slack).await;
    let mut issues = three();
    let states = c.update("C1", &issues).await.unwrap();
    apply(&mut issues, &states);
    let old_ts = issues[1].slack_post_id.clone();
    // The warning escalates to panic.
    issues[1].last_alert.severity = Severity::Panic;
    issues[1].slack_post_needs_update = true;
    let states = c.update("C1", &issues).await.unwrap();
    apply(&mut issues, &states);
    assert!(issues[1].slack_post_id > old_ts);
    assert_eq!(
        headers(&slack, "C1"),
        vec![":x: e is down", ":scream: p is down", ":scream: w is down"]
    );
    assert_eq!(slack.calls_to("chat.delete").len(), 1);
}

#[tokio::test]
async fn a_post_with_a_thread_becomes_a_tombstone_when_reordered() {
    let slack = emulator().await;
    let c = client(&slack).await;
    let mut issues = three();
    let states = c.update("C1", &issues).await.unwrap();
    apply(&mut issues, &states);
    let old_ts = issues[1].slack_post_id.clone();
    slack
        .post_as_user("C1", "U1", "looking into it", Some(&old_ts))
        .unwrap();
    issues[1].last_alert.severity = Severity::Panic;
    issues[1].slack_post_needs_update = true;
    let states = c.update("C1", &issues).await.unwrap();
    apply(&mut issues, &states);
    assert!(slack.calls_to("chat.delete").is_empty());
    let msgs = slack.messages("C1");
    assert_eq!(msgs.len(), 4);
    let tomb = msgs.iter().find(|m| m.ts == old_ts).unwrap();
    assert_eq!(tomb.blocks[0]["text"]["text"], ":no_bell: w is down");
    assert_eq!(tomb.blocks[1]["text"]["text"], "~Details about w.~");
    assert!(
        tomb.blocks
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] != "actions")
    );
    assert_eq!(msgs.last().unwrap().ts, issues[1].slack_post_id);
}

#[tokio::test]
async fn reordering_is_suspended_above_the_limit() {
    let slack = emulator().await;
    let settings = PostSettings {
        issue_reordering_limit: 2,
        ..PostSettings::default()
    };
    let c = SlackManagerClient::new(connected_api(&slack).await, settings);
    let mut issues = three();
    let states = c.update("C1", &issues).await.unwrap();
    apply(&mut issues, &states);
    issues[1].last_alert.severity = Severity::Panic;
    issues[1].slack_post_needs_update = true;
    let states = c.update("C1", &issues).await.unwrap();
    apply(&mut issues, &states);
    assert!(slack.calls_to("chat.delete").is_empty());
    assert_eq!(slack.calls_to("chat.update").len(), 1);
    assert_eq!(headers(&slack, "C1")[0], ":scream: w is down");
}

#[tokio::test]
async fn throttled_update_makes_no_call() {
    let slack = emulator().await;
    let c = client(&slack).await;
    let mut i = live_issue("C1", "busy", Severity::Error);
    let s = c.update_single_issue(&i, "test").await.unwrap().unwrap();
    i.apply_post_state(&s);
    i.alert_count = 20;
    i.slack_post_needs_update = true;
    assert_eq!(
        c.update_single_issue_with_throttling(&i, "test", 10)
            .await
            .unwrap(),
        None
    );
    assert_eq!(slack.calls_to("chat.update").len(), 0);
    // Below the channel threshold it is not throttled.
    let s = c
        .update_single_issue_with_throttling(&i, "test", 2)
        .await
        .unwrap()
        .unwrap();
    assert!(!s.slack_post_needs_update);
    assert_eq!(slack.calls_to("chat.update").len(), 1);
    // Nothing to do: no call, no state.
    i.apply_post_state(&s);
    assert_eq!(c.update_single_issue(&i, "test").await.unwrap(), None);
}

#[tokio::test]
async fn resolve_updates_the_post() {
    let slack = emulator().await;
    let c = client(&slack).await;
    let mut i = live_issue("C1", "svc", Severity::Error);
    let s = c.update_single_issue(&i, "test").await.unwrap().unwrap();
    i.apply_post_state(&s);
    i.last_alert.severity = Severity::Resolved;
    i.resolve_time = Utc::now() - Duration::seconds(1);
    i.slack_post_needs_update = true;
    let s = c.update_single_issue(&i, "test").await.unwrap().unwrap();
    assert_eq!(s.slack_post_last_action, SlackAction::Resolve);
    assert_eq!(
        headers(&slack, "C1"),
        vec![":white_check_mark: svc is down"]
    );
}

#[tokio::test]
async fn create_and_update_errors_map_to_post_states() {
    let slack = emulator().await;
    let c = client(&slack).await;

    // Archived channel: never posted again.
    let i = live_issue("C3", "a", Severity::Error);
    let s = c.update_single_issue(&i, "t").await.unwrap().unwrap();
    assert_eq!(s.slack_post_id, INVALID_CHANNEL_POST_ID);
    let mut gone = i.clone();
    gone.apply_post_state(&s);
    gone.slack_post_needs_update = true;
    let calls = slack.calls().len();
    let s = c.update_single_issue(&gone, "t").await.unwrap().unwrap();
    assert_eq!(s.slack_post_id, INVALID_CHANNEL_POST_ID);
    assert_eq!(
        slack.calls().len(),
        calls,
        "no API call for an invalid channel"
    );

    // Bot not in channel: retried on the next pass.
    let s = c
        .update_single_issue(&live_issue("C2", "b", Severity::Error), "t")
        .await
        .unwrap()
        .unwrap();
    assert!(s.slack_post_id.is_empty() && s.slack_post_needs_update);

    // Invalid blocks: not retried until the next alert.
    slack.fail_next("chat.postMessage", Failure::error("invalid_blocks"));
    let s = c
        .update_single_issue(&live_issue("C1", "c", Severity::Error), "t")
        .await
        .unwrap()
        .unwrap();
    assert!(s.slack_post_id.is_empty() && !s.slack_post_needs_update);

    // Update of a message that is gone: a new post next time.
    let mut lost = live_issue("C1", "d", Severity::Error);
    lost.slack_post_id = "1600000000.000001".into();
    let s = c.update_single_issue(&lost, "t").await.unwrap().unwrap();
    assert!(s.slack_post_id.is_empty() && s.slack_post_needs_update);

    // Anything else is an error.
    slack.fail_next("chat.postMessage", Failure::error("msg_too_long"));
    slack.fail_times("chat.postMessage", Failure::error("msg_too_long"), 10);
    let e = c
        .update_single_issue(&live_issue("C1", "e", Severity::Error), "t")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("msg_too_long"));
}

#[tokio::test]
async fn delete_removes_the_post_and_tolerates_missing_ones() {
    let slack = emulator().await;
    let c = client(&slack).await;
    let mut i = live_issue("C1", "x", Severity::Error);
    // No post yet: just registered as deleted.
    let s = c.delete(&i, "t", true, None).await.unwrap().unwrap();
    assert!(s.slack_post_needs_update);
    assert!(slack.calls_to("chat.delete").is_empty());

    let s = c.update_single_issue(&i, "t").await.unwrap().unwrap();
    i.apply_post_state(&s);
    let sem = tokio::sync::Semaphore::new(1);
    let s = c.delete(&i, "t", true, Some(&sem)).await.unwrap().unwrap();
    assert!(s.slack_post_id.is_empty());
    assert!(slack.messages("C1").is_empty());
    // Deleting again: message_not_found is success.
    assert!(c.delete(&i, "t", false, None).await.unwrap().is_some());
    slack.fail_next("chat.delete", Failure::error("invalid_auth"));
    slack.fail_times("chat.delete", Failure::error("invalid_auth"), 10);
    assert_eq!(
        c.delete(&i, "t", false, None).await.unwrap_err().code(),
        Some("invalid_auth")
    );
}

#[tokio::test]
async fn delete_post_swallows_expected_errors() {
    let slack = emulator().await;
    let c = client(&slack).await;
    c.delete_post("C1", INVALID_CHANNEL_POST_ID).await.unwrap();
    assert!(slack.calls_to("chat.delete").is_empty());
    c.delete_post("C1", "1600000000.000001").await.unwrap();
    let user_ts = slack.post_as_user("C1", "U1", "hello", None).unwrap();
    c.delete_post("C1", &user_ts).await.unwrap();
    assert_eq!(
        slack.messages("C1").len(),
        1,
        "a user's message cannot be deleted"
    );
    slack.fail_times("chat.delete", Failure::error("not_authed"), 10);
    assert!(c.delete_post("C1", &user_ts).await.is_err());
}

#[tokio::test]
async fn dry_run_posts_and_deletes_nothing() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack).with_dry_run(true)).unwrap();
    api.connect().await.unwrap();
    let c = SlackManagerClient::new(Arc::new(api), PostSettings::default());
    assert!(c.update("C1", &three()).await.unwrap().is_empty());
    let mut i = live_issue("C1", "x", Severity::Error);
    i.slack_post_id = "1600000000.000001".into();
    assert_eq!(c.delete(&i, "t", true, None).await.unwrap(), None);
    c.delete_post("C1", "1600000000.000001").await.unwrap();
    let blocks = vec![serde_json::json!({"type":"section","text":{"type":"mrkdwn","text":"hi"}})];
    let ts = c
        .post_ephemeral("C1", "U1", &sm_slack::EphemeralContent::Blocks(blocks))
        .await
        .unwrap();
    assert_eq!(ts, "");
    assert!(slack.calls().iter().all(|call| call.method == "auth.test"));
    // Lookups still work in dry-run mode.
    assert_eq!(c.get_user_info("U1").await.unwrap().real_name, "Jane Doe");
}

#[tokio::test]
async fn channel_name_and_alert_channel_checks() {
    let slack = emulator().await;
    let mut settings = PostSettings::default();
    settings.info_channels.insert("CINFO".into());
    let c = SlackManagerClient::new(connected_api(&slack).await, settings);
    assert_eq!(c.get_channel_name("C1").await, "alerts");
    assert_eq!(c.get_channel_name("").await, "");
    assert_eq!(
        c.is_alert_channel("C1").await.unwrap(),
        (true, String::new())
    );
    assert_eq!(
        c.is_alert_channel("C2").await.unwrap(),
        (false, "Slack App integration is not in channel".to_owned())
    );
    assert_eq!(
        c.is_alert_channel("CINFO").await.unwrap(),
        (
            false,
            "channel is defined as 'info channel' (no alerts allowed)".to_owned()
        )
    );
    assert!(c.user_is_in_group("S1", "U1").await);
    assert!(!c.user_is_in_group("S1", "U2").await);
    assert!(!c.user_is_in_group("SNOPE", "U1").await);
}

#[tokio::test]
async fn an_error_mid_pass_keeps_the_posts_already_made() {
    let slack = emulator().await;
    let c = client(&slack).await;
    let mut issues = vec![live_issue("C1", "w", Severity::Warning)];
    let states = c.update("C1", &issues).await.unwrap();
    apply(&mut issues, &states);
    // The warning needs an update (done first) and a new panic needs a post, which fails.
    issues[0].slack_post_needs_update = true;
    issues[0].last_alert.text = "changed".into();
    issues.push(live_issue("C1", "p", Severity::Panic));
    slack.fail_times("chat.postMessage", Failure::error("msg_too_long"), 10);
    let states = c.update("C1", &issues).await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].issue_id, issues[0].id);
    assert!(!states[0].slack_post_needs_update);
    // With nothing changed before it, the error itself is returned.
    let err = c.update("C1", &issues[1..]).await.unwrap_err();
    assert_eq!(err.code(), Some("msg_too_long"));
}
