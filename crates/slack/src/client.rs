//! [`SlackManagerClient`]: the [`SlackClient`] contract on top of [`SlackApi`] (`spec/slack.md` §1, §4).
//!
//! It never mutates an issue: every method computes the post state the issue has after the Slack
//! calls and returns it; the channel manager applies it. Settings are swapped atomically with
//! [`SlackManagerClient::set_post_settings`] and read once per call.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::Utc;
use futures::future::join_all;
use sm_core::{INVALID_CHANNEL_POST_ID, Issue, PostState, SlackAction, SlackClient, SlackError};
use tokio::sync::Semaphore;

use crate::api::SlackApi;
use crate::config::PostSettings;
use crate::decisions::{
    plan_deletes, post_created_or_updated, post_deleted, post_invalid_blocks, should_throttle,
    sort_by_priority,
};
use crate::render::{RenderMode, render_issue_post};
use crate::types::{EphemeralContent, UserInfo};

/// Slack errors after which a delete counts as done.
const BENIGN_DELETE_ERRORS: [&str; 4] = [
    "channel_not_found",
    "is_archived",
    "message_not_found",
    "cant_delete_message",
];

/// The manager's Slack client.
///
/// ```no_run
/// # async fn dox() -> Result<(), sm_core::SlackError> {
/// use std::sync::Arc;
/// use sm_core::SlackClient;
/// use sm_slack::{PostSettings, SlackApi, SlackClientConfig, SlackManagerClient};
/// let api = SlackApi::new(SlackClientConfig::new("xoxb-…"))?;
/// api.connect().await?;
/// let client = SlackManagerClient::new(Arc::new(api), PostSettings::default());
/// let name = client.get_channel_name("C0123").await;
/// # Ok(()) }
/// ```
pub struct SlackManagerClient {
    api: Arc<SlackApi>,
    settings: RwLock<Arc<PostSettings>>,
}

impl SlackManagerClient {
    /// A client on a connected [`SlackApi`] (connect first: alert-channel checks need the bot ID).
    pub fn new(api: Arc<SlackApi>, settings: PostSettings) -> Self {
        SlackManagerClient {
            api,
            settings: RwLock::new(Arc::new(normalize(settings))),
        }
    }

    /// The Web API client (for the Socket Mode handlers: ephemeral posts, users, modals, …).
    pub fn api(&self) -> &Arc<SlackApi> {
        &self.api
    }

    /// Replaces the post settings (hot reload); invalid status emojis fall back to the defaults.
    pub fn set_post_settings(&self, settings: PostSettings) {
        let mut guard = self.settings.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(normalize(settings));
    }

    /// The current post settings.
    pub fn post_settings(&self) -> Arc<PostSettings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether `user` is in the user group (errors are logged and count as no).
    pub async fn user_is_in_group(&self, group: &str, user: &str) -> bool {
        match self.api.list_user_group_members(group).await {
            Ok(members) => members.contains(user),
            Err(e) => {
                tracing::error!(group, user, error = %e, "failed to list user group members");
                false
            }
        }
    }

