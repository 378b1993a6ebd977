//! Handler selection: registration order, HTTP handler last, no handler.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sm_core::{WebhookCallback, WebhookError, WebhookHandler};
use sm_webhooks::{HttpWebhookHandler, WebhookHandlers};

use crate::server::{TestServer, callback, ok};

/// Claims targets with a prefix and records what it delivered.
struct Recording {
    prefix: &'static str,
    delivered: Mutex<Vec<String>>,
}

impl Recording {
    fn new(prefix: &'static str) -> Arc<Self> {
        Arc::new(Self {
            prefix,
            delivered: Mutex::default(),
        })
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().unwrap().clone()
    }
}

#[async_trait]
impl WebhookHandler for Recording {
    fn should_handle_webhook(&self, target: &str) -> bool {
        target.starts_with(self.prefix)
    }

    async fn handle_webhook(
        &self,
        target: &str,
        _data: &WebhookCallback,
    ) -> Result<(), WebhookError> {
        self.delivered.lock().unwrap().push(target.to_owned());
        Ok(())
    }
}

#[tokio::test]
async fn first_claiming_handler_wins_and_http_is_last() {
    let server = TestServer::start(|_| async { ok() }).await;
    let sqs = Recording::new("https://sqs.");
    let broad = Recording::new("https://");
    let queue = Recording::new("queue:");
    let handlers = WebhookHandlers::new()
        .with_handler(sqs.clone())
        .with_handler(broad.clone())
        .with_handler(queue.clone());
    assert_eq!(handlers.len(), 4);

    let data = callback();
    handlers
        .handle_webhook("https://sqs.eu-west-1.amazonaws.com/1/q", &data)
        .await
        .unwrap();
    handlers
        .handle_webhook("https://hooks.example.com/x", &data)
        .await
        .unwrap();
    handlers
        .handle_webhook("queue:alerts", &data)
        .await
        .unwrap();
    handlers
        .handle_webhook(&server.url("/plain-http"), &data)
        .await
        .unwrap();

    assert_eq!(sqs.delivered(), ["https://sqs.eu-west-1.amazonaws.com/1/q"]);
    assert_eq!(broad.delivered(), ["https://hooks.example.com/x"]);
    assert_eq!(queue.delivered(), ["queue:alerts"]);
    assert_eq!(
        server.count(),
        1,
        "http:// went to the built-in HTTP handler"
    );
}

#[tokio::test]
async fn unclaimed_targets_have_no_handler() {
    let handlers = WebhookHandlers::with_http_handler(Arc::new(HttpWebhookHandler::new()));
    for target in ["my-queue", "HTTPS://example.com/x", ""] {
        assert!(!handlers.should_handle_webhook(target));
        let err = handlers
            .handle_webhook(target, &callback())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, WebhookError::NoHandler { target: t } if t == target),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("no webhook handler found for target {target}")
        );
    }
    assert!(handlers.select("http://x").is_ok());
}
