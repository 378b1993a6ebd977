//! The built-in HTTP webhook handler: POSTs the callback JSON to `http://` and `https://` targets.
//!
//! Per delivery: the target is parsed and checked against the [`TargetPolicy`], the callback is
//! serialised once, and attempts are made until one succeeds, one fails for good, the retries are
//! used up or the total deadline would pass (see [`RetryPolicy`]). Each attempt takes a slot of the
//! per-target concurrency limit, has its own timeout (3 s by default, shortened to what is left of
//! the deadline), is signed afresh when a secret is set (see [`crate::signing`]), and reads at most
//! the response-size cap of the answer. 2xx is success; any other final status is
//! [`WebhookError::Status`] with the start of the body.
//!
//! Differences from Go, on purpose: redirects are not followed by default (a webhook that redirects
//! is a misconfiguration or an attack), no cookie jar, `User-Agent: slack-manager-rs/<version>`, and
//! each request carries an `X-Slack-Manager-Delivery` ID that stays the same across its retries.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url, redirect};
use sm_core::{WebhookCallback, WebhookError, WebhookHandler};

use crate::error::Error;
use crate::limit::TargetLimits;
use crate::policy::{PolicyRefusal, PolicyResolver, ResolveFailed, TargetPolicy};
use crate::retry::{RetryPolicy, retry_after};
use crate::signing::{DELIVERY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, unix_seconds};

/// Default timeout of one attempt (the Go value).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// Default cap on the bytes read from one response.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Default number of requests in flight to one target (scheme, host and port).
pub const DEFAULT_MAX_CONCURRENCY_PER_TARGET: usize = 16;

/// Longest body snippet carried by [`WebhookError::Status`], in bytes.
pub const ERROR_BODY_SNIPPET_LEN: usize = 512;