    /// Posts an ephemeral message (dry run: logs only and returns an empty `ts`).
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        content: &EphemeralContent,
    ) -> Result<String, SlackError> {
        if self.dry_run() {
            tracing::info!(channel, user, "DRYRUN: would post ephemeral message");
            return Ok(String::new());
        }
        self.api.post_ephemeral(channel, user, content).await
    }

    /// A user's profile (cached).
    pub async fn get_user_info(&self, user: &str) -> Result<Arc<UserInfo>, SlackError> {
        self.api.get_user_info(user).await
    }

    /// Answers an interaction through its `response_url`.
    pub async fn send_response(
        &self,
        channel: &str,
        response_url: &str,
        response_type: &str,
        text: &str,
    ) -> Result<(), SlackError> {
        self.api
            .send_response(channel, response_url, response_type, text)
            .await
    }

    /// Opens a modal (`views.open`, never retried); returns the view ID.
    pub async fn open_modal(
        &self,
        trigger_id: &str,
        view: &serde_json::Value,
    ) -> Result<String, SlackError> {
        self.api.open_modal(trigger_id, view).await
    }

    fn dry_run(&self) -> bool {
        self.api.config().dry_run
    }

    /// Create-or-update (`spec/slack.md` §4.4).
    async fn create_or_update(
        &self,
        issue: &Issue,
        action: SlackAction,
        reason: &str,
        settings: &PostSettings,
    ) -> Result<PostState, SlackError> {
        let now = Utc::now();
        if issue.slack_post_id == INVALID_CHANNEL_POST_ID {
            return Ok(post_created_or_updated(
                issue,
                INVALID_CHANNEL_POST_ID,
                action,
                now,
            ));
        }
        let create = issue.slack_post_id.is_empty();
        let mode = if create {
            RenderMode::New
        } else {
            RenderMode::Update
        };
        let msg = render_issue_post(issue, &action, mode, settings, now);
        let result = if create {
            self.api.post_message(&msg).await
        } else {
            self.api.update_message(&issue.slack_post_id, &msg).await
        };
        let channel = issue.channel_id();
        match result {
            Ok(ts) if ts.is_empty() => Err(SlackError::Api {
                method: if create {
                    "chat.postMessage"
                } else {
                    "chat.update"
                }
                .into(),
                code: "empty_timestamp".into(),
            }),
            Ok(ts) => {
                tracing::info!(issue_id = %issue.id, channel, ts = %ts, action = %action, reason, "Create/Update Slack post");
                Ok(post_created_or_updated(issue, &ts, action, Utc::now()))
            }
            Err(e) => match e.code() {
                Some("channel_not_found" | "is_archived") => {
                    tracing::error!(issue_id = %issue.id, channel, error = %e, "channel not found or archived: issue will not be posted again");
                    Ok(post_created_or_updated(
                        issue,
                        INVALID_CHANNEL_POST_ID,
                        action,
                        now,
                    ))
                }
                Some("message_not_found" | "cant_update_message") if !create => {
                    tracing::info!(issue_id = %issue.id, channel, error = %e, "Slack post is gone: a new post will be created");
                    Ok(post_deleted(issue))
                }
                Some("invalid_blocks") => {
                    tracing::error!(issue_id = %issue.id, channel, error = %e, "Slack refused the post's blocks");
                    Ok(post_invalid_blocks(issue))
                }
                Some("not_in_channel") => {
                    tracing::error!(issue_id = %issue.id, channel, error = %e, "Slack app is not in the channel");
                    Ok(post_deleted(issue))
                }
                _ => {
                    tracing::error!(issue_id = %issue.id, channel, error = %e, "failed to create/update Slack post");
                    Err(e)
                }
            },
        }
    }
}

fn normalize(mut s: PostSettings) -> PostSettings {
    s.status = s.status.normalized();
    s
}

#[async_trait]
impl SlackClient for SlackManagerClient {
    async fn get_channel_name(&self, channel_id: &str) -> String {
        if channel_id.is_empty() {
            return String::new();
        }
        match self.api.get_channel_info(channel_id).await {
            Ok(info) => info.name.clone(),
            Err(e) => {
                if e.code() != Some("channel_not_found") {
                    tracing::error!(channel = channel_id, error = %e, "failed to get channel info");
                }
                String::new()
            }
        }
    }

    async fn is_alert_channel(&self, channel_id: &str) -> Result<(bool, String), SlackError> {
        if self.post_settings().is_info_channel(channel_id) {
            return Ok((
                false,
                "channel is defined as 'info channel' (no alerts allowed)".into(),
            ));
        }
        if !self.api.bot_is_in_channel(channel_id).await? {
            return Ok((false, "Slack App integration is not in channel".into()));
        }
        Ok((true, String::new()))
    }

