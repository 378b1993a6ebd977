//! The emulated workspace: channels, users, groups, messages, the call log and scripted failures.
//!
//! Everything lives behind one mutex in [`Shared`]; no lock is held across an `.await`. Every change
//! bumps a version counter and wakes waiters, which the live web page and the ack waiters use.
//!
//! Invariant: message `ts` values are unique across the workspace and strictly increasing in creation
//! order, with a fixed-width integer part, so comparing them as strings orders them by time (the
//! manager relies on that for reordering).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use crate::config::EmulatorConfig;

/// A channel of the emulated workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// Channel ID.
    pub id: String,
    /// Name without `#`.
    pub name: String,
    /// Archived.
    pub is_archived: bool,
    /// Private.
    pub is_private: bool,
    /// Member user IDs (the bot included when it is a member).
    pub members: Vec<String>,
}

/// A reaction on a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    /// Emoji name without colons.
    pub name: String,
    /// Users who reacted.
    pub users: Vec<String>,
}

/// A message as stored (and as served by `conversations.history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Message timestamp (its ID in the channel).
    pub ts: String,
    /// Posting user (the bot's user ID for bot posts).
    pub user: String,
    /// Fallback / notification text.
    pub text: String,
    /// Block Kit blocks (`[]` when none).
    pub blocks: Value,
    /// Attachments, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Value>,
    /// Username override.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub username: String,
    /// Icon emoji override.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub icon_emoji: String,
    /// Icon URL override.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub icon_url: String,
    /// Parent ts for thread replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    /// Number of thread replies (on parents).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub reply_count: u32,
    /// Reactions.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub reactions: Vec<Reaction>,
    /// How many times `chat.update` changed the message.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub edit_count: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An ephemeral message (visible to one user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ephemeral {
    /// Channel ID.
    pub channel: String,
    /// The user who sees it.
    pub user: String,
    /// `message_ts` answered.
    pub message_ts: String,
    /// Text, if any.
    pub text: String,
    /// Blocks, if any.
    pub blocks: Option<Value>,
    /// Attachments, if any.
    pub attachments: Option<Value>,
}

/// One recorded Web API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Sequence number (from 1).
    pub seq: u64,
    /// Web API method (`chat.postMessage`).
    pub method: String,
    /// Parameters: form fields as strings, or the JSON body, merged with query parameters.
    pub params: serde_json::Map<String, Value>,
    /// `application/json` or `application/x-www-form-urlencoded` (or whatever was sent).
    pub content_type: String,
    /// Where the token came from: `form`, `bearer`, or `none`.
    pub token_source: String,
    /// HTTP status answered.
    pub status: u16,
    /// Slack error code answered, if the call failed with one.
    pub error: Option<String>,
}

impl CallRecord {
    /// A parameter as a string (`None` when absent).
    pub fn param(&self, key: &str) -> Option<String> {
        param_str(&self.params, key)
    }
}

/// A scripted failure for the next call of a method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// HTTP 200 with `{"ok":false,"error":code}`.
    Error {
        /// Slack error code.
        code: String,
    },
    /// HTTP 429 with `Retry-After: retry_after_secs` (no header when `None`).
    RateLimited {
        /// Seconds for the `Retry-After` header.
        retry_after_secs: Option<u64>,
    },
    /// An HTTP error status with a plain-text body (for example 500).
    Http {
        /// HTTP status.
        status: u16,
    },
}

impl Failure {
    /// `{"ok":false,"error":code}`.
    pub fn error(code: impl Into<String>) -> Self {
        Failure::Error { code: code.into() }
    }

    /// HTTP 429 with a `Retry-After` header.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Failure::RateLimited {
            retry_after_secs: Some(retry_after_secs),
        }
    }

    /// An HTTP status (500, 503, …).
    pub fn http(status: u16) -> Self {
        Failure::Http { status }
    }
}

/// A Socket Mode connection's outbox.
pub(crate) struct SocketConn {
    pub(crate) id: u64,
    pub(crate) tx: mpsc::UnboundedSender<SocketOut>,
}

/// What the server sends on a Socket Mode connection.
#[derive(Debug, Clone)]
pub(crate) enum SocketOut {
    /// A JSON text frame.
    Frame(String),
    /// Send a `disconnect` frame with this reason and close.
    Disconnect(String),
}

/// The mutable workspace.
pub(crate) struct State {
    pub(crate) channels: BTreeMap<String, Channel>,
    pub(crate) users: BTreeMap<String, Value>,
    pub(crate) groups: BTreeMap<String, Vec<String>>,
    pub(crate) messages: HashMap<String, Vec<Message>>,
    pub(crate) ephemerals: Vec<Ephemeral>,
    pub(crate) views: Vec<Value>,
    pub(crate) responses: Vec<(u64, Value)>,
    pub(crate) calls: Vec<CallRecord>,
    pub(crate) failures: HashMap<String, VecDeque<Failure>>,
    pub(crate) last_ts_micros: u64,
    pub(crate) counter: u64,
    pub(crate) sockets: Vec<SocketConn>,
    pub(crate) socket_connects: u64,
    pub(crate) pending_envelopes: VecDeque<String>,
    pub(crate) acks: HashMap<String, Value>,
}

