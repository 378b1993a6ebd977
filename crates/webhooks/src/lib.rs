//! Webhook delivery for Slack Manager: the built-in HTTP handler, the handler registry, request
//! signing and the Go-compatible webhook payload encryption.
//!
//! When a user clicks a webhook button on an issue post, the manager builds a
//! [`sm_core::WebhookCallback`] and hands it to the first handler that claims the webhook's target
//! ([`WebhookHandlers`]). For `http://` and `https://` targets that is [`HttpWebhookHandler`]:
//!
//! - **Reliable**: per-attempt timeout (3 s by default), retries on 429, 5xx and connection errors
//!   with jittered exponential backoff that honours `Retry-After`, all within a total deadline
//!   ([`RetryPolicy`]); 4xx other than 429 is final. A per-target concurrency limit protects
//!   receivers and a response-size cap protects the manager.
//! - **Verifiable**: with a signing secret, each attempt carries `X-Slack-Manager-Timestamp` and
//!   `X-Slack-Manager-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`; receivers
//!   check both with [`verify`] or [`verify_headers`], which rejects forged bodies and timestamps
//!   outside a tolerance (replays). See [`signing`] for the scheme.
//! - **Safe**: a [`TargetPolicy`] can refuse loopback, private, link-local and metadata addresses,
//!   judged on the resolved address of every connection, and restrict hosts to an allow-list;
//!   redirects are not followed unless asked for.
//!
//! [`crypto`] encrypts and decrypts webhook payloads exactly as the Go implementation does
//! (AES-256-GCM, `{"__encrypted_data": "<base64>"}`), so Go and Rust API and manager processes can
//! be mixed.
//!
//! What this crate does not do: decide *when* to deliver (the manager fires deliveries off its
//! command loop), log delivery failures (handlers return errors; the caller logs), or persist
//! anything.
//!
//! Dependencies beyond the workspace's usual ones: `reqwest` (HTTP client with rustls), `backon`
//! (backoff delays), `aes-gcm` (payload encryption), `hmac` + `sha2` + `hex` (signatures), `url`
//! (host checks), `uuid` (delivery IDs), `chrono` (HTTP-date `Retry-After`).

#![warn(missing_docs)]

pub mod crypto;
mod error;
mod gojson;
mod http;
mod limit;
mod policy;
mod registry;
mod retry;
pub mod signing;

pub use crypto::{
    ENCRYPTED_DATA_KEY, ENCRYPTION_KEY_LEN, MAX_PAYLOAD_JSON_LEN, decrypt_webhook_payload,
    encrypt_webhook_payload, validate_encryption_key,
};
pub use error::Error;
pub use http::{
    DEFAULT_MAX_CONCURRENCY_PER_TARGET, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT,
    ERROR_BODY_SNIPPET_LEN, HttpWebhookHandler,
};
pub use policy::{IpNetwork, TargetPolicy, is_public_ip};
pub use registry::WebhookHandlers;
pub use retry::RetryPolicy;
pub use signing::{
    DEFAULT_SIGNATURE_TOLERANCE, DELIVERY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign,
    verify, verify_headers,
};
