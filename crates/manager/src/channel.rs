//! The channel actor: one task per Slack channel that processes the channel's alerts and commands
//! strictly in order, runs the channel's periodic pass, and coalesces Slack updates in storms.
//!
//! Invariants:
//! - Every queue item is acked only after its effects are saved in the store; a Slack-visible
//!   change that could not be made is recorded on the issue (`slackPostNeedsUpdate`) so the
//!   periodic pass retries it.
//! - Work on the channel happens while holding the channel lock; store writes carry the issue
//!   version, so a stale instance's write is refused (`VersionConflict`) and its item nacked.
//! - A new issue is saved *before* its first post, and the post's `ts` is saved right after
//!   (re-applied to a fresh copy on a version conflict), so a retry never posts twice.
//!
//! Storm coalescing: the first accepted alert of an issue updates Slack at once; further alerts
//! for that issue within `stormCoalescingWindowMillis` are saved and acked, and one Slack update
//! with the latest state follows when the window ends. Flapping issues are updated by the
//! periodic pass only.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sm_core::{ChannelLock, Issue, PostState, SlackAction, SlackError, StoreError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::consumer::{ACK_TIMEOUT, AlertMsg, CommandMsg, ack, nack};
use crate::context::{CHANNEL_LOCK_TTL, CHANNEL_LOCK_WAIT, Context, FIRST_PASS_DELAY, release};
use crate::lifecycle::{self, FlapTracker};

/// What the coordinator sends an actor.
pub(crate) enum ActorMsg {
    Alert(Box<AlertMsg>),
    Command(Box<CommandMsg>),
    KeepAlive,
}

impl ActorMsg {
    /// Nacks the message's queue item, if it has one.
    pub(crate) async fn nack(self) {
        match self {
            ActorMsg::Alert(m) => nack(m.item).await,
            ActorMsg::Command(m) => nack(m.item).await,
            ActorMsg::KeepAlive => {}
        }
    }
}

/// Why one issue is posted outside the periodic pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostReason {
    NewIssue,
    AlertAdded,
}

impl PostReason {
    fn as_str(self) -> &'static str {
        match self {
            PostReason::NewIssue => "new issue created",
            PostReason::AlertAdded => "alert added to existing issue",
        }
    }
}

/// Ack or nack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    Ack,
    Nack,
}

