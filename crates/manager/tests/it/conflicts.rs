//! A concurrent write by another instance makes the manager's save fail with a version conflict;
//! the alert is nacked, redelivered and applied on the fresh state: nothing is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::Utc;
use sm_core::{
    ChannelProcessingState, Issue, IssueAlert, MoveMapping, Store, StoreError, StoredAlert,
};
use sm_store::MemoryStore;

use crate::support::{HarnessBuilder, alert, eventually};

/// The memory store, with one concurrent write (as another instance would make) slipped in
/// before the first save of an already stored issue.
struct ConcurrentWriter {
    inner: Arc<MemoryStore>,
    armed: AtomicBool,
}

#[async_trait]
impl Store for ConcurrentWriter {
    async fn init(&self, s: bool) -> Result<(), StoreError> {
        self.inner.init(s).await
    }
    async fn save_alert(&self, issue_id: &str, alert: &IssueAlert) -> Result<(), StoreError> {
        self.inner.save_alert(issue_id, alert).await
    }
    async fn save_issue(&self, issue: &Issue) -> Result<u64, StoreError> {
        if issue.version > 0 && self.armed.swap(false, Ordering::SeqCst) {
            let mut other = self
                .inner
                .find_open_issue_by_correlation_id(issue.channel_id(), &issue.correlation_id)
                .await?
                .expect("stored issue");
            other.investigated = true;
            other.investigated_by_user = "other-instance".into();
            self.inner.save_issue(&other).await?;
        }
        self.inner.save_issue(issue).await
    }
    async fn save_issues(&self, issues: &[Issue]) -> Result<Vec<u64>, StoreError> {
        self.inner.save_issues(issues).await
    }
    async fn move_issue(&self, issue: &Issue, s: &str, t: &str) -> Result<u64, StoreError> {
        self.inner.move_issue(issue, s, t).await
    }
    async fn find_open_issue_by_correlation_id(
        &self,
        c: &str,
        id: &str,
    ) -> Result<Option<Issue>, StoreError> {
        self.inner.find_open_issue_by_correlation_id(c, id).await
    }
    async fn find_issue_by_slack_post_id(
        &self,
        c: &str,
        p: &str,
    ) -> Result<Option<Issue>, StoreError> {
        self.inner.find_issue_by_slack_post_id(c, p).await
    }
    async fn find_active_channels(&self) -> Result<Vec<String>, StoreError> {
        self.inner.find_active_channels().await
    }
    async fn load_open_issues_in_channel(&self, c: &str) -> Result<Vec<Issue>, StoreError> {
        self.inner.load_open_issues_in_channel(c).await
    }
    async fn save_move_mapping(&self, m: &MoveMapping) -> Result<(), StoreError> {
        self.inner.save_move_mapping(m).await
    }
    async fn find_move_mapping(
        &self,
        c: &str,
        id: &str,
    ) -> Result<Option<MoveMapping>, StoreError> {
        self.inner.find_move_mapping(c, id).await
    }
    async fn delete_move_mapping(&self, c: &str, id: &str) -> Result<(), StoreError> {
        self.inner.delete_move_mapping(c, id).await
    }
    async fn save_channel_processing_state(
        &self,
        s: &ChannelProcessingState,
    ) -> Result<(), StoreError> {
        self.inner.save_channel_processing_state(s).await
    }
    async fn find_channel_processing_state(
        &self,
        c: &str,
    ) -> Result<Option<ChannelProcessingState>, StoreError> {
        self.inner.find_channel_processing_state(c).await
    }
    async fn find_alerts_for_issue(
        &self,
        id: &str,
        limit: usize,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        self.inner.find_alerts_for_issue(id, limit).await
    }
    async fn drop_all_data(&self) -> Result<(), StoreError> {
        self.inner.drop_all_data().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_write_is_refused_and_the_alert_is_applied_on_fresh_state() {
    let mut b = HarnessBuilder::new();
    // Every accepted alert updates Slack at once, so the test waits for nothing but the store.
    b.settings.disable_storm_coalescing = true;
    let writer = Arc::new(ConcurrentWriter {
        inner: b.store.clone(),
        armed: AtomicBool::new(false),
    });
    b.store_override = Some(writer.clone());
    let h = b.start();
    let first = alert("C1", "race", "one");
    h.send(&first).await;
    let created = eventually(10, "issue posted", || async {
        h.issue("C1", "race")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    writer.armed.store(true, Ordering::SeqCst);
    let mut second = alert("C1", "race", "two");
    second.timestamp = Utc::now();
    h.send(&second).await;
    let done = eventually(10, "second alert applied on fresh state", || async {
        h.issue("C1", "race").await.filter(|i| i.alert_count == 2)
    })
    .await;
    assert!(
        !writer.armed.load(Ordering::SeqCst),
        "the concurrent write happened"
    );
    assert_eq!(done.id, created.id);
    assert!(done.investigated, "the other instance's change is kept");
    assert_eq!(done.investigated_by_user, "other-instance");
    assert_eq!(done.last_alert.text, "two");
    h.stop().await.unwrap();
}
