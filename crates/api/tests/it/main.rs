//! Integration tests of sm-api over a real loopback HTTP server (bind 127.0.0.1:0, reqwest client).

mod alerts;
mod encryption;
mod endpoints;
mod prometheus;
mod rate_limit;
mod raw_consumer;
mod request_metrics;
mod routing;
mod slack_channel_info;
mod support;
mod validation;
