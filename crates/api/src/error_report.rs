//! Client-error reports: when `errorReportChannelId` is set, every error response also queues an
//! alert to that channel describing the failed request (queued directly: no validation, no rate
//! limit; a queue error is only logged).

use axum::http::StatusCode;
use chrono::Utc;
use sm_core::{Alert, FifoQueueProducer, Severity, concat_hash};

/// Target text when the request named no channel and no route key (or no alert was parsed yet).
pub(crate) const NO_TARGET: &str = "[no channel ID or route key found]";

/// Describes where an alert was meant to go, from its raw (uncleaned) fields.
pub(crate) fn target_of(alert: &Alert, url_channel: &str) -> String {
    if !alert.slack_channel_id.is_empty() {
        format!("{} (channel ID from alert body)", alert.slack_channel_id)
    } else if !url_channel.is_empty() {
        format!("{url_channel} (channel ID from URL param)")
    } else if !alert.route_key.is_empty() {
        format!("{} (route key)", alert.route_key)
    } else {
        NO_TARGET.to_owned()
    }
}

/// The first `max` bytes of `s` (cut at a character boundary).
fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_owned()
    } else {
        format!("{}...", head(s, max))
    }
}

/// Strips Slack formatting, folds newlines, trims, and limits to 100 bytes.
fn sanitize(s: &str) -> String {
    let mut v = s.replace(":status:", "");
    v.retain(|c| !matches!(c, '`' | '*' | '~' | '_' | '<' | '>'));
    let v = v.replace(['\r', '\n'], " ");
    let v = v.trim();
    if v.len() > 100 {
        format!("{}...", head(v, 97))
    } else {
        v.to_owned()
    }
}

/// Builds the report alert for a failed request.
pub(crate) fn client_error_alert(
    channel: &str,
    status: StatusCode,
    error: &str,
    context: Option<&(Alert, String)>,
) -> Alert {
    let target = match context {
        Some((_, t)) if !t.is_empty() => t.clone(),
        Some(_) => "N/A".to_owned(),
        None => NO_TARGET.to_owned(),
    };
    let mut text = format!("*Target*: `{target}`\n*Error*: `{error}`");
    if let Some((alert, _)) = context {
        let lines = [
            ("CorrelationId", alert.correlation_id.clone()),
            ("Header", shorten(&alert.header, 200)),
            ("Body", shorten(&alert.text, 1000)),
        ];
        for (key, value) in lines {
            text.push_str(&format!("\n*{key}*: `{}`", sanitize(&value)));
        }
    }
    let code = status.as_u16();
    let mut alert = Alert::new(if status.is_server_error() {
        Severity::Error
    } else {
        Severity::Warning
    });
    alert.timestamp = Utc::now();
    alert.correlation_id = format!("__client_error_{target}_{}", concat_hash([error]));
    alert.header = format!(":status: Client error {code}");
    alert.fallback_text = format!("Client error {code}");
    alert.text = text;
    alert.slack_channel_id = channel.to_owned();
    alert.issue_follow_up_enabled = true;
    alert.auto_resolve_seconds = 3600;
    alert.archiving_delay_seconds = 86_400;
    alert
}

/// Queues the report; failures are logged, never returned.
pub(crate) async fn send_client_error_report(
    producer: &dyn FifoQueueProducer,
    channel: &str,
    status: StatusCode,
    error: &str,
    context: Option<&(Alert, String)>,
) {
    let alert = client_error_alert(channel, status, error, context);
    let body = match serde_json::to_string(&alert) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "failed to serialise client error alert");
            return;
        }
    };
    if let Err(e) = producer.send(channel, &alert.unique_id(), &body).await {
        tracing::error!(error = %e, channel, "failed to queue client error alert");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text_and_fields() {
        let a = Alert {
            route_key: "svc".into(),
            correlation_id: "c`1".into(),
            header: ":status: *Disk*\nfull".into(),
            text: "x".repeat(300),
            ..Alert::default()
        };
        let target = target_of(&a, "");
        assert_eq!(target, "svc (route key)");
        let r = client_error_alert(
            "CERR000001",
            StatusCode::BAD_REQUEST,
            "boom",
            Some(&(a, target)),
        );
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!(r.header, ":status: Client error 400");
        assert_eq!(r.fallback_text, "Client error 400");
        assert_eq!(
            r.correlation_id,
            format!("__client_error_svc (route key)_{}", concat_hash(["boom"]))
        );
        let body = format!("{}...", "x".repeat(97));
        assert_eq!(
            r.text,
            format!(
                "*Target*: `svc (route key)`\n*Error*: `boom`\n*CorrelationId*: `c1`\n*Header*: `Disk full`\n*Body*: `{body}`"
            )
        );
        let none = client_error_alert("CERR000001", StatusCode::BAD_GATEWAY, "x", None);
        assert_eq!(none.severity, Severity::Error);
        assert_eq!(none.text, format!("*Target*: `{NO_TARGET}`\n*Error*: `x`"));
    }
}
