//! Test harness: a manager over in-memory queues, the sm-store `MemoryStore` and a recording Slack
//! client that follows the `SlackClient` contract (posts get increasing `ts` values).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sm_core::{
    Alert, ChannelLocker, Command, FifoQueueProducer, InMemoryFifoQueue, Issue, NoopChannelLocker,
    PostState, Severity, SlackAction, SlackClient, SlackError, Store,
};
use sm_manager::{Manager, ManagerConfig, ManagerError, ManagerSettings};
use sm_store::MemoryStore;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One message as Slack shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Post {
    pub(crate) channel: String,
    pub(crate) ts: String,
    pub(crate) text: String,
    pub(crate) action: SlackAction,
    pub(crate) severity: Severity,
    pub(crate) issue_id: String,
}

#[derive(Default)]
struct SlackState {
    posts: HashMap<String, Post>,
    calls: Vec<(String, String)>,
    not_alert_channels: HashSet<String>,
}

/// A recording Slack: keeps the live messages per channel and every call.
#[derive(Default)]
pub(crate) struct RecordingSlack {
    state: Mutex<SlackState>,
    next_ts: AtomicU64,
    fail_next: AtomicUsize,
}

impl RecordingSlack {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(RecordingSlack::default())
    }

    fn st(&self) -> std::sync::MutexGuard<'_, SlackState> {
        self.state.lock().unwrap()
    }

    /// The next `n` posting calls fail with a rate-limit error.
    pub(crate) fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    pub(crate) fn set_not_alert_channel(&self, channel: &str) {
        self.st().not_alert_channels.insert(channel.to_owned());
    }

    /// Live posts in a channel, oldest first.
    pub(crate) fn posts(&self, channel: &str) -> Vec<Post> {
        let mut v: Vec<Post> = self
            .st()
            .posts
            .values()
            .filter(|p| p.channel == channel)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.ts.cmp(&b.ts));
        v
    }

    pub(crate) fn all_posts(&self) -> Vec<Post> {
        self.st().posts.values().cloned().collect()
    }

    /// Number of calls of a method (`chat.postMessage`, `chat.update`, `chat.delete`).
    pub(crate) fn calls(&self, method: &str) -> usize {
        self.st().calls.iter().filter(|(m, _)| m == method).count()
    }

    fn check_fail(&self, method: &str) -> Result<(), SlackError> {
        let ok = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err();
        if ok {
            Ok(())
        } else {
            Err(SlackError::RateLimited {
                method: method.into(),
                retry_after: Duration::from_millis(10),
            })
        }
    }

    fn post(&self, issue: &Issue) -> Result<Option<PostState>, SlackError> {
        let now = Utc::now();
        let action = issue.slack_action(now);
        if action == SlackAction::None {
            return Ok(None);
        }
        let channel = issue.channel_id().to_owned();
        let mut state = issue.post_state();
        let mut st = self.st();
        if issue.slack_post_needs_delete && !issue.slack_post_id.is_empty() {
            st.posts.remove(&issue.slack_post_id);
            st.calls.push(("chat.delete".into(), channel.clone()));
            state.slack_post_id.clear();
        }
        let exists = st
            .posts
            .get(&state.slack_post_id)
            .is_some_and(|p| p.channel == channel);
        if !exists {
            drop(st);
            self.check_fail("chat.postMessage")?;
            st = self.st();
            let ts = format!(
                "{}.{:06}",
                1_700_000_000,
                self.next_ts.fetch_add(1, Ordering::SeqCst)
            );
            st.calls.push(("chat.postMessage".into(), channel.clone()));
            state.slack_post_id = ts;
            state.slack_post_created = now;
        } else {
            drop(st);
            self.check_fail("chat.update")?;
            st = self.st();
            st.calls.push(("chat.update".into(), channel.clone()));
        }
        st.posts.insert(
            state.slack_post_id.clone(),
            Post {
                channel,
                ts: state.slack_post_id.clone(),
                text: issue.last_alert.text.clone(),
                action: action.clone(),
                severity: issue.last_alert.severity.clone(),
                issue_id: issue.id.clone(),
            },
        );
        state.slack_post_updated = now;
        state.slack_post_header = issue.last_alert.header.clone();
        state.slack_post_text = issue.last_alert.text.clone();
        state.slack_post_needs_update = false;
        state.slack_post_needs_delete = false;
        if action == SlackAction::Alert {
            state.slack_alert_sent_at_least_once = true;
        }
        state.slack_post_last_action = action;
        Ok(Some(state))
    }
}

