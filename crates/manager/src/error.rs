//! The crate's errors: [`ConfigError`] for configuration and settings, [`ManagerError`] for `run`.

use sm_core::{LockError, QueueError, SlackError, StoreError};

/// An invalid [`ManagerConfig`](crate::ManagerConfig) or [`ManagerSettings`](crate::ManagerSettings).
///
/// The messages are those of the Go implementation, so operators read the same text whichever
/// manager they run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field has an invalid value; `field` is its JSON key (with index, e.g. `alertChannels[0].id`).
    #[error("{message}")]
    Invalid {
        /// JSON key of the offending field.
        field: String,
        /// What is wrong, in the Go wording.
        message: String,
    },
    /// `update_settings` refused new settings; the running ones stay in force.
    #[error(
        "failed to initialize updated manager settings (the existing settings will continue to be used): {0}"
    )]
    UpdateRefused(Box<ConfigError>),
}

impl ConfigError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The JSON key of the offending field (the inner one for [`ConfigError::UpdateRefused`]).
    pub fn field(&self) -> &str {
        match self {
            ConfigError::Invalid { field, .. } => field,
            ConfigError::UpdateRefused(inner) => inner.field(),
        }
    }
}

/// Why [`Manager::run`](crate::Manager::run) stopped (or refused to start).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// `cfg.validate()` failed.
    #[error("failed to validate configuration: {0}")]
    Config(#[source] ConfigError),
    /// The settings failed `init_and_validate`.
    #[error("failed to initialize channel settings: {0}")]
    Settings(#[source] ConfigError),
    /// Both queues have the same name.
    #[error("alert queue and command queue must have different names (both are {0:?})")]
    SameQueueNames(String),
    /// No Slack client was given with [`Manager::with_slack_client`](crate::Manager::with_slack_client).
    #[error("slack client is required: call Manager::with_slack_client before run")]
    MissingSlackClient,
    /// `run` was called while the manager is already running.
    #[error("manager is already running")]
    AlreadyRunning,
    /// The coordinator could not load the active channels at start.
    #[error("failed to initialize coordinator: {0}")]
    CoordinatorInit(#[source] StoreError),
    /// A queue consumer failed.
    #[error("queue {queue} failed: {source}")]
    Queue {
        /// Queue name.
        queue: String,
        /// The queue's error.
        #[source]
        source: QueueError,
    },
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A lock operation failed.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A Slack call failed.
    #[error(transparent)]
    Slack(#[from] SlackError),
    /// A move target is not a channel alerts may be posted in.
    #[error("target channel {channel} is not an alert channel: {reason}")]
    InvalidMoveTarget {
        /// The target channel ID.
        channel: String,
        /// Slack's reason.
        reason: String,
    },
    /// An internal task ended abnormally.
    #[error("manager task {task} failed: {message}")]
    Task {
        /// Which task.
        task: &'static str,
        /// What happened.
        message: String,
    },
}
