//! A Slack workspace on loopback: the Web API, Socket Mode, test hooks and a live web page.
//!
//! The emulator implements the parts of Slack that Slack Manager uses, from the protocol description
//! (`spec/slack.md` §7) rather than from the client's code, so that tests of the client catch its
//! mistakes: wrong encodings, missing tokens, invalid blocks, out-of-order `ts` assumptions.
//!
//! - Web API under `/api/<method>`: form (`application/x-www-form-urlencoded`) or JSON bodies, token
//!   as form field `token` or `Authorization: Bearer`, answers `{"ok":true,…}` or
//!   `{"ok":false,"error":"<code>"}`; HTTP 429 with `Retry-After` and other statuses when scripted.
//!   Methods: `auth.test`, `apps.connections.open`, `chat.postMessage`, `chat.update`, `chat.delete`,
//!   `chat.postEphemeral`, `conversations.info`, `conversations.members`, `conversations.replies`,
//!   `conversations.history`, `conversations.list`, `users.info`, `usergroups.users.list`,
//!   `users.conversations`, `views.open`.
//! - Channels, users and user groups come from an [`EmulatorConfig`] (TOML); a channel referenced for
//!   the first time is created with the bot as member, unless strict mode answers `channel_not_found`.
//! - Socket Mode over WebSocket (`hello`, `events_api`, `interactive`, `disconnect`, acks).
//! - Test hooks: the Rust API on [`Emulator`] and an HTTP control API under `/_emulator/`:
//!
//! | Request | Effect |
//! |---|---|
//! | `GET /_emulator/calls` | the call log |
//! | `GET /_emulator/feed?since=<version>` | every channel with its messages; waits (≤ 20 s) until the version exceeds `since` |
//! | `GET /_emulator/channels/<id>/messages` | a channel's top-level messages in `ts` order |
//! | `GET /_emulator/ephemerals`, `/views`, `/responses`, `/acks` | what the client sent there |
//! | `POST /_emulator/failures` `{"method","failure":{"kind":"error","code":…}\|{"kind":"rate_limited","retry_after_secs":n}\|{"kind":"http","status":500},"times":1}` | script failures |
//! | `DELETE /_emulator/failures` | drop scripted failures |
//! | `POST /_emulator/reactions` `{"channel","ts","user","reaction","removed":false}` | react as a user (sends the event) |
//! | `POST /_emulator/clicks` `{"channel","ts","user","action_id"}` | click a button (sends `block_actions`) |
//! | `POST /_emulator/messages` `{"channel","user","text","thread_ts"}` | post as a user |
//! | `POST /_emulator/disconnect` `{"reason"}` | disconnect Socket Mode clients |
//! | `POST /_emulator/response/<n>` | the `response_url` sink handed out in interactions |
//!
//! - `GET /` is a read-only page showing each channel's messages rendered from their blocks, updated
//!   live by polling `/_emulator/feed` once a second (short polls, so headless browsers can render it).
//! - The binary `sm-slack-emulator --addr 127.0.0.1:3000 --config slack.toml [--strict]` runs it
//!   until Ctrl-C.
//!
//! A test starts one per test and points the client at [`Emulator::base_url`]:
//!
//! ```
//! # async fn dox() -> Result<(), Box<dyn std::error::Error>> {
//! use sm_slack_emulator::{ChannelSeed, Emulator, EmulatorConfig, Failure};
//! let slack = Emulator::start(EmulatorConfig::default().with_channel(ChannelSeed::new("C1", "alerts"))).await?;
//! slack.fail_next("chat.postMessage", Failure::rate_limited(1));
//! // ... run the code under test against slack.base_url() with token slack.config().bot_token ...
//! assert!(slack.calls_to("chat.postMessage").is_empty());
//! # Ok(()) }
//! ```
//!
//! Invariant: this crate does not depend on `sm-slack` (nor on `sm-core`); it knows Slack, not the
//! client.
//!
//! Dependencies beyond the workspace's usual ones: `toml` (0.8) reads the seed file.

#![warn(missing_docs)]

mod blocks;
mod config;
mod control;
mod error;
mod hooks;
mod server;
mod socket;
mod state;
mod web_api;

pub use config::{ChannelSeed, EmulatorConfig, UserGroupSeed, UserSeed};
pub use error::EmulatorError;
pub use server::Emulator;
pub use state::{CallRecord, Channel, Ephemeral, Failure, Message, Reaction};
