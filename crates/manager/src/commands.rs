//! Commands (manager.md §9): user actions on an issue, processed by the channel's actor under the
//! channel lock; moves between channels; webhook dispatch.
//!
//! Deliberate fix of Go: a command whose Slack call fails still saves its state change (the issue
//! keeps `slackPostNeedsUpdate`, so the periodic pass re-posts it); a command whose effect cannot
//! be saved, or whose Slack delete failed transiently, is nacked for a retry — never acked and lost.

use std::sync::Arc;

use chrono::Utc;
use sm_core::{
    Command, CommandAction, Issue, MoveMapping, MoveReason, StoreError, WebhookCallback,
};

use crate::channel::{ChannelActor, Disposition, is_transient};
use crate::consumer::{CommandMsg, ack, nack};
use crate::context::{CHANNEL_LOCK_TTL, CHANNEL_LOCK_WAIT, MOVE_LOCK_TTL, MOVE_LOCK_WAIT, release};
use crate::error::ManagerError;
use crate::lifecycle;

/// Finds the issue whose current post is `ts` in `channel` (manager.md §3.6).
pub(crate) async fn find_issue_by_slack_post(
    store: &dyn sm_core::Store,
    channel: &str,
    ts: &str,
    include_archived: bool,
) -> Result<Option<Issue>, StoreError> {
    if channel.is_empty() || ts.is_empty() {
        return Ok(None);
    }
    let Some(issue) = store.find_issue_by_slack_post_id(channel, ts).await? else {
        return Ok(None);
    };
    if issue.channel_id() != channel || issue.slack_post_id != ts {
        return Ok(None);
    }
    if issue.archived && !include_archived {
        return Ok(None);
    }
    Ok(Some(issue))
}

/// Clears the post fields after the post was deleted (Go `RegisterSlackPostDeleted`).
fn register_post_deleted(issue: &mut Issue) {
    issue.slack_post_needs_update = true;
    issue.slack_post_needs_delete = false;
    issue.slack_post_id.clear();
    issue.slack_post_created = sm_core::zero_time();
    issue.slack_post_updated = sm_core::zero_time();
    issue.slack_post_header.clear();
    issue.slack_post_text.clear();
}

impl ChannelActor {
    pub(crate) async fn handle_command(&mut self, msg: CommandMsg) {
        let lock = match self
            .ctx
            .lock(&self.channel, CHANNEL_LOCK_TTL, CHANNEL_LOCK_WAIT)
            .await
        {
            Ok(l) => l,
            Err(error) => {
                tracing::error!(channel_id = %self.channel, %error, "channel lock for command not obtained; command nacked");
                nack(msg.item).await;
                return;
            }
        };
        let disposition = self.process_command(&msg.command).await;
        match disposition {
            Disposition::Ack => ack(msg.item).await,
            Disposition::Nack => nack(msg.item).await,
        }
        release(lock).await;
    }