/// Slack errors worth retrying by redelivery (rate limits, transport, 5xx).
pub(crate) fn is_transient(e: &SlackError) -> bool {
    match e {
        SlackError::RateLimited { .. } | SlackError::Transport { .. } => true,
        SlackError::Http { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// One channel's actor.
pub(crate) struct ChannelActor {
    pub(crate) channel: String,
    pub(crate) ctx: Arc<Context>,
    inbox: mpsc::Receiver<ActorMsg>,
    generation: u64,
    idle_tx: mpsc::UnboundedSender<(String, u64)>,
    predecessor: Option<JoinHandle<()>>,
    /// Correlation ID → when its coalesced Slack update is due.
    pending: HashMap<String, Instant>,
    /// Correlation ID → last Slack update made for it by this actor.
    last_update: HashMap<String, Instant>,
    pub(crate) flaps: FlapTracker,
}

impl ChannelActor {
    pub(crate) fn new(
        channel: String,
        ctx: Arc<Context>,
        inbox: mpsc::Receiver<ActorMsg>,
        generation: u64,
        idle_tx: mpsc::UnboundedSender<(String, u64)>,
        predecessor: Option<JoinHandle<()>>,
    ) -> Self {
        ChannelActor {
            channel,
            ctx,
            inbox,
            generation,
            idle_tx,
            predecessor,
            pending: HashMap::new(),
            last_update: HashMap::new(),
            flaps: FlapTracker::new(),
        }
    }

    /// Runs a unit of work; once shutdown starts it gets the drain timeout to finish, then it is
    /// abandoned (its queue item, dropped, is nacked).
    async fn bounded<F: Future<Output = T>, T>(
        cancel: &tokio_util::sync::CancellationToken,
        timeout: Duration,
        work: F,
    ) -> Option<T> {
        tokio::select! {
            r = work => Some(r),
            () = async { cancel.cancelled().await; tokio::time::sleep(timeout).await } => None,
        }
    }

    pub(crate) async fn run(mut self) {
        if let Some(p) = self.predecessor.take() {
            let _ = p.await;
        }
        let cancel = self.ctx.cancel.clone();
        let drain = self.ctx.config.channel_manager_drain_timeout;
        let mut next_pass = Instant::now() + FIRST_PASS_DELAY;
        let mut pass_armed = true;
        loop {
            let interval = self
                .ctx
                .settings
                .get()
                .issue_processing_interval(&self.channel);
            let next_flush = self.pending.values().min().copied();
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                msg = self.inbox.recv() => {
                    let Some(msg) = msg else {
                        // Retired: make the coalesced updates still owed before leaving.
                        let now = Instant::now();
                        self.pending.values_mut().for_each(|at| *at = now);
                        Self::bounded(&cancel, drain, self.flush_due()).await;
                        break;
                    };
                    let done = match msg {
                        ActorMsg::Alert(m) => Self::bounded(&cancel, drain, self.handle_alert(*m)).await,
                        ActorMsg::Command(m) => Self::bounded(&cancel, drain, self.handle_command(*m)).await,
                        ActorMsg::KeepAlive => Some(()),
                    };
                    if done.is_none() {
                        tracing::warn!(channel_id = %self.channel, "in-flight work abandoned at shutdown (nacked)");
                    }
                    if !pass_armed {
                        next_pass = Instant::now() + interval;
                        pass_armed = true;
                        tracing::debug!(channel_id = %self.channel, "issue processing restarted");
                    }
                }
                () = tokio::time::sleep_until(next_flush.unwrap_or_else(Instant::now)), if next_flush.is_some() => {
                    Self::bounded(&cancel, drain, self.flush_due()).await;
                }
                () = tokio::time::sleep_until(next_pass), if pass_armed => {
                    let res = Self::bounded(&cancel, drain, self.process_active_issues(interval)).await;
                    self.prune_last_updates();
                    match res {
                        Some(Ok(0)) if self.pending.is_empty() => {
                            pass_armed = false;
                            tracing::debug!(channel_id = %self.channel, "Issue processing stopped - no activity in channel");
                            let _ = self.idle_tx.send((self.channel.clone(), self.generation));
                        }
                        Some(Err(error)) => {
                            tracing::error!(channel_id = %self.channel, %error, "periodic issue processing failed");
                            next_pass = Instant::now() + interval;
                        }
                        _ => next_pass = Instant::now() + interval,
                    }
                }
            }
        }
        self.drain_inbox().await;
    }

    async fn drain_inbox(&mut self) {
        self.inbox.close();
        let deadline = Instant::now() + self.ctx.config.channel_manager_drain_timeout;
        let mut nacked = 0usize;
        while let Ok(msg) = self.inbox.try_recv() {
            if Instant::now() >= deadline {
                tracing::error!(channel_id = %self.channel, nacked, "channel drain timed out");
                return;
            }
            if tokio::time::timeout(ACK_TIMEOUT, msg.nack()).await.is_ok() {
                nacked += 1;
            }
        }
        tracing::debug!(channel_id = %self.channel, nacked, "channel actor stopped");
    }

    async fn handle_alert(&mut self, msg: AlertMsg) {
        let lock = match self
            .ctx
            .lock(&self.channel, CHANNEL_LOCK_TTL, CHANNEL_LOCK_WAIT)
            .await
        {
            Ok(l) => l,
            Err(error) => {
                tracing::error!(channel_id = %self.channel, %error, "channel lock for alert not obtained; alert nacked");
                nack(msg.item).await;
                return;
            }
        };
        let (disposition, flush) = self.process_alert(msg.alert).await;
        match disposition {
            Disposition::Ack => ack(msg.item).await,
            Disposition::Nack => nack(msg.item).await,
        }
        if let Some((issue, reason)) = flush {
            self.post_issue(issue, reason, &*lock).await;
        }
        release(lock).await;
    }

    /// The alert steps of manager.md §5.1, returning the item's outcome and the issue to post now.
    async fn process_alert(
        &mut self,
        alert: sm_core::IssueAlert,
    ) -> (Disposition, Option<(Issue, PostReason)>) {
        let mut alert = alert;
        let settings = self.ctx.settings.get();
        metrics::counter!("processed_alerts_total", "channel" => self.channel.clone()).increment(1);
        lifecycle::set_default_values(&mut alert, &settings);
        alert.slack_channel_name = self.ctx.slack.get_channel_name(&self.channel).await;
        if let Err(error) = alert.validate() {
            tracing::error!(channel_id = %self.channel, correlation_id = %alert.correlation_id, %error, "invalid alert dropped (acked)");
            metrics::counter!("manager_alerts_dropped_total", "reason" => "invalid").increment(1);
            return (Disposition::Ack, None);
        }
        if alert.is_ignored_by_text() {
            // The API filters these already; producers that bypass it are filtered here.
            tracing::info!(channel_id = %self.channel, correlation_id = %alert.correlation_id, "alert ignored by its ignoreIfTextContains patterns (acked)");
            metrics::counter!("manager_alerts_dropped_total", "reason" => "ignored").increment(1);
            return (Disposition::Ack, None);
        }
        if alert.webhooks.as_ref().is_some_and(|w| !w.is_empty())
            && self.ctx.config.encryption_key.is_empty()
        {
            tracing::error!(channel_id = %self.channel, correlation_id = %alert.correlation_id, "alert with webhooks dropped (acked): no encryption key is configured");
            metrics::counter!("manager_alerts_dropped_total", "reason" => "no_encryption_key")
                .increment(1);
            return (Disposition::Ack, None);
        }
        if let Some(ladder) = alert.alert.escalation.as_mut() {
            for rung in ladder.iter_mut().filter(|r| !r.move_to_channel.is_empty()) {
                match self.ctx.slack.is_alert_channel(&rung.move_to_channel).await {
                    Ok((true, _)) => {}
                    Ok((false, reason)) => {
                        tracing::info!(channel_id = %self.channel, target = %rung.move_to_channel, %reason, "escalation target is not an alert channel; move dropped from the rule");
                        rung.move_to_channel.clear();
                    }
                    Err(error) => {
                        tracing::error!(channel_id = %self.channel, %error, "escalation target check failed; alert nacked");
                        return (Disposition::Nack, None);
                    }
                }
            }
        }
        let received = alert.clone();
        let existing = match self
            .ctx
            .store
            .find_open_issue_by_correlation_id(&self.channel, &alert.correlation_id)
            .await
        {
            Ok(i) => i,
            Err(StoreError::Corrupt { id, source, .. }) => {
                tracing::error!(channel_id = %self.channel, issue_id = %id, error = %source, "stored issue is corrupt; alert dropped (acked)");
                return (Disposition::Ack, None);
            }
            Err(error) => {
                tracing::error!(channel_id = %self.channel, %error, "open issue lookup failed; alert nacked");
                return (Disposition::Nack, None);
            }
        };
        let now = Utc::now();
        let (issue, flush) = match existing {
            None => {
                if lifecycle::ignored_for_new_issue(&alert) {
                    tracing::info!(channel_id = %self.channel, correlation_id = %alert.correlation_id, "Resolved alert ignored for new issue");
                    return (Disposition::Ack, None);
                }
                let mut issue = lifecycle::new_issue(alert, now);
                match self.ctx.store.save_issue(&issue).await {
                    Ok(v) => issue.version = v,
                    Err(error) => return (self.save_failed(&issue, &error), None),
                }
                tracing::info!(channel_id = %self.channel, issue_id = %issue.id, correlation_id = %issue.correlation_id, "Issue created");
                let flush = Some((issue.clone(), PostReason::NewIssue));
                (issue, flush)
            }
            Some(mut issue) => {
                let was_resolved = issue.is_resolved(now);
                if !lifecycle::add_alert(&mut issue, alert, now) {
                    tracing::debug!(channel_id = %self.channel, issue_id = %issue.id, "alert ignored by the issue");
                    return (self.save_alert(&issue.id, &received).await, None);
                }
                let flapping = self.track_flap(&mut issue, was_resolved, now);
                match self.ctx.store.save_issue(&issue).await {
                    Ok(v) => issue.version = v,
                    Err(error) => return (self.save_failed(&issue, &error), None),
                }
                let flush = if flapping || !self.coalesce_now(&issue.correlation_id) {
                    None
                } else {
                    Some((issue.clone(), PostReason::AlertAdded))
                };
                (issue, flush)
            }
        };
        (self.save_alert(&issue.id, &received).await, flush)
    }

    fn save_failed(&self, issue: &Issue, error: &StoreError) -> Disposition {
        if matches!(error, StoreError::VersionConflict { .. }) {
            metrics::counter!("manager_version_conflicts_total").increment(1);
            tracing::warn!(channel_id = %self.channel, issue_id = %issue.id, %error, "issue changed concurrently; item nacked for a retry on fresh state");
        } else {
            tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "issue save failed; item nacked");
        }
        Disposition::Nack
    }

    async fn save_alert(&self, issue_id: &str, alert: &sm_core::IssueAlert) -> Disposition {
        match self.ctx.store.save_alert(issue_id, alert).await {
            Ok(()) => Disposition::Ack,
            Err(error) => {
                tracing::error!(channel_id = %self.channel, issue_id, %error, "alert history save failed; alert nacked");
                Disposition::Nack
            }
        }
    }

    /// Flap bookkeeping for an accepted alert; returns whether the issue is flapping now.
    fn track_flap(
        &mut self,
        issue: &mut Issue,
        was_resolved: bool,
        now: chrono::DateTime<Utc>,
    ) -> bool {
        let Some((threshold, window)) = self.ctx.settings.get().flap_detection() else {
            return false;
        };
        let reopened = was_resolved && !issue.is_resolved(now);
        let reopens = if reopened {
            self.flaps.record_reopen(&issue.id, now, window)
        } else {
            self.flaps.reopens(&issue.id, now, window)
        };
        if reopens > threshold {
            if reopened && reopens == threshold + 1 {
                metrics::counter!("manager_flapping_issues_total").increment(1);
                tracing::info!(channel_id = %self.channel, issue_id = %issue.id, reopens, "issue is flapping");
            }
            lifecycle::mark_flapping(issue, reopens, window);
            return true;
        }
        false
    }

    /// Storm coalescing: whether to update Slack for this issue now (else it is scheduled).
    fn coalesce_now(&mut self, correlation_id: &str) -> bool {
        let Some(window) = self.ctx.settings.get().storm_coalescing_window() else {
            return true;
        };
        let now = Instant::now();
        match self.last_update.get(correlation_id) {
            Some(last) if now < *last + window => {
                self.pending
                    .entry(correlation_id.to_owned())
                    .or_insert(*last + window);
                metrics::counter!("manager_alerts_coalesced_total").increment(1);
                false
            }
            _ => true,
        }
    }

    /// Forgets update times older than the coalescing window (they no longer delay anything).
    fn prune_last_updates(&mut self) {
        let now = Instant::now();
        match self.ctx.settings.get().storm_coalescing_window() {
            Some(window) => self.last_update.retain(|_, t| now < *t + window),
            None => self.last_update.clear(),
        }
    }

    /// Makes the coalesced Slack updates that are due.
    async fn flush_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for c in &due {
            self.pending.remove(c);
        }
        self.prune_last_updates();
        if due.is_empty() {
            return;
        }
        let lock = match self
            .ctx
            .lock(&self.channel, CHANNEL_LOCK_TTL, CHANNEL_LOCK_WAIT)
            .await
        {
            Ok(l) => l,
            Err(error) => {
                // The issues keep `slackPostNeedsUpdate`; the periodic pass posts them.
                tracing::warn!(channel_id = %self.channel, %error, "channel lock for coalesced updates not obtained");
                return;
            }
        };
        for correlation_id in due {
            match self
                .ctx
                .store
                .find_open_issue_by_correlation_id(&self.channel, &correlation_id)
                .await
            {
                Ok(Some(issue)) => self.post_issue(issue, PostReason::AlertAdded, &*lock).await,
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(channel_id = %self.channel, %correlation_id, %error, "issue lookup for a coalesced update failed")
                }
            }
        }
        release(lock).await;
    }

    /// Posts or updates one issue on Slack and saves the resulting post state.
    async fn post_issue(&mut self, issue: Issue, reason: PostReason, _lock: &dyn ChannelLock) {
        if issue.slack_action(Utc::now()) == SlackAction::None {
            return;
        }
        let result = if reason == PostReason::NewIssue {
            self.ctx
                .slack
                .update_single_issue(&issue, reason.as_str())
                .await
        } else {
            let open = match self
                .ctx
                .store
                .find_channel_processing_state(&self.channel)
                .await
            {
                Ok(s) => s
                    .map(|s| usize::try_from(s.open_issues).unwrap_or(0))
                    .unwrap_or(0),
                Err(error) => {
                    tracing::warn!(channel_id = %self.channel, %error, "processing state lookup failed");
                    0
                }
            };
            self.ctx
                .slack
                .update_single_issue_with_throttling(&issue, reason.as_str(), open)
                .await
        };
        self.last_update
            .insert(issue.correlation_id.clone(), Instant::now());
        match result {
            Ok(Some(state)) => {
                metrics::counter!("manager_slack_updates_total", "kind" => "single").increment(1);
                self.save_post_state(issue, &state).await;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(channel_id = %self.channel, issue_id = %issue.id, %error, "slack update failed; the periodic pass retries it");
            }
        }
    }

    /// Saves a post state on the issue; on a version conflict, re-applies it to a fresh copy.
    pub(crate) async fn save_post_state(&self, issue: Issue, state: &PostState) -> Option<Issue> {
        let mut issue = issue;
        issue.apply_post_state(state);
        match self.ctx.store.save_issue(&issue).await {
            Ok(v) => {
                issue.version = v;
                return Some(issue);
            }
            Err(StoreError::VersionConflict { .. }) => {
                metrics::counter!("manager_version_conflicts_total").increment(1);
            }
            Err(error) => {
                tracing::error!(channel_id = %self.channel, issue_id = %issue.id, post_id = %state.slack_post_id, %error, "post state could not be saved");
                return None;
            }
        }
        let fresh = self
            .ctx
            .store
            .find_open_issue_by_correlation_id(issue.channel_id(), &issue.correlation_id)
            .await;
        match fresh {
            Ok(Some(mut fresh)) if fresh.id == issue.id => {
                fresh.apply_post_state(state);
                match self.ctx.store.save_issue(&fresh).await {
                    Ok(v) => {
                        fresh.version = v;
                        Some(fresh)
                    }
                    Err(error) => {
                        tracing::error!(channel_id = %self.channel, issue_id = %issue.id, %error, "post state could not be saved after a conflict");
                        None
                    }
                }
            }
            other => {
                tracing::error!(channel_id = %self.channel, issue_id = %issue.id, found = ?other.map(|o| o.map(|i| i.id)), "post state not saved: the issue changed concurrently");
                None
            }
        }
    }
}
