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
//!
//! Invariant: this crate does no network I/O and depends on no network or database crate; CI checks
//! that edge with `cargo tree`.

#![warn(missing_docs)]

mod error;
mod gotime;
mod hash;
mod lock;
mod queue;
mod severity;
mod webhook;

pub use error::BoxError;
pub use gotime::{format_go_time, go_duration, go_time, is_zero_time, parse_go_time, zero_time};
pub use hash::{concat_hash, separated_hash};
pub use lock::{ChannelLock, ChannelLocker, LockError, NoopChannelLock, NoopChannelLocker};
pub use queue::{
    Acknowledger, FifoQueue, FifoQueueItem, FifoQueueProducer, QueueError, check_send_args,
};
pub use severity::{Severity, UnknownSeverity};
pub use webhook::{WebhookCallback, WebhookError, WebhookHandler};
