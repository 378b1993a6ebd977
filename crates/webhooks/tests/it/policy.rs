//! The SSRF target policy against real loopback servers.

use sm_core::{WebhookError, WebhookHandler};
use sm_webhooks::{HttpWebhookHandler, TargetPolicy};

use crate::server::{TestServer, callback, fast_retries, ok, respond};

fn handler(policy: TargetPolicy) -> HttpWebhookHandler {
    HttpWebhookHandler::new()
        .with_retry_policy(fast_retries())
        .with_target_policy(policy)
}

fn assert_refused(result: Result<(), WebhookError>) {
    match result {
        Err(WebhookError::Refused { .. }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn public_only_refuses_loopback_literals_and_names() {
    let server = TestServer::start(|_| async { ok() }).await;
    let port = server.addr.port();
    let strict = handler(TargetPolicy::public_only());
    assert_refused(strict.handle_webhook(&server.url("/x"), &callback()).await);
    // A name is judged on its resolved address, by the client's resolver.
    assert_refused(
        strict
            .handle_webhook(&format!("http://localhost:{port}/x"), &callback())
            .await,
    );
    assert_refused(
        strict
            .handle_webhook(&format!("http://[::1]:{port}/x"), &callback())
            .await,
    );
    assert_refused(
        strict
            .handle_webhook("http://169.254.169.254/latest/meta-data/", &callback())
            .await,
    );
    assert_eq!(server.count(), 0);

    // Disabled (the default), the same target is delivered to.
    handler(TargetPolicy::allow_all())
        .handle_webhook(&server.url("/x"), &callback())
        .await
        .unwrap();
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn allowed_networks_are_exempt() {
    let server = TestServer::start(|_| async { ok() }).await;
    let port = server.addr.port();
    let h =
        handler(TargetPolicy::public_only().with_allowed_network("127.0.0.1/32".parse().unwrap()));
    h.handle_webhook(&server.url("/x"), &callback())
        .await
        .unwrap();
    h.handle_webhook(&format!("http://localhost:{port}/x"), &callback())
        .await
        .unwrap();
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn host_allow_list() {
    let server = TestServer::start(|_| async { ok() }).await;
    let port = server.addr.port();
    let h = handler(TargetPolicy::allow_all().with_allowed_host("localhost"));
    h.handle_webhook(&format!("http://localhost:{port}/x"), &callback())
        .await
        .unwrap();
    assert_refused(h.handle_webhook(&server.url("/x"), &callback()).await);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn redirects_are_checked_against_the_policy() {
    // 127.0.0.2 is loopback too; only 127.0.0.1 is exempt.
    let inner = TestServer::start_on("127.0.0.2:0", |_| async { ok() }).await;
    let location = inner.url("/internal");
    let outer = TestServer::start(move |_| {
        let location = location.clone();
        async move { respond(307, &[("location", location.as_str())], "") }
    })
    .await;
    let h =
        handler(TargetPolicy::public_only().with_allowed_network("127.0.0.1/32".parse().unwrap()))
            .with_max_redirects(3);
    assert_refused(h.handle_webhook(&outer.url("/hop"), &callback()).await);
    assert_eq!(outer.count(), 1);
    assert_eq!(inner.count(), 0);
}
