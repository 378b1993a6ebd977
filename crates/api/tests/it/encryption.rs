//! Webhook payloads are encrypted in the Go format before queueing.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sm_api::{ApiConfig, ApiServer, ApiSettings};
use sm_webhooks::decrypt_webhook_payload;

use crate::support::TestApi;

const KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

/// The default config with `key` as the encryption key.
fn keyed(key: &str) -> ApiConfig {
    ApiConfig {
        encryption_key: key.into(),
        ..ApiConfig::default()
    }
}

#[tokio::test]
async fn webhook_payloads_round_trip_through_aes_gcm() {
    let api = TestApi::start(keyed(KEY), ApiSettings::default()).await;
    let body = json!({
        "slackChannelId": "C0CRYPTO01", "header": "h",
        "webhooks": [
            {"id": "restart", "url": "https://example.invalid/restart", "buttonText": "Restart",
             "payload": {"service": "<api>", "attempt": 2, "ratio": 2.0, "nested": {"z": true, "a": null}}},
            {"id": "plain", "url": "https://example.invalid/plain", "buttonText": "No payload"}
        ]
    });
    let resp = api.post("/alert", body.to_string()).await;
    assert_eq!(resp.status(), 202);
    let alert = api.take_queued(1).await.remove(0);
    let webhooks = alert.webhooks.unwrap();
    assert_eq!(webhooks[1].payload, None);
    let sealed = webhooks[0].payload.clone().unwrap();
    assert_eq!(sealed.keys().collect::<Vec<_>>(), vec!["__encrypted_data"]);

    // Decrypt by hand: base64(nonce(12) ‖ ciphertext ‖ tag(16)), AES-256-GCM, no associated data.
    let blob = STANDARD
        .decode(sealed["__encrypted_data"].as_str().unwrap())
        .unwrap();
    let (nonce, ciphertext) = blob.split_at(12);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(KEY.as_bytes()));
    let plain = cipher
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .unwrap();
    // Go's json.Marshal: sorted keys at every level, HTML characters escaped, floats in Go's
    // shortest form (2.0 is `2`).
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        r#"{"attempt":2,"nested":{"a":null,"z":true},"ratio":2,"service":"\u003capi\u003e"}"#
    );
    // The manager's decrypt (sm-webhooks) agrees.
    let decrypted = decrypt_webhook_payload(KEY, &sealed).unwrap();
    assert_eq!(decrypted["service"], "<api>");
    assert_eq!(decrypted["nested"]["z"], true);
    api.stop().await;
}

/// The 2048-byte limit applies to the Go JSON form of the payload: exactly 2048 bytes is queued,
/// one more is a 500 and queues nothing.
#[tokio::test]
async fn payload_json_limit_is_2048_bytes() {
    let api = TestApi::start(keyed(KEY), ApiSettings::default()).await;
    let alert = |len: usize| {
        // `{"k":"` + value + `"}` is 8 bytes plus the value.
        json!({"slackChannelId": "C0CRYPTO02", "header": "h",
            "webhooks": [{"id": "w", "url": "https://example.invalid/hook", "buttonText": "Go",
                "payload": {"k": "x".repeat(len - 8)}}]})
        .to_string()
    };
    let resp = api.post("/alert", alert(2049)).await;
    assert_eq!(resp.status(), 500);
    let resp = api.post("/alert", alert(2048)).await;
    assert_eq!(resp.status(), 202);
    let queued = api.take_queued(1).await.remove(0);
    let sealed = queued.webhooks.unwrap()[0].payload.clone().unwrap();
    let decrypted = decrypt_webhook_payload(KEY, &sealed).unwrap();
    assert_eq!(decrypted["k"].as_str().unwrap().len(), 2040);
    assert!(api.queue.is_empty());
    api.stop().await;
}

/// The key rule is Go's `^[a-zA-Z0-9]{32}$` (or empty: no encryption); others stop start-up.
#[test]
fn encryption_key_is_validated_at_start_up() {
    let queue = std::sync::Arc::new(sm_core::InMemoryFifoQueue::new("alerts"));
    for key in ["", KEY] {
        let config = keyed(key);
        assert!(
            ApiServer::new(queue.clone(), config, ApiSettings::default()).is_ok(),
            "{key:?}"
        );
    }
    for key in [
        "too-short",
        "0123456789abcdefghijABCDEFGHIJ0-",
        "0123456789abcdefghijABCDEFGHIJ012",
    ] {
        let config = keyed(key);
        let err = ApiServer::new(queue.clone(), config, ApiSettings::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid API config: encryption key must be a 32 character alphanumeric string",
            "{key:?}"
        );
    }
}
