//! The crate's error type.
//!
//! Delivery itself reports [`sm_core::WebhookError`] (the contract's error); this enum covers what
//! is specific to this crate: building the HTTP client, payload encryption and signature
//! verification. The payload-encryption messages are exactly those of the Go implementation, so
//! logs read the same whichever side produced them.

use sm_core::WebhookError;

/// Errors of this crate (client construction, payload encryption, signature verification).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The encryption key is not exactly 32 bytes long (Go: `encryption key length must be 32`).
    #[error("encryption key length must be 32")]
    KeyLength,
    /// The configured encryption key is neither empty nor 32 ASCII letters and digits.
    #[error("encryption key must be a 32 character alphanumeric string")]
    InvalidKey,
    /// The JSON form of a webhook payload is longer than the limit.
    #[error("length of JSON serialized webhook payload is {len}, expected <= {max}")]
    PayloadTooLarge {
        /// Length of the JSON form in bytes.
        len: usize,
        /// The limit ([`MAX_PAYLOAD_JSON_LEN`](crate::MAX_PAYLOAD_JSON_LEN)).
        max: usize,
    },
    /// The `__encrypted_data` entry is not a JSON string; `type_name` is the Go type name.
    #[error("expected __encrypted_data to be a string, got {type_name}")]
    EncryptedDataNotString {
        /// Go's name of the value's type (`float64`, `bool`, `map[string]interface {}`, ...).
        type_name: &'static str,
    },
    /// The `__encrypted_data` entry is not valid standard base64.
    #[error("failed to decode base64 encrypted data: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The decoded blob is shorter than a nonce.
    #[error("encrypted data length is too short")]
    EncryptedDataTooShort,
    /// AES-GCM encryption failed.
    #[error("failed to encrypt webhook payload")]
    Encrypt,
    /// AES-GCM authentication failed: wrong key, or the data was tampered with.
    #[error(
        "failed to decrypt webhook payload: message authentication failed (wrong key or tampered data)"
    )]
    Decrypt,
    /// The payload could not be encoded or the decrypted plaintext is not a JSON object.
    #[error("invalid webhook payload json: {0}")]
    Json(String),
    /// A signature header is missing (names the header).
    #[error("missing webhook signature header {0}")]
    MissingHeader(&'static str),
    /// The signature timestamp is not a decimal Unix time in seconds.
    #[error("invalid webhook signature timestamp {0:?}")]
    InvalidTimestamp(String),
    /// The signature timestamp is further from `now` than the tolerance allows (replay or clock skew).
    #[error(
        "webhook signature timestamp {timestamp} is outside the tolerance of {tolerance_secs} s"
    )]
    StaleTimestamp {
        /// The timestamp of the request (Unix seconds).
        timestamp: i64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// No signature in the header matches the body, timestamp and secret.
    #[error("webhook signature mismatch")]
    SignatureMismatch,
    /// An allowed network is not valid CIDR notation (names the input).
    #[error("invalid ip network {0:?}")]
    InvalidNetwork(String),
    /// The signing secret is empty.
    #[error("webhook signing secret must not be empty")]
    EmptySecret,
    /// The HTTP client could not be built (for example, the TLS backend failed to initialise).
    #[error("failed to build the webhook http client: {0}")]
    Client(String),
}

impl From<Error> for WebhookError {
    fn from(e: Error) -> Self {
        match e {
            Error::Client(_)
            | Error::EmptySecret
            | Error::InvalidKey
            | Error::InvalidNetwork(_) => WebhookError::Config(e.to_string()),
            other => WebhookError::Payload(other.to_string()),
        }
    }
}
