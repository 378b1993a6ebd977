//! The alert endpoints: `POST /alert[s]`, `POST /prometheus-alert`, `POST /alerts-test`.
//!
//! Flow (spec §3): read and parse the body, resolve every alert's channel (body channel, then URL
//! segment, then route key), clean and validate, drop alerts caught by their noise filter, group by
//! channel in first-appearance order, refuse channels with more alerts than the burst, then per
//! channel: check the channel, take rate-limit tokens, encrypt webhook payloads and queue.
//! Failures after the first queued alert leave earlier alerts queued; the response is the error.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;
use sm_core::Alert;

use crate::error_report::{send_client_error_report, target_of};
use crate::prometheus::{PrometheusWebhook, map_prometheus_webhook};
use crate::rate_limit::{RateDecision, RateLimitSnapshot, ceil_seconds};
use crate::response::{Failure, RateLimitHeaders, set_rate_limit_headers};
use crate::server::AppState;

/// An alert with the description of where it was meant to go (for error reports).
pub(crate) struct Pending {
    pub(crate) alert: Alert,
    pub(crate) target: String,
}

/// Reads the whole body, refusing bodies over the configured limit with 413.
async fn read_body(state: &AppState, body: Body) -> Result<Bytes, Failure> {
    let limit = state.config.max_body_bytes;
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => {
            let too_large =
                std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                    e.source()
                })
                .any(|e| e.is::<http_body_util::LengthLimitError>());
            if too_large {
                Err(Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body is larger than {limit} bytes"),
                ))
            } else {
                Err(Failure::internal(format!("failed to read POST body: {e}")))
            }
        }
    }
}

/// Parses an alert body: a JSON array of alerts, an object with a non-empty `alerts` array, or one alert.
pub(crate) fn parse_alert_body(body: &[u8]) -> Result<Vec<Alert>, String> {
    let fail = |e: serde_json::Error| {
        format!("failed to parse POST body: failed to json unmarshal input: {e}")
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return serde_json::from_slice::<Vec<Alert>>(body).map_err(fail);
    }
    let value: Value = serde_json::from_slice(body).map_err(fail)?;
    let Value::Object(mut map) = value else {
        return Err(
            "failed to parse POST body: failed to json unmarshal input: expected a JSON object or array".into(),
        );
    };
    if let Some(Value::Array(items)) = map.get("alerts") {
        if !items.is_empty() {
            let items = map.remove("alerts").unwrap_or(Value::Null);
            return serde_json::from_value::<Vec<Alert>>(items).map_err(fail);
        }
    }
    serde_json::from_value::<Alert>(Value::Object(map))
        .map(|a| vec![a])
        .map_err(fail)
}

async fn run(state: Arc<AppState>, url_channel: String, body: Body, prometheus: bool) -> Response {
    match handle(&state, &url_channel, body, prometheus).await {
        Ok(response) => response,
        Err(failure) => fail(&state, failure).await,
    }
}

/// Answers a failure, queueing a client-error report when configured.
async fn fail(state: &AppState, failure: Failure) -> Response {
    let report = state.config.error_report_channel_id.as_str();
    if !report.is_empty() {
        send_client_error_report(
            state.producer.as_ref(),
            report,
            failure.status,
            &failure.message,
            failure.context.as_ref(),
        )
        .await;
    }
    failure.into_response_logged()
}

async fn handle(
    state: &AppState,
    url_channel: &str,
    body: Body,
    prometheus: bool,
) -> Result<Response, Failure> {
    let bytes = read_body(state, body).await?;
    if bytes.is_empty() {
        return Err(Failure::bad_request("missing POST body"));
    }
    tracing::debug!(body = %String::from_utf8_lossy(&bytes), "alert request body");
    let alerts = if prometheus {
        let webhook: PrometheusWebhook = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::bad_request(format!("failed to decode POST body: {e}")))?;
        if webhook.alerts.is_empty() {
            return Err(Failure::bad_request("prometheus alert list is empty"));
        }
        map_prometheus_webhook(&webhook, Utc::now())
    } else {
        parse_alert_body(&bytes).map_err(Failure::bad_request)?
    };
    if alerts.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let pending = resolve_channels(state, url_channel, alerts).await?;
    queue_alerts(state, pending).await
}

