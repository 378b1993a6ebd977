//! Signed deliveries verified by the receiver.

use std::time::{Duration, SystemTime};

use sm_core::WebhookHandler;
use sm_webhooks::{
    DEFAULT_SIGNATURE_TOLERANCE, Error, HttpWebhookHandler, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    verify_headers,
};

use crate::server::{TestServer, callback, fast_retries, ok};

const SECRET: &[u8] = b"correct horse battery staple";

#[tokio::test]
async fn signed_request_verifies_and_forgeries_fail() {
    let server = TestServer::start(|_| async { ok() }).await;
    HttpWebhookHandler::new()
        .with_retry_policy(fast_retries())
        .with_signing_secret(SECRET)
        .build()
        .unwrap()
        .handle_webhook(&server.url("/signed"), &callback())
        .await
        .unwrap();
    let r = &server.requests()[0];
    assert!(r.headers.contains_key(TIMESTAMP_HEADER));
    assert!(
        r.headers[SIGNATURE_HEADER]
            .to_str()
            .unwrap()
            .starts_with("v1=")
    );
    let now = SystemTime::now();

    verify_headers(
        SECRET,
        &r.headers,
        &r.body,
        DEFAULT_SIGNATURE_TOLERANCE,
        now,
    )
    .unwrap();

    let mut tampered = r.body.to_vec();
    let pos = tampered.iter().position(|&b| b == b'U').unwrap();
    tampered[pos] = b'V';
    assert!(matches!(
        verify_headers(
            SECRET,
            &r.headers,
            &tampered,
            DEFAULT_SIGNATURE_TOLERANCE,
            now
        ),
        Err(Error::SignatureMismatch)
    ));

    assert!(matches!(
        verify_headers(
            b"another secret",
            &r.headers,
            &r.body,
            DEFAULT_SIGNATURE_TOLERANCE,
            now
        ),
        Err(Error::SignatureMismatch)
    ));

    let later = now + Duration::from_secs(600);
    assert!(matches!(
        verify_headers(
            SECRET,
            &r.headers,
            &r.body,
            DEFAULT_SIGNATURE_TOLERANCE,
            later
        ),
        Err(Error::StaleTimestamp { .. })
    ));
}

#[tokio::test]
async fn every_retry_is_signed() {
    let server = TestServer::start(|i| async move {
        if i == 0 {
            crate::server::respond(503, &[], "")
        } else {
            ok()
        }
    })
    .await;
    HttpWebhookHandler::new()
        .with_retry_policy(fast_retries())
        .with_signing_secret(SECRET)
        .handle_webhook(&server.url("/signed"), &callback())
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        verify_headers(
            SECRET,
            &r.headers,
            &r.body,
            DEFAULT_SIGNATURE_TOLERANCE,
            SystemTime::now(),
        )
        .unwrap();
    }
}