#[async_trait]
impl SlackClient for RecordingSlack {
    async fn get_channel_name(&self, channel_id: &str) -> String {
        format!("name-{}", channel_id.to_lowercase())
    }

    async fn is_alert_channel(&self, channel_id: &str) -> Result<(bool, String), SlackError> {
        if self.st().not_alert_channels.contains(channel_id) {
            return Ok((false, "not an alert channel".into()));
        }
        Ok((true, String::new()))
    }

    async fn update(
        &self,
        _channel_id: &str,
        all_channel_issues: &[Issue],
    ) -> Result<Vec<PostState>, SlackError> {
        let mut out = Vec::new();
        for issue in all_channel_issues.iter().filter(|i| !i.archived) {
            if let Some(s) = self.post(issue)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    async fn update_single_issue_with_throttling(
        &self,
        issue: &Issue,
        _reason: &str,
        _issues_in_channel: usize,
    ) -> Result<Option<PostState>, SlackError> {
        self.post(issue)
    }

    async fn update_single_issue(
        &self,
        issue: &Issue,
        _reason: &str,
    ) -> Result<Option<PostState>, SlackError> {
        self.post(issue)
    }

    async fn delete(
        &self,
        issue: &Issue,
        _reason: &str,
        _update_if_message_has_replies: bool,
        _semaphore: Option<&Semaphore>,
    ) -> Result<Option<PostState>, SlackError> {
        if issue.slack_post_id.is_empty() {
            return Ok(None);
        }
        self.check_fail("chat.delete")?;
        let mut st = self.st();
        st.posts.remove(&issue.slack_post_id);
        st.calls
            .push(("chat.delete".into(), issue.channel_id().to_owned()));
        let mut state = issue.post_state();
        state.slack_post_id.clear();
        state.slack_post_header.clear();
        state.slack_post_text.clear();
        state.slack_post_needs_update = true;
        state.slack_post_needs_delete = false;
        Ok(Some(state))
    }

    async fn delete_post(&self, channel_id: &str, ts: &str) -> Result<(), SlackError> {
        let mut st = self.st();
        if st.posts.get(ts).is_some_and(|p| p.channel == channel_id) {
            st.posts.remove(ts);
        }
        st.calls.push(("chat.delete".into(), channel_id.to_owned()));
        Ok(())
    }
}

/// Settings for fast tests: the shortest processing interval.
pub(crate) fn fast_settings() -> ManagerSettings {
    ManagerSettings {
        issue_processing_interval_seconds: 3,
        ..Default::default()
    }
}

pub(crate) fn config() -> ManagerConfig {
    let mut c = ManagerConfig::new("xapp-test", "xoxb-test");
    c.coordinator_drain_timeout = Duration::from_secs(2);
    c.channel_manager_drain_timeout = Duration::from_secs(2);
    c
}

/// A follow-up error alert for `channel` with `correlation`.
pub(crate) fn alert(channel: &str, correlation: &str, text: &str) -> Alert {
    let mut a = Alert::new(Severity::Error);
    a.slack_channel_id = channel.into();
    a.correlation_id = correlation.into();
    a.header = "Disk full".into();
    a.text = text.into();
    a.issue_follow_up_enabled = true;
    a.auto_resolve_seconds = 3600;
    a
}

/// A running manager with its parts.
pub(crate) struct Harness {
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) slack: Arc<RecordingSlack>,
    pub(crate) alerts: InMemoryFifoQueue,
    pub(crate) commands: InMemoryFifoQueue,
    pub(crate) manager: Arc<Manager>,
    pub(crate) cancel: CancellationToken,
    pub(crate) task: Option<JoinHandle<Result<(), ManagerError>>>,
}

pub(crate) struct HarnessBuilder {
    pub(crate) settings: ManagerSettings,
    pub(crate) config: ManagerConfig,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) slack: Arc<RecordingSlack>,
    pub(crate) alerts: InMemoryFifoQueue,
    pub(crate) commands: InMemoryFifoQueue,
    pub(crate) locker: Arc<dyn ChannelLocker>,
    pub(crate) handlers: Vec<Arc<dyn sm_core::WebhookHandler>>,
    /// Replaces the recording Slack (for example the real client against the emulator).
    pub(crate) slack_client: Option<Arc<dyn SlackClient>>,
    /// The store the manager uses, when not `store` itself (a wrapper around it).
    pub(crate) store_override: Option<Arc<dyn Store>>,
}

