//! Shared helpers: an emulator, a fast-retrying client, and issue builders.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sm_core::{Alert, Issue, IssueAlert, Severity};
use sm_slack::{SlackApi, SlackClientConfig};
use sm_slack_emulator::{ChannelSeed, Emulator, EmulatorConfig, UserGroupSeed, UserSeed};

pub(crate) fn emulator_config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_channel(ChannelSeed::new("C1", "alerts").with_members(["U1", "U2"]))
        .with_channel(ChannelSeed::new("C2", "other").without_bot())
        .with_channel(ChannelSeed::new("C3", "old").archived())
        .with_user(UserSeed::new("U1", "jdoe", "Jane Doe"))
        .with_user(UserSeed::new("U2", "rroe", "Richard Roe"))
        .with_usergroup(UserGroupSeed::new("S1", ["U1"]))
}

pub(crate) async fn emulator() -> Emulator {
    Emulator::start(emulator_config()).await.unwrap()
}

/// Client config with millisecond retry waits.
pub(crate) fn fast_config(slack: &Emulator) -> SlackClientConfig {
    SlackClientConfig::new(slack.config().bot_token.clone())
        .with_base_url(slack.base_url())
        .with_app_token(slack.config().app_token.clone())
        .with_retry_timing(Duration::from_millis(5), Duration::from_millis(5))
}

pub(crate) async fn connected_api(slack: &Emulator) -> Arc<SlackApi> {
    let api = SlackApi::new(fast_config(slack)).unwrap();
    api.connect().await.unwrap();
    Arc::new(api)
}

/// 2026-03-01 12:00:00 UTC.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A follow-up issue in `channel` created at `created`, open for an hour after it.
pub(crate) fn issue(
    channel: &str,
    correlation: &str,
    severity: Severity,
    created: DateTime<Utc>,
) -> Issue {
    let mut a = Alert::new(severity.clone());
    a.timestamp = created;
    a.slack_channel_id = channel.into();
    a.correlation_id = correlation.into();
    a.header = format!(":status: {correlation} is down");
    a.text = format!("Details about {correlation}.");
    a.username = "Monitor".into();
    a.icon_emoji = ":robot_face:".into();
    a.issue_follow_up_enabled = severity != Severity::Info;
    a.auto_resolve_seconds = 3600;
    let mut i = Issue::from_alert(IssueAlert::new(a), created);
    i.resolve_time = if severity == Severity::Resolved || severity == Severity::Info {
        created
    } else {
        created + chrono::Duration::hours(1)
    };
    i
}

/// Like [`issue`], created now.
pub(crate) fn live_issue(channel: &str, correlation: &str, severity: Severity) -> Issue {
    issue(channel, correlation, severity, Utc::now())
}
