//! The end-to-end stack: Redis queues and locker on the shared Redis (unique prefixes), a SQLite
//! store in a temporary directory, the Slack emulator, and manager instances running in tasks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sm_core::{Alert, ChannelLocker, FifoQueueProducer, Issue, Severity, SlackClient, Store};
use sm_manager::{Manager, ManagerConfig, ManagerError, ManagerSettings};
use sm_redis_lock::RedisChannelLocker;
use sm_redis_queue::{RedisFifoQueue, RedisFifoQueueOptions, RedisFifoQueueProducer};
use sm_slack::{PostSettings, SlackApi, SlackClientConfig, SlackManagerClient};
use sm_slack_emulator::{ChannelSeed, Emulator, EmulatorConfig, Message};
use sm_store::{SqliteStore, SqliteStoreOptions};
use sm_test_support::{redis_client, unique_prefix};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const ALERT_QUEUE: &str = "alerts";
const COMMAND_QUEUE: &str = "commands";

/// Settings for fast scenarios: the shortest processing interval the validation allows.
pub(crate) fn fast_settings() -> ManagerSettings {
    ManagerSettings {
        issue_processing_interval_seconds: 3,
        ..ManagerSettings::default()
    }
}

/// A follow-up error alert for `channel`/`correlation`. The header carries `:status:`, so the
/// rendered post shows the status emoji (error, panic, resolved, ...).
pub(crate) fn alert(channel: &str, correlation: &str, text: &str) -> Alert {
    let mut a = Alert::new(Severity::Error);
    a.slack_channel_id = channel.into();
    a.correlation_id = correlation.into();
    a.header = ":status: Disk full".into();
    a.text = text.into();
    a.issue_follow_up_enabled = true;
    a.auto_resolve_seconds = 3600;
    a
}

/// The rendered content of a message (text and blocks), for `contains` checks.
pub(crate) fn content(m: &Message) -> String {
    format!("{}\n{}", m.text, m.blocks)
}

/// The default status emojis of the Slack client.
pub(crate) fn status() -> sm_slack::IssueStatusEmojis {
    PostSettings::default().status
}

/// One running manager.
pub(crate) struct Instance {
    pub(crate) manager: Arc<Manager>,
    cancel: CancellationToken,
    task: JoinHandle<Result<(), ManagerError>>,
}

/// The stack shared by a scenario's manager instances.
pub(crate) struct Stack {
    pub(crate) emu: Emulator,
    /// A connection pool of the test's own on the database file (for inspection).
    pub(crate) store: SqliteStore,
    db_path: PathBuf,
    _dir: TempDir,
    queue_prefix: String,
    lock_prefix: String,
    producer: RedisFifoQueueProducer,
    pub(crate) instances: Vec<Instance>,
}

fn queue_options(prefix: &str) -> RedisFifoQueueOptions {
    RedisFifoQueueOptions::default()
        .with_key_prefix(prefix)
        .with_poll_interval(Duration::from_secs(1))
}

/// The real Slack client against the emulator.
pub(crate) async fn slack_client(emu: &Emulator) -> Arc<dyn SlackClient> {
    let cfg = SlackClientConfig::new(emu.config().bot_token.clone())
        .with_base_url(emu.base_url())
        .with_retry_timing(Duration::from_millis(10), Duration::from_millis(10));
    let api = SlackApi::new(cfg).unwrap();
    api.connect().await.unwrap();
    Arc::new(SlackManagerClient::new(
        Arc::new(api),
        PostSettings::default(),
    ))
}

impl Stack {
    /// Starts the emulator (with `channels` seeded), opens the store and the producer; no manager
    /// runs yet.
    pub(crate) async fn new(name: &str, channels: &[&str]) -> Stack {
        let mut config = EmulatorConfig::default();
        for c in channels {
            config = config.with_channel(ChannelSeed::new(*c, c.to_lowercase()));
        }
        let emu = Emulator::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("slack-manager.db");
        let store = SqliteStore::connect(SqliteStoreOptions::file(&db_path))
            .await
            .unwrap();
        store.init(false).await.unwrap();
        let queue_prefix = unique_prefix(&format!("e2e-{name}-queue"));
        let lock_prefix = unique_prefix(&format!("e2e-{name}-lock"));
        let conn = redis_client().await.get_connection_manager().await.unwrap();
        let producer =
            RedisFifoQueueProducer::new(conn, ALERT_QUEUE, queue_options(&queue_prefix)).unwrap();
        Stack {
            emu,
            store,
            db_path,
            _dir: dir,
            queue_prefix,
            lock_prefix,
            producer,
            instances: Vec::new(),
        }
    }

    /// [`Stack::new`] plus one running manager with `settings`.
    pub(crate) async fn start(name: &str, channels: &[&str], settings: ManagerSettings) -> Stack {
        let mut stack = Stack::new(name, channels).await;
        stack.add_instance(settings).await;
        stack
    }

