//! The running emulator: the axum router, the server task, and the Rust test API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::EmulatorConfig;
use crate::error::EmulatorError;
use crate::state::{CallRecord, Channel, Ephemeral, Failure, Message, Shared};
use crate::{control, hooks, socket, web_api};

const PAGE: &str = include_str!("page.html");

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE))
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/{method}", post(web_api::api).get(web_api::api))
        .route("/socket", get(socket::socket))
        .route("/_emulator/calls", get(control::calls))
        .route("/_emulator/feed", get(control::feed))
        .route(
            "/_emulator/channels/{id}/messages",
            get(control::channel_messages),
        )
        .route("/_emulator/ephemerals", get(control::ephemerals))
        .route("/_emulator/views", get(control::views))
        .route("/_emulator/responses", get(control::responses))
        .route("/_emulator/acks", get(control::acks))
        .route(
            "/_emulator/failures",
            post(control::add_failure).delete(control::clear_failures),
        )
        .route("/_emulator/reactions", post(control::reaction))
        .route("/_emulator/clicks", post(control::click))
        .route("/_emulator/messages", post(control::post_message))
        .route("/_emulator/disconnect", post(control::disconnect))
        .route("/_emulator/response/{n}", post(control::response_sink))
        .with_state(shared)
}

/// A running emulator. Stops serving when dropped (or on [`Emulator::shutdown`]).
///
/// ```
/// # async fn dox() -> Result<(), sm_slack_emulator::EmulatorError> {
/// use sm_slack_emulator::{Emulator, EmulatorConfig};
/// let slack = Emulator::start(EmulatorConfig::default()).await?;
/// // Point a Slack client at it:
/// let base = slack.base_url(); // "http://127.0.0.1:PORT/api/"
/// assert!(base.ends_with("/api/"));
/// assert!(slack.messages("C1").is_empty());
/// # Ok(()) }
/// ```
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    cancel: CancellationToken,
}