impl HarnessBuilder {
    pub(crate) fn new() -> Self {
        HarnessBuilder {
            settings: fast_settings(),
            config: config(),
            store: Arc::new(MemoryStore::new()),
            slack: RecordingSlack::new(),
            alerts: InMemoryFifoQueue::new("alerts"),
            commands: InMemoryFifoQueue::new("commands"),
            locker: Arc::new(NoopChannelLocker),
            handlers: Vec::new(),
            slack_client: None,
            store_override: None,
        }
    }

    pub(crate) fn manager(&self) -> Manager {
        let store: Arc<dyn Store> = match &self.store_override {
            Some(s) => s.clone(),
            None => self.store.clone(),
        };
        let mut m = Manager::new(
            store,
            Arc::new(self.alerts.clone()),
            Arc::new(self.commands.clone()),
            self.locker.clone(),
            self.config.clone(),
            self.settings.clone(),
        )
        .with_slack_client(match &self.slack_client {
            Some(c) => c.clone(),
            None => self.slack.clone(),
        });
        for h in &self.handlers {
            m = m.register_webhook_handler(h.clone());
        }
        m
    }

    pub(crate) fn start(self) -> Harness {
        let manager = Arc::new(self.manager());
        let cancel = CancellationToken::new();
        let task = {
            let (m, c) = (manager.clone(), cancel.clone());
            tokio::spawn(async move { m.run(c).await })
        };
        Harness {
            store: self.store,
            slack: self.slack,
            alerts: self.alerts,
            commands: self.commands,
            manager,
            cancel,
            task: Some(task),
        }
    }
}

impl Harness {
    pub(crate) fn start() -> Harness {
        HarnessBuilder::new().start()
    }

    pub(crate) async fn send(&self, alert: &Alert) {
        let body = serde_json::to_string(alert).unwrap();
        self.alerts
            .send(&alert.slack_channel_id, &alert.unique_id(), &body)
            .await
            .unwrap();
    }

    pub(crate) async fn send_command(&self, cmd: &Command) {
        let body = serde_json::to_string(cmd).unwrap();
        self.commands
            .send(&cmd.slack_channel_id, &cmd.dedup_id(), &body)
            .await
            .unwrap();
    }

    /// The open issue with this correlation ID.
    pub(crate) async fn issue(&self, channel: &str, correlation: &str) -> Option<Issue> {
        self.store
            .find_open_issue_by_correlation_id(channel, correlation)
            .await
            .unwrap()
    }

    pub(crate) async fn stop(mut self) -> Result<(), ManagerError> {
        self.cancel.cancel();
        self.task.take().unwrap().await.unwrap()
    }
}

pub(crate) use sm_test_support::eventually;

/// Waits until both queues are empty (everything acked).
pub(crate) async fn drained(h: &Harness) {
    eventually(20, "queues drained", || async {
        (h.alerts.is_empty() && h.commands.is_empty()).then_some(())
    })
    .await;
}
