//! Redis-backed channel locks for Slack Manager.
//!
//! [`RedisChannelLocker`] implements [`sm_core::ChannelLocker`]; its locks, [`RedisChannelLock`],
//! implement [`sm_core::ChannelLock`]. A manager instance holds a channel's lock while it acts on
//! the channel, so several instances never act on one channel at once.
//!
//! # Compatibility with the Go implementation
//!
//! The lock key is `prefix + key` (default prefix `"slack-manager:channel-lock:"`) holding a
//! random owner token (16 CSPRNG bytes, base64url, 22 characters), set with `SET NX PX` and
//! deleted by compare-and-delete — the layout of Go's `bsm/redislock`. Go and Rust instances sharing
//! one Redis therefore exclude each other. What Go instances do not do: bump the fencing counter
//! and publish releases (Rust waiters then fall back to their backoff ticks).
//!
//! # Beyond the Go version
//!
//! ## Fencing tokens
//!
//! A lock with a TTL can be lost without its holder noticing: a holder paused longer than the TTL
//! (GC, swap, a stalled network) keeps working while the next owner runs. Every successful obtain
//! therefore carries a *fencing token* ([`RedisChannelLock::fencing_token`], also
//! [`sm_core::ChannelLock::fencing_token`]): the obtain script increments a per-lock counter in the
//! same call as the `SET NX`, so tokens of one key strictly increase across holders and processes.
//! A missing counter starts at the Redis server time in microseconds (tokens are therefore large
//! numbers), so tokens keep increasing even when the counter key is evicted or deleted, as long as
//! the server clock does not go back. Like the lock itself, tokens assume Redis does not lose
//! acknowledged writes: after a failover to a replica that missed the last increments, a token may
//! repeat.
//!
//! A store uses it like this: the holder passes the token along with every write it makes for the
//! channel; **the store persists the highest token seen per channel and refuses writes with a lower
//! one** (for example `UPDATE channel_state SET ..., fence = $token WHERE channel_id = $id AND fence
//! <= $token`, and treat "0 rows" as "stale holder, stop"). A stale holder's write then fails even
//! though it still believes it holds the lock, because the new owner's first write has raised the
//! stored token. Checking and writing must be one atomic step in the store (one conditional
//! statement or one transaction); comparing in the application first and writing afterwards
//! reopens the race.
//!
//! ## Extend and keep-alive
//!
//! [`RedisChannelLock::extend`] moves the expiry and succeeds only for the current owner (else
//! [`sm_core::LockError::NotOwned`]). [`RedisChannelLock::start_keep_alive`] (or
//! [`RedisChannelLocker::with_keep_alive`] for every lock of a locker) extends in the background
//! every third of the TTL and stops on release, on drop, or when the lock turns out to be lost.
//!
//! ## Retries and wake-ups
//!
//! The retry plan is Go's: with `max_wait` zero or shorter than the backoff (default 2 s) one
//! attempt, else an attempt at every backoff tick up to `floor(max_wait / backoff)` ticks, and the
//! whole wait bounded by the TTL (Go's implicit deadline; where Go then returns a deadline error,
//! this crate returns [`sm_core::LockError::Unavailable`], so callers can tell contention from Redis
//! trouble). In addition, a waiting obtain retries at once
//! - when the holder releases: the release script publishes on `<lock key>:released`, and a locker
//!   built [`with_client`](RedisChannelLocker::with_client) listens there (one dedicated Pub/Sub
//!   connection, subscribed only to the locks this process waits for) and wakes one local waiter;
//! - when the holder's TTL runs out: a failed attempt reports the remaining TTL.
//!
//! A wake-up is only a hint; every attempt is a fresh `SET NX`, so lost or spurious messages cost
//! latency, never safety. Hand-over therefore takes a few round trips instead of up to one backoff.
//!
//! ## Release
//!
//! Release is idempotent, never deletes another owner's lock, and runs in its own task with a 2 s
//! timeout ([`RELEASE_TIMEOUT`]), so it completes even if the caller's future is dropped right after
//! the call. Dropping a still-held [`RedisChannelLock`] releases it in the background.
//!
//! # Redis Cluster
//!
//! The obtain script touches two keys, the lock key and its fencing counter; both are always in
//! one hash slot. For default keys the counter is `{<lock key>}:fence` (its hash tag is the whole
//! lock key, so it hashes exactly like the lock key); a lock key that already has a hash tag gets
//! `<lock key>:fence`; see [`LockKeys`]. The lock key itself stays exactly `prefix + key`. Release
//! and extend touch only the lock key. Release messages use plain `PUBLISH`, which a cluster
//! forwards to every node, so the Pub/Sub client may point at any node.
//!
//! # Redis calls
//!
//! One `EVALSHA` per obtain attempt, one per release, one per extend (the scripts in `lua/` are
//! hashed once and loaded on `NOSCRIPT`). A waiting obtain adds one `SUBSCRIBE`/`UNSUBSCRIBE` pair
//! on the dedicated connection per lock and process while it waits.
//!
//! # Dependencies
//!
//! `redis` (client, scripts, Pub/Sub), `tokio` and `tokio-util` (tasks, timers, cancellation),
//! `rand` (owner tokens from the thread-local CSPRNG), `base64` (token encoding as in Go),
//! `futures` (reading the Pub/Sub stream), `async-trait` (the sm-core traits), `tracing` (logs).

#![warn(missing_docs)]

mod backend;
mod keys;
mod lock;
mod locker;
mod notify;

pub use keys::LockKeys;
pub use lock::{RELEASE_TIMEOUT, RedisChannelLock};
pub use locker::{DEFAULT_KEY_PREFIX, DEFAULT_RETRY_BACKOFF, RedisChannelLocker};
pub use redis;
pub use sm_core::{ChannelLock, ChannelLocker, LockError};