    /// Starts one more manager instance: its own Redis connections, queues, locker, store pool and
    /// Slack client, as a separate process would have.
    pub(crate) async fn add_instance(&mut self, settings: ManagerSettings) -> Arc<Manager> {
        let client = redis_client().await;
        let conn = client.get_connection_manager().await.unwrap();
        let locker: Arc<dyn ChannelLocker> = Arc::new(
            RedisChannelLocker::new(conn.clone())
                .with_key_prefix(self.lock_prefix.clone())
                .with_retry_backoff(Duration::from_millis(50))
                .with_client(client.clone()),
        );
        let alerts = RedisFifoQueue::new(
            conn.clone(),
            Arc::clone(&locker),
            ALERT_QUEUE,
            queue_options(&self.queue_prefix),
        )
        .unwrap()
        .with_client(client.clone());
        let commands = RedisFifoQueue::new(
            conn,
            Arc::clone(&locker),
            COMMAND_QUEUE,
            queue_options(&self.queue_prefix),
        )
        .unwrap()
        .with_client(client);
        let store = SqliteStore::connect(SqliteStoreOptions::file(&self.db_path))
            .await
            .unwrap();
        let mut config = ManagerConfig::new("xapp-emulator", "xoxb-emulator");
        config.coordinator_drain_timeout = Duration::from_secs(2);
        config.channel_manager_drain_timeout = Duration::from_secs(2);
        let manager = Arc::new(
            Manager::new(
                Arc::new(store),
                Arc::new(alerts),
                Arc::new(commands),
                locker,
                config,
                settings,
            )
            .with_slack_client(slack_client(&self.emu).await),
        );
        let cancel = CancellationToken::new();
        let task = {
            let (m, c) = (Arc::clone(&manager), cancel.clone());
            tokio::spawn(async move { m.run(c).await })
        };
        self.instances.push(Instance {
            manager: Arc::clone(&manager),
            cancel,
            task,
        });
        manager
    }

    /// The first manager instance.
    pub(crate) fn manager(&self) -> &Manager {
        &self.instances[0].manager
    }

    /// Sends the alert (cleaned, as the API would) through the Redis producer.
    pub(crate) async fn send(&self, alert: &Alert) {
        let mut a = alert.clone();
        a.clean();
        let body = serde_json::to_string(&a).unwrap();
        self.send_raw(&a.slack_channel_id, &a.unique_id(), &body)
            .await;
    }

    /// Sends a raw body for `channel` through the Redis producer.
    pub(crate) async fn send_raw(&self, channel: &str, dedup_id: &str, body: &str) {
        self.producer.send(channel, dedup_id, body).await.unwrap();
    }

    /// The open issue with this correlation ID.
    pub(crate) async fn issue(&self, channel: &str, correlation: &str) -> Option<Issue> {
        self.store
            .find_open_issue_by_correlation_id(channel, correlation)
            .await
            .unwrap()
    }

    /// When the channel's last periodic pass ran (`None` before the first).
    pub(crate) async fn last_processed(&self, channel: &str) -> Option<DateTime<Utc>> {
        self.store
            .find_channel_processing_state(channel)
            .await
            .unwrap()
            .map(|s| s.last_processed)
    }

    /// Waits for a periodic pass of `channel` that started after `after`.
    pub(crate) async fn wait_for_pass_after(&self, channel: &str, after: DateTime<Utc>) {
        wait_until(
            20,
            &format!("a periodic pass of {channel} after {after}"),
            || async { self.last_processed(channel).await.filter(|t| *t > after) },
        )
        .await;
    }

    /// Waits (woken by every emulator state change) until `check` gives `Some`; panics after
    /// `secs` seconds naming `what` and listing the channel's messages.
    pub(crate) async fn wait_for_messages<T>(
        &self,
        channel: &str,
        secs: u64,
        what: &str,
        mut check: impl FnMut(&[Message]) -> Option<T>,
    ) -> T {
        let found = self
            .emu
            .wait_until(Duration::from_secs(secs), || {
                check(&self.emu.messages(channel))
            })
            .await;
        match found {
            Some(v) => v,
            None => panic!(
                "timed out after {secs} s waiting for {what}; messages in {channel}: {:#?}",
                self.emu
                    .messages(channel)
                    .iter()
                    .map(content)
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Stops every instance (cancel, drain) and checks each ended without an error.
    pub(crate) async fn stop(self) {
        for i in &self.instances {
            i.cancel.cancel();
        }
        for i in self.instances {
            let res = i.task.await.unwrap();
            assert!(res.is_ok(), "manager exited with {res:?}");
        }
    }
}

pub(crate) use sm_test_support::eventually as wait_until;
