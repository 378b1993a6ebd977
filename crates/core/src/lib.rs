//! Contracts and data models of Slack Manager.
//!
//! This crate is the bottom of the workspace: every backend crate implements a trait defined here,
//! and every model that crosses a process boundary (queue bodies, store records, webhook callbacks)
//! is defined here with exactly the JSON field names of the Go implementation, so that Go and Rust
//! producers and consumers can share one queue and one database.
//!
//! - Queue contracts: [`FifoQueueProducer`], [`FifoQueue`], [`FifoQueueItem`], [`Acknowledger`],
//!   and an in-memory implementation, [`InMemoryFifoQueue`].
//! - Lock contracts: [`ChannelLocker`], [`ChannelLock`], [`NoopChannelLocker`].
//! - Webhook contract: [`WebhookHandler`], [`WebhookCallback`].
//! - Slack contract: [`SlackClient`] (implemented by `sm-slack`), returning [`PostState`]s.
//! - Store contract: [`Store`] (the Go `DB`), with optimistic concurrency on issues.
//! - Models: [`Alert`] (with [`Alert::clean`] and [`Alert::validate`]), [`Severity`], [`Issue`],
//!   [`Command`], [`MoveMapping`], [`ChannelProcessingState`].
//!
//! Invariant: this crate does no network I/O and depends on no network or database crate; CI checks
//! that edge with `cargo tree`.

#![warn(missing_docs)]

mod alert;
mod command;
mod error;
mod gotime;
mod hash;
mod issue;
mod lock;
mod memory_queue;
mod move_mapping;
mod processing_state;
mod queue;
mod severity;
mod slack;
mod store;
mod webhook;
mod wire_enum;

pub use alert::{
    Alert, Escalation, Field, ValidationError, Webhook, WebhookAccessLevel, WebhookButtonStyle,
    WebhookCheckboxInput, WebhookCheckboxOption, WebhookDisplayMode, WebhookPlainTextInput,
    is_valid_channel_id, limits,
};
pub use command::{Command, CommandAction, WebhookParameters};
pub use error::BoxError;
pub use gotime::{format_go_time, go_duration, go_time, is_zero_time, parse_go_time, zero_time};
pub use hash::{concat_hash, separated_hash};
pub use issue::{INVALID_CHANNEL_POST_ID, Issue, IssueAlert, MoveReason, SlackAction};
pub use lock::{ChannelLock, ChannelLocker, LockError, NoopChannelLock, NoopChannelLocker};
pub use memory_queue::{DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_CHANNEL_BACKLOG, InMemoryFifoQueue};
pub use move_mapping::MoveMapping;
pub use processing_state::ChannelProcessingState;
pub use queue::{
    Acknowledger, FifoQueue, FifoQueueItem, FifoQueueProducer, QueueError, check_send_args,
};
pub use severity::{Severity, UnknownSeverity};
pub use slack::{PostState, SlackClient, SlackError};
pub use store::{Store, StoreError, StoredAlert};
pub use webhook::{WebhookCallback, WebhookError, WebhookHandler};
