//! Request middleware, outermost first: metrics → request log → panic recovery → handler timeout.

use std::any::Any;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::response::{INTERNAL_SERVER_ERROR, json_error};

/// Name of the request duration histogram (labels `path`, `method`, `status`).
pub const REQUEST_DURATION_METRIC: &str = "http_server_request_duration_seconds";

/// Buckets of [`REQUEST_DURATION_METRIC`] (seconds), for the host's Prometheus exporter.
pub const REQUEST_DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route template in Go's form (`/alert/:slackChannelId`), or `unmatched`.
fn path_label(req: &Request) -> String {
    match req.extensions().get::<MatchedPath>() {
        Some(p) => p.as_str().replace('{', ":").replace('}', ""),
        None => "unmatched".to_owned(),
    }
}

/// Records the request duration histogram.
pub(crate) async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = path_label(&req);
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(REQUEST_DURATION_METRIC, "path" => path, "method" => method, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Logs every request: client IP, method, path with query, status, duration; errors at error level.
pub(crate) async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let client_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let duration = started.elapsed();
    if status >= 500 {
        tracing::error!(client_ip, %method, path, status, ?duration, "request");
    } else {
        tracing::info!(client_ip, %method, path, status, ?duration, "request");
    }
    response
}

/// Answers 503 `Request timeout` when the handler takes longer than the configured timeout.
pub(crate) async fn handler_timeout(
    State(timeout): State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(?timeout, "handler timed out");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "Request timeout")
        }
    }
}

/// Turns a handler panic into 500 `Internal server error`.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_SERVER_ERROR)
}
