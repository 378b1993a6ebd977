//! Webhook payload encryption, compatible with the Go implementation (`internal/encryption.go`).
//!
//! The API encrypts each webhook's `payload` before queueing the alert; the manager decrypts it when
//! a user clicks the webhook button. Both sides hold the same `EncryptionKey`.
//!
//! Format (identical to Go, so a Go API and a Rust manager, or the other way round, interoperate):
//! - key: the 32 ASCII bytes of the configured key, used directly as the AES-256 key (no KDF);
//! - plaintext: the payload map as JSON, written as Go's `json.Marshal` writes it (sorted keys, HTML
//!   escapes), at most [`MAX_PAYLOAD_JSON_LEN`] bytes;
//! - AES-256-GCM with a fresh random 12-byte nonce and no associated data;
//! - blob = nonce ‖ ciphertext ‖ 16-byte tag, standard base64 with padding;
//! - the payload becomes exactly `{"__encrypted_data": "<base64>"}`.
//!
//! Invariants: a blob that fails authentication (wrong key, any flipped bit) is an error, never an
//! empty payload. As in Go, decrypting a payload without an `__encrypted_data` entry gives `{}`
//! (a plaintext payload is dropped, not passed through), and only `payload` is protected: URLs,
//! button texts and inputs stay plaintext.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::gojson::to_go_json;

/// The payload key that holds the encrypted blob.
pub const ENCRYPTED_DATA_KEY: &str = "__encrypted_data";

/// The longest JSON form of a webhook payload that may be encrypted, in bytes.
pub const MAX_PAYLOAD_JSON_LEN: usize = 2048;

/// Length of the encryption key, in bytes.
pub const ENCRYPTION_KEY_LEN: usize = 32;

const NONCE_LEN: usize = 12;

/// Checks a configured encryption key: empty (no encryption configured) or exactly 32 ASCII letters
/// and digits, the rule of the Go configuration (`^[a-zA-Z0-9]{32}$`).
///
/// ```
/// assert!(sm_webhooks::validate_encryption_key("").is_ok());
/// assert!(sm_webhooks::validate_encryption_key("Zq3vT8mK1pX7wR2nB5yL9cF4hJ6dG0sA").is_ok());
/// assert!(sm_webhooks::validate_encryption_key("too-short").is_err());
/// ```
pub fn validate_encryption_key(key: &str) -> Result<(), Error> {
    if key.is_empty()
        || (key.len() == ENCRYPTION_KEY_LEN && key.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        Ok(())
    } else {
        Err(Error::InvalidKey)
    }
}

fn cipher(key: &str) -> Result<Aes256Gcm, Error> {
    if key.len() != ENCRYPTION_KEY_LEN {
        return Err(Error::KeyLength);
    }
    Aes256Gcm::new_from_slice(key.as_bytes()).map_err(|_| Error::KeyLength)
}

/// Encrypts a webhook payload as the Go API does.
///
/// An empty payload is returned unchanged. Otherwise the result is
/// `{"__encrypted_data": "<base64 of nonce ‖ ciphertext ‖ tag>"}`.
///
/// # Errors
/// [`Error::KeyLength`] when `key` is not 32 bytes, [`Error::PayloadTooLarge`] when the payload's JSON
/// form exceeds [`MAX_PAYLOAD_JSON_LEN`] bytes.
pub fn encrypt_webhook_payload(
    key: &str,
    payload: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    if payload.is_empty() {
        return Ok(payload.clone());
    }
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce.as_slice());
    encrypt_with_nonce(key, payload, nonce_bytes)
}

/// [`encrypt_webhook_payload`] with a given nonce (for the fixed test vector; never reuse a nonce).
pub(crate) fn encrypt_with_nonce(
    key: &str,
    payload: &Map<String, Value>,
    nonce: [u8; NONCE_LEN],
) -> Result<Map<String, Value>, Error> {
    if payload.is_empty() {
        return Ok(payload.clone());
    }
    let cipher = cipher(key)?;
    let plaintext = to_go_json(payload);
    if plaintext.len() > MAX_PAYLOAD_JSON_LEN {
        return Err(Error::PayloadTooLarge {
            len: plaintext.len(),
            max: MAX_PAYLOAD_JSON_LEN,
        });
    }
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext.as_slice())
        .map_err(|_| Error::Encrypt)?;
    let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    let mut out = Map::new();
    out.insert(
        ENCRYPTED_DATA_KEY.to_owned(),
        Value::String(STANDARD.encode(blob)),
    );
    Ok(out)
}