impl Emulator {
    /// Starts an emulator on a free loopback port.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        Self::start_on(config, "127.0.0.1:0").await
    }

    /// Starts an emulator on `addr` (for example `127.0.0.1:3000`).
    pub async fn start_on(config: EmulatorConfig, addr: &str) -> Result<Emulator, EmulatorError> {
        let bind_err = |source| EmulatorError::Bind {
            addr: addr.to_owned(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        let shared = Arc::new(Shared::new(config, format!("http://{local}")));
        let cancel = CancellationToken::new();
        let app = router(shared.clone());
        let stop = cancel.clone();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                stop.cancelled().await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "emulator server failed");
            }
        });
        tracing::info!(addr = %local, "slack emulator listening");
        Ok(Emulator {
            shared,
            addr: local,
            cancel,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (the web page is at `/`).
    pub fn url(&self) -> String {
        self.shared.origin.clone()
    }

    /// The Web API base URL for clients: `http://127.0.0.1:PORT/api/`.
    pub fn base_url(&self) -> String {
        format!("{}/api/", self.shared.origin)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// A channel's top-level messages in `ts` order (empty for an unknown channel).
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        self.shared.read().top_level(channel)
    }

    /// A thread (parent first), or `None` when the parent does not exist.
    pub fn thread(&self, channel: &str, ts: &str) -> Option<Vec<Message>> {
        self.shared.read().thread(channel, ts)
    }

    /// Every channel (seeded and auto-created), by ID.
    pub fn channels(&self) -> Vec<Channel> {
        self.shared.read().channels.values().cloned().collect()
    }

    /// The Web API call log, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.read().calls.clone()
    }

    /// The calls of one method, oldest first.
    pub fn calls_to(&self, method: &str) -> Vec<CallRecord> {
        self.shared
            .read()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Ephemeral messages posted so far.
    pub fn ephemerals(&self) -> Vec<Ephemeral> {
        self.shared.read().ephemerals.clone()
    }

    /// Views opened so far (with their assigned `id`).
    pub fn views(&self) -> Vec<Value> {
        self.shared.read().views.clone()
    }

    /// Bodies posted to `response_url`s, oldest first.
    pub fn responses(&self) -> Vec<Value> {
        self.shared
            .read()
            .responses
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Makes the next call of `method` fail with `failure`.
    pub fn fail_next(&self, method: &str, failure: Failure) {
        hooks::fail(&self.shared, method, failure, 1);
    }

    /// Makes the next `times` calls of `method` fail with `failure`.
    pub fn fail_times(&self, method: &str, failure: Failure, times: usize) {
        hooks::fail(&self.shared, method, failure, times);
    }

    /// Drops all scripted failures.
    pub fn clear_failures(&self) {
        self.shared.update(|st| st.failures.clear());
    }

    /// Adds a channel (or replaces one with the same ID).
    pub fn add_channel(&self, seed: crate::ChannelSeed) {
        let bot = self.shared.config.bot_user_id.clone();
        self.shared.update(|st| {
            let mut members = Vec::new();
            if seed.bot_member {
                members.push(bot);
            }
            members.extend(seed.members);
            st.channels.insert(
                seed.id.clone(),
                Channel {
                    id: seed.id,
                    name: seed.name,
                    is_archived: seed.is_archived,
                    is_private: seed.is_private,
                    members,
                },
            );
        });
    }

    /// Archives or unarchives a channel.
    pub fn set_archived(&self, channel: &str, archived: bool) -> Result<(), EmulatorError> {
        self.shared.update(|st| {
            let c = st
                .channels
                .get_mut(channel)
                .ok_or_else(|| EmulatorError::ChannelNotFound(channel.to_owned()))?;
            c.is_archived = archived;
            Ok(())
        })
    }

    /// Reacts to a message as `user` and sends `reaction_added`; returns the envelope ID.
    pub fn add_reaction(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
        reaction: &str,
    ) -> Result<String, EmulatorError> {
        hooks::reaction(&self.shared, channel, ts, user, reaction, true)
    }

    /// Removes a reaction as `user` and sends `reaction_removed`; returns the envelope ID.
    pub fn remove_reaction(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
        reaction: &str,
    ) -> Result<String, EmulatorError> {
        hooks::reaction(&self.shared, channel, ts, user, reaction, false)
    }

    /// Clicks a message's button as `user` and sends `block_actions`; returns the envelope ID.
    pub fn click_button(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
        action_id: &str,
    ) -> Result<String, EmulatorError> {
        hooks::click_button(&self.shared, channel, ts, user, action_id)
    }

    /// Posts a message as a user (a thread reply when `thread_ts` is given); returns its `ts`.
    pub fn post_as_user(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Result<String, EmulatorError> {
        hooks::post_as_user(&self.shared, channel, user, text, thread_ts)
    }

    /// Adds `user` to a channel and sends `member_joined_channel`; returns the envelope ID.
    pub fn join_channel(&self, channel: &str, user: &str) -> Result<String, EmulatorError> {
        hooks::membership(&self.shared, channel, user, true)
    }

    /// Removes `user` from a channel and sends `member_left_channel`; returns the envelope ID.
    pub fn leave_channel(&self, channel: &str, user: &str) -> Result<String, EmulatorError> {
        hooks::membership(&self.shared, channel, user, false)
    }

    /// Sends an `events_api` envelope with this inner event; returns the envelope ID.
    pub fn send_event(&self, event: Value) -> String {
        hooks::send_event(&self.shared, event)
    }

    /// Sends an `interactive` envelope with this payload; returns the envelope ID.
    pub fn send_interactive(&self, payload: Value) -> String {
        hooks::send_interactive(&self.shared, payload)
    }

    /// Sends `disconnect` to every Socket Mode client; returns how many there were.
    pub fn disconnect_sockets(&self, reason: &str) -> usize {
        hooks::disconnect_all(&self.shared, reason)
    }

    /// Live Socket Mode connections.
    pub fn socket_connections(&self) -> usize {
        self.shared.read().sockets.len()
    }

    /// Socket Mode connections accepted since start.
    pub fn socket_connects_total(&self) -> u64 {
        self.shared.read().socket_connects
    }

    /// The ack payload (`Value::Null` when the ack had none) of an envelope, once acked.
    pub fn ack(&self, envelope_id: &str) -> Option<Value> {
        self.shared.read().acks.get(envelope_id).cloned()
    }

    /// Waits until the envelope is acked (`None` after `timeout`).
    pub async fn wait_for_ack(&self, envelope_id: &str, timeout: Duration) -> Option<Value> {
        self.wait_until(timeout, || self.ack(envelope_id)).await
    }

    /// Waits until `check` gives `Some` (re-checked on every state change), or `None` after `timeout`.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = check() {
                return Some(v);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return check();
            }
        }
    }

    /// Stops serving (also done on drop).
    pub fn shutdown(&self) {
        self.cancel.cancel();
        hooks::disconnect_all(&self.shared, "shutdown");
    }

    /// Waits until the emulator is shut down (for the binary).
    pub async fn stopped(&self) {
        self.cancel.cancelled().await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
