//! Slack for Slack Manager: a typed Web API client, issue post rendering, and the
//! [`SlackClient`](sm_core::SlackClient) implementation the channel managers use.
//!
//! - [`SlackApi`]: the Web API methods Slack Manager uses (`spec/slack.md` §2.2) with their wire
//!   encodings (form bodies with the token as a field; JSON with a bearer token for `views.open` and
//!   `apps.connections.open`), lookup caching with jittered TTLs, and the retry policy of §2.3.
//!   The base URL is configurable, so the client runs against `sm-slack-emulator` in tests.
//! - [`RateLimitGate`]: after a 429, calls to that method wait until `Retry-After` has passed — on
//!   every instance sharing a Redis ([`RedisGate`]) or within the process ([`InProcessGate`]).
//! - [`render_issue_post`]: the Block Kit rendering of an issue post (§3).
//! - [`SlackManagerClient`]: channel-wide reconcile with reordering and throttling, create/update and
//!   delete with the replies check (§4). It never mutates issues; it returns [`PostState`]s.
//! - The decisions of a reconcile are pure functions ([`sort_by_priority`], [`plan_deletes`],
//!   [`should_throttle`]) so they are tested as tables.
//!
//! Errors are [`SlackError`] from `sm-core` (the contract's error, re-exported here), so Slack error
//! codes reach callers verbatim; this crate defines no error type of its own.
//!
//! Dependencies: `moka` (in-process cache with per-entry TTL), `redis` (the shared gate; re-exported
//! as [`redis`]), `rustls` with the `ring` provider, installed once by [`SlackApi::new`] so a
//! constructor never panics on a missing process-wide crypto provider, `metrics` (the Go counters
//! `slack_request`, `slack_cache_hit`, `slack_api_call`, `slack_api_error`).
//!
//! Not here: Socket Mode event handling (a later part of the manager); [`SlackApi::open_socket_connection`]
//! gives the WebSocket URL.

#![warn(missing_docs)]

mod api;
mod cache;
mod client;
mod config;
mod decisions;
mod gate;
mod render;
mod types;

pub use redis;

pub use api::{NON_RETRYABLE_ERRORS, SlackApi, TRANSIENT_ERRORS};
pub use client::SlackManagerClient;
pub use config::{
    ChannelReordering, DEFAULT_BASE_URL, IssueStatusEmojis, PostSettings, SlackClientConfig,
    is_emoji_code,
};
pub use decisions::{
    DeleteReason, newer_lower_priority_post_exists, plan_deletes, post_created_or_updated,
    post_deleted, post_invalid_blocks, should_throttle, sort_by_priority,
};
pub use gate::{DEFAULT_GATE_PREFIX, InProcessGate, RateLimitGate, RedisGate};
pub use render::{
    MAX_TEXT_SECTION_BYTES, RenderMode, TEXT_CHUNK_BYTES, render_issue_post, split_text,
    status_emoji, strike_through,
};
pub use sm_core::{PostState, SlackError};
pub use types::{AuthInfo, ChannelInfo, ChannelSummary, EphemeralContent, PostMessage, UserInfo};
