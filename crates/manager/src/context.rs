//! What every task of a running manager shares: backends, configuration, live settings.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use sm_core::{
    ChannelLock, ChannelLocker, FifoQueue, LockError, SlackClient, Store, WebhookHandler,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ManagerConfig;
use crate::settings::ManagerSettings;

/// Lock TTL for alert, command and periodic processing.
pub(crate) const CHANNEL_LOCK_TTL: Duration = Duration::from_secs(300);
/// Longest wait for the channel lock when processing an alert or a command.
pub(crate) const CHANNEL_LOCK_WAIT: Duration = Duration::from_secs(30);
/// Lock TTL on the target channel of a move.
pub(crate) const MOVE_LOCK_TTL: Duration = Duration::from_secs(30);
/// Longest wait for the target channel lock of a move.
pub(crate) const MOVE_LOCK_WAIT: Duration = Duration::from_secs(60);
/// Capacity of each channel actor's inbox.
pub(crate) const ACTOR_INBOX: usize = 1000;
/// Coordinator refresh period (active channels, keep-alives).
pub(crate) const REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Delay of an actor's first periodic pass.
pub(crate) const FIRST_PASS_DELAY: Duration = Duration::from_secs(1);

/// The live settings: swapped atomically by `update_settings`, read at each decision.
#[derive(Debug)]
pub(crate) struct SharedSettings(RwLock<Arc<ManagerSettings>>);

impl SharedSettings {
    pub(crate) fn new(s: ManagerSettings) -> Self {
        SharedSettings(RwLock::new(Arc::new(s)))
    }

    pub(crate) fn get(&self) -> Arc<ManagerSettings> {
        match self.0.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Replaces the settings with `f(current)` atomically (no update is lost to a concurrent one);
    /// an error leaves them unchanged. Returns what was stored.
    pub(crate) fn update<E>(
        &self,
        f: impl FnOnce(&ManagerSettings) -> Result<ManagerSettings, E>,
    ) -> Result<Arc<ManagerSettings>, E> {
        let mut guard = match self.0.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let new = Arc::new(f(&guard)?);
        *guard = Arc::clone(&new);
        Ok(new)
    }
}

/// Shared by the coordinator and every channel actor of one `run`.
pub(crate) struct Context {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) slack: Arc<dyn SlackClient>,
    pub(crate) locker: Arc<dyn ChannelLocker>,
    pub(crate) alert_queue: Arc<dyn FifoQueue>,
    pub(crate) config: ManagerConfig,
    pub(crate) settings: Arc<SharedSettings>,
    pub(crate) webhook_handlers: Vec<Arc<dyn WebhookHandler>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) background: TaskTracker,
}

impl Context {
    pub(crate) async fn lock(
        &self,
        key: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Box<dyn ChannelLock>, LockError> {
        self.locker.obtain(key, ttl, wait).await
    }
}

/// Releases a lock, logging (never returning) a failure.
pub(crate) async fn release(lock: Box<dyn ChannelLock>) {
    if let Err(error) = lock.release().await {
        tracing::warn!(key = lock.key(), %error, "channel lock release failed");
    }
}