#[derive(Clone)]
struct Settings {
    request_timeout: Duration,
    retry: RetryPolicy,
    signing_secret: Option<Arc<[u8]>>,
    policy: Arc<TargetPolicy>,
    max_redirects: usize,
    max_concurrency_per_target: usize,
    max_response_bytes: usize,
    user_agent: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            signing_secret: None,
            policy: Arc::new(TargetPolicy::default()),
            max_redirects: 0,
            max_concurrency_per_target: DEFAULT_MAX_CONCURRENCY_PER_TARGET,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            user_agent: concat!("slack-manager-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Delivers webhook callbacks by HTTP POST to the `http://` and `https://` targets it claims.
///
/// Built with [`new`](Self::new) and `with_*` methods; none of them can fail. The HTTP client is
/// built on first use (or at once by [`build`](Self::build), which reports a failure to build it,
/// such as an unusable TLS backend, as an error instead of failing every delivery later).
///
/// ```no_run
/// # async fn dox(callback: sm_core::WebhookCallback) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sm_core::WebhookHandler;
/// use sm_webhooks::{HttpWebhookHandler, TargetPolicy};
///
/// let handler = HttpWebhookHandler::new()
///     .with_request_timeout(Duration::from_secs(5))
///     .with_signing_secret("a shared secret")
///     .with_target_policy(TargetPolicy::public_only())
///     .build()?;
/// handler.handle_webhook("https://hooks.example.com/restart", &callback).await?;
/// # Ok(()) }
/// ```
pub struct HttpWebhookHandler {
    settings: Settings,
    client: OnceLock<Result<reqwest::Client, String>>,
    limits: Arc<TargetLimits>,
}

impl std::fmt::Debug for HttpWebhookHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.settings;
        f.debug_struct("HttpWebhookHandler")
            .field("request_timeout", &s.request_timeout)
            .field("retry", &s.retry)
            .field("signed", &s.signing_secret.is_some())
            .field("policy", &s.policy)
            .field("max_redirects", &s.max_redirects)
            .field("max_concurrency_per_target", &s.max_concurrency_per_target)
            .field("max_response_bytes", &s.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for HttpWebhookHandler {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpWebhookHandler {
    /// A handler with the defaults: 3 s per attempt, [`RetryPolicy::default`], no signing, every
    /// target allowed, no redirects, 16 requests in flight per target, 64 KiB response cap.
    pub fn new() -> Self {
        Self::from_settings(Settings::default())
    }

    /// [`new`](Self::new) followed by [`build`](Self::build).
    ///
    /// # Errors
    /// [`Error::Client`] when the HTTP client cannot be built.
    pub fn try_new() -> Result<Self, Error> {
        Self::new().build()
    }

    fn from_settings(settings: Settings) -> Self {
        let limits = Arc::new(TargetLimits::new(settings.max_concurrency_per_target));
        Self {
            settings,
            client: OnceLock::new(),
            limits,
        }
    }

    fn update(self, f: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = self.settings;
        f(&mut settings);
        // A fresh client and fresh limits for the new settings.
        Self::from_settings(settings)
    }

    /// Builds the HTTP client now, so that a failure shows at start-up.
    ///
    /// # Errors
    /// [`Error::Client`] when the client cannot be built; [`Error::EmptySecret`] when an empty signing
    /// secret was set.
    pub fn build(self) -> Result<Self, Error> {
        if self
            .settings
            .signing_secret
            .as_ref()
            .is_some_and(|s| s.is_empty())
        {
            return Err(Error::EmptySecret);
        }
        self.client().map_err(Error::Client)?;
        Ok(self)
    }

    /// Sets the timeout of each attempt (default 3 s). Zero is treated as the default.
    pub fn with_request_timeout(self, timeout: Duration) -> Self {
        let timeout = if timeout.is_zero() {
            DEFAULT_REQUEST_TIMEOUT
        } else {
            timeout
        };
        self.update(|s| s.request_timeout = timeout)
    }

    /// Sets the retry policy (delays, number of retries, total deadline).
    pub fn with_retry_policy(self, retry: RetryPolicy) -> Self {
        self.update(|s| s.retry = retry)
    }

    /// Signs every attempt with HMAC-SHA256 under `secret` (see [`crate::signing`]).
    pub fn with_signing_secret(self, secret: impl AsRef<[u8]>) -> Self {
        let secret: Arc<[u8]> = Arc::from(secret.as_ref());
        self.update(|s| s.signing_secret = Some(secret))
    }

    /// Sets which targets may be contacted (default: all).
    pub fn with_target_policy(self, policy: TargetPolicy) -> Self {
        self.update(|s| s.policy = Arc::new(policy))
    }

    /// Follows up to `max` redirects, each checked against the target policy (default 0: a redirect
    /// answer is returned as a [`WebhookError::Status`] error).
    pub fn with_max_redirects(self, max: usize) -> Self {
        self.update(|s| s.max_redirects = max)
    }

    /// Sets how many requests may be in flight to one target (scheme, host, port) at once
    /// (default 16; 0 is treated as 1).
    pub fn with_max_concurrency_per_target(self, max: usize) -> Self {
        self.update(|s| s.max_concurrency_per_target = max.max(1))
    }

    /// Sets the most bytes read from one response (default 64 KiB); the rest is not read and the
    /// connection is closed.
    pub fn with_max_response_bytes(self, max: usize) -> Self {
        self.update(|s| s.max_response_bytes = max)
    }

    /// Sets the `User-Agent` header (default `slack-manager-rs/<version>`).
    pub fn with_user_agent(self, user_agent: impl Into<String>) -> Self {
        let user_agent = user_agent.into();
        self.update(|s| s.user_agent = user_agent)
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        self.client
            .get_or_init(|| build_client(&self.settings).map_err(|e| e.to_string()))
            .clone()
    }

    async fn deliver(&self, target: &str, data: &WebhookCallback) -> Result<u16, WebhookError> {
        let settings = &self.settings;
        let client = self.client().map_err(WebhookError::Config)?;
        let url = Url::parse(target).map_err(|e| transport(target, e))?;
        settings
            .policy
            .check_url(&url)
            .map_err(|reason| refused(target, reason))?;
        let delivery = Delivery {
            body: serde_json::to_vec(data).map_err(|e| WebhookError::Payload(e.to_string()))?,
            id: uuid::Uuid::new_v4().to_string(),
            deadline: Instant::now() + settings.retry.total_deadline(),
            target_key: url.origin().ascii_serialization(),
            target,
            url,
        };
        let deadline = delivery.deadline;
        let mut delays = settings.retry.delays();
        let mut attempt = 1u32;
        loop {
            let outcome = self.attempt(&client, &delivery).await;
            let (err, retry_after) = match outcome {
                Attempt::Success(status) => return Ok(status),
                Attempt::Fatal(err) => return Err(err),
                Attempt::Retryable { err, retry_after } => (err, retry_after),
            };
            let Some(delay) = delays.next() else {
                return Err(err);
            };
            let delay = retry_after.map_or(delay, |ra| ra.max(delay));
            if Instant::now() + delay >= deadline {
                tracing::debug!(
                    target,
                    attempt,
                    ?delay,
                    "webhook retry would pass the deadline"
                );
                return Err(err);
            }
            tracing::debug!(target, attempt, ?delay, error = %err, "retrying webhook");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, client: &reqwest::Client, delivery: &Delivery<'_>) -> Attempt {
        let settings = &self.settings;
        let Delivery {
            target,
            url,
            target_key,
            body,
            id: delivery_id,
            deadline,
        } = delivery;
        let (target, deadline) = (*target, *deadline);
        let wait = deadline.saturating_duration_since(Instant::now());
        let Ok(_permit) = tokio::time::timeout(wait, self.limits.acquire(target_key)).await else {
            return Attempt::Fatal(transport(
                target,
                "deadline passed while waiting for a free concurrency slot",
            ));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Attempt::Fatal(transport(target, "delivery deadline passed"));
        }
        let mut request = client
            .post(url.clone())
            .timeout(settings.request_timeout.min(left))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(DELIVERY_ID_HEADER, delivery_id);
        if let Some(secret) = &settings.signing_secret {
            let ts = unix_seconds(SystemTime::now());
            match sign(secret, ts, body) {
                Ok(sig) => {
                    request = request
                        .header(TIMESTAMP_HEADER, ts.to_string())
                        .header(SIGNATURE_HEADER, sig);
                }
                Err(e) => return Attempt::Fatal(WebhookError::Config(e.to_string())),
            }
        }
        let response = match request.body(body.clone()).send().await {
            Ok(r) => r,
            Err(e) => return self.classify(target, e),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let head = read_capped(response, settings.max_response_bytes).await;
        if status.is_success() {
            return Attempt::Success(status.as_u16());
        }
        let err = WebhookError::Status {
            target: target.to_owned(),
            status: status.as_u16(),
            body_snippet: snippet(&head),
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Attempt::Retryable { err, retry_after }
        } else {
            Attempt::Fatal(err)
        }
    }

    fn classify(&self, target: &str, e: reqwest::Error) -> Attempt {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if let Some(refusal) = err.downcast_ref::<PolicyRefusal>() {
                return Attempt::Fatal(refused(target, refusal.0.clone()));
            }
            if err.is::<ResolveFailed>() {
                return Attempt::Fatal(transport(target, e));
            }
            source = err.source();
        }
        let retry = if e.is_timeout() {
            self.settings.retry.retry_on_timeout()
        } else {
            !e.is_builder() && !e.is_redirect()
        };
        let err = transport(target, e);
        if retry {
            Attempt::Retryable {
                err,
                retry_after: None,
            }
        } else {
            Attempt::Fatal(err)
        }
    }
}

/// What stays the same across the attempts of one delivery.
struct Delivery<'a> {
    /// The target as given (named in errors).
    target: &'a str,
    url: Url,
    /// The origin, the key of the concurrency limit.
    target_key: String,
    body: Vec<u8>,
    /// Sent as [`DELIVERY_ID_HEADER`], constant across retries.
    id: String,
    /// The end of the total deadline.
    deadline: Instant,
}

/// The outcome of one attempt.
enum Attempt {
    Success(u16),
    Fatal(WebhookError),
    Retryable {
        err: WebhookError,
        retry_after: Option<Duration>,
    },
}

fn transport(
    target: &str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
) -> WebhookError {
    WebhookError::Transport {
        target: target.to_owned(),
        source: source.into(),
    }
}

fn refused(target: &str, reason: String) -> WebhookError {
    WebhookError::Refused {
        target: target.to_owned(),
        reason,
    }
}

fn build_client(s: &Settings) -> Result<reqwest::Client, Error> {
    let max_redirects = s.max_redirects;
    let redirect_policy = if max_redirects == 0 {
        redirect::Policy::none()
    } else {
        let policy = Arc::clone(&s.policy);
        redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error("too many redirects");
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(reason) => attempt.error(PolicyRefusal(format!("redirect refused: {reason}"))),
            }
        })
    };
    let mut builder = reqwest::Client::builder()
        .redirect(redirect_policy)
        .dns_resolver(Arc::new(PolicyResolver {
            policy: Arc::clone(&s.policy),
        }))
        .user_agent(s.user_agent.clone());
    if s.policy.blocks_non_public() {
        // A proxy would resolve and connect on our behalf, out of the resolver's reach.
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| Error::Client(e.to_string()))
}

/// Reads at most `cap` bytes of the body; stops early on error (the snippet is best effort).
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(cap - out.len());
                out.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    out
}

