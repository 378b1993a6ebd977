//! The `SlackClient` contract: what a channel manager asks of Slack.
//!
//! The implementation (`sm-slack`) renders issue posts and talks to the Web API. It never mutates an
//! issue: each method returns the [`PostState`] the issue's post has afterwards, and the manager applies
//! it with [`Issue::apply_post_state`] before saving. That keeps all issue mutation in the channel's
//! manager, and lets the store write and the Slack call be ordered explicitly.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use crate::error::BoxError;
use crate::issue::{Issue, SlackAction};

/// Errors of the Slack contract.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlackError {
    /// Slack answered `ok: false` with this error code (for example `channel_not_found`).
    #[error("slack {method} failed: {code}")]
    Api {
        /// Web API method.
        method: String,
        /// Slack's error code.
        code: String,
    },
    /// Slack answered 429 and the retries were used up (or the method is never retried).
    #[error("slack {method} rate limited; retry after {retry_after:?}")]
    RateLimited {
        /// Web API method.
        method: String,
        /// Slack's `Retry-After`.
        retry_after: Duration,
    },
    /// Slack answered with an unexpected HTTP status.
    #[error("slack {method} answered HTTP {status}")]
    Http {
        /// Web API method.
        method: String,
        /// HTTP status.
        status: u16,
    },
    /// The request could not be sent or the answer not read.
    #[error("slack {method} request failed: {source}")]
    Transport {
        /// Web API method.
        method: String,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// The client is misconfigured.
    #[error("invalid slack client configuration: {0}")]
    Config(String),
}

impl SlackError {
    /// The Slack error code, for [`SlackError::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The post-related part of an issue: what a Slack call changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostState {
    /// The issue this state belongs to.
    pub issue_id: String,
    /// Current post `ts` (empty: no post; [`INVALID_CHANNEL_POST_ID`](crate::INVALID_CHANNEL_POST_ID): channel gone).
    pub slack_post_id: String,
    /// When the current post was created.
    pub slack_post_created: DateTime<Utc>,
    /// When the current post was last updated.
    pub slack_post_updated: DateTime<Utc>,
    /// Header of the last update.
    pub slack_post_header: String,
    /// Text of the last update.
    pub slack_post_text: String,
    /// Last action.
    pub slack_post_last_action: SlackAction,
    /// Still needs an update.
    pub slack_post_needs_update: bool,
    /// Still needs a delete and re-post.
    pub slack_post_needs_delete: bool,
    /// An alert post was made at least once.
    pub slack_alert_sent_at_least_once: bool,
}

impl Issue {
    /// The post-related fields of this issue.
    pub fn post_state(&self) -> PostState {
        PostState {
            issue_id: self.id.clone(),
            slack_post_id: self.slack_post_id.clone(),
            slack_post_created: self.slack_post_created,
            slack_post_updated: self.slack_post_updated,
            slack_post_header: self.slack_post_header.clone(),
            slack_post_text: self.slack_post_text.clone(),
            slack_post_last_action: self.slack_post_last_action.clone(),
            slack_post_needs_update: self.slack_post_needs_update,
            slack_post_needs_delete: self.slack_post_needs_delete,
            slack_alert_sent_at_least_once: self.slack_alert_sent_at_least_once,
        }
    }

    /// Applies a post state returned by a [`SlackClient`] call. Returns false (and changes nothing)
    /// when the state belongs to another issue.
    pub fn apply_post_state(&mut self, state: &PostState) -> bool {
        if state.issue_id != self.id {
            return false;
        }
        self.slack_post_id = state.slack_post_id.clone();
        self.slack_post_created = state.slack_post_created;
        self.slack_post_updated = state.slack_post_updated;
        self.slack_post_header = state.slack_post_header.clone();
        self.slack_post_text = state.slack_post_text.clone();
        self.slack_post_last_action = state.slack_post_last_action.clone();
        self.slack_post_needs_update = state.slack_post_needs_update;
        self.slack_post_needs_delete = state.slack_post_needs_delete;
        self.slack_alert_sent_at_least_once = state.slack_alert_sent_at_least_once;
        true
    }
}

/// What a channel manager asks of Slack (the seed's seven methods).
///
/// Methods that post return the issue's resulting [`PostState`] (`None` when nothing was done);
/// the caller applies it with [`Issue::apply_post_state`].
#[async_trait]
pub trait SlackClient: Send + Sync {
    /// The channel's name, or `""` when unknown or on error (errors are logged).
    async fn get_channel_name(&self, channel_id: &str) -> String;

    /// Whether alerts may be posted in the channel; when not, the reason.
    async fn is_alert_channel(&self, channel_id: &str) -> Result<(bool, String), SlackError>;

    /// Channel-wide reconcile: posts, updates, reorders and throttles the channel's open issues.
    /// Returns the post states of the issues whose post changed.
    async fn update(
        &self,
        channel_id: &str,
        all_channel_issues: &[Issue],
    ) -> Result<Vec<PostState>, SlackError>;

    /// Posts or updates one issue unless its action is NONE or it is throttled.
    async fn update_single_issue_with_throttling(
        &self,
        issue: &Issue,
        reason: &str,
        issues_in_channel: usize,
    ) -> Result<Option<PostState>, SlackError>;

    /// Posts or updates one issue unless its action is NONE (no throttling).
    async fn update_single_issue(
        &self,
        issue: &Issue,
        reason: &str,
    ) -> Result<Option<PostState>, SlackError>;

    /// Deletes the issue's post; with `update_if_message_has_replies`, a post with thread replies is
    /// turned into a tombstone instead. `semaphore` bounds concurrent Slack calls when given.
    async fn delete(
        &self,
        issue: &Issue,
        reason: &str,
        update_if_message_has_replies: bool,
        semaphore: Option<&Semaphore>,
    ) -> Result<Option<PostState>, SlackError>;

    /// Deletes the message `ts` in the channel; missing channels and messages are not errors.
    async fn delete_post(&self, channel_id: &str, ts: &str) -> Result<(), SlackError>;
}
