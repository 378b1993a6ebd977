//! The Slack Manager runtime: alerts and commands from the queues become one live Slack post per
//! issue.
//!
//! [`Manager::run`] starts one consumer per queue (alerts, commands), a coordinator that routes each
//! decoded message by Slack channel, and one actor per channel (a tokio task with a bounded inbox)
//! that processes its channel's messages strictly in order while holding the channel lock, runs
//! the channel's periodic pass (escalation, mute expiry, archiving, reordering and throttling via
//! [`sm_core::SlackClient::update`]) and coalesces Slack updates during alert storms. Idle actors
//! are retired and re-created on demand.
//!
//! - Configuration: [`ManagerConfig`] (start-up) and [`ManagerSettings`] (hot-reloadable with
//!   [`Manager::update_settings`]), with every Go default and validation rule ([`ConfigError`]).
//! - Issue lifecycle: [`lifecycle`], pure functions with `now` passed in.
//! - Hosts keep the Slack client's own post settings in step with
//!   [`Manager::with_settings_observer`]; interactive handlers look issues up with
//!   [`Manager::find_issue_by_slack_post`].
//!
//! Invariants:
//! - A queue item is acked only after its effects are saved in the store. A Slack change that
//!   could not be made stays recorded on the issue (`slackPostNeedsUpdate`) and the periodic pass
//!   retries it.
//! - Per channel, one instance acts at a time (channel lock); every issue write carries the
//!   version it was loaded with, so a stale instance's write is refused and its item nacked.
//!
//! Deliberate differences from Go v0.3.0 (each documented where it lives): undecodable queue items
//! are acked and counted instead of looping; default correlation IDs are computed before the
//! move-mapping lookup; a store error in the 30 s channel refresh is logged, not fatal; Slack
//! failures in command handlers no longer lose the state change; shutdown always drains; the
//! built-in HTTP webhook handler is always registered last; muted issues are not escalated and
//! mutes may expire (`muteExpirySeconds`); flapping issues are marked; storms are coalesced.
//!
//! Metrics (through the `metrics` facade): `processed_alerts_total{channel}`,
//! `manager_alerts_dropped_total{reason}`, `manager_dead_lettered_total{queue}`,
//! `manager_alerts_coalesced_total`, `manager_slack_updates_total{kind}`,
//! `manager_version_conflicts_total`, `manager_flapping_issues_total`, `manager_channel_actors`.
//!
//! Dependencies beyond sm-core: `sm-webhooks` (the HTTP handler and Go-compatible payload
//! decryption), `metrics` (facade), `rand` (KSUIDs of created issues), `regex` (mentions).

#![warn(missing_docs)]

mod channel;
mod commands;
mod config;
mod consumer;
mod context;
mod coordinator;
mod error;
mod ksuid;
pub mod lifecycle;
mod manager;
mod periodic;
mod settings;

pub use config::{
    DEFAULT_CHANNEL_MANAGER_DRAIN_TIMEOUT, DEFAULT_COORDINATOR_DRAIN_TIMEOUT,
    DEFAULT_SOCKET_MODE_DRAIN_TIMEOUT, DEFAULT_SOCKET_MODE_MAX_WORKERS, ENCRYPTION_KEY_LENGTH,
    MAX_DRAIN_TIMEOUT, MAX_SOCKET_MODE_MAX_WORKERS, MIN_DRAIN_TIMEOUT, MIN_SOCKET_MODE_MAX_WORKERS,
    ManagerConfig, SlackClientConfig,
};
pub use error::{ConfigError, ManagerError};
pub use lifecycle::{EscalationResult, FlapTracker};
pub use manager::{Manager, SettingsObserver};
pub use settings::{
    AlertChannelSettings, DEFAULT_APP_FRIENDLY_NAME, DEFAULT_ARCHIVING_DELAY_SECONDS,
    DEFAULT_FLAP_THRESHOLD, DEFAULT_FLAP_WINDOW_SECONDS, DEFAULT_ISSUE_PROCESSING_INTERVAL_SECONDS,
    DEFAULT_ISSUE_REORDERING_LIMIT, DEFAULT_MAX_THROTTLE_DURATION_SECONDS,
    DEFAULT_MIN_ISSUE_COUNT_FOR_THROTTLE, DEFAULT_POST_ICON_EMOJI,
    DEFAULT_STORM_COALESCING_WINDOW_MILLIS, InfoChannelSettings, IssueReaction, IssueReactions,
    IssueStatus, ManagerSettings, is_valid_icon_emoji,
};
