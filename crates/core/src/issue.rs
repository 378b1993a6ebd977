//! The issue model: one problem, one Slack post, fed by every alert with its correlation ID.
//!
//! JSON keys are those of the Go core `Issue`, so Go and Rust managers can read each other's store
//! records. [`Issue::version`] is an addition for optimistic concurrency: stores refuse a save whose
//! version is not the stored one (Go readers ignore the extra key).

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::gotime::format_go_time;
use crate::gotime::{go_duration, go_time, zero_time};
use crate::hash::concat_hash;
use crate::severity::Severity;
use crate::wire_enum::wire_enum;

/// Post ID written when a channel was not found or is archived; suppresses further Slack calls.
pub const INVALID_CHANNEL_POST_ID: &str = "INVALID_CHANNEL_ID";

/// An alert as the manager keeps it on an issue: the wire alert plus what the manager learned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IssueAlert {
    /// The alert as received.
    #[serde(flatten)]
    pub alert: Alert,
    /// Name of the current channel (refreshed each processing cycle).
    #[serde(rename = "slackChannelName", default)]
    pub slack_channel_name: String,
    /// Channel before move-mapping redirection.
    #[serde(rename = "originalSlackChannelId", default)]
    pub original_slack_channel_id: String,
    /// Text as received (escalation mentions are appended to this).
    #[serde(rename = "originalText", default)]
    pub original_text: String,
}

impl IssueAlert {
    /// Wraps a received alert, recording its channel and text as the originals.
    pub fn new(alert: Alert) -> Self {
        IssueAlert {
            original_slack_channel_id: alert.slack_channel_id.clone(),
            original_text: alert.text.clone(),
            slack_channel_name: String::new(),
            alert,
        }
    }
}

impl std::ops::Deref for IssueAlert {
    type Target = Alert;
    fn deref(&self) -> &Alert {
        &self.alert
    }
}

impl std::ops::DerefMut for IssueAlert {
    fn deref_mut(&mut self) -> &mut Alert {
        &mut self.alert
    }
}

wire_enum! {
    /// The last action taken on an issue's post.
    pub enum SlackAction {
        /// Never posted.
        Unset = "",
        /// Nothing to do.
        None = "NONE",
        /// Post or update as an alert.
        Alert = "ALERT",
        /// Update as resolved.
        Resolve = "RESOLVE",
    }
}

wire_enum! {
    /// Why an issue was moved to another channel.
    pub enum MoveReason {
        /// Not moved.
        Unset = "",
        /// An escalation rule moved it.
        Escalation = "ESCALATION",
        /// A user moved it.
        UserCommand = "USER_COMMAND",
    }
}

fn non_null_alert<'de, D: serde::Deserializer<'de>>(d: D) -> Result<IssueAlert, D::Error> {
    Option::<IssueAlert>::deserialize(d)?
        .ok_or_else(|| serde::de::Error::custom("issue lastAlert is null (corrupt record)"))
}

fn null_as_default_alert<'de, D: serde::Deserializer<'de>>(d: D) -> Result<IssueAlert, D::Error> {
    Ok(Option::<IssueAlert>::deserialize(d)?.unwrap_or_default())
}

