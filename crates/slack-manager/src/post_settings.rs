//! Maps the manager settings onto what the Slack client reads when rendering, throttling and
//! reordering posts.

use std::time::Duration;

use sm_manager::ManagerSettings;
use sm_slack::{ChannelReordering, IssueStatusEmojis, PostSettings};

fn positive(value: i64, default: usize) -> usize {
    usize::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

/// The post settings in force for `settings` (non-positive numbers mean the default, as in Go).
pub(crate) fn post_settings(settings: &ManagerSettings) -> PostSettings {
    let defaults = PostSettings::default();
    let s = &settings.issue_status;
    let status = IssueStatusEmojis {
        panic: s.panic_emoji.clone(),
        error: s.error_emoji.clone(),
        warning: s.warning_emoji.clone(),
        info: s.info_emoji.clone(),
        mute_panic: s.mute_panic_emoji.clone(),
        mute_error: s.mute_error_emoji.clone(),
        mute_warning: s.mute_warning_emoji.clone(),
        inconclusive: s.unresolved_emoji.clone(),
        resolved: s.resolved_emoji.clone(),
    }
    .normalized();
    PostSettings {
        status,
        always_show_option_buttons: settings.always_show_option_buttons,
        show_issue_correlation_id: settings.show_issue_correlation_id_in_slack_post,
        min_issue_count_for_throttle: positive(
            settings.min_issue_count_for_throttle,
            defaults.min_issue_count_for_throttle,
        ),
        max_throttle_duration: u64::try_from(settings.max_throttle_duration_seconds)
            .ok()
            .filter(|v| *v > 0)
            .map(Duration::from_secs)
            .unwrap_or(defaults.max_throttle_duration),
        disable_issue_reordering: settings.disable_issue_reordering,
        issue_reordering_limit: positive(
            settings.issue_reordering_limit,
            defaults.issue_reordering_limit,
        ),
        channel_reordering: settings
            .alert_channels
            .iter()
            .map(|c| {
                let limit = usize::try_from(c.issue_reordering_limit)
                    .ok()
                    .filter(|v| *v > 0);
                (
                    c.id.trim().to_owned(),
                    ChannelReordering {
                        disable_issue_reordering: c.disable_issue_reordering,
                        issue_reordering_limit: limit,
                    },
                )
            })
            .collect(),
        info_channels: settings
            .info_channels
            .iter()
            .map(|c| c.channel_id.trim().to_owned())
            .collect(),
        utc_offset: defaults.utc_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm_manager::AlertChannelSettings;

    #[test]
    fn defaults_and_overrides() {
        let defaults = post_settings(&ManagerSettings::default());
        assert_eq!(defaults.min_issue_count_for_throttle, 5);
        assert_eq!(defaults.issue_reordering_limit, 30);
        assert_eq!(defaults.status.error, ":x:");

        let mut settings = ManagerSettings {
            max_throttle_duration_seconds: 10,
            ..ManagerSettings::default()
        };
        settings.issue_status.error_emoji = ":boom:".into();
        settings.alert_channels.push(AlertChannelSettings {
            id: "C1".into(),
            issue_reordering_limit: 7,
            ..AlertChannelSettings::default()
        });
        let mapped = post_settings(&settings);
        assert_eq!(mapped.max_throttle_duration, Duration::from_secs(10));
        assert_eq!(mapped.status.error, ":boom:");
        assert_eq!(
            mapped.channel_reordering["C1"].issue_reordering_limit,
            Some(7)
        );
    }
}
