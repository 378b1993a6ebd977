use chrono::Utc;
use sm_core::{FifoQueueProducer, Severity, SlackAction, Store};
use sm_manager::ManagerSettings;

use crate::support::{Harness, HarnessBuilder, alert, drained, eventually, fast_settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_one_post() {
    let h = Harness::start();
    h.send(&alert("C1", "disk", "disk is full")).await;
    let issue = eventually(10, "issue with post", || async {
        h.issue("C1", "disk")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    drained(&h).await;
    let posts = h.slack.posts("C1");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].ts, issue.slack_post_id);
    assert_eq!(posts[0].text, "disk is full");
    assert_eq!(issue.last_alert.slack_channel_name, "name-c1");
    assert_eq!(issue.slack_post_last_action, SlackAction::Alert);
    assert!(issue.version >= 2, "saved before and after the post");
    let history = h.store.find_alerts_for_issue(&issue.id, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_on_one_issue_is_coalesced_into_few_slack_calls() {
    let h = Harness::start();
    let base = Utc::now();
    let n = 1000;
    for k in 0..n {
        let mut a = alert("C1", "storm", &format!("reading {k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        h.send(&a).await;
    }
    let last = format!("reading {}", n - 1);
    eventually(30, "latest text posted", || async {
        let posts = h.slack.posts("C1");
        (posts.len() == 1 && posts[0].text == last).then_some(())
    })
    .await;
    let issue = h.issue("C1", "storm").await.unwrap();
    assert_eq!(issue.alert_count, n);
    assert!(!issue.slack_post_needs_update);
    let calls = h.slack.calls("chat.postMessage") + h.slack.calls("chat.update");
    assert_eq!(h.slack.calls("chat.postMessage"), 1);
    // One post, then about one update per coalescing window (1.5 s) while the storm lasts.
    assert!(calls <= 25, "{calls} slack calls for {n} alerts");
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_coalescing_every_alert_updates_slack() {
    let mut b = HarnessBuilder::new();
    b.settings.disable_storm_coalescing = true;
    let h = b.start();
    let base = Utc::now();
    for k in 0..20 {
        let mut a = alert("C1", "c", &format!("v{k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        h.send(&a).await;
    }
    eventually(10, "20 alerts applied", || async {
        h.issue("C1", "c").await.filter(|i| i.alert_count == 20)
    })
    .await;
    drained(&h).await;
    assert_eq!(
        h.slack.calls("chat.postMessage") + h.slack.calls("chat.update"),
        20
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_undecodable_items_are_dropped_and_the_channel_continues() {
    let h = Harness::start();
    let mut bad = alert("C1", "bad", "x");
    bad.link = "not a url".into();
    h.send(&bad).await;
    h.alerts.send("C1", "garbage", "{not json").await.unwrap();
    let mut noise = alert("C1", "noise", "Just a TEST run");
    noise.ignore_if_text_contains = Some(vec![" test ".into()]);
    h.send(&noise).await;
    h.send(&alert("C1", "good", "fine")).await;
    eventually(10, "good issue posted", || async {
        h.issue("C1", "good")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    drained(&h).await;
    assert!(h.issue("C1", "bad").await.is_none());
    assert!(h.issue("C1", "noise").await.is_none());
    assert_eq!(h.slack.posts("C1").len(), 1);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_then_archive_then_a_new_alert_opens_a_new_post() {
    let h = Harness::start();
    let mut a = alert("C1", "r", "broken");
    a.archiving_delay_seconds = 1;
    h.send(&a).await;
    let first = eventually(10, "first post", || async {
        h.issue("C1", "r")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    let mut r = a.clone();
    r.severity = Severity::Resolved;
    r.timestamp = a.timestamp + chrono::Duration::seconds(1);
    r.text = "fixed".into();
    h.send(&r).await;
    eventually(10, "post shows resolved", || async {
        h.slack
            .posts("C1")
            .first()
            .filter(|p| p.action == SlackAction::Resolve && p.text == "fixed")
            .cloned()
    })
    .await;
    // Archived by a periodic pass once the archiving delay passed.
    eventually(15, "issue archived", || async {
        h.issue("C1", "r").await.is_none().then_some(())
    })
    .await;
    let mut again = a.clone();
    again.timestamp = Utc::now();
    again.text = "broken again".into();
    h.send(&again).await;
    let second = eventually(10, "second post", || async {
        h.issue("C1", "r")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    assert_ne!(first.id, second.id);
    assert_ne!(first.slack_post_id, second.slack_post_id);
    assert_eq!(h.slack.posts("C1").len(), 2);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_delay_with_early_resolve_never_posts() {
    let h = Harness::start();
    let mut a = alert("C1", "quiet", "flaky");
    a.notification_delay_seconds = 60;
    h.send(&a).await;
    let mut r = a.clone();
    r.severity = Severity::Resolved;
    r.timestamp = a.timestamp + chrono::Duration::seconds(1);
    h.send(&r).await;
    eventually(10, "resolve applied", || async {
        h.issue("C1", "quiet")
            .await
            .filter(|i| i.last_alert.severity == Severity::Resolved)
    })
    .await;
    // Wait for a periodic pass of the channel to have run after the resolve.
    let after = Utc::now();
    eventually(10, "a periodic pass", || async {
        h.store
            .find_channel_processing_state("C1")
            .await
            .unwrap()
            .filter(|s| s.last_processed > after)
    })
    .await;
    assert!(h.slack.all_posts().is_empty());
    assert_eq!(h.slack.calls("chat.postMessage"), 0);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_rate_limit_storm_still_ends_in_the_right_state() {
    let h = Harness::start();
    h.slack.fail_next(3);
    let base = Utc::now();
    for k in 0..5 {
        let mut a = alert("C1", "rl", &format!("t{k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        h.send(&a).await;
    }
    // The failed posts stay recorded on the issue; the periodic pass makes them.
    let issue = eventually(20, "post with the latest text", || async {
        h.issue("C1", "rl").await.filter(|i| {
            !i.slack_post_id.is_empty() && !i.slack_post_needs_update && i.alert_count == 5
        })
    })
    .await;
    let posts = h.slack.posts("C1");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].ts, issue.slack_post_id);
    assert_eq!(posts[0].text, "t4");
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_settings_while_running() {
    let h = Harness::start();
    let bad = ManagerSettings {
        issue_processing_interval_seconds: 1,
        ..Default::default()
    };
    let err = h.manager.update_settings(bad).unwrap_err();
    assert_eq!(err.field(), "issueProcessingIntervalSeconds");
    assert!(
        err.to_string()
            .contains("the existing settings will continue to be used")
    );
    assert_eq!(h.manager.settings().issue_processing_interval_seconds, 3);

    let good = ManagerSettings {
        default_post_username: "Night Watch".into(),
        ..fast_settings()
    };
    h.manager.update_settings(good).unwrap();
    let mut a = alert("C1", "u", "x");
    a.username.clear();
    h.send(&a).await;
    let issue = eventually(10, "issue", || async { h.issue("C1", "u").await }).await;
    assert_eq!(issue.last_alert.username, "Night Watch");
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_without_correlation_id_follows_a_move_mapping() {
    let h = Harness::start();
    let mut a = alert("C1", "", "unlabelled");
    a.correlation_id.clear();
    let corr = a.default_correlation_id();
    h.store
        .save_move_mapping(&sm_core::MoveMapping::new(
            corr.clone(),
            "C1",
            "C2",
            sm_core::MoveReason::UserCommand,
        ))
        .await
        .unwrap();
    h.send(&a).await;
    let issue = eventually(10, "issue in C2", || async { h.issue("C2", &corr).await }).await;
    assert_eq!(issue.last_alert.original_slack_channel_id, "C1");
    assert!(h.issue("C1", &corr).await.is_none());
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_issue_is_marked() {
    let mut b = HarnessBuilder::new();
    b.settings.flap_threshold = 2;
    let h = b.start();
    let base = Utc::now();
    let mut k = 0;
    // Open, then resolve/reopen three times: three reopens > threshold 2.
    for round in 0..4 {
        for sev in [Severity::Error, Severity::Resolved] {
            if round == 3 && sev == Severity::Resolved {
                break;
            }
            let mut a = alert("C1", "flap", "up and down");
            a.severity = sev;
            a.timestamp = base + chrono::Duration::milliseconds(k);
            k += 1;
            h.send(&a).await;
        }
    }
    let issue = eventually(10, "flapping note", || async {
        h.issue("C1", "flap").await.filter(|i| i.alert_count == 7)
    })
    .await;
    assert!(
        sm_manager::lifecycle::is_marked_flapping(&issue),
        "text: {}",
        issue.last_alert.text
    );
    assert!(issue.last_alert.text.contains("reopened 3 times"));
    h.stop().await.unwrap();
}
