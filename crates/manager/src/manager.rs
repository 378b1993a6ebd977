//! [`Manager`]: construction, start-up checks, the task topology of `run`, hot settings reload.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sm_core::{ChannelLocker, FifoQueue, Issue, SlackClient, Store, StoreError, WebhookHandler};
use sm_webhooks::HttpWebhookHandler;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::commands::find_issue_by_slack_post;
use crate::config::ManagerConfig;
use crate::consumer::{AlertMsg, CommandMsg, consume};
use crate::context::{Context, SharedSettings};
use crate::coordinator::Coordinator;
use crate::error::{ConfigError, ManagerError};
use crate::settings::ManagerSettings;

/// Capacity of the buffers between the consumers and the coordinator.
const COORDINATOR_BUFFER: usize = 1000;

/// The Slack Manager: turns the alert and command queues into one live Slack post per issue.
///
/// ```
/// # async fn dox(
/// #     db: std::sync::Arc<dyn sm_core::Store>,
/// #     slack: std::sync::Arc<dyn sm_core::SlackClient>,
/// # ) -> Result<(), sm_manager::ManagerError> {
/// use std::sync::{Arc, Mutex};
/// use sm_core::{InMemoryFifoQueue, NoopChannelLocker};
/// use sm_manager::{Manager, ManagerConfig, ManagerSettings};
/// use tokio_util::sync::CancellationToken;
///
/// let manager = Manager::new(
///     db,
///     Arc::new(InMemoryFifoQueue::new("alerts")),
///     Arc::new(InMemoryFifoQueue::new("commands")),
///     Arc::new(NoopChannelLocker),
///     ManagerConfig::new("xapp-token", "xoxb-token"),
///     ManagerSettings::default(),
/// )
/// .with_slack_client(slack);
/// let cancel = CancellationToken::new();
/// // Another task calls `cancel.cancel()` to stop; in-flight work drains first.
/// # cancel.cancel();
/// manager.run(cancel).await?;
/// # Ok(()) }
/// ```
pub struct Manager {
    db: Arc<dyn Store>,
    cache_store: Option<Arc<dyn Store>>,
    alert_queue: Arc<dyn FifoQueue>,
    command_queue: Arc<dyn FifoQueue>,
    locker: Arc<dyn ChannelLocker>,
    config: ManagerConfig,
    settings: Arc<SharedSettings>,
    slack: Option<Arc<dyn SlackClient>>,
    webhook_handlers: Vec<Arc<dyn WebhookHandler>>,
    settings_observers: Vec<SettingsObserver>,
    /// Serialises settings swaps with their notifications, so observers end on the settings in force.
    settings_update: Mutex<()>,
    running: AtomicBool,
}

/// A callback told about the settings in force: at `run` start and after each accepted
/// `update_settings` (for example to push the post settings into the Slack client).
pub type SettingsObserver = Arc<dyn Fn(&ManagerSettings) + Send + Sync>;

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("alert_queue", &self.alert_queue.name())
            .field("command_queue", &self.command_queue.name())
            .field("cache_store", &self.cache_store.is_some())
            .field("slack", &self.slack.is_some())
            .field("webhook_handlers", &self.webhook_handlers.len())
            .finish_non_exhaustive()
    }
}

impl Manager {
    /// A manager over the store, the two queues and the channel locker. Nothing is validated here;
    /// `run` checks everything in the Go order.
    pub fn new(
        db: Arc<dyn Store>,
        alert_queue: Arc<dyn FifoQueue>,
        command_queue: Arc<dyn FifoQueue>,
        locker: Arc<dyn ChannelLocker>,
        config: ManagerConfig,
        settings: ManagerSettings,
    ) -> Manager {
        Manager {
            db,
            cache_store: None,
            alert_queue,
            command_queue,
            locker,
            config,
            settings: Arc::new(SharedSettings::new(settings)),
            slack: None,
            webhook_handlers: Vec::new(),
            settings_observers: Vec::new(),
            settings_update: Mutex::new(()),
            running: AtomicBool::new(false),
        }
    }

    /// Routes every store call through `cache` (typically `sm_store::CachedStore` wrapping the
    /// same database), unless `skipDatabaseCache` is set in the config.
    pub fn with_cache_store(mut self, cache: Arc<dyn Store>) -> Self {
        self.cache_store = Some(cache);
        self
    }

    /// The Slack client (required before `run`).
    pub fn with_slack_client(mut self, slack: Arc<dyn SlackClient>) -> Self {
        self.slack = Some(slack);
        self
    }

    /// Adds a webhook handler. Handlers are tried in registration order; the built-in HTTP handler
    /// (`sm_webhooks::HttpWebhookHandler`) is always tried last.
    pub fn register_webhook_handler(mut self, handler: Arc<dyn WebhookHandler>) -> Self {
        self.webhook_handlers.push(handler);
        self
    }

    /// Calls `observer` with the settings in force when `run` starts and after each accepted
    /// [`update_settings`](Self::update_settings). The Slack client keeps its own copy of the
    /// rendering, throttling and reordering settings; this is how a host keeps it in step.
    pub fn with_settings_observer(mut self, observer: SettingsObserver) -> Self {
        self.settings_observers.push(observer);
        self
    }

