//! Issue stores for Slack Manager: one contract ([`sm_core::Store`], the Go `DB`), three backends,
//! and the DB cache middleware.
//!
//! - [`MemoryStore`]: in-process maps with indexes; always available. For tests, single-process
//!   setups and as a baseline in benchmarks. Nothing survives the process.
//! - [`SqliteStore`] (feature `sqlite`, on by default): an embedded database in a file or in memory.
//! - [`PostgresStore`] (feature `postgres`, on by default): a shared database, one schema per store
//!   instance (see [`PostgresStoreOptions::with_schema`]).
//! - [`CachedStore`]: the manager's DB cache (issue-hash skip, negative move-mapping cache,
//!   processing-state cache) over any store.
//!
//! Every backend passes one conformance suite (`tests/it/conformance.rs`) that checks the contract
//! written on each [`sm_core::Store`] method, including optimistic concurrency (issue versions) and
//! nanosecond timestamps.
//!
//! # Storage layout (SQL backends)
//! Issues are stored as their JSON body (the Go field names, so Go tools can read them; the
//! `version` key is left out because the `version` column is authoritative) plus indexed columns
//! `id`, `channel_id`, `correlation_id`, `post_id`, `archived`, `version`. Timestamps live only inside
//! the JSON text, in Go's RFC 3339 nano form, so they round-trip at nanosecond precision; no column
//! truncates them. Alerts, move mappings and processing states are stored the same way (JSON body +
//! key columns). Schemas are created by embedded migrations (`migrations/sqlite`,
//! `migrations/postgres`) run by [`sm_core::Store::init`].
//!
//! # Alert history
//! [`sm_core::Store::save_alert`] appends to the issue's history; [`AlertRetention`] bounds it by count
//! per issue and by age.
//!
//! # Errors
//! All operations return [`sm_core::StoreError`], the store contract's error type, so callers handle
//! one type whatever the backend; constructors use the same type (`InvalidArgument` for bad options,
//! `Backend` for connection failures). This crate therefore defines no error enum of its own.
//!
//! # Dependencies
//! - `sqlx` (optional, features `sqlite`/`postgres`): async drivers for both databases with embedded
//!   migrations; queries use runtime-bound parameters, so no database is needed at build time.
//! - `moka`: the bounded, TTL-expiring concurrent cache behind [`CachedStore`].
//! - `sha2`: the issue-body hashes of [`CachedStore`].

#![warn(missing_docs)]

mod args;
mod cache;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod retention;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use cache::{CacheOptions, CachedStore, DEFAULT_CACHE_KEY_PREFIX};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_POSTGRES_SCHEMA, PostgresStore, PostgresStoreOptions};
pub use retention::{AlertRetention, DEFAULT_MAX_ALERT_AGE, DEFAULT_MAX_ALERTS_PER_ISSUE};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, SqliteStoreOptions};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;
