//! Webhook payload encryption, byte-compatible with the Go implementation.
//!
//! The payload map is serialised the way Go's `json.Marshal` does it (object keys sorted at every
//! level, `<`, `>`, `&`, U+2028 and U+2029 escaped), limited to [`MAX_PAYLOAD_JSON_BYTES`], and
//! sealed with AES-256-GCM under the 32-byte key, a fresh random 12-byte nonce and no associated
//! data. The blob `nonce ‖ ciphertext ‖ tag` is base64 (standard alphabet, padded) and replaces the
//! payload as `{"__encrypted_data": "<blob>"}`. [`decrypt_payload`] reverses it (what the manager
//! does).
//!
//! This module deliberately duplicates the few lines `sm-webhooks` has for the same format, so that
//! the API depends on nothing but `sm-core`.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::config::ENCRYPTION_KEY_LENGTH;
use crate::error::ApiError;

/// The key of the encrypted blob in an encrypted payload.
pub const ENCRYPTED_DATA_KEY: &str = "__encrypted_data";

/// Longest JSON serialisation of a payload that may be encrypted, in bytes.
pub const MAX_PAYLOAD_JSON_BYTES: usize = 2048;

const NONCE_LEN: usize = 12;

fn cipher(key: &[u8]) -> Result<Aes256Gcm, ApiError> {
    if key.len() != ENCRYPTION_KEY_LENGTH {
        return Err(ApiError::Crypto(format!(
            "encryption key length must be {ENCRYPTION_KEY_LENGTH}"
        )));
    }
    Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)))
}

/// Serialises `value` as Go's `encoding/json` would: sorted object keys, HTML-safe escaping.
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_go_json(value, &mut out);
    out
}

fn write_go_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_go_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_go_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_go_string(s: &str, out: &mut String) {
    let quoted = Value::String(s.to_owned()).to_string();
    for c in quoted.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

/// Encrypts a webhook payload. An empty payload is returned unchanged.
///
/// ```
/// let key = b"0123456789abcdef0123456789abcdef";
/// let mut payload = serde_json::Map::new();
/// payload.insert("host".into(), "db-1".into());
/// let sealed = sm_api::encrypt_payload(key, &payload).unwrap();
/// assert!(sealed.contains_key("__encrypted_data"));
/// assert_eq!(sm_api::decrypt_payload(key, &sealed).unwrap(), payload);
/// ```
pub fn encrypt_payload(
    key: &[u8],
    payload: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    if payload.is_empty() {
        return Ok(payload.clone());
    }
    let cipher = cipher(key)?;
    let json = go_json(&Value::Object(payload.clone()));
    if json.len() > MAX_PAYLOAD_JSON_BYTES {
        return Err(ApiError::Crypto(format!(
            "length of JSON serialized webhook payload is {}, expected <= {MAX_PAYLOAD_JSON_BYTES}",
            json.len()
        )));
    }
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(&nonce, json.as_bytes())
        .map_err(|e| ApiError::Crypto(format!("failed to encrypt webhook payload: {e}")))?;
    let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    let mut out = Map::new();
    out.insert(
        ENCRYPTED_DATA_KEY.into(),
        Value::String(STANDARD.encode(blob)),
    );
    Ok(out)
}

/// Decrypts a payload made by [`encrypt_payload`]. An empty payload, or one without
/// `__encrypted_data`, gives an empty map (plain-text payloads are discarded, as in Go).
pub fn decrypt_payload(
    key: &[u8],
    payload: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let Some(data) = payload.get(ENCRYPTED_DATA_KEY) else {
        return Ok(Map::new());
    };
    let cipher = cipher(key)?;
    let Value::String(encoded) = data else {
        return Err(ApiError::Crypto(format!(
            "{ENCRYPTED_DATA_KEY} is not a string"
        )));
    };
    let blob = STANDARD
        .decode(encoded)
        .map_err(|e| ApiError::Crypto(format!("failed to base64 decode encrypted data: {e}")))?;
    if blob.len() < NONCE_LEN {
        return Err(ApiError::Crypto(
            "encrypted data length is too short".into(),
        ));
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let plain = cipher
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|e| ApiError::Crypto(format!("failed to decrypt encrypted data: {e}")))?;
    serde_json::from_slice(&plain)
        .map_err(|e| ApiError::Crypto(format!("failed to decode decrypted payload: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn go_json_sorts_and_escapes() {
        let v: Value =
            serde_json::from_str(r#"{"b":{"z":1,"a":[true,null,"<&>"]},"a":"x"}"#).unwrap();
        assert_eq!(
            go_json(&v),
            r#"{"a":"x","b":{"a":[true,null,"\u003c\u0026\u003e"],"z":1}}"#
        );
    }

    #[test]
    fn size_limit_and_key_length() {
        let mut p = Map::new();
        // `{"k":"` + 2040 characters + `"}` is exactly 2048 bytes: accepted.
        p.insert("k".into(), Value::String("x".repeat(2040)));
        assert!(encrypt_payload(KEY, &p).is_ok());
        p.insert("k".into(), Value::String("x".repeat(2041)));
        assert_eq!(
            encrypt_payload(KEY, &p).unwrap_err().to_string(),
            "length of JSON serialized webhook payload is 2049, expected <= 2048"
        );
    }

    #[test]
    fn wrong_key_length() {
        let mut p = Map::new();
        p.insert("k".into(), Value::from(1));
        assert_eq!(
            encrypt_payload(b"short", &p).unwrap_err().to_string(),
            "encryption key length must be 32"
        );
    }

    #[test]
    fn decrypt_edge_cases() {
        assert!(decrypt_payload(KEY, &Map::new()).unwrap().is_empty());
        let mut p = Map::new();
        p.insert(
            ENCRYPTED_DATA_KEY.into(),
            Value::String(STANDARD.encode([1u8; 5])),
        );
        assert_eq!(
            decrypt_payload(KEY, &p).unwrap_err().to_string(),
            "encrypted data length is too short"
        );
        p.insert(ENCRYPTED_DATA_KEY.into(), Value::from(3));
        assert!(decrypt_payload(KEY, &p).is_err());
    }
}
