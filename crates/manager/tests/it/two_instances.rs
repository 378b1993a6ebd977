//! Two managers on one store and one queue, with the Redis channel locker: never two posts for
//! one issue.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sm_core::ChannelLocker;
use sm_redis_lock::RedisChannelLocker;
use sm_test_support::{redis_connection_manager, unique_prefix};

use crate::support::{HarnessBuilder, alert, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_duplicate_posts() {
    let conn = redis_connection_manager().await;
    let prefix = unique_prefix("manager-two");
    let locker = |conn| -> Arc<dyn ChannelLocker> {
        Arc::new(
            RedisChannelLocker::new(conn)
                .with_key_prefix(format!("{prefix}:lock:"))
                .with_retry_backoff(Duration::from_millis(20)),
        )
    };
    let mut a = HarnessBuilder::new();
    a.locker = locker(conn.clone());
    let mut b = HarnessBuilder::new();
    b.locker = locker(conn);
    // One store, one Slack, one pair of queues shared by both instances.
    b.store = a.store.clone();
    b.slack = a.slack.clone();
    b.alerts = a.alerts.clone();
    b.commands = a.commands.clone();
    let ha = a.start();
    let hb = b.start();
    let base = Utc::now();
    let channels = ["C1", "C2", "C3", "C4"];
    for k in 0..200 {
        let ch = channels[k % channels.len()];
        let mut al = alert(ch, &format!("i{}", k % 8), &format!("n{k}"));
        al.timestamp = base + chrono::Duration::milliseconds(i64::try_from(k).unwrap());
        ha.send(&al).await;
    }
    eventually(30, "all alerts applied", || async {
        let mut total = 0;
        for k in 0..8 {
            let ch = channels[k % channels.len()];
            if let Some(i) = ha.issue(ch, &format!("i{k}")).await {
                total += i.alert_count;
            }
        }
        (total == 200).then_some(())
    })
    .await;
    eventually(20, "every issue posted once", || async {
        let posts = ha.slack.all_posts();
        (posts.len() == 8).then_some(())
    })
    .await;
    let posts = ha.slack.all_posts();
    let mut ids: Vec<&str> = posts.iter().map(|p| p.issue_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8, "one post per issue");
    assert_eq!(ha.slack.calls("chat.postMessage"), 8, "no duplicate posts");
    hb.stop().await.unwrap();
    ha.stop().await.unwrap();
}