/// Decrypts a webhook payload as the Go manager does.
///
/// An empty payload, or one without an `__encrypted_data` entry, gives `{}`.
///
/// # Errors
/// [`Error::KeyLength`] when `key` is not 32 bytes; [`Error::EncryptedDataNotString`],
/// [`Error::Base64`], [`Error::EncryptedDataTooShort`] for a malformed entry; [`Error::Decrypt`] when
/// authentication fails (wrong key or tampered data); [`Error::Json`] when the plaintext is not a JSON
/// object.
pub fn decrypt_webhook_payload(
    key: &str,
    payload: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    if payload.is_empty() {
        return Ok(Map::new());
    }
    let cipher = cipher(key)?;
    let Some(entry) = payload.get(ENCRYPTED_DATA_KEY) else {
        return Ok(Map::new());
    };
    let Value::String(encoded) = entry else {
        return Err(Error::EncryptedDataNotString {
            type_name: go_type_name(entry),
        });
    };
    let blob = STANDARD.decode(encoded)?;
    if blob.len() < NONCE_LEN {
        return Err(Error::EncryptedDataTooShort);
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let plaintext = cipher
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| Error::Decrypt)?;
    match serde_json::from_slice::<Value>(&plaintext) {
        Ok(Value::Object(map)) => Ok(map),
        // Go's json.Unmarshal of `null` into a map leaves it nil, which the callback writes as `{}`.
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(Error::Json(format!(
            "decrypted payload is a {}, expected an object",
            go_type_name(&other)
        ))),
        Err(e) => Err(Error::Json(e.to_string())),
    }
}

