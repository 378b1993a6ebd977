//! Per-channel strict FIFO queue on Redis Streams for Slack Manager.
//!
//! [`RedisFifoQueueProducer`] only sends (for the API service); [`RedisFifoQueue`] sends and
//! receives (for the manager). Both implement the `sm-core` queue contracts and share the Go
//! queue's Redis key layout and stream entry fields (`channel_id`, `body`), so Go and Rust
//! producers and consumers can share one queue (see "Go interoperability" below).
//!
//! # Delivery model
//!
//! Each Slack channel has one stream (`<prefix>:<name>:stream:<channel>`). Per channel, exactly one
//! message is in flight at a time, across all consumers: the next message of a channel is handed
//! out only after the previous one was acked. A nack (or dropping the item) makes the *same*
//! message the next one of its channel, after the optional redelivery delay.
//!
//! All state changes are Lua scripts, each one atomic and each touching one shard's keys only.
//! A shard keeps a *schedule* (a sorted set: channel with work → the time from which it may be
//! claimed, which is when it became ready, or its lease deadline while a message is in flight) and
//! one *state* per channel (fencing token, the entry in flight or to deliver again, its failed
//! deliveries, the holder):
//!
//! - **send**: appends the entry (refusing it with [`QueueError::Full`] when the channel's backlog
//!   of unacknowledged entries reached `max_stream_length` — nothing is ever trimmed unacked),
//!   checks and records the dedup ID, updates the Go index and activity keys, schedules the
//!   channel if it was not and then publishes a wake-up.
//! - **claim**: takes the due channels in schedule order (round robin: a channel goes to the back
//!   when its message is acked), hands each one's next entry out with a new fencing token and a
//!   lease: the entry to deliver again first (a nacked or crashed delivery), else the next unread
//!   one. Up to 16 channels per call. Entries without a body, and entries whose failed deliveries
//!   exceed `max_deliveries`, go to the dead-letter stream and the channel continues. A channel
//!   whose lease ran out is due again: its message is delivered again, first.
//! - **ack**: checks the fencing, deletes the entry (so the stream only ever holds the backlog)
//!   and, if the channel has more entries, either takes the next one for the same consumer at once
//!   (when no other channel is due, so a single busy channel flows at one round trip per
//!   message) or puts the channel at the back of the schedule.
//! - **nack**: checks the fencing, counts the failure and makes the channel due again at
//!   now + redelivery delay; the entry stays the channel's next one.
//!
//! A delivered message costs at most three Redis commands (send, claim, ack), and far fewer
//! under load: sends and acks are *naturally batched* per shard (while one script call is in
//! flight, further requests queue up and go out together in the next call, up to 64; at low load
//! each goes out at once, from the caller's task), claims take up to 16 channels per call, and an
//! ack that chains hands out the channel's next message in the same call. Inside the scripts a
//! message costs about six Redis calls under load (the states and the schedule of all channels of
//! one call are read and written with one call each; entries are read with `NOACK`, since the
//! channel state, not the group's pending list, tracks the entry in flight). Idle consumers wait
//! on a Pub/Sub notification (a dedicated connection, given with [`RedisFifoQueue::with_client`])
//! and otherwise only run one claim per poll interval, whatever the number of streams.
//!
//! The batching tasks run on the Tokio runtime of the first call; use a producer or queue from
//! one runtime (a call after that runtime shut down fails with [`QueueError::Closed`]).
//!
//! # Channel ownership, leases and the `locker` parameter
//!
//! Ownership of an in-flight channel is kept inside the scripts (field `<channel>` of the hash
//! `<base>:state`: fencing token, entry ID, failed deliveries, holder; the lease deadline is the
//! channel's score in the schedule), because it must be taken atomically with the read: a
//! separate lock would cost two more commands per message and leave a window between lock and
//! read. One heartbeat task per `receive` call extends the leases of all its in-flight messages
//! every third of the lease (one script call per shard), so slow processing never lets a second
//! consumer in; if a consumer dies, its leases expire and its messages are delivered again,
//! first. A holder proves ownership with the exact state it was handed (which includes the
//! fencing token), so a holder whose lease was lost gets [`QueueError::LeaseLost`] and can never
//! ack a message another consumer owns now. The lease length is
//! [`RedisFifoQueueOptions::with_lease_ttl`] (default: the lock TTL).
//!
//! The `locker` given to [`RedisFifoQueue::new`] is honoured as in Go when
//! [`RedisFifoQueueOptions::with_channel_locker`] is on: the lock `<prefix>:<name>:lock:<channel>`
//! is then also held (and extended) while a message is in flight, so Go consumers sharing the
//! queue never process a channel at the same moment as this one. It is off by default because the
//! scripts already guarantee one message in flight per channel among Rust consumers.
//!
//! # Go interoperability
//!
//! With the default [`KeyLayout::Go`], entries written by a Go producer (`XADD`, `SADD` index,
//! `ZADD` activity) are found by the fallback scan ([`RedisFifoQueue::scan_streams`], run every
//! stream refresh interval by one consumer of the fleet and at start-up), which schedules
//! channels with unread entries. Entries written here have exactly the Go keys and fields, so a Go
//! consumer reads them. Go and Rust *consumers* should not run on one queue at the same time:
//! Go's reads are not fenced by the scripts' ownership, so even with the channel-locker option a
//! mixed fleet keeps Go's ordering weaknesses (W4, W19); switch consumers over at once (producers
//! can be mixed freely).
//!
//! Switching from Go consumers to these: entries a Go consumer left pending in the group are
//! delivered first, oldest first, and entries it acknowledged but never deleted are trimmed when
//! the channel runs dry. Switching back to Go consumers: stop these consumers first and let them
//! finish; a message they gave back or were holding is not in the group's pending list (they
//! read with `NOACK`), so only a consumer of this crate delivers it again.
//!
//! # Redis Cluster
//!
//! [`KeyLayout::Cluster`] spreads channels over N hash tags (`<prefix>:{<name>:<n>}:...`); every
//! script touches keys of one tag only. Wake-ups use Pub/Sub, which reaches every node.
//!
//! # Weaknesses of the Go design and what this crate does (`queue.md` §12)
//!
//! - W1, W2, W14 (cost): schedule set + claim script + batching; at most 3 commands per message
//!   (well under one under load); idle cost independent of the number of streams.
//! - W3, W10 (latency): Pub/Sub wake-ups from any process, new channels included; an ack chains
//!   the channel's next message or makes the channel ready at once.
//! - W4, W19 (nack order): the entry to deliver again (nacked, given back, or its holder died) is
//!   always handed out first; entries left pending by Go consumers, oldest first, before new ones.
//! - W5 (poison): dead letters, [`RedisFifoQueue::dead_letters`],
//!   [`RedisFifoQueue::redrive_dead_letter`].
//! - W6 (lock lifetime): leases with heartbeat and fencing tokens.
//! - W7, W11 (loss): cleanup deletes only empty, unowned streams; no `MAXLEN` trimming but
//!   [`QueueError::Full`].
//! - W8, W13 (stale state): no local stream set; the scan forgets deleted streams and removes idle
//!   consumers without pending entries (entries pending on dead consumers are claimed first).
//! - W9, W17 (one channel stalls others): every channel is claimed and scanned in its own
//!   protected call; a blocked channel holds only its own lease; ready channels go round-robin.
//! - W12: dedup window, checked in the same script as the add.
//! - W15: all times come from the Redis clock (`TIME`).
//! - W16: [`KeyLayout::Cluster`].
//! - W18: a failed ack returns an error; the message is redelivered after its lease.
//!
//! # Dependencies
//!
//! `redis` (re-exported), `tokio`/`tokio-util`/`futures` (async plumbing, Pub/Sub stream),
//! `async-trait` (object-safe contracts), `tracing`, `ulid` (unique consumer names), `sm-core`.

#![warn(missing_docs)]

mod ack;
mod batch;
mod dead_letter;
mod keys;
mod lease;
mod options;
mod producer;
mod queue;
mod reply;
mod scripts;

pub use dead_letter::DeadLetter;
pub use options::{KeyLayout, RedisFifoQueueOptions};
pub use producer::RedisFifoQueueProducer;
pub use queue::RedisFifoQueue;
pub use redis;
pub use sm_core::QueueError;
