//! The Redis key layout (`queue.md` §5, plus this crate's own keys).
//!
//! A queue has one or more *shards*. Each shard has a base `B` (Go layout: `<prefix>:<name>`;
//! cluster layout: `<prefix>:{<name>:<n>}`) and these keys:
//!
//! | Key | Type | Written by | Content |
//! |---|---|---|---|
//! | `B:stream:<channel>` | stream | Go and Rust | entries `channel_id`, `body` |
//! | `B:streams` | set | Go and Rust | index of stream keys |
//! | `B:stream-activity` | sorted set | Go and Rust | stream key → Unix seconds of the last send |
//! | `B:schedule` | sorted set | Rust | channel with work → time (ms) from which it may be claimed: when it became ready, or its lease deadline while in flight |
//! | `B:state` | hash | Rust | channel → its state `"<token> <v><p> <fails> <id> <owner>"` (fencing token, pending list checked, entry from the pending list, failed deliveries, entry in flight or to redeliver, holder) |
//! | `B:dedup:<channel>:<dedup id>` | string | Rust | dedup marker, expires after the window |
//! | `B:dead-letter` | stream | Rust | dead letters: `channel_id`, `body`, `reason`, `stream`, `message_id` |
//! | `B:scan-leader` | string | Rust | which consumer runs the fallback scan (expires) |
//!
//! Wake-ups use the Pub/Sub channel `<prefix>:<name>:notify` (not a key, so cluster-safe).

use crate::options::KeyLayout;

/// One shard's key names.
#[derive(Debug, Clone)]
pub(crate) struct Shard {
    pub(crate) base: String,
    pub(crate) schedule: String,
    pub(crate) index: String,
    pub(crate) dead_letter: String,
    pub(crate) scan_leader: String,
}

impl Shard {
    fn new(base: String) -> Shard {
        Shard {
            schedule: format!("{base}:schedule"),
            index: format!("{base}:streams"),
            dead_letter: format!("{base}:dead-letter"),
            scan_leader: format!("{base}:scan-leader"),
            base,
        }
    }

    pub(crate) fn stream_key(&self, channel: &str) -> String {
        format!("{}:stream:{channel}", self.base)
    }

    pub(crate) fn dedup_key(&self, channel: &str, dedup_id: &str) -> String {
        format!("{}:dedup:{channel}:{dedup_id}", self.base)
    }
}

/// All key names of one queue.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) shards: Vec<Shard>,
    pub(crate) notify: String,
    pub(crate) lock_prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str, name: &str, layout: KeyLayout) -> Keys {
        let shards = match layout {
            KeyLayout::Go => vec![Shard::new(format!("{prefix}:{name}"))],
            KeyLayout::Cluster { shards } => (0..shards)
                .map(|n| Shard::new(format!("{prefix}:{{{name}:{n}}}")))
                .collect(),
        };
        Keys {
            shards,
            notify: format!("{prefix}:{name}:notify"),
            lock_prefix: format!("{prefix}:{name}:lock:"),
        }
    }

    /// The shard of a channel (FNV-1a of the channel ID; stable across processes and versions).
    pub(crate) fn shard_of(&self, channel: &str) -> &Shard {
        &self.shards[self.shard_index(channel)]
    }

    /// The index of [`Keys::shard_of`].
    pub(crate) fn shard_index(&self, channel: &str) -> usize {
        let n = self.shards.len();
        if n == 1 {
            return 0;
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in channel.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // `n` is at most 1024, so the remainder fits.
        (h % n as u64) as usize
    }

    /// The locker key of a channel, as Go names it: `<prefix>:<name>:lock:<channel>`.
    pub(crate) fn lock_key(&self, channel: &str) -> String {
        format!("{}{channel}", self.lock_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layout_matches_the_spec_example() {
        let k = Keys::new("slack-manager:queue", "alerts", KeyLayout::Go);
        let s = k.shard_of("C123");
        assert_eq!(
            s.stream_key("C123"),
            "slack-manager:queue:alerts:stream:C123"
        );
        assert_eq!(s.index, "slack-manager:queue:alerts:streams");
        assert_eq!(s.base, "slack-manager:queue:alerts");
        assert_eq!(k.lock_key("C123"), "slack-manager:queue:alerts:lock:C123");
    }

    #[test]
    fn cluster_layout_uses_one_hash_tag_per_shard_and_spreads_channels() {
        let k = Keys::new("p", "q", KeyLayout::Cluster { shards: 8 });
        let s = k.shard_of("C1");
        assert!(s.stream_key("C1").starts_with("p:{q:"));
        assert_eq!(s.stream_key("C1").matches('{').count(), 1);
        let used: std::collections::HashSet<_> = (0..200)
            .map(|i| k.shard_of(&format!("C{i}")).base.clone())
            .collect();
        assert_eq!(used.len(), 8);
    }
}