    fn notify_settings(&self, settings: &ManagerSettings) {
        for o in &self.settings_observers {
            o(settings);
        }
    }

    /// Replaces the settings, callable while `run` is running. Invalid settings are refused and the
    /// running ones stay in force; new values apply at the next decision that reads them.
    pub fn update_settings(&self, settings: ManagerSettings) -> Result<(), ConfigError> {
        let _serial = self
            .settings_update
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let stored = self.settings.update(|_| {
            let mut settings = settings;
            settings
                .init_and_validate()
                .map_err(|e| ConfigError::UpdateRefused(Box::new(e)))?;
            Ok(settings)
        })?;
        self.notify_settings(&stored);
        tracing::info!("Manager settings updated");
        Ok(())
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<ManagerSettings> {
        self.settings.get()
    }

    fn store(&self) -> Arc<dyn Store> {
        match &self.cache_store {
            Some(c) if !self.config.skip_database_cache => Arc::clone(c),
            _ => Arc::clone(&self.db),
        }
    }

    /// The issue whose current post is `ts` in `channel_id` (for interactive Slack handlers).
    /// `None` when there is none, it lives in another channel, or it is archived and
    /// `include_archived` is false. No channel lock is taken.
    pub async fn find_issue_by_slack_post(
        &self,
        channel_id: &str,
        ts: &str,
        include_archived: bool,
    ) -> Result<Option<Issue>, StoreError> {
        find_issue_by_slack_post(&*self.store(), channel_id, ts, include_archived).await
    }

    /// Runs until `cancel` fires (then drains and returns `Ok`) or a fatal error happens.
    ///
    /// Start-up checks, in order: config valid; an empty encryption key is logged as an error
    /// (alerts with webhooks will be dropped); settings valid; queue names differ; a Slack client
    /// is set; the active channels load. Then the two queue consumers and the coordinator run
    /// until cancelled; the first error stops the others.
    pub async fn run(&self, cancel: CancellationToken) -> Result<(), ManagerError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(ManagerError::AlreadyRunning);
        }
        tracing::info!("Manager started");
        let res = self.run_inner(cancel).await;
        self.running.store(false, Ordering::SeqCst);
        match &res {
            Ok(()) => tracing::info!("Manager exited"),
            Err(error) => tracing::error!(%error, "Manager exited with an error"),
        }
        res
    }

    async fn run_inner(&self, cancel: CancellationToken) -> Result<(), ManagerError> {
        self.config.validate().map_err(ManagerError::Config)?;
        if self.config.encryption_key.is_empty() {
            tracing::error!(
                "no encryption key is configured: the manager starts, but alerts with webhook payloads will be dropped"
            );
        }
        let serial = self
            .settings_update
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let settings = self
            .settings
            .update(|current| {
                let mut settings = current.clone();
                settings.init_and_validate().map(|()| settings)
            })
            .map_err(ManagerError::Settings)?;
        self.notify_settings(&settings);
        drop(serial);
        if self.alert_queue.name() == self.command_queue.name() {
            return Err(ManagerError::SameQueueNames(
                self.alert_queue.name().to_owned(),
            ));
        }
        let slack = self.slack.clone().ok_or(ManagerError::MissingSlackClient)?;
        let mut handlers = self.webhook_handlers.clone();
        handlers.push(Arc::new(HttpWebhookHandler::new()));
        let child = cancel.child_token();
        let ctx = Arc::new(Context {
            store: self.store(),
            slack,
            locker: Arc::clone(&self.locker),
            alert_queue: Arc::clone(&self.alert_queue),
            config: self.config.clone(),
            settings: Arc::clone(&self.settings),
            webhook_handlers: handlers,
            cancel: child.clone(),
            background: TaskTracker::new(),
        });
        let mut coordinator = Coordinator::new(Arc::clone(&ctx));
        coordinator
            .refresh()
            .await
            .map_err(ManagerError::CoordinatorInit)?;
        tracing::info!(
            channels = coordinator.actor_count(),
            "Coordinator initialized with {} active channel(s)",
            coordinator.actor_count()
        );

        let (alert_tx, alert_rx) = mpsc::channel::<AlertMsg>(COORDINATOR_BUFFER);
        let (command_tx, command_rx) = mpsc::channel::<CommandMsg>(COORDINATOR_BUFFER);
        let mut tasks: JoinSet<(&'static str, Result<(), ManagerError>)> = JoinSet::new();
        {
            let (q, c) = (Arc::clone(&self.alert_queue), child.clone());
            tasks.spawn(async move { ("alert consumer", consume(q, alert_tx, c).await) });
        }
        {
            let (q, c) = (Arc::clone(&self.command_queue), child.clone());
            tasks.spawn(async move { ("command consumer", consume(q, command_tx, c).await) });
        }
        {
            let c = child.clone();
            tasks.spawn(async move {
                coordinator.run(alert_rx, command_rx, c).await;
                ("coordinator", Ok(()))
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let (task, res) = match joined {
                Ok(r) => r,
                Err(e) => (
                    "task",
                    Err(ManagerError::Task {
                        task: "manager",
                        message: e.to_string(),
                    }),
                ),
            };
            if let Err(error) = res {
                tracing::error!(task, %error, "manager task failed; stopping");
                child.cancel();
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
