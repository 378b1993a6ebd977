use std::sync::Arc;
use std::time::Duration;

use sm_core::{InMemoryFifoQueue, NoopChannelLocker};
use sm_manager::{Manager, ManagerError, ManagerSettings};
use sm_store::MemoryStore;
use tokio_util::sync::CancellationToken;

use crate::support::{Harness, HarnessBuilder, RecordingSlack, alert, config, eventually};

fn cancelled() -> CancellationToken {
    let c = CancellationToken::new();
    c.cancel();
    c
}

#[tokio::test]
async fn start_up_checks_in_order() {
    // Invalid config comes first.
    let mut b = HarnessBuilder::new();
    b.config.cache_key_prefix.clear();
    b.settings.issue_processing_interval_seconds = 1;
    let err = b.manager().run(cancelled()).await.unwrap_err();
    assert!(matches!(err, ManagerError::Config(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("failed to validate configuration: cache key prefix")
    );

    // Then settings.
    let mut b = HarnessBuilder::new();
    b.settings.issue_processing_interval_seconds = 1;
    let err = b.manager().run(cancelled()).await.unwrap_err();
    assert!(matches!(err, ManagerError::Settings(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("failed to initialize channel settings")
    );

    // Then queue names.
    let q = InMemoryFifoQueue::new("same");
    let m = Manager::new(
        Arc::new(MemoryStore::new()),
        Arc::new(q.clone()),
        Arc::new(q),
        Arc::new(NoopChannelLocker),
        config(),
        ManagerSettings::default(),
    )
    .with_slack_client(RecordingSlack::new());
    let err = m.run(cancelled()).await.unwrap_err();
    assert!(matches!(err, ManagerError::SameQueueNames(_)), "{err}");

    // Then the Slack client.
    let m = Manager::new(
        Arc::new(MemoryStore::new()),
        Arc::new(InMemoryFifoQueue::new("a")),
        Arc::new(InMemoryFifoQueue::new("c")),
        Arc::new(NoopChannelLocker),
        config(),
        ManagerSettings::default(),
    );
    let err = m.run(cancelled()).await.unwrap_err();
    assert!(matches!(err, ManagerError::MissingSlackClient), "{err}");
    assert!(err.to_string().contains("with_slack_client"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_run_is_refused_and_cancel_returns_ok() {
    let h = Harness::start();
    h.send(&alert("C1", "x", "y")).await;
    eventually(10, "issue", || async { h.issue("C1", "x").await }).await;
    let err = h.manager.run(CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, ManagerError::AlreadyRunning));
    let stopped = tokio::time::timeout(Duration::from_secs(10), h.stop()).await;
    stopped.expect("run returns after cancel").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_channels_get_actors_at_start() {
    let b = HarnessBuilder::new();
    let mut issue = sm_manager::lifecycle::new_issue(
        sm_core::IssueAlert::new(alert("C5", "old", "from before the restart")),
        chrono::Utc::now(),
    );
    issue.version = sm_core::Store::save_issue(&*b.store, &issue).await.unwrap();
    let h = b.start();
    // The first periodic pass posts the issue that was saved without a post.
    eventually(10, "posted by the periodic pass", || async {
        h.issue("C5", "old")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_stream_loses_nothing_and_a_restart_finishes_the_work() {
    let first = HarnessBuilder::new();
    let mut second = HarnessBuilder::new();
    second.store = first.store.clone();
    second.slack = first.slack.clone();
    second.alerts = first.alerts.clone();
    second.commands = first.commands.clone();
    let h1 = first.start();
    let base = chrono::Utc::now();
    for k in 0..300i64 {
        let ch = ["C1", "C2", "C3"][usize::try_from(k % 3).unwrap()];
        let mut a = alert(ch, "same", &format!("n{k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        h1.send(&a).await;
    }
    let stopped = tokio::time::timeout(Duration::from_secs(15), h1.stop()).await;
    stopped.expect("drained within the timeouts").unwrap();
    let h2 = second.start();
    eventually(30, "all 300 alerts applied exactly once", || async {
        let mut total = 0;
        for ch in ["C1", "C2", "C3"] {
            total += h2.issue(ch, "same").await.map_or(0, |i| i.alert_count);
        }
        (total == 300).then_some(())
    })
    .await;
    eventually(10, "one post per issue", || async {
        (h2.slack.all_posts().len() == 3).then_some(())
    })
    .await;
    assert_eq!(h2.slack.calls("chat.postMessage"), 3);
    h2.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_observers_see_start_up_and_updates() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let b = HarnessBuilder::new();
    let observer: sm_manager::SettingsObserver = {
        let seen = seen.clone();
        Arc::new(move |s: &ManagerSettings| {
            seen.lock().unwrap().push(s.max_throttle_duration_seconds)
        })
    };
    let manager = Arc::new(b.manager().with_settings_observer(observer));
    let cancel = CancellationToken::new();
    let task = {
        let (m, c) = (manager.clone(), cancel.clone());
        tokio::spawn(async move { m.run(c).await })
    };
    eventually(10, "start-up notification", || async {
        (!seen.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    manager
        .update_settings(ManagerSettings {
            max_throttle_duration_seconds: 7,
            ..Default::default()
        })
        .unwrap();
    assert!(
        manager
            .update_settings(ManagerSettings {
                max_throttle_duration_seconds: 7000,
                ..Default::default()
            })
            .is_err()
    );
    assert_eq!(*seen.lock().unwrap(), [90, 7]);
    cancel.cancel();
    task.await.unwrap().unwrap();
}
