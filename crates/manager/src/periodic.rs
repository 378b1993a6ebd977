//! The channel's periodic pass (manager.md §10): mute expiry, archiving, escalation and its moves,
//! the channel-wide Slack reconcile (reorder, throttle) and saving what changed.
//!
//! Each issue is saved on its own with its version, so a concurrent change to one issue does not
//! lose the others' updates; a conflicting issue whose post changed gets the post state re-applied
//! to a fresh copy, anything else is redone by the next pass.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use sm_core::{ChannelProcessingState, Issue, MoveReason, StoreError};

use crate::channel::ChannelActor;
use crate::context::{CHANNEL_LOCK_TTL, release};
use crate::error::ManagerError;
use crate::lifecycle;

impl ChannelActor {
    /// One periodic pass; returns the number of open issues loaded (before archiving).
    pub(crate) async fn process_active_issues(
        &mut self,
        min_interval: Duration,
    ) -> Result<usize, ManagerError> {
        let lock = self
            .ctx
            .lock(&self.channel, CHANNEL_LOCK_TTL, min_interval * 2)
            .await?;
        let res = self.pass(min_interval).await;
        release(lock).await;
        res
    }

    async fn pass(&mut self, min_interval: Duration) -> Result<usize, ManagerError> {
        let now = Utc::now();
        let store = Arc::clone(&self.ctx.store);
        let mut state = store
            .find_channel_processing_state(&self.channel)
            .await?
            .unwrap_or_else(|| ChannelProcessingState::new(self.channel.clone()));
        let since = now.signed_duration_since(state.last_processed);
        if since < TimeDelta::from_std(min_interval).unwrap_or(TimeDelta::MAX) {
            // Another instance (or this one) did it recently.
            return Ok(usize::try_from(state.open_issues).unwrap_or(0));
        }
        let loaded = store.load_open_issues_in_channel(&self.channel).await?;
        let count = loaded.len();
        state.last_processed = now;
        state.open_issues = i64::try_from(count).unwrap_or(i64::MAX);
        if count > 0 {
            state.last_channel_activity = now;
        }
        store.save_channel_processing_state(&state).await?;
        if count == 0 {
            return Ok(0);
        }
        let settings = self.ctx.settings.get();
        let name = self.ctx.slack.get_channel_name(&self.channel).await;
        let mut issues = loaded.clone();
        let mut moves = Vec::new();
        for (idx, issue) in issues.iter_mut().enumerate() {
            lifecycle::expire_mute(issue, settings.mute_expiry(), now);
            if lifecycle::is_ready_for_archiving(issue, now) {
                self.archive(issue).await;
                continue;
            }
            issue.last_alert.slack_channel_name = name.clone();
            let result = lifecycle::apply_escalation_rules(issue, now);
            if let Some((threshold, window)) = settings.flap_detection() {
                let reopens = self.flaps.reopens(&issue.id, now, window);
                if reopens > threshold {
                    lifecycle::mark_flapping(issue, reopens, window);
                } else if lifecycle::is_marked_flapping(issue) {
                    lifecycle::clear_flapping(issue);
                    issue.slack_post_needs_update = true;
                }
            }
            if let Some(target) = result.move_to_channel.filter(|_| result.escalated) {
                moves.push((idx, target));
            }
        }
        let mut moved = HashSet::new();
        for (idx, target) in moves {
            let issue = issues[idx].clone();
            match self
                .move_issue(issue, &target, MoveReason::Escalation, "N/A", true)
                .await
            {
                Ok(Some(_)) => {
                    moved.insert(idx);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(channel_id = %self.channel, issue_id = %issues[idx].id, %target, %error, "escalation move failed");
                }
            }
        }
        let remaining: Vec<(Issue, Issue)> = issues
            .into_iter()
            .zip(loaded)
            .enumerate()
            .filter(|(i, _)| !moved.contains(i))
            .map(|(_, pair)| pair)
            .collect();
        let mut current: Vec<Issue> = remaining.iter().map(|(i, _)| i.clone()).collect();
        let mut posted = HashSet::new();
        match self.ctx.slack.update(&self.channel, &current).await {
            Ok(states) => {
                metrics::counter!("manager_slack_updates_total", "kind" => "channel").increment(1);
                for state in states {
                    if let Some(issue) = current.iter_mut().find(|i| i.id == state.issue_id) {
                        issue.apply_post_state(&state);
                        posted.insert(issue.id.clone());
                    }
                }
            }
            Err(error) => {
                tracing::error!(channel_id = %self.channel, %error, "channel slack update failed");
            }
        }
        let mut first_error = None;
        for (issue, (_, original)) in current.into_iter().zip(remaining) {
            if issue == original {
                continue;
            }
            match store.save_issue(&issue).await {
                Ok(_) => {}
                Err(StoreError::VersionConflict { .. }) => {
                    metrics::counter!("manager_version_conflicts_total").increment(1);
                    if posted.contains(&issue.id) {
                        let state = issue.post_state();
                        self.save_post_state(original, &state).await;
                    } else {
                        tracing::warn!(channel_id = %self.channel, issue_id = %issue.id, "issue changed concurrently; the next pass redoes its changes");
                    }
                }
                Err(error) => {
                    tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "issue save failed in periodic pass");
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(count),
        }
    }

    /// Marks the issue archived; an escalation-made move mapping is deleted with it.
    async fn archive(&mut self, issue: &mut Issue) {
        issue.archived = true;
        self.flaps.forget(&issue.id);
        tracing::info!(channel_id = %self.channel, issue_id = %issue.id, "issue archived");
        if !issue.is_moved || issue.move_reason != MoveReason::Escalation {
            return;
        }
        let original = issue.last_alert.original_slack_channel_id.clone();
        let store = &self.ctx.store;
        match store
            .find_move_mapping(&original, &issue.correlation_id)
            .await
        {
            Ok(Some(m)) if m.reason == MoveReason::Escalation => {
                if let Err(error) = store
                    .delete_move_mapping(&original, &issue.correlation_id)
                    .await
                {
                    tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "escalation move mapping delete failed");
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "escalation move mapping lookup failed");
            }
        }
    }
}
