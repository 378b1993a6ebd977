//! Delivery outcomes: success, statuses, retries, timeouts, connection errors, redirects, size cap.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use sm_core::{WebhookCallback, WebhookError, WebhookHandler};
use sm_webhooks::{DELIVERY_ID_HEADER, ERROR_BODY_SNIPPET_LEN, HttpWebhookHandler, RetryPolicy};

use crate::server::{TestServer, callback, fast_retries, ok, respond};

fn handler() -> HttpWebhookHandler {
    HttpWebhookHandler::new().with_retry_policy(fast_retries())
}

#[tokio::test]
async fn success_posts_the_callback_json() {
    let server = TestServer::start(|_| async { ok() }).await;
    let data = callback();
    handler()
        .handle_webhook(&server.url("/hook"), &data)
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/hook");
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.headers.contains_key(DELIVERY_ID_HEADER));
    assert!(!r.headers.contains_key(sm_webhooks::SIGNATURE_HEADER));
    let got: WebhookCallback = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(got, data);
    // Field names and order are the Go ones.
    let text = std::str::from_utf8(&r.body).unwrap();
    let keys = [
        "\"id\"",
        "\"userId\"",
        "\"userRealName\"",
        "\"channelId\"",
        "\"messageId\"",
        "\"timestamp\"",
        "\"input\"",
        "\"checkboxInput\"",
        "\"payload\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[tokio::test]
async fn client_error_is_not_retried() {
    let server = TestServer::start(|_| async { respond(404, &[], "no such hook") }).await;
    let err = handler()
        .handle_webhook(&server.url("/missing"), &callback())
        .await
        .unwrap_err();
    match err {
        WebhookError::Status {
            status,
            body_snippet,
            target,
        } => {
            assert_eq!(status, 404);
            assert_eq!(body_snippet, "no such hook");
            assert_eq!(target, server.url("/missing"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = TestServer::start(|i| async move {
        if i == 0 {
            respond(500, &[], "boom")
        } else {
            ok()
        }
    })
    .await;
    handler()
        .handle_webhook(&server.url("/flaky"), &callback())
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // Both attempts are one delivery, and identical.
    assert_eq!(
        requests[0].headers[DELIVERY_ID_HEADER],
        requests[1].headers[DELIVERY_ID_HEADER]
    );
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn persistent_server_error_uses_up_the_retries() {
    let server = TestServer::start(|_| async { respond(503, &[], "unavailable") }).await;
    let err = handler()
        .with_retry_policy(fast_retries().with_max_retries(3))
        .handle_webhook(&server.url("/down"), &callback())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(server.count(), 4);

    let server = TestServer::start(|_| async { respond(502, &[], "") }).await;
    let err = handler()
        .with_retry_policy(RetryPolicy::none())
        .handle_webhook(&server.url("/down"), &callback())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::Status { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let server = TestServer::start(|i| async move {
        if i == 0 {
            respond(429, &[("retry-after", "1")], "slow down")
        } else {
            ok()
        }
    })
    .await;
    handler()
        .handle_webhook(&server.url("/limited"), &callback())
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at.duration_since(requests[0].at);
    assert!(
        gap >= Duration::from_secs(1),
        "second attempt came {gap:?} after the first"
    );
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_gives_up_at_once() {
    let server =
        TestServer::start(|_| async { respond(429, &[("retry-after", "3600")], "later") }).await;
    let err = handler()
        .with_retry_policy(fast_retries().with_total_deadline(Duration::from_secs(5)))
        .handle_webhook(&server.url("/limited"), &callback())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::Status { status: 429, .. }),
        "{err:?}"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn an_attempt_that_times_out_fails_and_is_not_retried() {
    let server = TestServer::start(|_| async {
        std::future::pending::<()>().await;
        ok()
    })
    .await;
    let err = handler()
        .with_request_timeout(Duration::from_millis(200))
        .handle_webhook(&server.url("/slow"), &callback())
        .await
        .unwrap_err();
    let WebhookError::Transport { source, .. } = &err else {
        panic!("unexpected error {err:?}");
    };
    let reqwest_err = source
        .downcast_ref::<reqwest::Error>()
        .expect("a reqwest error");
    assert!(reqwest_err.is_timeout(), "{reqwest_err:?}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn retry_on_timeout_when_asked() {
    let server = TestServer::start(|i| async move {
        if i == 0 {
            std::future::pending::<()>().await;
        }
        ok()
    })
    .await;
    // A generous timeout, so that only the first (never answered) attempt can hit it.
    handler()
        .with_request_timeout(Duration::from_secs(1))
        .with_retry_policy(fast_retries().with_retry_on_timeout(true))
        .handle_webhook(&server.url("/slow-once"), &callback())
        .await
        .unwrap();
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = handler()
        .handle_webhook(&format!("http://{addr}/gone"), &callback())
        .await
        .unwrap_err();
    let WebhookError::Transport { source, .. } = &err else {
        panic!("unexpected error {err:?}");
    };
    let reqwest_err = source
        .downcast_ref::<reqwest::Error>()
        .expect("a reqwest error");
    assert!(reqwest_err.is_connect(), "{reqwest_err:?}");
}

#[tokio::test]
async fn invalid_url_is_an_error_not_a_panic() {
    let err = handler()
        .handle_webhook("http://", &callback())
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn redirects_are_not_followed_by_default() {
    let target = TestServer::start(|_| async { ok() }).await;
    let location = target.url("/landed");
    let redirector = TestServer::start(move |_| {
        let location = location.clone();
        async move { respond(302, &[("location", location.as_str())], "") }
    })
    .await;
    let err = handler()
        .handle_webhook(&redirector.url("/hop"), &callback())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::Status { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(redirector.count(), 1);
    assert_eq!(target.count(), 0);

    // Opted in, the redirect is followed.
    handler()
        .with_max_redirects(1)
        .handle_webhook(&redirector.url("/hop"), &callback())
        .await
        .unwrap();
    assert_eq!(target.count(), 1);
}

#[tokio::test]
async fn oversized_error_body_is_cut() {
    let server = TestServer::start(|_| async { respond(500, &[], "e".repeat(1 << 20)) }).await;
    let err = handler()
        .with_retry_policy(RetryPolicy::none())
        .handle_webhook(&server.url("/big"), &callback())
        .await
        .unwrap_err();
    let WebhookError::Status { body_snippet, .. } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(body_snippet.len(), ERROR_BODY_SNIPPET_LEN);
    assert!(err.to_string().len() < 1024);
}

#[tokio::test]
async fn endless_success_body_is_cut_at_the_cap() {
    // Without the cap this body never ends and the attempt would fail on its timeout.
    let server = TestServer::start(|_| async {
        let chunks =
            futures::stream::repeat_with(|| Ok::<_, Infallible>(Bytes::from(vec![b'x'; 8192])));
        respond(200, &[], Body::from_stream(chunks))
    })
    .await;
    handler()
        .with_request_timeout(Duration::from_secs(30))
        .with_max_response_bytes(64 * 1024)
        .handle_webhook(&server.url("/endless"), &callback())
        .await
        .unwrap();
    assert_eq!(server.count(), 1);
}