/// An issue: the state behind one Slack post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// Issue ID: hash of correlation ID, channel and creation time.
    pub id: String,
    /// Correlation ID shared by all its alerts.
    #[serde(rename = "correlationId", default)]
    pub correlation_id: String,
    /// Creation time.
    #[serde(with = "go_time", default = "zero_time")]
    pub created: DateTime<Utc>,
    /// The first alert (kept for debugging).
    #[serde(
        rename = "firstAlert",
        default,
        deserialize_with = "null_as_default_alert"
    )]
    pub first_alert: IssueAlert,
    /// The last accepted alert: the source of all state. A record with a null `lastAlert` is corrupt.
    #[serde(rename = "lastAlert", deserialize_with = "non_null_alert")]
    pub last_alert: IssueAlert,
    /// Number of accepted alerts.
    #[serde(rename = "alertCount", default)]
    pub alert_count: i64,
    /// Manager receive time of the last accepted alert.
    #[serde(rename = "lastAlertReceived", with = "go_time", default = "zero_time")]
    pub last_alert_received: DateTime<Utc>,
    /// Mentions last made live.
    #[serde(rename = "lastSlackMention", default)]
    pub last_slack_mention: String,
    /// When mentions were last made live.
    #[serde(
        rename = "lastSlackMentionTime",
        with = "go_time",
        default = "zero_time"
    )]
    pub last_slack_mention_time: DateTime<Utc>,
    /// Auto-resolve period from the last alert.
    #[serde(rename = "autoResolvePeriod", with = "go_duration", default)]
    pub auto_resolve_period: Duration,
    /// Archiving delay from the last alert.
    #[serde(rename = "archiveDelay", with = "go_duration", default)]
    pub archive_delay: Duration,
    /// When archiving becomes allowed.
    #[serde(rename = "archiveTime", with = "go_time", default = "zero_time")]
    pub archive_time: DateTime<Utc>,
    /// Archived issues are never re-opened.
    #[serde(default)]
    pub archived: bool,
    /// When the issue resolves (follow-up issues).
    #[serde(rename = "resolveTime", with = "go_time", default = "zero_time")]
    pub resolve_time: DateTime<Utc>,
    /// Current post `ts` (empty before the first post).
    #[serde(rename = "slackPostId", default)]
    pub slack_post_id: String,
    /// When the current post was created.
    #[serde(rename = "slackPostCreated", with = "go_time", default = "zero_time")]
    pub slack_post_created: DateTime<Utc>,
    /// When the current post was last updated.
    #[serde(rename = "slackPostUpdated", with = "go_time", default = "zero_time")]
    pub slack_post_updated: DateTime<Utc>,
    /// Header of the last post update.
    #[serde(rename = "slackPostHeader", default)]
    pub slack_post_header: String,
    /// Text of the last post update.
    #[serde(rename = "slackPostText", default)]
    pub slack_post_text: String,
    /// Last action on the post.
    #[serde(rename = "slackPostLastAction", default)]
    pub slack_post_last_action: SlackAction,
    /// The post must be updated.
    #[serde(rename = "slackPostNeedsUpdate", default)]
    pub slack_post_needs_update: bool,
    /// The post must be deleted and re-created (to notify mentions).
    #[serde(rename = "slackPostNeedsDelete", default)]
    pub slack_post_needs_delete: bool,
    /// An alert post was made at least once.
    #[serde(rename = "slackAlertSentAtLeastOnce", default)]
    pub slack_alert_sent_at_least_once: bool,
    /// No post before this time (notification delay).
    #[serde(
        rename = "slackPostDelayedUntil",
        with = "go_time",
        default = "zero_time"
    )]
    pub slack_post_delayed_until: DateTime<Utc>,
    /// Terminated by a user.
    #[serde(rename = "slackPostEmojiTerminated", default)]
    pub terminated: bool,
    /// Resolved by a user.
    #[serde(rename = "slackPostEmojiResolved", default)]
    pub resolved_by_emoji: bool,
    /// Under investigation.
    #[serde(rename = "slackPostEmojiInvestigated", default)]
    pub investigated: bool,
    /// Muted.
    #[serde(rename = "slackPostEmojiMuted", default)]
    pub muted: bool,
    /// Option buttons shown.
    #[serde(rename = "slackPostEmojiButtonsActivated", default)]
    pub buttons_activated: bool,
    /// Moved away from its original channel.
    #[serde(rename = "isMoved", default)]
    pub is_moved: bool,
    /// Why it was moved.
    #[serde(rename = "moveReason", default)]
    pub move_reason: MoveReason,
    /// Who moved it.
    #[serde(rename = "movedByUser", default)]
    pub moved_by_user: String,
    /// Who terminated it.
    #[serde(rename = "terminatedByUser", default)]
    pub terminated_by_user: String,
    /// Who resolved it.
    #[serde(rename = "resolvedByUser", default)]
    pub resolved_by_user: String,
    /// Who is investigating.
    #[serde(rename = "investigatedByUser", default)]
    pub investigated_by_user: String,
    /// Who muted it.
    #[serde(rename = "mutedByUser", default)]
    pub muted_by_user: String,
    /// Since when it is investigated.
    #[serde(rename = "investigatedSince", with = "go_time", default = "zero_time")]
    pub investigated_since: DateTime<Utc>,
    /// Since when it is muted.
    #[serde(rename = "mutedSince", with = "go_time", default = "zero_time")]
    pub muted_since: DateTime<Utc>,
    /// An escalation rule applied.
    #[serde(rename = "isEscalated", default)]
    pub is_escalated: bool,
    /// Optimistic-concurrency version: the stored version this copy was loaded with (0 = never saved).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