/// State shared by the server tasks and the handle.
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub(crate) origin: String,
    state: Mutex<State>,
    version: AtomicU64,
    pub(crate) changed: Notify,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig, origin: String) -> Self {
        let mut users = BTreeMap::new();
        users.insert(
            config.bot_user_id.clone(),
            serde_json::json!({
                "id": config.bot_user_id, "name": config.bot_name, "real_name": config.bot_name,
                "is_bot": true, "is_app_user": false, "deleted": false,
                "team_id": config.team_id,
                "profile": {"real_name": config.bot_name, "display_name": config.bot_name},
            }),
        );
        for u in &config.users {
            users.insert(
                u.id.clone(),
                serde_json::json!({
                    "id": u.id, "name": u.name, "real_name": u.real_name,
                    "is_bot": u.is_bot, "is_app_user": false, "deleted": false,
                    "team_id": config.team_id, "tz": "Europe/Oslo", "locale": "en-US",
                    "profile": {"real_name": u.real_name, "display_name": u.name},
                }),
            );
        }
        let mut channels = BTreeMap::new();
        for c in &config.channels {
            let mut members = Vec::new();
            if c.bot_member {
                members.push(config.bot_user_id.clone());
            }
            members.extend(c.members.iter().cloned());
            channels.insert(
                c.id.clone(),
                Channel {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    is_archived: c.is_archived,
                    is_private: c.is_private,
                    members,
                },
            );
        }
        let groups = config
            .usergroups
            .iter()
            .map(|g| (g.id.clone(), g.users.clone()))
            .collect();
        Shared {
            origin,
            state: Mutex::new(State {
                channels,
                users,
                groups,
                messages: HashMap::new(),
                ephemerals: Vec::new(),
                views: Vec::new(),
                responses: Vec::new(),
                calls: Vec::new(),
                failures: HashMap::new(),
                last_ts_micros: 0,
                counter: 0,
                sockets: Vec::new(),
                socket_connects: 0,
                pending_envelopes: VecDeque::new(),
                acks: HashMap::new(),
            }),
            config,
            version: AtomicU64::new(1),
            changed: Notify::new(),
        }
    }

    /// Locks the state for reading (no change notification).
    pub(crate) fn read(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the plain data inconsistent in a way that
        // matters to a test server, so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a change under the lock, then bumps the version and wakes waiters.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = {
            let mut st = self.read();
            f(&mut st)
        };
        self.version.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        r
    }

    /// The change counter (increases on every change).
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }
}

impl State {
    /// A fresh, strictly increasing `ts` (`<10-digit seconds>.<6-digit micros>`).
    pub(crate) fn next_ts(&mut self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let micros = now.max(self.last_ts_micros + 1);
        self.last_ts_micros = micros;
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }

    /// A fresh number for IDs (envelopes, views, response URLs).
    pub(crate) fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// The channel, created on first reference unless `strict` (then `channel_not_found`).
    pub(crate) fn channel_mut(
        &mut self,
        id: &str,
        strict: bool,
        bot: &str,
    ) -> Result<&mut Channel, &'static str> {
        if id.is_empty() {
            return Err("channel_not_found");
        }
        if !self.channels.contains_key(id) {
            if strict {
                return Err("channel_not_found");
            }
            tracing::info!(
                channel = id,
                "emulator: creating channel on first reference"
            );
            self.channels.insert(
                id.to_owned(),
                Channel {
                    id: id.to_owned(),
                    name: id.to_lowercase(),
                    is_archived: false,
                    is_private: false,
                    members: vec![bot.to_owned()],
                },
            );
        }
        self.channels.get_mut(id).ok_or("channel_not_found")
    }

    /// Top-level messages of a channel in `ts` order.
    pub(crate) fn top_level(&self, channel: &str) -> Vec<Message> {
        self.messages
            .get(channel)
            .map(|v| {
                v.iter()
                    .filter(|m| m.thread_ts.as_deref().is_none_or(|t| t == m.ts))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A thread: the parent followed by its replies, in `ts` order.
    pub(crate) fn thread(&self, channel: &str, ts: &str) -> Option<Vec<Message>> {
        let msgs = self.messages.get(channel)?;
        let parent = msgs.iter().find(|m| m.ts == ts)?;
        let mut out = vec![parent.clone()];
        out.extend(
            msgs.iter()
                .filter(|m| m.thread_ts.as_deref() == Some(ts) && m.ts != ts)
                .cloned(),
        );
        Some(out)
    }

    /// Stores a message (and counts a reply on its parent).
    pub(crate) fn store_message(&mut self, channel: &str, msg: Message) {
        let list = self.messages.entry(channel.to_owned()).or_default();
        if let Some(parent_ts) = msg.thread_ts.clone() {
            if let Some(parent) = list.iter_mut().find(|m| m.ts == parent_ts) {
                parent.reply_count += 1;
            }
        }
        list.push(msg);
    }

    /// Queues or sends an envelope to a Socket Mode connection (the first live one).
    pub(crate) fn deliver_envelope(&mut self, frame: String) {
        while let Some(conn) = self.sockets.first() {
            if conn.tx.send(SocketOut::Frame(frame.clone())).is_ok() {
                return;
            }
            self.sockets.remove(0);
        }
        self.pending_envelopes.push_back(frame);
    }
}

/// A parameter as a string: strings as is, numbers and booleans in their JSON form.
pub(crate) fn param_str(params: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A parameter holding JSON: a string is parsed, anything else is taken as is.
pub(crate) fn param_json(
    params: &serde_json::Map<String, Value>,
    key: &str,
) -> Option<Result<Value, ()>> {
    match params.get(key)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(serde_json::from_str(s).map_err(|_| ())),
        Value::Null => None,
        other => Some(Ok(other.clone())),
    }
}
