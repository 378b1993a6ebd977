//! Pure decisions of a channel update: priority order, which posts to delete for reordering, and
//! throttling (`spec/slack.md` §4.1–§4.3), plus the post bookkeeping of `spec/manager.md` §6.4.
//!
//! They take issues and `now` and return decisions, so they are tested as tables without Slack.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sm_core::{Issue, PostState, SlackAction, zero_time};

use crate::config::PostSettings;

/// Sorts ascending by priority (least important first), stably, with `Issue::is_lower_priority_than`
/// as the "less" relation (an insertion sort: the relation is not a total order, so a library sort
/// could reject it).
pub fn sort_by_priority(issues: &mut [&Issue], now: DateTime<Utc>) {
    for i in 1..issues.len() {
        let mut j = i;
        while j > 0 && issues[j].is_lower_priority_than(issues[j - 1], now) {
            issues.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Why a post is deleted during a channel update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    /// The issue is flagged `slack_post_needs_delete` (to notify mentions again).
    NeedsDelete,
    /// A newer post of a less important issue sits below it: re-post it at the bottom.
    Reorder,
}

impl DeleteReason {
    /// The reason text logged and passed to `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteReason::NeedsDelete => "Issue flagged with SlackPostNeedsDelete",
            DeleteReason::Reorder => "Issue re-ordering",
        }
    }
}

/// Whether another issue (other correlation ID) has a newer post and is less important than `issue`.
pub fn newer_lower_priority_post_exists(
    issue: &Issue,
    others: &[&Issue],
    now: DateTime<Utc>,
) -> bool {
    if issue.slack_post_id.is_empty() {
        return false;
    }
    others.iter().any(|o| {
        o.correlation_id != issue.correlation_id
            && !o.slack_post_id.is_empty()
            && o.slack_post_id > issue.slack_post_id
            && o.is_lower_priority_than(issue, now)
    })
}

/// The deletes of a channel update, for issues sorted by [`sort_by_priority`]: index and reason.
pub fn plan_deletes(
    sorted: &[&Issue],
    reorder_allowed: bool,
    now: DateTime<Utc>,
) -> Vec<(usize, DeleteReason)> {
    sorted
        .iter()
        .enumerate()
        .filter_map(|(i, issue)| {
            if issue.slack_post_needs_delete {
                Some((i, DeleteReason::NeedsDelete))
            } else if reorder_allowed
                && issue.last_alert.issue_follow_up_enabled
                && newer_lower_priority_post_exists(issue, sorted, now)
            {
                Some((i, DeleteReason::Reorder))
            } else {
                None
            }
        })
        .collect()
}

/// Whether an update of `issue` as `action` is throttled now (`spec/slack.md` §4.3).
pub fn should_throttle(
    issue: &Issue,
    action: &SlackAction,
    issues_in_channel: usize,
    settings: &PostSettings,
    now: DateTime<Utc>,
) -> bool {
    if issues_in_channel < settings.min_issue_count_for_throttle
        || *action != issue.slack_post_last_action
        || issue.slack_post_id.is_empty()
        || issue.last_alert_has_active_mentions()
        || issue.slack_post_header != issue.last_alert.header
    {
        return false;
    }
    let count = u32::try_from(issue.alert_count.max(0)).unwrap_or(u32::MAX);
    let mut limit = Duration::from_secs(2)
        .saturating_mul(count)
        .min(settings.max_throttle_duration);
    if issue.slack_post_text != issue.last_alert.text {
        limit /= 2;
    }
    let since = (now - issue.slack_post_updated)
        .to_std()
        .unwrap_or_default();
    since < limit
}

/// Post state after a successful create or update (Go `RegisterSlackPostCreatedOrUpdated`).
pub fn post_created_or_updated(
    issue: &Issue,
    ts: &str,
    action: SlackAction,
    now: DateTime<Utc>,
) -> PostState {
    let mut s = issue.post_state();
    if ts != s.slack_post_id {
        s.slack_post_id = ts.to_owned();
        s.slack_post_created = now;
    }
    s.slack_post_updated = now;
    s.slack_post_needs_update = false;
    if action == SlackAction::Alert {
        s.slack_alert_sent_at_least_once = true;
    }
    s.slack_post_last_action = action;
    s.slack_post_header = issue.last_alert.header.clone();
    s.slack_post_text = issue.last_alert.text.clone();
    s
}

/// Post state after the post was deleted or lost (Go `RegisterSlackPostDeleted`).
pub fn post_deleted(issue: &Issue) -> PostState {
    let mut s = issue.post_state();
    s.slack_post_needs_update = true;
    s.slack_post_needs_delete = false;
    s.slack_post_id = String::new();
    s.slack_post_created = zero_time();
    s.slack_post_updated = zero_time();
    s.slack_post_header = String::new();
    s.slack_post_text = String::new();
    s
}

/// Post state after Slack refused the blocks (Go `RegisterSlackPostInvalidBlocks`): like deleted,
/// but not retried until the next alert.
pub fn post_invalid_blocks(issue: &Issue) -> PostState {
    let mut s = post_deleted(issue);
    s.slack_post_needs_update = false;
    s
}