static MENTION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<[@!]([^>\s]+)>")
        .unwrap_or_else(|e| panic!("built-in mention pattern does not compile: {e}"))
});

impl Issue {
    /// The issue ID for a correlation ID, channel and creation time (core hash).
    pub fn make_id(correlation_id: &str, channel_id: &str, created: &DateTime<Utc>) -> String {
        concat_hash([correlation_id, channel_id, &format_go_time(created)])
    }

    /// A bare issue around `alert`, created at `now`; lifecycle rules (delays, archive time,
    /// mentions) are the manager's to apply.
    pub fn from_alert(alert: IssueAlert, now: DateTime<Utc>) -> Self {
        let correlation_id = alert.correlation_id.clone();
        let id = Issue::make_id(&correlation_id, &alert.slack_channel_id, &now);
        Issue {
            id,
            correlation_id,
            created: now,
            first_alert: alert.clone(),
            auto_resolve_period: Duration::from_secs(
                u64::try_from(alert.auto_resolve_seconds).unwrap_or(0),
            ),
            archive_delay: Duration::from_secs(
                u64::try_from(alert.archiving_delay_seconds).unwrap_or(0),
            ),
            last_alert: alert,
            alert_count: 1,
            last_alert_received: now,
            last_slack_mention: String::new(),
            last_slack_mention_time: zero_time(),
            archive_time: zero_time(),
            archived: false,
            resolve_time: zero_time(),
            slack_post_id: String::new(),
            slack_post_created: zero_time(),
            slack_post_updated: zero_time(),
            slack_post_header: String::new(),
            slack_post_text: String::new(),
            slack_post_last_action: SlackAction::Unset,
            slack_post_needs_update: true,
            slack_post_needs_delete: false,
            slack_alert_sent_at_least_once: false,
            slack_post_delayed_until: zero_time(),
            terminated: false,
            resolved_by_emoji: false,
            investigated: false,
            muted: false,
            buttons_activated: false,
            is_moved: false,
            move_reason: MoveReason::Unset,
            moved_by_user: String::new(),
            terminated_by_user: String::new(),
            resolved_by_user: String::new(),
            investigated_by_user: String::new(),
            muted_by_user: String::new(),
            investigated_since: zero_time(),
            muted_since: zero_time(),
            is_escalated: false,
            version: 0,
        }
    }

    /// The current channel (the last alert's channel).
    pub fn channel_id(&self) -> &str {
        &self.last_alert.slack_channel_id
    }

    /// Whether the issue is open (not archived).
    pub fn is_open(&self) -> bool {
        !self.archived
    }

    /// The current post ID (`ts`), empty before the first post.
    pub fn current_post_id(&self) -> &str {
        &self.slack_post_id
    }

    /// The severity of the last alert.
    pub fn severity(&self) -> &Severity {
        &self.last_alert.severity
    }

    /// Resolved: the last alert is `resolved`, or follow-up is on and the resolve time has passed.
    pub fn is_resolved(&self, now: DateTime<Utc>) -> bool {
        self.last_alert.severity == Severity::Resolved
            || (self.last_alert.issue_follow_up_enabled && now > self.resolve_time)
    }

    /// The last alert is `info`, or the issue [`is_resolved`](Self::is_resolved).
    pub fn is_info_or_resolved(&self, now: DateTime<Utc>) -> bool {
        self.last_alert.severity == Severity::Info || self.is_resolved(now)
    }