fn snippet(body: &[u8]) -> String {
    let head = &body[..body.len().min(ERROR_BODY_SNIPPET_LEN)];
    let text = match std::str::from_utf8(head) {
        Ok(s) => s.to_owned(),
        // A cut inside a multi-byte character: keep the valid prefix.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(head).into_owned(),
    };
    text.trim().to_owned()
}

#[async_trait]
impl WebhookHandler for HttpWebhookHandler {
    /// Claims targets starting with `http://` or `https://` (case-sensitive, as in Go).
    fn should_handle_webhook(&self, target: &str) -> bool {
        target.starts_with("http://") || target.starts_with("https://")
    }

    async fn handle_webhook(
        &self,
        target: &str,
        data: &WebhookCallback,
    ) -> Result<(), WebhookError> {
        let status = self.deliver(target, data).await?;
        tracing::debug!(target, status, "Webhook POST {target} {status}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_http_and_https_case_sensitively() {
        let h = HttpWebhookHandler::new();
        assert!(h.should_handle_webhook("http://x"));
        assert!(h.should_handle_webhook("https://x/y"));
        assert!(!h.should_handle_webhook("HTTPS://x"));
        assert!(!h.should_handle_webhook("Http://x"));
        assert!(!h.should_handle_webhook("sqs-queue"));
        assert!(!h.should_handle_webhook("ftp://x"));
    }

    #[test]
    fn snippet_is_bounded_and_valid_utf8() {
        let long = "é".repeat(1000);
        let s = snippet(long.as_bytes());
        assert!(s.len() <= ERROR_BODY_SNIPPET_LEN);
        assert_eq!(s, "é".repeat(ERROR_BODY_SNIPPET_LEN / 2));
        let odd = format!("x{}", "é".repeat(1000));
        let s = snippet(odd.as_bytes());
        assert_eq!(
            s,
            format!("x{}", "é".repeat((ERROR_BODY_SNIPPET_LEN - 2) / 2))
        );
        assert_eq!(snippet(b"  bad request \n"), "bad request");
    }

    #[test]
    fn builds_and_refuses_empty_secret() {
        assert!(HttpWebhookHandler::try_new().is_ok());
        assert!(matches!(
            HttpWebhookHandler::new().with_signing_secret("").build(),
            Err(Error::EmptySecret)
        ));
    }
}