/// Go's `%T` of a value decoded by `encoding/json` into `interface{}`.
fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "Zq3vT8mK1pX7wR2nB5yL9cF4hJ6dG0sA";

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn sample() -> Map<String, Value> {
        obj(json!({
            "note": "a<b & c>d",
            "count": 3,
            "action": "restart",
            "nested": {"z": 1.5, "a": [true, null]}
        }))
    }

    /// Computed independently with Python's `cryptography` (AESGCM) over the Go JSON form
    /// `{"action":"restart","count":3,"nested":{"a":[true,null],"z":1.5},"note":"a\u003cb \u0026 c\u003ed"}`
    /// with nonce 00 01 .. 0b.
    const VECTOR: &str = "AAECAwQFBgcICQoLg32/GPxIARraF2bh8xXyp/vfZlkMcR1a5ljpCjUWrpiUXPlYfaW5kuV03SRWOwtzWULSAqM+OV0Bi9e0HDo9bHpGHPgBxNZfC8olYSuqJWgbd6kamRcg/k2SbMXejfSD9fmR0U/d5DBiCz6/uz6I0fmAEQ==";

    const NONCE: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

    #[test]
    fn fixed_vector_encrypts_to_the_go_format() {
        let enc = encrypt_with_nonce(KEY, &sample(), NONCE).unwrap();
        assert_eq!(enc.len(), 1);
        assert_eq!(enc[ENCRYPTED_DATA_KEY], json!(VECTOR));
    }

    #[test]
    fn fixed_vector_decrypts() {
        let enc = obj(json!({ ENCRYPTED_DATA_KEY: VECTOR }));
        assert_eq!(decrypt_webhook_payload(KEY, &enc).unwrap(), sample());
    }

    #[test]
    fn round_trip_uses_fresh_nonces() {
        let a = encrypt_webhook_payload(KEY, &sample()).unwrap();
        let b = encrypt_webhook_payload(KEY, &sample()).unwrap();
        assert_ne!(a, b, "two encryptions must use different nonces");
        assert_eq!(decrypt_webhook_payload(KEY, &a).unwrap(), sample());
        assert_eq!(decrypt_webhook_payload(KEY, &b).unwrap(), sample());
    }

    #[test]
    fn every_flipped_bit_is_an_error_not_an_empty_payload() {
        let blob = STANDARD.decode(VECTOR).unwrap();
        for i in 0..blob.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = blob.clone();
                tampered[i] ^= bit;
                let payload = obj(json!({ ENCRYPTED_DATA_KEY: STANDARD.encode(&tampered) }));
                let err = decrypt_webhook_payload(KEY, &payload).unwrap_err();
                assert!(matches!(err, Error::Decrypt), "byte {i}: {err}");
            }
        }
    }

    #[test]
    fn wrong_key_is_an_error() {
        let enc = obj(json!({ ENCRYPTED_DATA_KEY: VECTOR }));
        let err = decrypt_webhook_payload("Zq3vT8mK1pX7wR2nB5yL9cF4hJ6dG0sB", &enc).unwrap_err();
        assert!(matches!(err, Error::Decrypt));
    }

    #[test]
    fn empty_and_plaintext_payloads() {
        assert_eq!(
            encrypt_webhook_payload(KEY, &Map::new()).unwrap(),
            Map::new()
        );
        // Go checks emptiness before the key, so an empty payload never fails on the key.
        assert_eq!(
            encrypt_webhook_payload("", &Map::new()).unwrap(),
            Map::new()
        );
        assert_eq!(
            decrypt_webhook_payload(KEY, &Map::new()).unwrap(),
            Map::new()
        );
        let plain = obj(json!({"a": 1}));
        assert_eq!(decrypt_webhook_payload(KEY, &plain).unwrap(), Map::new());
    }

    #[test]
    fn go_error_messages() {
        assert_eq!(
            encrypt_webhook_payload("short", &sample())
                .unwrap_err()
                .to_string(),
            "encryption key length must be 32"
        );
        assert_eq!(
            decrypt_webhook_payload("short", &sample())
                .unwrap_err()
                .to_string(),
            "encryption key length must be 32"
        );
        let cases = [
            (json!(1), "float64"),
            (json!(true), "bool"),
            (json!(null), "<nil>"),
            (json!([1]), "[]interface {}"),
            (json!({"a": 1}), "map[string]interface {}"),
        ];
        for (v, t) in cases {
            let p = obj(json!({ ENCRYPTED_DATA_KEY: v }));
            assert_eq!(
                decrypt_webhook_payload(KEY, &p).unwrap_err().to_string(),
                format!("expected __encrypted_data to be a string, got {t}")
            );
        }
        let short = obj(json!({ ENCRYPTED_DATA_KEY: STANDARD.encode([1u8; 11]) }));
        assert_eq!(
            decrypt_webhook_payload(KEY, &short)
                .unwrap_err()
                .to_string(),
            "encrypted data length is too short"
        );
        let bad = obj(json!({ ENCRYPTED_DATA_KEY: "not base64!" }));
        assert!(matches!(
            decrypt_webhook_payload(KEY, &bad),
            Err(Error::Base64(_))
        ));
    }

    #[test]
    fn payload_size_limit_is_on_the_go_json_form() {
        // {"k":"<s>"} is 8 bytes plus the string; `<` takes 6 bytes in the Go form.
        let fits = obj(json!({"k": "x".repeat(MAX_PAYLOAD_JSON_LEN - 8)}));
        let enc = encrypt_webhook_payload(KEY, &fits).unwrap();
        assert_eq!(decrypt_webhook_payload(KEY, &enc).unwrap(), fits);
        let too_long = obj(json!({"k": "x".repeat(MAX_PAYLOAD_JSON_LEN - 7)}));
        assert_eq!(
            encrypt_webhook_payload(KEY, &too_long)
                .unwrap_err()
                .to_string(),
            "length of JSON serialized webhook payload is 2049, expected <= 2048"
        );
        let escaped = obj(json!({"k": "<".repeat(400)}));
        assert_eq!(
            encrypt_webhook_payload(KEY, &escaped)
                .unwrap_err()
                .to_string(),
            "length of JSON serialized webhook payload is 2408, expected <= 2048"
        );
    }

    #[test]
    fn key_validation() {
        assert!(validate_encryption_key("").is_ok());
        assert!(validate_encryption_key(KEY).is_ok());
        for bad in [
            "Zq3vT8mK1pX7wR2nB5yL9cF4hJ6dG0s",
            "Zq3vT8mK1pX7wR2nB5yL9cF4hJ6dG0sAx",
            "Zq3vT8mK1pX7wR2nB5yL9cF4hJ6dG0s-",
            "Zq3vT8mK1pX7wR2nB5yL9cF4hJ6dG0sé",
        ] {
            assert!(
                matches!(validate_encryption_key(bad), Err(Error::InvalidKey)),
                "{bad}"
            );
        }
    }
}
