//! Redis key and channel naming of one lock, and owner tokens.
//!
//! Invariants:
//! - The lock key is exactly `prefix + key`, as in the Go implementation (bsm/redislock), so Go and
//!   Rust instances sharing a Redis exclude each other.
//! - The fencing counter key always lies in the same Redis Cluster hash slot as the lock key, so the
//!   obtain script may touch both in one call on a cluster.
//!
//! How the fencing key gets the lock key's slot: Redis hashes only the part between the first `{`
//! and the next `}` when that part is non-empty (the "hash tag"), else the whole key.
//! - Lock key with a hash tag (say `{q}:lock:C1`): the fencing key is the lock key plus `:fence`;
//!   appending keeps the first tag, hence the slot.
//! - Lock key without a hash tag and without `}` (every default key, e.g.
//!   `slack-manager:channel-lock:C1`): the fencing key is `{<lock key>}:fence`, whose tag is the
//!   whole lock key.
//! - Any other lock key (no valid tag but a stray `}`): the fencing key is `{<n>}:fence:<lock key>`
//!   with the smallest decimal `n` whose slot equals the lock key's slot (found by a short search;
//!   every slot is reached by an `n` below 200,000).

use base64::Engine as _;
use rand::RngCore as _;

/// Number of hash slots in a Redis Cluster.
const SLOTS: u16 = 16384;

/// Length in bytes of the random part of an owner token (base64url encoded without padding into
/// 22 characters, like bsm/redislock's tokens).
pub(crate) const TOKEN_BYTES: usize = 16;

/// The Redis names used by one lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockKeys {
    /// The lock key: `prefix + key`. Holds the owner token while the lock is held; compatible with
    /// the Go implementation.
    pub lock: String,
    /// The fencing counter key, in the same cluster hash slot as [`lock`](Self::lock). It holds the
    /// last fencing token issued for this lock and never expires (one small integer per lock name).
    pub fence: String,
    /// The Pub/Sub channel on which a release is announced, so that waiting obtainers wake at once:
    /// `<lock key>:released`.
    pub channel: String,
}

impl LockKeys {
    /// The names of the lock `key` under `prefix`.
    pub(crate) fn new(prefix: &str, key: &str) -> LockKeys {
        let lock = format!("{prefix}{key}");
        let fence = fence_key(&lock);
        let channel = format!("{lock}:released");
        LockKeys {
            lock,
            fence,
            channel,
        }
    }
}

/// The fencing counter key for `lock` (see the module docs).
fn fence_key(lock: &str) -> String {
    if hash_tag(lock.as_bytes()).is_some() {
        return format!("{lock}:fence");
    }
    if !lock.contains('}') {
        return format!("{{{lock}}}:fence");
    }
    let slot = key_slot(lock.as_bytes());
    let mut n: u64 = 0;
    loop {
        let tag = n.to_string();
        if crc16(tag.as_bytes()) % SLOTS == slot {
            return format!("{{{tag}}}:fence:{lock}");
        }
        n += 1;
    }
}

/// The hash tag of `key` (the non-empty part between the first `{` and the next `}`), if any.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let rest = &key[open + 1..];
    let close = rest.iter().position(|&b| b == b'}')?;
    if close == 0 {
        return None;
    }
    Some(&rest[..close])
}

/// The Redis Cluster hash slot of `key`.
pub(crate) fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key).unwrap_or(key)) % SLOTS
}

/// CRC-16/XMODEM, the checksum Redis Cluster uses for hash slots.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A fresh owner token: 16 bytes from the thread-local CSPRNG, base64url without padding.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_redis_reference_values() {
        // The reference value from the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        // `CLUSTER KEYSLOT foo` / `bar` / `hello` on a real cluster.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"hello"), 866);
        assert_eq!(key_slot(b"{foo}:anything"), 12182);
        // An empty tag does not count: the whole key is hashed.
        assert_eq!(key_slot(b"x{}foo"), crc16(b"x{}foo") % SLOTS);
    }

    #[test]
    fn default_keys_are_go_compatible_and_share_a_slot() {
        let keys = LockKeys::new("slack-manager:channel-lock:", "C123");
        assert_eq!(keys.lock, "slack-manager:channel-lock:C123");
        assert_eq!(keys.fence, "{slack-manager:channel-lock:C123}:fence");
        assert_eq!(keys.channel, "slack-manager:channel-lock:C123:released");
        assert_eq!(
            key_slot(keys.lock.as_bytes()),
            key_slot(keys.fence.as_bytes())
        );
    }

    #[test]
    fn empty_prefix_uses_the_key_as_is() {
        let keys = LockKeys::new("", "C1");
        assert_eq!(keys.lock, "C1");
        assert_eq!(keys.fence, "{C1}:fence");
    }

    #[test]
    fn keys_with_a_hash_tag_keep_it() {
        let keys = LockKeys::new("{queue}:lock:", "C1");
        assert_eq!(keys.fence, "{queue}:lock:C1:fence");
        assert_eq!(
            key_slot(keys.lock.as_bytes()),
            key_slot(keys.fence.as_bytes())
        );
    }

    #[test]
    fn odd_keys_still_share_a_slot() {
        for key in ["a}b", "}", "x{}y}", "a}b{c", "{}", "{}}{", "é}ü", "{{}}"] {
            let keys = LockKeys::new("p:", key);
            assert_ne!(keys.lock, keys.fence, "{key}");
            assert_eq!(
                key_slot(keys.lock.as_bytes()),
                key_slot(keys.fence.as_bytes()),
                "lock key {:?}, fence key {:?}",
                keys.lock,
                keys.fence
            );
        }
    }

    #[test]
    fn every_slot_is_reachable_by_a_small_decimal_tag() {
        let mut seen = vec![false; usize::from(SLOTS)];
        let mut left = SLOTS;
        let mut n: u64 = 0;
        while left > 0 {
            let slot = usize::from(crc16(n.to_string().as_bytes()) % SLOTS);
            if !seen[slot] {
                seen[slot] = true;
                left -= 1;
            }
            n += 1;
        }
        assert!(n < 200_000, "needed {n} tags");
    }

    #[test]
    fn tokens_are_random_and_22_chars() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
}