/// Sets every alert's channel (body, URL segment, route key); the first failure is a 400.
pub(crate) async fn resolve_channels(
    state: &AppState,
    url_channel: &str,
    alerts: Vec<Alert>,
) -> Result<Vec<Pending>, Failure> {
    let routing = state.routing();
    let mut pending = Vec::with_capacity(alerts.len());
    for mut alert in alerts {
        let target = target_of(&alert, url_channel);
        let named = if alert.slack_channel_id.is_empty() {
            url_channel
        } else {
            alert.slack_channel_id.as_str()
        };
        if !named.is_empty() {
            alert.slack_channel_id = state.channel_info.map_channel_name_to_id(named).await;
        } else if let Some(channel) = routing.match_route(&alert.route_key, &alert.alert_type) {
            alert.slack_channel_id = channel;
        } else {
            let message = if alert.route_key.is_empty() {
                "alert has no route key, and no fallback mapping exists".to_owned()
            } else {
                format!(
                    "no mapping exists for route key {} and alert type {}",
                    alert.route_key, alert.alert_type
                )
            };
            return Err(Failure::bad_request(message).with_context(&alert, &target));
        }
        pending.push(Pending { alert, target });
    }
    Ok(pending)
}

async fn queue_alerts(state: &AppState, pending: Vec<Pending>) -> Result<Response, Failure> {
    // Clean, validate, filter and group by channel in first-appearance order.
    let mut groups: Vec<(String, Vec<Pending>)> = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    for mut p in pending {
        p.alert.clean();
        if let Err(e) = p.alert.validate() {
            return Err(
                Failure::bad_request(format!("input validation failed: {e}"))
                    .with_context(&p.alert, &p.target),
            );
        }
        if !p.alert.text.is_empty() && p.alert.is_ignored_by_text() {
            tracing::info!(
                correlation_id = %p.alert.correlation_id,
                channel_id = %p.alert.slack_channel_id,
                header = %p.alert.header,
                fallback_text = %p.alert.fallback_text,
                reason = "text contains an ignoreIfTextContains term",
                "Alert ignored"
            );
            continue;
        }
        let channel = p.alert.slack_channel_id.clone();
        match group_index.get(&channel) {
            Some(&i) => groups[i].1.push(p),
            None => {
                group_index.insert(channel.clone(), groups.len());
                groups.push((channel, vec![p]));
            }
        }
    }
    if groups.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let burst = state.config.rate_limit_per_alert_channel.allowed_burst;
    for (channel, list) in &groups {
        if list.len() > burst as usize {
            let first = &list[0];
            return Err(Failure::bad_request(format!(
                "too many alerts for channel {channel}: {} alerts (limit: {burst})",
                list.len()
            ))
            .with_context(&first.alert, &first.target));
        }
    }

    let mut tightest: Option<RateLimitSnapshot> = None;
    for (channel, list) in groups {
        let first = &list[0];
        check_channel(state, &channel)
            .await
            .map_err(|f| f.with_context(&first.alert, &first.target))?;
        let count = u32::try_from(list.len()).unwrap_or(u32::MAX);
        match state.limits.check(&channel, count) {
            RateDecision::Rejected { limit, retry_after } => {
                let mut f = Failure::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("rate limit exceeded for {count} alerts in channel {channel}"),
                )
                .with_context(&first.alert, &first.target);
                f.rate_limit = Some(RateLimitHeaders::Rejected {
                    limit,
                    retry_after_seconds: ceil_seconds(retry_after),
                });
                return Err(f);
            }
            RateDecision::Accepted(snapshot) => {
                if tightest.is_none_or(|t| snapshot.remaining < t.remaining) {
                    tightest = Some(snapshot);
                }
            }
        }
        for p in list {
            queue_one(state, p.alert, &p.target).await?;
        }
    }
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Some(snapshot) = tightest {
        set_rate_limit_headers(&mut response, &RateLimitHeaders::Accepted(snapshot));
    }
    Ok(response)
}

/// Refuses channels that do not exist, are archived, lack the bot or have too many members.
pub(crate) async fn check_channel(state: &AppState, channel: &str) -> Result<(), Failure> {
    let info = state
        .channel_info
        .channel_info(channel)
        .await
        .map_err(|e| {
            Failure::internal(format!("failed to get info for channel {channel}: {e}")).retryable()
        })?;
    if !info.exists {
        return Err(Failure::bad_request(format!(
            "unable to find channel {channel} in workspace"
        )));
    }
    if info.archived {
        return Err(Failure::bad_request(format!(
            "channel {channel} is archived"
        )));
    }
    if !info.bot_is_member {
        return Err(Failure::bad_request(format!(
            "the Slack Manager integration is not in channel {channel}"
        )));
    }
    let max = state.config.max_users_in_alert_channel;
    if info.user_count > max {
        return Err(Failure::bad_request(format!(
            "the number of users ({}) in channel {channel} exceeds the limit ({max})",
            info.user_count
        )));
    }
    Ok(())
}

