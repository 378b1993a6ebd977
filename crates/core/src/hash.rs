//! The two hash helpers of the Go implementation, kept bit-for-bit compatible.
//!
//! Both produce SHA-256 digests encoded with the URL-safe base64 alphabet *with* `=` padding (44 characters).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use sha2::{Digest, Sha256};

/// Hash of the Go `types` package: SHA-256 over each input followed by one `0x00` byte.
///
/// Used by [`Alert::unique_id`](crate::Alert::unique_id).
pub fn separated_hash<I, S>(parts: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_ref());
        hasher.update([0u8]);
    }
    URL_SAFE.encode(hasher.finalize())
}

/// Hash of the Go `core` package: SHA-256 over the plain concatenation of the inputs (no separators).
///
/// Used for issue IDs, default correlation IDs and move-mapping IDs.
///
/// ```
/// assert_eq!(sm_core::concat_hash(["a", "b"]), sm_core::concat_hash(["ab"]));
/// ```
pub fn concat_hash<I, S>(parts: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_ref());
    }
    URL_SAFE.encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // SHA-256("") in URL-safe base64 with padding.
        assert_eq!(
            concat_hash::<[&str; 0], &str>([]),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        // SHA-256("a\0") differs from SHA-256("a").
        assert_ne!(separated_hash(["a"]), concat_hash(["a"]));
        assert_eq!(separated_hash(["a", "b"]).len(), 44);
        assert_ne!(separated_hash(["ab", ""]), separated_hash(["a", "b"]));
    }
}