    /// Shown as inconclusive when resolved by time: the alert asks for it, its severity is not
    /// info/resolved and no user resolved it.
    pub fn is_resolved_as_inconclusive(&self) -> bool {
        self.last_alert.auto_resolve_as_inconclusive
            && !self.last_alert.severity.is_info_or_resolved()
            && !self.resolved_by_emoji
    }

    /// Whether the last alert's text contains live mentions (`<@U…>`, `<!here>`, …).
    pub fn last_alert_has_active_mentions(&self) -> bool {
        MENTION_RE.is_match(&self.last_alert.text)
    }

    /// Sort priority: the severity's, but 0 when info/resolved or muted.
    pub fn priority(&self, now: DateTime<Utc>) -> i32 {
        if self.is_info_or_resolved(now) || self.muted {
            0
        } else {
            self.last_alert.severity.priority()
        }
    }

    /// Whether this issue sorts before (is less important than) `other`: lower priority, or equal
    /// priority, neither posted, and an earlier last alert.
    pub fn is_lower_priority_than(&self, other: &Issue, now: DateTime<Utc>) -> bool {
        let (a, b) = (self.priority(now), other.priority(now));
        if a == b && self.slack_post_id.is_empty() && other.slack_post_id.is_empty() {
            return self.last_alert_received < other.last_alert_received;
        }
        a < b
    }

    /// Which Slack action the issue needs now (Go `GetSlackAction`).
    pub fn slack_action(&self, now: DateTime<Utc>) -> SlackAction {
        if self.archived || self.slack_post_delayed_until > now || self.terminated {
            return SlackAction::None;
        }
        if !self.last_alert.issue_follow_up_enabled {
            return if self.slack_post_needs_update {
                SlackAction::Alert
            } else {
                SlackAction::None
            };
        }
        let info_or_resolved = self.is_info_or_resolved(now);
        if !info_or_resolved && self.slack_post_needs_update {
            return SlackAction::Alert;
        }
        if info_or_resolved
            && self.slack_alert_sent_at_least_once
            && (self.slack_post_needs_update || self.slack_post_last_action != SlackAction::Resolve)
        {
            return SlackAction::Resolve;
        }
        SlackAction::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(sev: Severity, follow_up: bool) -> IssueAlert {
        let mut a = Alert::new(sev);
        a.slack_channel_id = "C1".into();
        a.correlation_id = "c".into();
        a.issue_follow_up_enabled = follow_up;
        a.auto_resolve_seconds = 60;
        IssueAlert::new(a)
    }

    #[test]
    fn slack_action_rules() {
        let now = Utc::now();
        let mut i = Issue::from_alert(alert(Severity::Error, true), now);
        i.resolve_time = now + chrono::Duration::seconds(60);
        assert_eq!(i.slack_action(now), SlackAction::Alert);
        i.slack_post_delayed_until = now + chrono::Duration::seconds(5);
        assert_eq!(i.slack_action(now), SlackAction::None);
        i.slack_post_delayed_until = zero_time();
        i.last_alert.severity = Severity::Resolved;
        // Resolved but never posted: nothing to post.
        assert_eq!(i.slack_action(now), SlackAction::None);
        i.slack_alert_sent_at_least_once = true;
        assert_eq!(i.slack_action(now), SlackAction::Resolve);
        i.archived = true;
        assert_eq!(i.slack_action(now), SlackAction::None);
    }

    #[test]
    fn priority_ordering() {
        let now = Utc::now();
        let mut a = Issue::from_alert(alert(Severity::Warning, true), now);
        let mut b = Issue::from_alert(alert(Severity::Panic, true), now);
        a.resolve_time = now + chrono::Duration::seconds(60);
        b.resolve_time = now + chrono::Duration::seconds(60);
        assert!(a.is_lower_priority_than(&b, now));
        b.muted = true;
        assert!(b.is_lower_priority_than(&a, now));
    }

    #[test]
    fn null_last_alert_is_corrupt() {
        let mut v =
            serde_json::to_value(Issue::from_alert(alert(Severity::Error, false), Utc::now()))
                .unwrap();
        v["lastAlert"] = serde_json::Value::Null;
        let err = serde_json::from_value::<Issue>(v).unwrap_err();
        assert!(err.to_string().contains("lastAlert is null"));
    }
}