/// Encrypts the alert's webhook payloads and sends it to the alert queue.
pub(crate) async fn queue_one(
    state: &AppState,
    mut alert: Alert,
    target: &str,
) -> Result<(), Failure> {
    let started = Instant::now();
    let context = |f: Failure, a: &Alert| f.with_context(a, target);
    let has_webhooks = alert.webhooks.as_ref().is_some_and(|w| !w.is_empty());
    if has_webhooks {
        let key = state.config.encryption_key.as_str();
        if key.is_empty() {
            let f = Failure::bad_request(
                "alert contains webhooks, but no encryption key is configured",
            );
            return Err(context(f, &alert));
        }
        let mut webhooks = alert.webhooks.take().unwrap_or_default();
        for w in &mut webhooks {
            if let Some(payload) = &w.payload {
                match sm_webhooks::encrypt_webhook_payload(key, payload) {
                    Ok(sealed) => w.payload = Some(sealed),
                    Err(e) => {
                        alert.webhooks = Some(webhooks.clone());
                        return Err(context(
                            Failure::internal(format!("failed to encrypt webhook payload: {e}")),
                            &alert,
                        ));
                    }
                }
            }
        }
        alert.webhooks = Some(webhooks);
    }
    let body = serde_json::to_string(&alert).map_err(|e| {
        context(
            Failure::internal(format!("failed to serialise alert: {e}")),
            &alert,
        )
    })?;
    if let Err(e) = state
        .producer
        .send(&alert.slack_channel_id, &alert.unique_id(), &body)
        .await
    {
        return Err(context(
            Failure::internal(format!("failed to queue alert: {e}")).retryable(),
            &alert,
        ));
    }
    tracing::info!(
        duration = ?started.elapsed(),
        correlation_id = %alert.correlation_id,
        channel_id = %alert.slack_channel_id,
        header = %alert.header,
        fallback_text = %alert.fallback_text,
        "Alert accepted"
    );
    Ok(())
}

/// `POST /alert` and `POST /alerts`.
pub(crate) async fn post_alerts(State(state): State<Arc<AppState>>, body: Body) -> Response {
    run(state, String::new(), body, false).await
}

/// `POST /alert/{slackChannelId}` and `POST /alerts/{slackChannelId}`.
pub(crate) async fn post_alerts_to(
    State(state): State<Arc<AppState>>,
    Path(channel): Path<String>,
    body: Body,
) -> Response {
    run(state, channel, body, false).await
}

/// `POST /prometheus-alert`.
pub(crate) async fn post_prometheus(State(state): State<Arc<AppState>>, body: Body) -> Response {
    run(state, String::new(), body, true).await
}

/// `POST /prometheus-alert/{slackChannelId}`.
pub(crate) async fn post_prometheus_to(
    State(state): State<Arc<AppState>>,
    Path(channel): Path<String>,
    body: Body,
) -> Response {
    run(state, channel, body, true).await
}

async fn test_alerts(state: Arc<AppState>, url_channel: String, body: Body) -> Response {
    let result = async {
        let bytes = read_body(&state, body).await?;
        if bytes.is_empty() {
            return Err(Failure::bad_request("missing POST body"));
        }
        let alerts = parse_alert_body(&bytes).map_err(Failure::bad_request)?;
        let pending = resolve_channels(&state, &url_channel, alerts).await?;
        let alerts: Vec<&Alert> = pending.iter().map(|p| &p.alert).collect();
        let json = serde_json::to_string(&alerts)
            .map_err(|e| Failure::internal(format!("failed to serialise alerts: {e}")))?;
        tracing::info!("BODY: {json}");
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err(f) => fail(&state, f).await,
    }
}

/// `POST /alerts-test`.
pub(crate) async fn post_alerts_test(State(state): State<Arc<AppState>>, body: Body) -> Response {
    test_alerts(state, String::new(), body).await
}

/// `POST /alerts-test/{slackChannelId}`.
pub(crate) async fn post_alerts_test_to(
    State(state): State<Arc<AppState>>,
    Path(channel): Path<String>,
    body: Body,
) -> Response {
    test_alerts(state, channel, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_formats() {
        assert_eq!(parse_alert_body(b"[]").unwrap().len(), 0);
        assert_eq!(
            parse_alert_body(br#" [{"header":"a"},{"header":"b"}]"#)
                .unwrap()
                .len(),
            2
        );
        let wrapped =
            parse_alert_body(br#"{"header":"ignored","alerts":[{"header":"x"}]}"#).unwrap();
        assert_eq!(wrapped.len(), 1);
        assert_eq!(wrapped[0].header, "x");
        let single = parse_alert_body(br#"{"header":"one","alerts":[]}"#).unwrap();
        assert_eq!(single[0].header, "one");
        assert!(
            parse_alert_body(b"null")
                .unwrap_err()
                .starts_with("failed to parse POST body: failed to json unmarshal input: ")
        );
        assert!(parse_alert_body(b"[null]").is_err());
        assert!(parse_alert_body(b"{").is_err());
    }
}
