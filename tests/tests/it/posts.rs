//! Alerts become posts: one post per issue, storms, resolve and archive, notification delay.

use chrono::Utc;
use sm_core::Severity;

use crate::support::{Stack, alert, content, fast_settings, status, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_gives_one_post() {
    let stack = Stack::start("one-alert", &["C1"], fast_settings()).await;
    stack.send(&alert("C1", "disk", "disk is full")).await;
    let msg = stack
        .wait_for_messages("C1", 20, "the post", |m| {
            m.first()
                .filter(|m| content(m).contains("disk is full"))
                .cloned()
        })
        .await;
    let issue = wait_until(20, "the issue saved with its post", || async {
        stack
            .issue("C1", "disk")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    assert_eq!(issue.slack_post_id, msg.ts);
    assert!(content(&msg).contains(&status().error));
    // A later periodic pass does not post again.
    stack.wait_for_pass_after("C1", Utc::now()).await;
    assert_eq!(stack.emu.messages("C1").len(), 1);
    assert_eq!(stack.emu.calls_to("chat.postMessage").len(), 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_alerts_with_one_correlation_id_give_one_post_with_the_latest_text() {
    let stack = Stack::start("storm", &["C1"], fast_settings()).await;
    let base = Utc::now();
    let n: i64 = 1000;
    for k in 0..n {
        let mut a = alert("C1", "storm", &format!("reading {k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        stack.send(&a).await;
    }
    let last = format!("reading {}", n - 1);
    wait_until(60, "all alerts applied", || async {
        stack
            .issue("C1", "storm")
            .await
            .filter(|i| i.alert_count == n)
    })
    .await;
    stack
        .wait_for_messages("C1", 30, "the latest text in the one post", |m| {
            (m.len() == 1 && content(&m[0]).contains(&last)).then_some(())
        })
        .await;
    assert_eq!(stack.emu.calls_to("chat.postMessage").len(), 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_issue_shows_resolved_then_archives_and_a_new_alert_opens_a_new_post() {
    let stack = Stack::start("resolve-archive", &["C1"], fast_settings()).await;
    let t0 = Utc::now();
    let mut open = alert("C1", "db", "database down");
    open.timestamp = t0;
    // The alert's own archiving delay has no minimum (the 60 s minimum is the settings default).
    open.archiving_delay_seconds = 1;
    stack.send(&open).await;
    let first = stack
        .wait_for_messages("C1", 20, "the alert post", |m| {
            m.first()
                .filter(|m| content(m).contains("database down"))
                .cloned()
        })
        .await;

    let mut resolved = open.clone();
    resolved.severity = Severity::Resolved;
    resolved.text = "database is back".into();
    resolved.timestamp = t0 + chrono::Duration::seconds(1);
    stack.send(&resolved).await;
    let resolved_emoji = status().resolved;
    stack
        .wait_for_messages("C1", 20, "the post showing resolved", |m| {
            (m.len() == 1
                && m[0].ts == first.ts
                && content(&m[0]).contains(&resolved_emoji)
                && content(&m[0]).contains("database is back"))
            .then_some(())
        })
        .await;

    wait_until(30, "the resolved issue archived", || async {
        stack.issue("C1", "db").await.is_none().then_some(())
    })
    .await;

    let mut again = open.clone();
    again.text = "database down again".into();
    again.timestamp = Utc::now();
    stack.send(&again).await;
    let msgs = stack
        .wait_for_messages("C1", 20, "a new post for the new issue", |m| {
            (m.len() == 2).then(|| m.to_vec())
        })
        .await;
    assert_eq!(msgs[0].ts, first.ts, "the archived issue's post stays");
    assert!(content(&msgs[0]).contains(&resolved_emoji));
    assert_ne!(msgs[1].ts, first.ts);
    assert!(content(&msgs[1]).contains("database down again"));
    let issue = wait_until(20, "the new issue saved with its post", || async {
        stack
            .issue("C1", "db")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    assert_eq!(issue.slack_post_id, msgs[1].ts);
    assert_eq!(issue.alert_count, 1);
    assert_eq!(stack.emu.calls_to("chat.postMessage").len(), 2);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_delay_with_an_early_resolve_never_posts() {
    let stack = Stack::start("notify-delay", &["C1"], fast_settings()).await;
    let t0 = Utc::now();
    let mut open = alert("C1", "blip", "short blip");
    open.timestamp = t0;
    open.notification_delay_seconds = 4;
    stack.send(&open).await;
    let mut resolved = open.clone();
    resolved.severity = Severity::Resolved;
    resolved.timestamp = t0 + chrono::Duration::milliseconds(500);
    stack.send(&resolved).await;
    let issue = wait_until(20, "the resolve applied", || async {
        stack
            .issue("C1", "blip")
            .await
            .filter(|i| i.alert_count == 2)
    })
    .await;
    assert_eq!(issue.last_alert.severity, Severity::Resolved);
    assert!(issue.slack_post_delayed_until > t0);
    // Two periodic passes after the delay ended: still nothing in Slack.
    let delay_end = issue.slack_post_delayed_until;
    stack.wait_for_pass_after("C1", delay_end).await;
    stack.wait_for_pass_after("C1", Utc::now()).await;
    assert!(stack.emu.messages("C1").is_empty());
    assert!(stack.emu.calls_to("chat.postMessage").is_empty());
    let issue = stack.issue("C1", "blip").await;
    assert!(issue.is_none_or(|i| i.slack_post_id.is_empty()));
    stack.stop().await;
}
