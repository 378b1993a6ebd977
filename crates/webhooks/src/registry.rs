//! The handler registry the manager uses to pick who delivers a webhook.
//!
//! Handlers are tried in registration order; the first whose `should_handle_webhook` is true
//! delivers. The built-in [`HttpWebhookHandler`] is always tried last, so a handler for, say, SQS
//! queue URLs (which are `https://` URLs too) wins when registered. This differs from Go on purpose:
//! there, registering any handler removed the HTTP handler, silently breaking `http(s)://` targets.

use std::sync::Arc;

use async_trait::async_trait;
use sm_core::{WebhookCallback, WebhookError, WebhookHandler};

use crate::http::HttpWebhookHandler;

/// Ordered webhook handlers with the HTTP handler last.
#[derive(Clone)]
pub struct WebhookHandlers {
    handlers: Vec<Arc<dyn WebhookHandler>>,
    http: Arc<dyn WebhookHandler>,
}

impl std::fmt::Debug for WebhookHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHandlers")
            .field("registered", &self.handlers.len())
            .finish_non_exhaustive()
    }
}

impl Default for WebhookHandlers {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookHandlers {
    /// A registry holding only the default [`HttpWebhookHandler`].
    pub fn new() -> Self {
        Self::with_http_handler(Arc::new(HttpWebhookHandler::new()))
    }

    /// A registry whose last-resort handler is `http` (for example a configured
    /// [`HttpWebhookHandler`]).
    pub fn with_http_handler(http: Arc<dyn WebhookHandler>) -> Self {
        Self {
            handlers: Vec::new(),
            http,
        }
    }

    /// Appends a handler; it is tried after those registered before it and before the HTTP handler.
    pub fn register(&mut self, handler: Arc<dyn WebhookHandler>) -> &mut Self {
        self.handlers.push(handler);
        self
    }

    /// [`register`](Self::register) in builder style.
    pub fn with_handler(mut self, handler: Arc<dyn WebhookHandler>) -> Self {
        self.register(handler);
        self
    }

    /// Number of handlers, the HTTP handler included.
    pub fn len(&self) -> usize {
        self.handlers.len() + 1
    }

    /// Always false: the HTTP handler is always present.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The handler that delivers to `target`.
    ///
    /// # Errors
    /// [`WebhookError::NoHandler`] when no handler claims it.
    pub fn select(&self, target: &str) -> Result<&Arc<dyn WebhookHandler>, WebhookError> {
        self.handlers
            .iter()
            .chain(std::iter::once(&self.http))
            .find(|h| h.should_handle_webhook(target))
            .ok_or_else(|| WebhookError::NoHandler {
                target: target.to_owned(),
            })
    }
}

#[async_trait]
impl WebhookHandler for WebhookHandlers {
    /// True when any handler claims `target`.
    fn should_handle_webhook(&self, target: &str) -> bool {
        self.select(target).is_ok()
    }

    /// Delivers through the selected handler; [`WebhookError::NoHandler`] when none claims `target`.
    async fn handle_webhook(
        &self,
        target: &str,
        data: &WebhookCallback,
    ) -> Result<(), WebhookError> {
        self.select(target)?.handle_webhook(target, data).await
    }
}