    /// Channel-wide reconcile (`spec/slack.md` §4.1). The first error ends the pass; when posts had
    /// already changed in it, their states are returned (and the error logged) instead of the error,
    /// so no post Slack shows is lost to the store.
    async fn update(
        &self,
        channel_id: &str,
        all_channel_issues: &[Issue],
    ) -> Result<Vec<PostState>, SlackError> {
        let settings = self.post_settings();
        let now = Utc::now();
        let mut issues: Vec<Issue> = all_channel_issues
            .iter()
            .filter(|i| !i.archived)
            .cloned()
            .collect();
        let issues_in_channel = issues.len();
        let open_count = issues
            .iter()
            .filter(|i| !i.is_info_or_resolved(now))
            .count();
        let mut order: Vec<usize> = sorted_indices(&issues, now);
        let reorder_allowed = settings.order_issues_by_severity(channel_id, open_count);
        let mut changed: HashMap<String, PostState> = HashMap::new();
        let mut changed_order: Vec<String> = Vec::new();
        let mut record = |state: PostState, changed: &mut HashMap<String, PostState>| {
            if !changed.contains_key(&state.issue_id) {
                changed_order.push(state.issue_id.clone());
            }
            changed.insert(state.issue_id.clone(), state);
        };

        // Deletes (needs-delete and reordering), concurrently.
        let deletes = {
            let sorted: Vec<&Issue> = order.iter().map(|&i| &issues[i]).collect();
            plan_deletes(&sorted, reorder_allowed, now)
                .into_iter()
                .map(|(pos, reason)| (order[pos], reason))
                .collect::<Vec<_>>()
        };
        if !deletes.is_empty() {
            let sem = Semaphore::new(self.api.config().concurrency);
            let results =
                join_all(deletes.iter().map(|(i, reason)| {
                    self.delete(&issues[*i], reason.as_str(), true, Some(&sem))
                }))
                .await;
            let mut deleted_any = false;
            let mut first_error = None;
            for r in results {
                match r {
                    Ok(Some(state)) => {
                        deleted_any = true;
                        record(state, &mut changed);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return abort_pass(channel_id, e, changed_order, changed);
            }
            for issue in &mut issues {
                if let Some(state) = changed.get(&issue.id) {
                    issue.apply_post_state(state);
                }
            }
            if deleted_any {
                order = sorted_indices(&issues, now);
            }
        }

        // Creates and updates, in priority order; the first error aborts the pass.
        for &i in &order {
            let issue = &issues[i];
            let action = issue.slack_action(now);
            if action == SlackAction::None {
                continue;
            }
            if should_throttle(issue, &action, issues_in_channel, &settings, now) {
                tracing::debug!(issue_id = %issue.id, channel = channel_id, "Throttle Slack post");
                continue;
            }
            if self.dry_run() {
                tracing::info!(issue_id = %issue.id, channel = channel_id, action = %action, "DRYRUN: would create or update Slack post");
                continue;
            }
            let reason = format!("channel update: issue requests action '{action}'");
            match self
                .create_or_update(issue, action, &reason, &settings)
                .await
            {
                Ok(state) => record(state, &mut changed),
                Err(e) => return abort_pass(channel_id, e, changed_order, changed),
            }
        }
        Ok(changed_order
            .into_iter()
            .filter_map(|id| changed.remove(&id))
            .collect())
    }

    async fn update_single_issue_with_throttling(
        &self,
        issue: &Issue,
        reason: &str,
        issues_in_channel: usize,
    ) -> Result<Option<PostState>, SlackError> {
        let now = Utc::now();
        let action = issue.slack_action(now);
        if action == SlackAction::None {
            return Ok(None);
        }
        let settings = self.post_settings();
        if should_throttle(issue, &action, issues_in_channel, &settings, now) {
            tracing::debug!(issue_id = %issue.id, reason, "Throttle Slack post");
            return Ok(None);
        }
        self.create_or_update(issue, action, reason, &settings)
            .await
            .map(Some)
    }

    async fn update_single_issue(
        &self,
        issue: &Issue,
        reason: &str,
    ) -> Result<Option<PostState>, SlackError> {
        let action = issue.slack_action(Utc::now());
        if action == SlackAction::None {
            return Ok(None);
        }
        let settings = self.post_settings();
        self.create_or_update(issue, action, reason, &settings)
            .await
            .map(Some)
    }

    async fn delete(
        &self,
        issue: &Issue,
        reason: &str,
        update_if_message_has_replies: bool,
        semaphore: Option<&Semaphore>,
    ) -> Result<Option<PostState>, SlackError> {
        if issue.slack_post_id.is_empty() || issue.slack_post_id == INVALID_CHANNEL_POST_ID {
            return Ok(Some(post_deleted(issue)));
        }
        let channel = issue.channel_id();
        if self.dry_run() {
            tracing::info!(issue_id = %issue.id, channel, reason, "DRYRUN: would delete Slack post");
            return Ok(None);
        }
        let _permit = match semaphore {
            Some(s) => Some(
                s.acquire()
                    .await
                    .map_err(|_| SlackError::Config("delete semaphore closed".into()))?,
            ),
            None => None,
        };
        let ts = issue.slack_post_id.as_str();
        let has_replies = if update_if_message_has_replies {
            match self.api.message_has_replies(channel, ts).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(issue_id = %issue.id, channel, ts, error = %e, "failed to check Slack post for replies");
                    false
                }
            }
        } else {
            false
        };
        let result = if has_replies {
            let settings = self.post_settings();
            let msg = render_issue_post(
                issue,
                &issue.slack_post_last_action,
                RenderMode::UpdateDeleted,
                &settings,
                Utc::now(),
            );
            self.api.update_message(ts, &msg).await.map(|_| ())
        } else {
            self.api.delete_message(channel, ts).await
        };
        if let Err(e) = result {
            match e.code() {
                Some(c) if BENIGN_DELETE_ERRORS.contains(&c) => {
                    tracing::info!(issue_id = %issue.id, channel, ts, error = %e, "Slack post already gone");
                }
                _ => return Err(e),
            }
        }
        tracing::info!(issue_id = %issue.id, channel, ts, reason, tombstone = has_replies, "Delete Slack post");
        Ok(Some(post_deleted(issue)))
    }

