//! The coordinator: one task that routes decoded alerts and commands to the channel actors.
//!
//! It owns the map channel → actor (no locking: only this task touches it), creates actors on
//! demand, retires idle ones, refreshes the active channels every 30 s and handles `create_issue`.
//!
//! Deliberate fixes of Go: the default correlation ID is computed *before* the move-mapping lookup
//! (so unlabeled alerts follow moves too); a store error in the periodic refresh is logged and
//! retried on the next tick instead of stopping `run`; and shutdown always drains and waits for
//! the actors, even when a consumer closed its channel first.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::Map;
use sm_core::{Alert, CommandAction, Severity, StoreError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::channel::{ActorMsg, ChannelActor};
use crate::consumer::{AlertMsg, CommandMsg, ack, nack};
use crate::context::{ACTOR_INBOX, Context, REFRESH_INTERVAL};
use crate::ksuid::new_ksuid;
use crate::settings::is_valid_icon_emoji;

struct ActorHandle {
    tx: mpsc::Sender<ActorMsg>,
    generation: u64,
    join: JoinHandle<()>,
}

/// Routes messages to channel actors.
pub(crate) struct Coordinator {
    ctx: Arc<Context>,
    actors: HashMap<String, ActorHandle>,
    retiring: HashMap<String, JoinHandle<()>>,
    idle_tx: mpsc::UnboundedSender<(String, u64)>,
    idle_rx: mpsc::UnboundedReceiver<(String, u64)>,
    next_generation: u64,
}

impl Coordinator {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        let (idle_tx, idle_rx) = mpsc::unbounded_channel();
        Coordinator {
            ctx,
            actors: HashMap::new(),
            retiring: HashMap::new(),
            idle_tx,
            idle_rx,
            next_generation: 0,
        }
    }

    /// Number of channel actors.
    pub(crate) fn actor_count(&self) -> usize {
        self.actors.len()
    }

    /// Starts an actor for every active channel; keep-alive to those that exist.
    pub(crate) async fn refresh(&mut self) -> Result<(), StoreError> {
        let channels = self.ctx.store.find_active_channels().await?;
        for channel in channels {
            match self.actors.get(&channel) {
                Some(a) if !a.tx.is_closed() => {
                    // A full keep-alive slot means the actor has work queued anyway.
                    let _ = a.tx.try_send(ActorMsg::KeepAlive);
                }
                _ => {
                    self.spawn_actor(&channel);
                }
            }
        }
        Ok(())
    }

    fn spawn_actor(&mut self, channel: &str) -> &ActorHandle {
        let (tx, rx) = mpsc::channel(ACTOR_INBOX);
        self.next_generation += 1;
        let generation = self.next_generation;
        // An actor that is still finishing for this channel must end before the new one starts.
        let mut predecessor = self.retiring.remove(channel);
        if let Some(old) = self.actors.remove(channel) {
            predecessor = Some(old.join);
        }
        let actor = ChannelActor::new(
            channel.to_owned(),
            Arc::clone(&self.ctx),
            rx,
            generation,
            self.idle_tx.clone(),
            predecessor,
        );
        let join = tokio::spawn(actor.run());
        tracing::debug!(channel_id = channel, generation, "channel actor started");
        metrics::gauge!("manager_channel_actors").increment(1.0);
        self.actors
            .entry(channel.to_owned())
            .insert_entry(ActorHandle {
                tx,
                generation,
                join,
            })
            .into_mut()
    }

    fn retire(&mut self, channel: &str, generation: u64) {
        let Some(a) = self.actors.get(channel) else {
            return;
        };
        // Only an actor with an empty inbox is retired; otherwise it has work and stays.
        if a.generation != generation || a.tx.capacity() != a.tx.max_capacity() {
            return;
        }
        if let Some(a) = self.actors.remove(channel) {
            // Dropping the sender ends the actor once its inbox is empty.
            drop(a.tx);
            self.retiring.insert(channel.to_owned(), a.join);
            metrics::gauge!("manager_channel_actors").decrement(1.0);
            tracing::debug!(channel_id = channel, "idle channel actor retired");
        }
    }

    /// Hands `msg` to the channel's actor, creating it when needed. Gives the message back when
    /// cancelled first.
    async fn deliver(
        &mut self,
        channel: &str,
        msg: ActorMsg,
        cancel: &CancellationToken,
    ) -> Result<(), ActorMsg> {
        let mut msg = msg;
        for _ in 0..2 {
            let tx = match self.actors.get(channel) {
                Some(a) if !a.tx.is_closed() => a.tx.clone(),
                _ => self.spawn_actor(channel).tx.clone(),
            };
            tokio::select! {
                res = tx.send(msg) => match res {
                    Ok(()) => return Ok(()),
                    // The actor ended (it panicked); start a new one and try again.
                    Err(mpsc::error::SendError(m)) => {
                        tracing::error!(channel_id = channel, "channel actor ended unexpectedly; restarting it");
                        self.actors.remove(channel);
                        msg = m;
                    }
                },
                () = cancel.cancelled() => return Err(ActorMsg::KeepAlive),
            }
        }
        Err(msg)
    }

    async fn add_alert(&mut self, msg: AlertMsg, cancel: &CancellationToken) {
        let AlertMsg { mut alert, item } = msg;
        if alert.slack_channel_id.is_empty() {
            alert.slack_channel_id = item.slack_channel_id.clone();
            alert.original_slack_channel_id = item.slack_channel_id.clone();
        }
        if alert.slack_channel_id.is_empty() {
            tracing::error!(message_id = %item.message_id, "alert without a channel ID dropped (acked)");
            metrics::counter!("manager_alerts_dropped_total", "reason" => "no_channel")
                .increment(1);
            ack(item).await;
            return;
        }
        if alert.correlation_id.is_empty() {
            alert.correlation_id = alert.default_correlation_id();
        }
        match self
            .ctx
            .store
            .find_move_mapping(&alert.slack_channel_id, &alert.correlation_id)
            .await
        {
            Ok(Some(mapping)) => {
                tracing::debug!(channel_id = %alert.slack_channel_id, target = %mapping.target_channel_id, correlation_id = %alert.correlation_id, "alert redirected by move mapping");
                alert.slack_channel_id = mapping.target_channel_id;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(channel_id = %alert.slack_channel_id, %error, "move mapping lookup failed; alert nacked");
                nack(item).await;
                return;
            }
        }
        let channel = alert.slack_channel_id.clone();
        if let Err(m) = self
            .deliver(
                &channel,
                ActorMsg::Alert(Box::new(AlertMsg { alert, item })),
                cancel,
            )
            .await
        {
            m.nack().await;
        }
    }

    async fn add_command(&mut self, msg: CommandMsg, cancel: &CancellationToken) {
        if msg.command.action == CommandAction::CreateIssue {
            self.create_issue(msg).await;
            return;
        }
        if msg.command.slack_channel_id.is_empty() {
            tracing::error!(action = %msg.command.action, "command without a channel ID dropped (acked)");
            ack(msg.item).await;
            return;
        }
        let channel = msg.command.slack_channel_id.clone();
        if let Err(m) = self
            .deliver(&channel, ActorMsg::Command(Box::new(msg)), cancel)
            .await
        {
            m.nack().await;
        }
    }

    /// The "Create issue" modal: builds an alert and sends it to the alert queue. The command is
    /// acked whatever the outcome (it is attempted once).
    async fn create_issue(&self, msg: CommandMsg) {
        let CommandMsg { command: cmd, item } = msg;
        let mut alert = Alert::new(Severity::from_wire(cmd.param_as_string("severity")));
        alert.correlation_id = new_ksuid(Utc::now().timestamp());
        alert.slack_channel_id = cmd.slack_channel_id.clone();
        alert.header = cmd.param_as_string("header").to_owned();
        alert.text = cmd.param_as_string("text").to_owned();
        alert.issue_follow_up_enabled = cmd.param_as_bool("followUpEnabled");
        alert.auto_resolve_seconds = cmd.param_as_int("autoResolveSeconds");
        let icon = cmd.param_as_string("iconEmoji");
        if is_valid_icon_emoji(icon) {
            alert.icon_emoji = icon.to_owned();
        }
        alert.username = cmd.user_real_name.clone();
        alert.metadata = Some(Map::new());
        alert.clean();
        if let Err(error) = alert.validate() {
            tracing::error!(channel_id = %cmd.slack_channel_id, %error, "create issue request produced an invalid alert");
            ack(item).await;
            return;
        }
        let body = match serde_json::to_string(&alert) {
            Ok(b) => b,
            Err(error) => {
                tracing::error!(%error, "create issue alert could not be encoded");
                ack(item).await;
                return;
            }
        };
        if let Err(error) = self
            .ctx
            .alert_queue
            .send(&alert.slack_channel_id, &alert.unique_id(), &body)
            .await
        {
            tracing::error!(channel_id = %cmd.slack_channel_id, %error, "create issue alert could not be queued");
        } else {
            tracing::info!(channel_id = %cmd.slack_channel_id, correlation_id = %alert.correlation_id, "issue creation requested");
        }
        ack(item).await;
    }

    /// Routes messages until `cancel` fires or both inputs close; then drains and waits.
    pub(crate) async fn run(
        mut self,
        mut alerts: mpsc::Receiver<AlertMsg>,
        mut commands: mpsc::Receiver<CommandMsg>,
        cancel: CancellationToken,
    ) {
        let mut refresh =
            tokio::time::interval_at(Instant::now() + REFRESH_INTERVAL, REFRESH_INTERVAL);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let (mut alerts_open, mut commands_open) = (true, true);
        while alerts_open || commands_open {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                Some((channel, generation)) = self.idle_rx.recv() => self.retire(&channel, generation),
                _ = refresh.tick() => {
                    if let Err(error) = self.refresh().await {
                        tracing::error!(%error, "active channel refresh failed; retrying on the next tick");
                    }
                }
                m = alerts.recv(), if alerts_open => match m {
                    Some(m) => self.add_alert(m, &cancel).await,
                    None => alerts_open = false,
                },
                m = commands.recv(), if commands_open => match m {
                    Some(m) => self.add_command(m, &cancel).await,
                    None => commands_open = false,
                },
            }
        }
        self.shutdown(alerts, commands).await;
    }

    async fn shutdown(
        mut self,
        mut alerts: mpsc::Receiver<AlertMsg>,
        mut commands: mpsc::Receiver<CommandMsg>,
    ) {
        let deadline = Instant::now() + self.ctx.config.coordinator_drain_timeout;
        let mut nacked = 0usize;
        loop {
            if Instant::now() >= deadline {
                tracing::error!(nacked, "coordinator drain timed out");
                break;
            }
            let item = match (alerts.try_recv(), commands.try_recv()) {
                (Ok(a), Ok(c)) => {
                    nack(c.item).await;
                    nacked += 1;
                    Some(a.item)
                }
                (Ok(a), Err(_)) => Some(a.item),
                (Err(_), Ok(c)) => Some(c.item),
                (Err(_), Err(_)) => None,
            };
            match item {
                Some(item) => {
                    nack(item).await;
                    nacked += 1;
                }
                None => break,
            }
        }
        alerts.close();
        commands.close();
        tracing::debug!(nacked, "coordinator drained");
        let mut joins: Vec<JoinHandle<()>> = self.actors.drain().map(|(_, a)| a.join).collect();
        joins.extend(self.retiring.drain().map(|(_, j)| j));
        for j in joins {
            if let Err(error) = j.await {
                tracing::error!(%error, "channel actor ended abnormally");
            }
        }
        self.ctx.background.close();
        self.ctx.background.wait().await;
    }
}
