//! The issue store contract (the Go `DB`).
//!
//! Backends live in `sm-store` (memory, SQLite, PostgreSQL). Every backend passes one conformance
//! suite that checks the contracts written on each method here.
//!
//! # Optimistic concurrency
//! Each stored issue has a version. [`Issue::version`] carries the version a copy was loaded with.
//! Saving a copy with `version > 0` succeeds only if the stored version is still that number and
//! stores `version + 1`; otherwise it fails with [`StoreError::VersionConflict`], so two managers can
//! never silently overwrite each other's issue. A copy with `version == 0` (never saved, or written by
//! a Go manager) is saved last-write-wins, like the Go stores; concurrent saves of such copies never fail.
//! The save methods return the new stored version; the caller keeps it on its copy.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::gotime::go_time;
use crate::issue::{Issue, IssueAlert};
use crate::move_mapping::MoveMapping;
use crate::processing_state::ChannelProcessingState;

/// Errors of the store contract.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An argument was empty or malformed.
    #[error("invalid store argument: {0}")]
    InvalidArgument(String),
    /// The issue was saved by someone else since this copy was loaded.
    #[error(
        "issue {issue_id} was changed concurrently: this copy has version {expected}, the store has {actual}"
    )]
    VersionConflict {
        /// Issue ID.
        issue_id: String,
        /// The version this copy was loaded with.
        expected: u64,
        /// The stored version.
        actual: u64,
    },
    /// More than one open issue matched where at most one may exist.
    #[error(
        "found {count} open issues in channel {channel_id} matching {what}; expected at most one"
    )]
    Ambiguous {
        /// Channel ID.
        channel_id: String,
        /// What was searched for (correlation ID or post ID, with its value).
        what: String,
        /// How many matched.
        count: usize,
    },
    /// A stored record could not be decoded.
    #[error("stored {kind} {id} is corrupt: {source}")]
    Corrupt {
        /// Record kind (issue, move mapping, ...).
        kind: &'static str,
        /// Record ID.
        id: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The operation is not available on this store (for example `init` through a cache layer).
    #[error("unsupported store operation: {0}")]
    Unsupported(String),
    /// The backend (database, ...) failed.
    #[error("store backend error during {context}: {source}")]
    Backend {
        /// What was being done, with its inputs.
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Wraps a backend error with a description of what was being done.
    pub fn backend(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// One alert kept in an issue's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlert {
    /// The issue the alert was applied to.
    #[serde(rename = "issueId")]
    pub issue_id: String,
    /// When it was stored.
    #[serde(rename = "storedAt", with = "go_time")]
    pub stored_at: DateTime<Utc>,
    /// The alert.
    pub alert: IssueAlert,
}

/// Persistent storage of issues, move mappings, processing states and alert history.
///
/// Object-safe; used as `Arc<dyn Store>`. Timestamps round-trip at nanosecond precision.
#[async_trait]
pub trait Store: Send + Sync {
    /// Creates or verifies the schema. Idempotent. With `skip_schema_validation`, an existing schema is trusted.
    async fn init(&self, skip_schema_validation: bool) -> Result<(), StoreError>;

    /// Appends `alert` to the history of issue `issue_id`; repeats are allowed. Histories are bounded
    /// by the backend's retention. An empty `issue_id` is an error.
    async fn save_alert(&self, issue_id: &str, alert: &IssueAlert) -> Result<(), StoreError>;

    /// Upserts `issue` by ID, with the version rule of the module docs; returns the new stored version.
    async fn save_issue(&self, issue: &Issue) -> Result<u64, StoreError>;

    /// Upserts many issues, each with the version rule; returns their new versions in order. Empty is `Ok`.
    /// Not atomic across issues: on a conflict the earlier ones stay saved.
    async fn save_issues(&self, issues: &[Issue]) -> Result<Vec<u64>, StoreError>;

    /// Re-homes `issue` (whose channel is already `target_channel_id`) from `source_channel_id`, saving
    /// it with the version rule; returns the new version. Source equal to target is an error; an issue
    /// the store does not know is saved as new.
    async fn move_issue(
        &self,
        issue: &Issue,
        source_channel_id: &str,
        target_channel_id: &str,
    ) -> Result<u64, StoreError>;

    /// The open (non-archived) issue with this correlation ID in the channel; `None` when there is none;
    /// [`StoreError::Ambiguous`] when several are open. Empty arguments are errors.
    async fn find_open_issue_by_correlation_id(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<Option<Issue>, StoreError>;

    /// The issue (archived ones included) whose *current* post is `post_id` in the channel; `None` when
    /// there is none; [`StoreError::Ambiguous`] when several match. Empty arguments are errors.
    async fn find_issue_by_slack_post_id(
        &self,
        channel_id: &str,
        post_id: &str,
    ) -> Result<Option<Issue>, StoreError>;

    /// Channels with at least one open issue.
    async fn find_active_channels(&self) -> Result<Vec<String>, StoreError>;

    /// The open issues of a channel. An empty channel is an error.
    async fn load_open_issues_in_channel(&self, channel_id: &str)
    -> Result<Vec<Issue>, StoreError>;

    /// Upserts a mapping by (original channel, correlation ID).
    async fn save_move_mapping(&self, mapping: &MoveMapping) -> Result<(), StoreError>;

    /// The mapping for (channel, correlation ID), if any. Empty arguments are errors.
    async fn find_move_mapping(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<Option<MoveMapping>, StoreError>;

    /// Deletes the mapping for (channel, correlation ID); a missing one is `Ok`.
    async fn delete_move_mapping(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<(), StoreError>;

    /// Upserts a channel's processing state.
    async fn save_channel_processing_state(
        &self,
        state: &ChannelProcessingState,
    ) -> Result<(), StoreError>;

    /// A channel's processing state, if any.
    async fn find_channel_processing_state(
        &self,
        channel_id: &str,
    ) -> Result<Option<ChannelProcessingState>, StoreError>;

    /// The newest `limit` alerts of an issue's history, oldest first.
    async fn find_alerts_for_issue(
        &self,
        issue_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredAlert>, StoreError>;

    /// Deletes everything (tests only).
    async fn drop_all_data(&self) -> Result<(), StoreError>;
}
