//! `slack-manager send-alert`: posts a test alert to a running API.

use anyhow::{Context, Result, bail};
use serde_json::json;

/// Arguments of `send-alert`.
#[derive(Debug, clap::Args)]
pub(crate) struct SendAlertArgs {
    /// Base URL of the running API.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "SM_API_URL")]
    api_url: String,
    /// Target channel ID.
    #[arg(long, default_value = "C0ALERTS")]
    channel: String,
    /// Alert header.
    #[arg(
        long,
        default_value = ":status: Test alert from slack-manager send-alert"
    )]
    header: String,
    /// Alert text.
    #[arg(long, default_value = "If you can read this, alerts reach Slack.")]
    text: String,
    /// Severity (panic, error, warning, resolved, info).
    #[arg(long, default_value = "warning")]
    severity: String,
    /// Correlation ID (alerts with the same one update one post).
    #[arg(long, default_value = "slack-manager-test-alert")]
    correlation_id: String,
}

pub(crate) async fn run(args: SendAlertArgs) -> Result<()> {
    let body = json!({
        "slackChannelId": args.channel,
        "header": args.header,
        "text": args.text,
        "severity": args.severity,
        "correlationId": args.correlation_id,
        "issueFollowUpEnabled": true,
        "autoResolveSeconds": 3600,
    });
    let url = format!("{}/alert", args.api_url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach the API at {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("the API answered {status}: {text}");
    }
    println!("alert accepted ({status}) for channel {}", args.channel);
    Ok(())
}
