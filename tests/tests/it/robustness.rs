//! Bad input, a rate-limited Slack, settings changes while running, and two instances.

use std::sync::OnceLock;

use chrono::Utc;
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use sm_core::{Alert, Severity};
use sm_slack_emulator::Failure;

use crate::support::{Stack, alert, content, fast_settings, status, wait_until};

/// The process-wide metrics recorder (installed once for the whole test binary).
fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().unwrap();
        snapshotter
    })
}

/// `manager_alerts_dropped_total{reason="invalid"}` counted since the previous call (a snapshot
/// resets the counters).
fn invalid_drops_since_last_call() -> u64 {
    snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(ck, ..)| {
            ck.kind() == MetricKind::Counter
                && ck.key().name() == "manager_alerts_dropped_total"
                && ck
                    .key()
                    .labels()
                    .any(|l| l.key() == "reason" && l.value() == "invalid")
        })
        .map(|(.., v)| match v {
            DebugValue::Counter(n) => n,
            other => panic!("not a counter: {other:?}"),
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_alert_is_dropped_and_the_channel_continues() {
    invalid_drops_since_last_call();
    let stack = Stack::start("invalid", &["C1"], fast_settings()).await;
    // Not JSON at all: acked and logged by the consumer.
    stack
        .send_raw("C1", "garbage-1", "this is not an alert")
        .await;
    // Valid JSON, invalid alert (header and text both empty): acked, logged and counted.
    let mut invalid = Alert::new(Severity::Error);
    invalid.slack_channel_id = "C1".into();
    invalid.correlation_id = "empty".into();
    stack
        .send_raw("C1", "invalid-1", &serde_json::to_string(&invalid).unwrap())
        .await;
    stack.send(&alert("C1", "next", "the next alert")).await;
    let msgs = stack
        .wait_for_messages("C1", 20, "the next alert's post", |m| {
            m.iter()
                .any(|m| content(m).contains("the next alert"))
                .then(|| m.to_vec())
        })
        .await;
    assert_eq!(msgs.len(), 1, "only the valid alert is posted");
    let mut dropped = 0;
    wait_until(10, "the invalid-alert drop counted", || {
        dropped += invalid_drops_since_last_call();
        std::future::ready((dropped >= 1).then_some(()))
    })
    .await;
    assert_eq!(dropped, 1);
    assert!(stack.issue("C1", "empty").await.is_none());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_rate_limit_storm_still_ends_in_the_right_state() {
    let stack = Stack::start("rate-limit", &["C1"], fast_settings()).await;
    let storm = 5;
    for method in ["chat.postMessage", "chat.update"] {
        stack
            .emu
            .fail_times(method, Failure::rate_limited(1), storm);
    }
    let base = Utc::now();
    for k in 0..10 {
        let mut a = alert("C1", "rl", &format!("attempt {k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        stack.send(&a).await;
    }
    let mut resolved = alert("C1", "rl", "recovered after the storm");
    resolved.severity = Severity::Resolved;
    resolved.timestamp = base + chrono::Duration::seconds(1);
    stack.send(&resolved).await;
    let resolved_emoji = status().resolved;
    stack
        .wait_for_messages("C1", 50, "one resolved post with the latest text", |m| {
            (m.len() == 1
                && content(&m[0]).contains(&resolved_emoji)
                && content(&m[0]).contains("recovered after the storm"))
            .then_some(())
        })
        .await;
    let issue = wait_until(20, "the issue saved in step with Slack", || async {
        stack
            .issue("C1", "rl")
            .await
            .filter(|i| i.alert_count == 11 && !i.slack_post_needs_update)
    })
    .await;
    assert_eq!(issue.slack_post_id, stack.emu.messages("C1")[0].ts);
    let limited = stack.emu.calls().iter().filter(|c| c.status == 429).count();
    assert!(
        limited >= storm,
        "the storm happened ({limited} answers 429)"
    );
    let posted = stack
        .emu
        .calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.status == 200)
        .count();
    assert_eq!(posted, 1, "one successful post");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_settings_while_running_takes_effect() {
    let stack = Stack::start("settings", &["C1"], fast_settings()).await;
    stack
        .send(&alert("C1", "before", "before the change"))
        .await;
    let before = stack
        .wait_for_messages("C1", 20, "the first post", |m| m.first().cloned())
        .await;
    assert_eq!(before.username, "Slack Manager");

    let mut refused = fast_settings();
    refused.issue_processing_interval_seconds = 1;
    assert!(stack.manager().update_settings(refused).is_err());
    assert_eq!(
        stack.manager().settings().issue_processing_interval_seconds,
        3
    );

    let mut changed = fast_settings();
    changed.default_post_username = "Night Watch".into();
    stack.manager().update_settings(changed).unwrap();
    assert_eq!(
        stack.manager().settings().default_post_username,
        "Night Watch"
    );
    stack.send(&alert("C1", "after", "after the change")).await;
    let after = stack
        .wait_for_messages("C1", 20, "the second post", |m| {
            m.iter()
                .find(|m| content(m).contains("after the change"))
                .cloned()
        })
        .await;
    assert_eq!(after.username, "Night Watch");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_never_duplicate_posts() {
    let mut stack = Stack::new("two-instances", &["C1", "C2", "C3", "C4"]).await;
    stack.add_instance(fast_settings()).await;
    stack.add_instance(fast_settings()).await;
    let channels = ["C1", "C2", "C3", "C4"];
    let issues = 8;
    let total = 200;
    let base = Utc::now();
    for k in 0..total {
        let ch = channels[k % channels.len()];
        let mut a = alert(ch, &format!("i{}", k % issues), &format!("n{k}"));
        a.timestamp = base + chrono::Duration::milliseconds(i64::try_from(k).unwrap());
        stack.send(&a).await;
    }
    wait_until(60, "all alerts applied", || async {
        let mut applied = 0;
        for k in 0..issues {
            if let Some(i) = stack
                .issue(channels[k % channels.len()], &format!("i{k}"))
                .await
            {
                applied += i.alert_count;
            }
        }
        (applied == i64::try_from(total).unwrap()).then_some(())
    })
    .await;
    for (c, ch) in channels.iter().enumerate() {
        // Issues i{c} and i{c+4} live in this channel; their last alerts are the last two sent here.
        let last = [total - channels.len() * 2 + c, total - channels.len() + c];
        stack
            .wait_for_messages(ch, 30, "two posts with the latest texts", |m| {
                (m.len() == 2
                    && last
                        .iter()
                        .all(|k| m.iter().any(|m| content(m).contains(&format!("n{k}\"")))))
                .then_some(())
            })
            .await;
    }
    assert_eq!(
        stack.emu.calls_to("chat.postMessage").len(),
        issues,
        "one post per issue, no duplicates"
    );
    stack.stop().await;
}
