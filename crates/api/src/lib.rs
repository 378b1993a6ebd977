//! The alert ingestion REST API of Slack Manager, on axum.
//!
//! [`ApiServer`] accepts alerts (`POST /alert`, `/alerts`, `/prometheus-alert`, optionally with a
//! `/{slackChannelId}` segment), validates them with the `sm-core` rules, resolves their Slack
//! channel (body, URL segment or route key via [`RoutingTable`]), checks the channel through a
//! [`ChannelInfoProvider`], rate-limits per channel, encrypts webhook payloads with
//! [`sm_webhooks::encrypt_webhook_payload`] (the Go format, which the manager decrypts with
//! [`sm_webhooks::decrypt_webhook_payload`]) and writes them to the alert queue. It needs only a
//! [`FifoQueueProducer`](sm_core::FifoQueueProducer), so an API-only deployment runs without a
//! database or a manager in the same process. It also serves `GET /mappings`, `/channels`, `/ping`
//! and `/openapi.json`.
//!
//! A host starts it in a few lines:
//!
//! ```no_run
//! # async fn dox() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use sm_api::{ApiConfig, ApiServer, ApiSettings};
//! let queue = Arc::new(sm_core::InMemoryFifoQueue::new("alerts"));
//! let server = ApiServer::new(queue, ApiConfig::default(), ApiSettings::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! server.serve(listener, tokio_util::sync::CancellationToken::new()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! What it deliberately does not do: talk to Slack itself (the provider does), store anything, or
//! install a metrics exporter (it records `http_server_request_duration_seconds` through the
//! `metrics` facade; the host exports it, with [`REQUEST_DURATION_BUCKETS`]).
//!
//! [`SlackChannelInfo`] is the Slack-backed [`ChannelInfoProvider`] (the Go channel-info syncer):
//! channel existence, archival, member count and bot membership from the Slack Web API through
//! [`sm_slack::SlackApi`], cached in process and refreshed by a background task
//! ([`SlackChannelInfo::spawn_refresh`]).
//!
//! Raw alert queues ([`ApiServer::with_raw_alert_consumer`]) feed single alerts through the same
//! checks, without rate limiting.
//!
//! Dependencies beyond the workspace's usual ones: `governor` (per-channel token buckets),
//! `sm-webhooks` (webhook payload encryption and key validation: one implementation of the Go
//! format, shared with the manager that decrypts), `tower-http` (`catch-panic` only: turns handler
//! panics into 500 responses), `http-body-util` (to recognise an over-long body), `hyper`,
//! `hyper-util` and `tower` (`util`) for the accept loop, which `axum::serve` cannot give a
//! header-read timeout, `sm-slack` (the Slack Web API client behind [`SlackChannelInfo`]) and
//! `futures` (bounded-concurrency channel refreshes).

#![warn(missing_docs)]

mod alerts;
mod channel_info;
mod config;
mod error;
mod error_report;
mod info_endpoints;
mod middleware;
mod openapi;
mod prometheus;
mod rate_limit;
mod raw_consumer;
mod response;
mod routing;
mod server;
mod slack_channel_info;

pub use channel_info::{
    AcceptAllChannels, ChannelInfo, ChannelInfoProvider, ManagedChannel, StaticChannel,
    StaticChannelInfo,
};
pub use config::{ApiConfig, ENCRYPTION_KEY_LENGTH, RateLimitConfig};
pub use error::ApiError;
pub use middleware::{REQUEST_DURATION_BUCKETS, REQUEST_DURATION_METRIC};
pub use openapi::openapi_document;
pub use prometheus::{PrometheusAlert, PrometheusWebhook, map_prometheus_webhook};
pub use rate_limit::MAX_RETRY_AFTER;
pub use routing::{ApiSettings, MATCH_CACHE_CAPACITY, RoutingRule, RoutingTable};
pub use server::{ApiServer, HEADER_READ_TIMEOUT};
pub use slack_channel_info::{
    CHANNEL_REFRESH_CONCURRENCY, CHANNEL_REFRESH_INTERVAL, CHANNEL_SEEN_WINDOW,
    MANAGED_CHANNELS_REFRESH_INTERVAL, SlackChannelInfo,
};