    async fn process_command(&mut self, cmd: &Command) -> Disposition {
        let found = find_issue_by_slack_post(
            &*self.ctx.store,
            &self.channel,
            &cmd.ts,
            cmd.include_archived_issues,
        )
        .await;
        let issue = match found {
            Ok(i) => i,
            Err(StoreError::Corrupt { id, source, .. }) => {
                tracing::error!(channel_id = %self.channel, issue_id = %id, error = %source, "stored issue is corrupt; command dropped");
                return Disposition::Ack;
            }
            Err(error) => {
                tracing::error!(channel_id = %self.channel, %error, "issue lookup for command failed; command nacked");
                return Disposition::Nack;
            }
        };
        let Some(mut issue) = issue else {
            if cmd.execute_when_no_issue_found && cmd.action == CommandAction::TerminateIssue {
                return match self.ctx.slack.delete_post(&self.channel, &cmd.ts).await {
                    Ok(()) => Disposition::Ack,
                    Err(e) if is_transient(&e) => Disposition::Nack,
                    Err(error) => {
                        tracing::error!(channel_id = %self.channel, ts = %cmd.ts, %error, "message delete failed");
                        Disposition::Ack
                    }
                };
            }
            tracing::info!(channel_id = %self.channel, ts = %cmd.ts, action = %cmd.action, "No issue found for Slack message command");
            return Disposition::Ack;
        };
        let now = Utc::now();
        let user = cmd.user_id.as_str();
        let changed = match cmd.action {
            CommandAction::TerminateIssue => return self.terminate(issue, user).await,
            CommandAction::MoveIssue => {
                let target = cmd.param_as_string("targetChannelId").to_owned();
                if target.is_empty() {
                    tracing::error!(channel_id = %self.channel, "move command without targetChannelId dropped");
                    return Disposition::Ack;
                }
                return match self
                    .move_issue(issue, &target, MoveReason::UserCommand, user, false)
                    .await
                {
                    Ok(_) => Disposition::Ack,
                    Err(ManagerError::Slack(e)) if !is_transient(&e) => {
                        tracing::error!(channel_id = %self.channel, %target, error = %e, "issue move failed");
                        Disposition::Ack
                    }
                    Err(error) => {
                        tracing::error!(channel_id = %self.channel, %target, %error, "issue move failed; command nacked");
                        Disposition::Nack
                    }
                };
            }
            CommandAction::Webhook => {
                self.dispatch_webhook(&issue, cmd);
                return Disposition::Ack;
            }
            CommandAction::ResolveIssue => lifecycle::resolve(&mut issue, user, now),
            CommandAction::UnresolveIssue => lifecycle::unresolve(&mut issue, now),
            CommandAction::InvestigateIssue => {
                lifecycle::set_investigated(&mut issue, true, user, now)
            }
            CommandAction::UninvestigateIssue => {
                lifecycle::set_investigated(&mut issue, false, user, now)
            }
            CommandAction::MuteIssue => lifecycle::set_muted(&mut issue, true, user, now),
            CommandAction::UnmuteIssue => lifecycle::set_muted(&mut issue, false, user, now),
            CommandAction::ShowIssueOptionButtons => {
                lifecycle::set_buttons(&mut issue, true);
                true
            }
            CommandAction::HideIssueOptionButtons => {
                lifecycle::set_buttons(&mut issue, false);
                true
            }
            CommandAction::CreateIssue | CommandAction::Unset | CommandAction::Unknown(_) => {
                tracing::error!(channel_id = %self.channel, action = %cmd.action, "unknown command action; command dropped");
                return Disposition::Ack;
            }
        };
        if !changed {
            return Disposition::Ack;
        }
        match self
            .ctx
            .slack
            .update_single_issue(&issue, &format!("{} command", cmd.action))
            .await
        {
            Ok(Some(state)) => {
                issue.apply_post_state(&state);
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(channel_id = %self.channel, issue_id = %issue.id, %error, "slack update for command failed; saved for the periodic pass to retry");
            }
        }
        match self.ctx.store.save_issue(&issue).await {
            Ok(_) => Disposition::Ack,
            Err(error) => {
                tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "command result could not be saved; command nacked");
                Disposition::Nack
            }
        }
    }

    async fn terminate(&mut self, issue: Issue, user: &str) -> Disposition {
        let mut issue = issue;
        lifecycle::terminate(&mut issue, user, Utc::now());
        match self
            .ctx
            .slack
            .delete(&issue, "terminate issue request", false, None)
            .await
        {
            Ok(Some(state)) => {
                issue.apply_post_state(&state);
            }
            Ok(None) => register_post_deleted(&mut issue),
            Err(e) if is_transient(&e) => {
                tracing::warn!(channel_id = %self.channel, issue_id = %issue.id, error = %e, "post delete failed; terminate command nacked");
                return Disposition::Nack;
            }
            Err(error) => {
                tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "post delete failed; issue terminated anyway");
            }
        }
        match self.ctx.store.save_issue(&issue).await {
            Ok(_) => Disposition::Ack,
            Err(error) => {
                tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "terminated issue could not be saved; command nacked");
                Disposition::Nack
            }
        }
    }

    /// Moves an issue to `target` (manager.md §9.3). Returns the moved issue, or `None` when it is
    /// already there. With `check_target`, the target must be an alert channel (escalations).
    pub(crate) async fn move_issue(
        &mut self,
        issue: Issue,
        target: &str,
        reason: MoveReason,
        user: &str,
        check_target: bool,
    ) -> Result<Option<Issue>, ManagerError> {
        let mut issue = issue;
        if issue.channel_id() == target {
            tracing::error!(channel_id = %self.channel, issue_id = %issue.id, "issue is already in the target channel");
            return Ok(None);
        }
        if check_target {
            let (ok, why) = self.ctx.slack.is_alert_channel(target).await?;
            if !ok {
                return Err(ManagerError::InvalidMoveTarget {
                    channel: target.to_owned(),
                    reason: why,
                });
            }
        }
        let lock = self.ctx.lock(target, MOVE_LOCK_TTL, MOVE_LOCK_WAIT).await?;
        let res = self.move_locked(&mut issue, target, reason, user).await;
        release(lock).await;
        res.map(|()| Some(issue))
    }

    async fn move_locked(
        &mut self,
        issue: &mut Issue,
        target: &str,
        reason: MoveReason,
        user: &str,
    ) -> Result<(), ManagerError> {
        let store = Arc::clone(&self.ctx.store);
        let slack = Arc::clone(&self.ctx.slack);
        let original = issue.last_alert.original_slack_channel_id.clone();
        let source = self.channel.clone();
        if original != target {
            let mapping = MoveMapping::new(
                issue.correlation_id.clone(),
                original.clone(),
                target,
                reason.clone(),
            );
            store.save_move_mapping(&mapping).await?;
        } else {
            store
                .delete_move_mapping(&original, &issue.correlation_id)
                .await?;
        }
        match slack
            .delete(issue, "Issue moved between channels", false, None)
            .await?
        {
            Some(state) => {
                issue.apply_post_state(&state);
                if !issue.slack_post_id.is_empty() {
                    register_post_deleted(issue);
                }
            }
            None => register_post_deleted(issue),
        }
        let name = slack.get_channel_name(target).await;
        lifecycle::register_move(issue, reason, user, target, &name);
        match slack
            .update_single_issue(issue, "incoming moved issue")
            .await
        {
            Ok(Some(state)) => {
                issue.apply_post_state(&state);
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(channel_id = %source, %target, issue_id = %issue.id, %error, "post in the target channel failed; its periodic pass retries it");
            }
        }
        issue.version = store.move_issue(issue, &source, target).await?;
        tracing::info!(channel_id = %source, %target, issue_id = %issue.id, "Issue moved to target channel");
        Ok(())
    }

    /// Fires the webhook of a button click (manager.md §8.1); errors are logged only.
    fn dispatch_webhook(&self, issue: &Issue, cmd: &Command) {
        let channel = self.channel.clone();
        let Some(params) = cmd.webhook_parameters.as_ref() else {
            tracing::error!(channel_id = %channel, "webhook command without webhookParameters");
            return;
        };
        let Some(webhook) = issue
            .last_alert
            .webhooks
            .as_ref()
            .and_then(|ws| ws.iter().find(|w| w.id == params.webhook_id))
        else {
            tracing::error!(channel_id = %channel, webhook_id = %params.webhook_id, "webhook not found on the issue");
            return;
        };
        let encrypted = webhook.payload.clone().unwrap_or_default();
        let payload = match sm_webhooks::decrypt_webhook_payload(
            &self.ctx.config.encryption_key,
            &encrypted,
        ) {
            Ok(p) => p,
            Err(error) => {
                tracing::error!(channel_id = %channel, webhook_id = %webhook.id, %error, "webhook payload could not be decrypted");
                return;
            }
        };
        let Some(handler) = self
            .ctx
            .webhook_handlers
            .iter()
            .find(|h| h.should_handle_webhook(&webhook.url))
            .cloned()
        else {
            tracing::error!(channel_id = %channel, target = %webhook.url, "no webhook handler found for target {}", webhook.url);
            return;
        };
        let callback = WebhookCallback {
            id: params.webhook_id.clone(),
            user_id: cmd.user_id.clone(),
            user_real_name: cmd.user_real_name.clone(),
            channel_id: cmd.slack_channel_id.clone(),
            message_id: cmd.ts.clone(),
            timestamp: Utc::now(),
            input: Some(params.input.clone()),
            checkbox_input: Some(params.checkbox_input.clone()),
            payload,
        };
        let target = webhook.url.clone();
        let cancel = self.ctx.cancel.clone();
        self.ctx.background.spawn(async move {
            tokio::select! {
                res = handler.handle_webhook(&target, &callback) => match res {
                    Ok(()) => tracing::debug!(channel_id = %channel, %target, "webhook delivered"),
                    Err(error) => tracing::error!(channel_id = %channel, %target, %error, "webhook failed"),
                },
                () = cancel.cancelled() => tracing::warn!(channel_id = %channel, %target, "webhook abandoned at shutdown"),
            }
        });
    }
}
