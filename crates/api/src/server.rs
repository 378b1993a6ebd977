//! [`ApiServer`]: assembles the router and serves it until cancelled.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use sm_core::{FifoQueue, FifoQueueProducer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

use crate::alerts;
use crate::channel_info::{AcceptAllChannels, ChannelInfoProvider};
use crate::config::ApiConfig;
use crate::error::ApiError;
use crate::info_endpoints;
use crate::middleware::{self, REQUEST_DURATION_METRIC};
use crate::rate_limit::ChannelRateLimits;
use crate::raw_consumer::run_raw_consumer;
use crate::routing::{ApiSettings, RoutingTable};

/// Everything a request handler reads.
pub(crate) struct AppState {
    pub(crate) producer: Arc<dyn FifoQueueProducer>,
    pub(crate) config: Arc<ApiConfig>,
    pub(crate) channel_info: Arc<dyn ChannelInfoProvider>,
    routing: Arc<RwLock<Arc<RoutingTable>>>,
    pub(crate) limits: Arc<ChannelRateLimits>,
}

impl AppState {
    /// The routing table in force (a cheap clone of an `Arc`).
    pub(crate) fn routing(&self) -> Arc<RoutingTable> {
        let guard = self
            .routing
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(&guard)
    }
}

/// Longest time a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The alert ingestion API.
///
/// Built once from a queue producer, a validated [`ApiConfig`] and [`ApiSettings`]; serves with
/// [`serve`](Self::serve) or hands its [`router`](Self::router) to a host that serves other routes
/// too. Routers and the server share the routing table (replaced by
/// [`update_settings`](Self::update_settings)) and the per-channel rate limiters.
///
/// ```
/// # async fn dox() -> Result<(), sm_api::ApiError> {
/// use std::sync::Arc;
/// use sm_api::{ApiConfig, ApiServer, ApiSettings};
/// use sm_core::InMemoryFifoQueue;
/// use tokio_util::sync::CancellationToken;
///
/// let queue = Arc::new(InMemoryFifoQueue::new("alerts"));
/// let server = ApiServer::new(queue, ApiConfig::default(), ApiSettings::default())?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(sm_api::ApiError::Serve)?;
/// let cancel = CancellationToken::new();
/// cancel.cancel(); // a real host cancels on SIGTERM
/// server.serve(listener, cancel).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ApiServer {
    producer: Arc<dyn FifoQueueProducer>,
    config: Arc<ApiConfig>,
    channel_info: Arc<dyn ChannelInfoProvider>,
    routing: Arc<RwLock<Arc<RoutingTable>>>,
    limits: Arc<ChannelRateLimits>,
    raw_consumers: Vec<Arc<dyn FifoQueue>>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("queue", &self.producer.name())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ApiServer {
    /// Validates `config` and `settings`. Channel lookups default to [`AcceptAllChannels`]; plug a
    /// Slack-backed provider in with [`with_channel_info`](Self::with_channel_info).
    pub fn new(
        producer: Arc<dyn FifoQueueProducer>,
        config: ApiConfig,
        settings: ApiSettings,
    ) -> Result<Self, ApiError> {
        config.validate()?;
        let routing = RoutingTable::new(settings)?;
        if config.encryption_key.is_empty() {
            tracing::error!(
                "no encryption key configured: the API starts, but alerts with webhooks are refused with 400"
            );
        }
        metrics::describe_histogram!(
            REQUEST_DURATION_METRIC,
            metrics::Unit::Seconds,
            "Duration of HTTP requests to the alert API"
        );
        Ok(ApiServer {
            producer,
            limits: Arc::new(ChannelRateLimits::new(
                config.rate_limit_per_alert_channel.clone(),
            )),
            config: Arc::new(config),
            channel_info: Arc::new(AcceptAllChannels),
            routing: Arc::new(RwLock::new(Arc::new(routing))),
            raw_consumers: Vec::new(),
        })
    }

    /// Uses `provider` for channel checks, name mapping and `GET /channels`.
    pub fn with_channel_info(mut self, provider: Arc<dyn ChannelInfoProvider>) -> Self {
        self.channel_info = provider;
        self
    }

    /// Adds a queue whose items are single JSON alerts, processed like `POST /alert` bodies (without
    /// rate limiting) while [`serve`](Self::serve) runs. May be called several times.
    pub fn with_raw_alert_consumer(mut self, queue: Arc<dyn FifoQueue>) -> Self {
        self.raw_consumers.push(queue);
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// Replaces the routing rules (atomically; requests in flight finish with the old ones). Invalid
    /// settings are refused and the old ones stay in force.
    pub fn update_settings(&self, settings: ApiSettings) -> Result<(), ApiError> {
        let table =
            RoutingTable::new(settings).map_err(|e| ApiError::SettingsRejected(e.to_string()))?;
        let mut guard = self
            .routing
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = Arc::new(table);
        Ok(())
    }

    fn state(&self) -> Arc<AppState> {
        Arc::new(AppState {
            producer: Arc::clone(&self.producer),
            config: Arc::clone(&self.config),
            channel_info: Arc::clone(&self.channel_info),
            routing: Arc::clone(&self.routing),
            limits: Arc::clone(&self.limits),
        })
    }

    /// The API's routes with their middleware (metrics, request log, panic recovery, handler
    /// timeout). Serve it with `into_make_service_with_connect_info::<SocketAddr>()` to get client
    /// IPs in the request log.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/alert", post(alerts::post_alerts))
            .route("/alert/{slackChannelId}", post(alerts::post_alerts_to))
            .route("/alerts", post(alerts::post_alerts))
            .route("/alerts/{slackChannelId}", post(alerts::post_alerts_to))
            .route("/prometheus-alert", post(alerts::post_prometheus))
            .route(
                "/prometheus-alert/{slackChannelId}",
                post(alerts::post_prometheus_to),
            )
            .route("/alerts-test", post(alerts::post_alerts_test))
            .route(
                "/alerts-test/{slackChannelId}",
                post(alerts::post_alerts_test_to),
            )
            .route("/mappings", get(info_endpoints::get_mappings))
            .route("/channels", get(info_endpoints::get_channels))
            .route("/ping", get(info_endpoints::get_ping))
            .route("/openapi.json", get(info_endpoints::get_openapi))
            .fallback(info_endpoints::not_found)
            .method_not_allowed_fallback(info_endpoints::not_found)
            .with_state(self.state())
            .layer(axum::middleware::from_fn_with_state(
                self.config.handler_timeout,
                middleware::handler_timeout,
            ))
            .layer(CatchPanicLayer::custom(middleware::panic_response))
            .layer(axum::middleware::from_fn(middleware::log_request))
            .layer(axum::middleware::from_fn(middleware::record_metrics))
    }

    /// Serves the API on `listener` (and runs the raw alert consumers) until `cancel` fires, then
    /// shuts down gracefully: no new connections, requests in flight finish (each bounded by the
    /// handler timeout). Connections must send their request headers within
    /// [`HEADER_READ_TIMEOUT`]. The first consumer error stops everything and is returned.
    pub async fn serve(
        &self,
        listener: TcpListener,
        cancel: CancellationToken,
    ) -> Result<(), ApiError> {
        let addr = listener.local_addr().map_err(ApiError::Serve)?;
        tracing::info!(%addr, queue = self.producer.name(), "API server started");
        let inner_cancel = cancel.child_token();
        let mut tasks: JoinSet<Result<(), ApiError>> = JoinSet::new();
        for queue in &self.raw_consumers {
            tasks.spawn(run_raw_consumer(
                self.state(),
                Arc::clone(queue),
                inner_cancel.clone(),
            ));
        }
        tasks.spawn(accept_loop(
            listener,
            self.router(),
            inner_cancel.clone(),
            self.config.handler_timeout + Duration::from_secs(1),
        ));
        let mut result = Ok(());
        while let Some(joined) = tasks.join_next().await {
            let outcome =
                joined.unwrap_or_else(|e| Err(ApiError::RawConsumer(format!("task failed: {e}"))));
            // Any task ending (normally only on cancellation) stops the others.
            inner_cancel.cancel();
            if let Err(e) = outcome {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        tracing::info!(%addr, "API server exited");
        result
    }
}

/// Accepts connections until `cancel` fires, then waits up to `drain` for open requests.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    cancel: CancellationToken,
    drain: Duration,
) -> Result<(), ApiError> {
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Accept errors (e.g. too many open files) are transient: log and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(req.map(Body::new))
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?drain,
            "connections still open after the drain time, closing them"
        );
    }
    Ok(())
}
