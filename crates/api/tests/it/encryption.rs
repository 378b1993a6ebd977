//! Webhook payloads are encrypted in the Go format before queueing.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sm_api::{ApiConfig, ApiSettings, decrypt_payload};

use crate::support::TestApi;

const KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

#[tokio::test]
async fn webhook_payloads_round_trip_through_aes_gcm() {
    let config = ApiConfig {
        encryption_key: KEY.into(),
        ..ApiConfig::default()
    };
    let api = TestApi::start(config, ApiSettings::default()).await;
    let body = json!({
        "slackChannelId": "C0CRYPTO01", "header": "h",
        "webhooks": [
            {"id": "restart", "url": "https://example.invalid/restart", "buttonText": "Restart",
             "payload": {"service": "<api>", "attempt": 2, "nested": {"z": true, "a": null}}},
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
    // Go's json.Marshal: sorted keys at every level, HTML characters escaped.
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        r#"{"attempt":2,"nested":{"a":null,"z":true},"service":"\u003capi\u003e"}"#
    );
    // The crate's own decrypt agrees.
    let decrypted = decrypt_payload(KEY.as_bytes(), &sealed).unwrap();
    assert_eq!(decrypted["service"], "<api>");
    assert_eq!(decrypted["nested"]["z"], true);
    api.stop().await;
}