    async fn delete_post(&self, channel_id: &str, ts: &str) -> Result<(), SlackError> {
        if ts == INVALID_CHANNEL_POST_ID {
            return Ok(());
        }
        if self.dry_run() {
            tracing::info!(channel = channel_id, ts, "DRYRUN: would delete Slack post");
            return Ok(());
        }
        match self.api.delete_message(channel_id, ts).await {
            Ok(()) => Ok(()),
            Err(e) if e.code().is_some_and(|c| BENIGN_DELETE_ERRORS.contains(&c)) => {
                tracing::info!(channel = channel_id, ts, error = %e, "Slack post could not be deleted");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Ends a channel update at its first error. Posts already created, updated or deleted in this pass
/// must reach the store (a post the manager does not know about would be posted again), so when
/// any post changed the error is logged and the changed states are returned; otherwise the error is.
fn abort_pass(
    channel_id: &str,
    error: SlackError,
    order: Vec<String>,
    mut changed: HashMap<String, PostState>,
) -> Result<Vec<PostState>, SlackError> {
    if changed.is_empty() {
        return Err(error);
    }
    tracing::error!(
        channel = channel_id,
        error = %error,
        changed = changed.len(),
        "channel update aborted; returning the post states changed before the error"
    );
    Ok(order
        .into_iter()
        .filter_map(|id| changed.remove(&id))
        .collect())
}

fn sorted_indices(issues: &[Issue], now: chrono::DateTime<Utc>) -> Vec<usize> {
    let mut refs: Vec<&Issue> = issues.iter().collect();
    sort_by_priority(&mut refs, now);
    refs.iter()
        .filter_map(|r| issues.iter().position(|i| std::ptr::eq(i, *r)))
        .collect()
}
