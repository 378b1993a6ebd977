//! KSUIDs: 27-character, base62, time-sortable IDs, used as correlation IDs of issues created from
//! the "Create issue" modal (as Go does).

use rand::RngCore;

/// KSUID epoch (2014-05-13T16:53:20Z) in Unix seconds.
const EPOCH: i64 = 1_400_000_000;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of an encoded KSUID.
pub(crate) const KSUID_LEN: usize = 27;

/// A new KSUID for `unix_seconds` with 16 random bytes.
pub(crate) fn new_ksuid(unix_seconds: i64) -> String {
    let mut bytes = [0u8; 20];
    let ts = u32::try_from(unix_seconds.saturating_sub(EPOCH).max(0)).unwrap_or(u32::MAX);
    bytes[..4].copy_from_slice(&ts.to_be_bytes());
    rand::rng().fill_bytes(&mut bytes[4..]);
    encode(&bytes)
}

/// Base62 of a 20-byte big-endian number, left-padded with `0` to 27 characters.
fn encode(bytes: &[u8; 20]) -> String {
    let mut num: Vec<u32> = bytes.iter().map(|b| u32::from(*b)).collect();
    let mut out = Vec::with_capacity(KSUID_LEN);
    while num.iter().any(|d| *d != 0) {
        let mut rem = 0u32;
        for d in num.iter_mut() {
            let acc = rem * 256 + *d;
            *d = acc / 62;
            rem = acc % 62;
        }
        out.push(ALPHABET[rem as usize]);
    }
    while out.len() < KSUID_LEN {
        out.push(b'0');
    }
    out.reverse();
    out.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_order() {
        assert_eq!(encode(&[0; 20]), "0".repeat(27));
        // The largest KSUID (all 0xff) is the documented "aWgEPTl1tmebfsQzFP4bxwgy80V".
        assert_eq!(encode(&[0xff; 20]), "aWgEPTl1tmebfsQzFP4bxwgy80V");
        let a = new_ksuid(1_700_000_000);
        let b = new_ksuid(1_700_000_100);
        assert_eq!(a.len(), KSUID_LEN);
        assert!(a < b, "{a} < {b}");
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
