//! The issue lifecycle as pure functions: creation, new alerts, archiving, user actions, mention
//! muting, escalation, moves, mute expiry and flap detection.
//!
//! Everything takes `now` as an argument, so the rules are deterministic and tested without a
//! clock. Nothing here does I/O: the channel actor calls these, then saves and talks to Slack.
//!
//! Deliberate differences from Go v0.3.0:
//! - A muted issue is not escalated ([`apply_escalation_rules`]); Go only changed its icon and sort
//!   order although its README promised this. With [`expire_mute`], a mute can end by itself.
//! - Flapping issues ([`FlapTracker`]) carry a note on their post and get their Slack updates from
//!   the periodic pass only, instead of an update per state change.

use std::collections::{HashMap, VecDeque};
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use regex::Regex;
use sm_core::{
    Issue, IssueAlert, MoveReason, Severity, SlackAction, WebhookAccessLevel, zero_time,
};

use crate::settings::ManagerSettings;

/// A fire-and-forget issue (no follow-up) may be archived this long after its last alert.
pub const FIRE_AND_FORGET_ARCHIVE_DELAY: Duration = Duration::from_secs(30);
/// Repeated identical mentions are silenced for this long.
pub const MENTION_RENOTIFY_THRESHOLD: Duration = Duration::from_secs(3600);
/// Marker that starts the flapping note appended to a post's text.
pub const FLAPPING_NOTE_PREFIX: &str = "\n:repeat: _Flapping:";

static MENTION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<[@!]([^>\s]+)>")
        .unwrap_or_else(|e| panic!("built-in mention pattern does not compile: {e}"))
});

static EVERYONE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<[@!]everyone>")
        .unwrap_or_else(|e| panic!("built-in everyone pattern does not compile: {e}"))
});

/// `t + d`, saturating at the largest representable time.
pub fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn secs(s: i64) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// Fills what an alert may lack (Go `SetDefaultValues`). The coordinator already computed a missing
/// correlation ID before the move-mapping lookup (a deliberate fix of a Go bug); it is filled here
/// too for alerts that reach the actor another way.
pub fn set_default_values(alert: &mut IssueAlert, settings: &ManagerSettings) {
    if alert.correlation_id.is_empty() {
        alert.correlation_id = alert.default_correlation_id();
    }
    if matches!(&alert.severity, Severity::Unknown(s) if s.is_empty()) {
        alert.severity = settings.default_severity();
    }
    if alert.username.is_empty() {
        alert.username = settings.default_post_username.clone();
    }
    if alert.icon_emoji.is_empty() {
        alert.icon_emoji = settings.default_post_icon_emoji.clone();
    }
    if alert.archiving_delay_seconds <= 0 {
        alert.archiving_delay_seconds = settings.default_issue_archiving_delay_seconds;
    }
    if let Some(webhooks) = alert.webhooks.as_mut() {
        for w in webhooks {
            if w.access_level == WebhookAccessLevel::Unset {
                w.access_level = WebhookAccessLevel::GlobalAdmins;
            }
        }
    }
}

/// A new issue for `alert` (Go `NewIssue`, models.md §4.3). The caller has already ignored a
/// resolved follow-up alert (no issue is made for it).
pub fn new_issue(alert: IssueAlert, now: DateTime<Utc>) -> Issue {
    let mut alert = alert;
    if alert.issue_follow_up_enabled && alert.severity == Severity::Info {
        alert.issue_follow_up_enabled = false;
        alert.notification_delay_seconds = 0;
    }
    let mut issue = Issue::from_alert(alert, now);
    if issue.last_alert.issue_follow_up_enabled {
        issue.resolve_time = if issue.last_alert.severity == Severity::Resolved {
            issue.last_alert.timestamp
        } else {
            add(issue.last_alert.timestamp, issue.auto_resolve_period)
        };
        if issue.last_alert.notification_delay_seconds > 0 {
            issue.slack_post_delayed_until =
                add(now, secs(issue.last_alert.notification_delay_seconds));
        }
    }
    set_archiving_time(&mut issue, now);
    sanitize_slack_mentions(&mut issue, false, now);
    issue
}

/// Whether a resolved follow-up alert that would open a new issue is ignored (it is).
pub fn ignored_for_new_issue(alert: &IssueAlert) -> bool {
    alert.issue_follow_up_enabled && alert.severity == Severity::Resolved
}

/// Applies a new alert to an open issue (Go `AddAlert`, models.md §4.4). Returns false when the
/// alert is ignored: not newer than the last one, a resolve for a resolved issue, or the issue is
/// fire-and-forget.
pub fn add_alert(issue: &mut Issue, alert: IssueAlert, now: DateTime<Utc>) -> bool {
    let mut alert = alert;
    if alert.timestamp <= issue.last_alert.timestamp {
        return false;
    }
    if issue.is_resolved(now) && alert.severity == Severity::Resolved {
        return false;
    }
    if !issue.last_alert.issue_follow_up_enabled {
        return false;
    }
    if issue.is_escalated
        && !alert.severity.is_info_or_resolved()
        && issue.last_alert.severity.priority() > alert.severity.priority()
    {
        alert.severity = issue.last_alert.severity.clone();
    }
    issue.last_alert = alert;
    issue.last_alert_received = now;
    issue.alert_count += 1;
    issue.auto_resolve_period = secs(issue.last_alert.auto_resolve_seconds);
    issue.archive_delay = secs(issue.last_alert.archiving_delay_seconds);
    issue.terminated = false;
    issue.resolved_by_emoji = false;
    issue.resolved_by_user.clear();
    issue.slack_post_needs_update = true;
    issue.archived = false;
    issue.resolve_time = if issue.last_alert.severity.is_info_or_resolved() {
        issue.last_alert.timestamp
    } else {
        add(issue.last_alert.timestamp, issue.auto_resolve_period)
    };
    if issue.last_alert.notification_delay_seconds > 0 {
        issue.slack_post_delayed_until = add(
            issue.created,
            secs(issue.last_alert.notification_delay_seconds),
        );
    }
    set_archiving_time(issue, now);
    sanitize_slack_mentions(issue, false, now);
    true
}

/// Recomputes when the issue may be archived (models.md §4.6).
pub fn set_archiving_time(issue: &mut Issue, now: DateTime<Utc>) {
    issue.archive_time = if issue.terminated {
        now
    } else if !issue.last_alert.issue_follow_up_enabled {
        add(issue.last_alert_received, FIRE_AND_FORGET_ARCHIVE_DELAY)
    } else if issue.is_info_or_resolved(now) {
        add(issue.resolve_time, issue.archive_delay)
    } else {
        add(
            add(issue.last_alert.timestamp, issue.auto_resolve_period),
            issue.archive_delay,
        )
    };
}

/// Whether the issue may be archived now. A follow-up issue whose post still shows an alert is
/// never archived (the resolve must be posted first), unless it was terminated.
pub fn is_ready_for_archiving(issue: &Issue, now: DateTime<Utc>) -> bool {
    if !issue.last_alert.issue_follow_up_enabled {
        return now > issue.archive_time;
    }
    if !issue.terminated
        && !issue.slack_post_id.is_empty()
        && issue.slack_post_last_action != SlackAction::Resolve
    {
        return false;
    }
    now > issue.archive_time
}

fn mute_all(s: &str) -> String {
    MENTION_RE.replace_all(s, "*$1*").into_owned()
}

/// Mention rules (models.md §4.8): mentions only live in the text; `everyone` never pings; the
/// same mentions ping again only after an hour (unless `skip_muting`, used when an escalation
/// just raised the severity).
pub fn sanitize_slack_mentions(issue: &mut Issue, skip_muting: bool, now: DateTime<Utc>) {
    let a = &mut issue.last_alert.alert;
    for s in [
        &mut a.header,
        &mut a.header_when_resolved,
        &mut a.author,
        &mut a.host,
        &mut a.footer,
        &mut a.fallback_text,
        &mut a.text_when_resolved,
    ] {
        if MENTION_RE.is_match(s) {
            *s = mute_all(s);
        }
    }
    if let Some(fields) = a.fields.as_mut() {
        for f in fields {
            f.title = mute_all(&f.title);
            f.value = mute_all(&f.value);
        }
    }
    if EVERYONE_RE.is_match(&a.text) {
        a.text = EVERYONE_RE.replace_all(&a.text, "*everyone*").into_owned();
    }
    let mentions: Vec<&str> = MENTION_RE.find_iter(&a.text).map(|m| m.as_str()).collect();
    if mentions.is_empty() {
        return;
    }
    let joined = mentions.join(",");
    let stale = now
        .signed_duration_since(issue.last_slack_mention_time)
        .to_std()
        .map(|d| d > MENTION_RENOTIFY_THRESHOLD)
        .unwrap_or(false);
    if skip_muting || joined != issue.last_slack_mention || stale {
        issue.last_slack_mention = joined;
        issue.last_slack_mention_time = now;
    } else {
        a.text = mute_all(&a.text);
    }
}

/// Terminate (any issue): the post will be deleted and the issue archived at the next pass.
pub fn terminate(issue: &mut Issue, user: &str, now: DateTime<Utc>) {
    issue.terminated = true;
    issue.terminated_by_user = user.to_owned();
    issue.archive_time = now;
}

/// Resolve by a user (follow-up issues only). Returns whether anything changed.
pub fn resolve(issue: &mut Issue, user: &str, now: DateTime<Utc>) -> bool {
    if !issue.last_alert.issue_follow_up_enabled {
        return false;
    }
    issue.resolved_by_emoji = true;
    issue.resolved_by_user = user.to_owned();
    issue.resolve_time = now;
    issue.slack_post_needs_update = true;
    // Resolved from this instant on (Go compares with a clock read a moment later).
    issue.archive_time = add(now, issue.archive_delay);
    true
}

/// Undo a user resolve (follow-up issues only). The issue re-opens only while the last alert's
/// auto-resolve period has not passed.
pub fn unresolve(issue: &mut Issue, now: DateTime<Utc>) -> bool {
    if !issue.last_alert.issue_follow_up_enabled {
        return false;
    }
    issue.resolved_by_emoji = false;
    issue.resolved_by_user.clear();
    issue.resolve_time = add(issue.last_alert.timestamp, issue.auto_resolve_period);
    issue.slack_post_needs_update = true;
    set_archiving_time(issue, now);
    true
}

/// Mark as (not) under investigation (follow-up issues only).
pub fn set_investigated(issue: &mut Issue, on: bool, user: &str, now: DateTime<Utc>) -> bool {
    if !issue.last_alert.issue_follow_up_enabled {
        return false;
    }
    issue.investigated = on;
    issue.investigated_by_user = if on { user.to_owned() } else { String::new() };
    issue.investigated_since = if on { now } else { zero_time() };
    issue.slack_post_needs_update = true;
    true
}

/// Mute or unmute (follow-up issues only). A muted issue is not escalated.
pub fn set_muted(issue: &mut Issue, on: bool, user: &str, now: DateTime<Utc>) -> bool {
    if !issue.last_alert.issue_follow_up_enabled {
        return false;
    }
    issue.muted = on;
    issue.muted_by_user = if on { user.to_owned() } else { String::new() };
    issue.muted_since = if on { now } else { zero_time() };
    issue.slack_post_needs_update = true;
    true
}

/// Ends a mute older than `expiry` (measured from `mutedSince`). Returns whether it ended.
pub fn expire_mute(issue: &mut Issue, expiry: Option<Duration>, now: DateTime<Utc>) -> bool {
    let Some(expiry) = expiry else {
        return false;
    };
    if !issue.muted || now < add(issue.muted_since, expiry) {
        return false;
    }
    set_muted(issue, false, "", now)
}

/// Show or hide the option buttons (any issue).
pub fn set_buttons(issue: &mut Issue, on: bool) {
    issue.buttons_activated = on;
    issue.slack_post_needs_update = true;
}

/// Records a move to `target` (named `target_name`). Moving back to the original channel clears
/// the move marks.
pub fn register_move(
    issue: &mut Issue,
    reason: MoveReason,
    user: &str,
    target: &str,
    target_name: &str,
) {
    issue.last_alert.slack_channel_id = target.to_owned();
    issue.last_alert.slack_channel_name = target_name.to_owned();
    if target != issue.last_alert.original_slack_channel_id {
        issue.is_moved = true;
        issue.move_reason = reason;
        issue.moved_by_user = user.to_owned();
    } else {
        issue.is_moved = false;
        issue.move_reason = MoveReason::Unset;
        issue.moved_by_user.clear();
    }
    issue.slack_post_needs_update = true;
}

/// What an escalation pass did to an issue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EscalationResult {
    /// A rung applied.
    pub escalated: bool,
    /// The rung asks to move the issue to this channel (different from the current one).
    pub move_to_channel: Option<String>,
}

/// Applies the escalation ladder (models.md §4.9): the last rung whose delay has passed since the
/// issue was created sets the severity, appends the mentions to the original text and may ask for
/// a move. A raise in severity forces an update (and a re-post when it mentions someone). Muted,
/// info/resolved and archived issues are not escalated.
pub fn apply_escalation_rules(issue: &mut Issue, now: DateTime<Utc>) -> EscalationResult {
    if issue.archived || issue.muted || issue.is_info_or_resolved(now) {
        return EscalationResult::default();
    }
    let Some(rules) = issue.last_alert.escalation.as_ref() else {
        return EscalationResult::default();
    };
    let age = now.signed_duration_since(issue.created).num_seconds();
    let Some(rule) = rules
        .iter()
        .filter(|r| r.delay_seconds <= age)
        .max_by_key(|r| r.delay_seconds)
        .cloned()
    else {
        return EscalationResult::default();
    };
    issue.is_escalated = true;
    let mentions = rule.slack_mentions.clone().unwrap_or_default();
    if !mentions.is_empty() {
        issue.last_alert.alert.text = format!(
            "{}\n*Att:* {}",
            issue.last_alert.original_text,
            mentions.join(" ")
        );
    }
    let previous = issue.last_alert.severity.priority();
    issue.last_alert.severity = rule.severity.clone();
    let raised = rule.severity.priority() > previous;
    if raised {
        issue.slack_post_needs_update = true;
        if !mentions.is_empty() {
            issue.slack_post_needs_delete = true;
        }
    }
    sanitize_slack_mentions(issue, raised, now);
    let move_to_channel = (!rule.move_to_channel.is_empty()
        && rule.move_to_channel != issue.last_alert.slack_channel_id)
        .then(|| rule.move_to_channel.clone());
    EscalationResult {
        escalated: true,
        move_to_channel,
    }
}

/// Remembers, per issue, when it reopened (went from resolved back to open), to tell flapping
/// issues apart. Kept in the channel actor's memory: a restart forgets the history, which only
/// delays detection.
#[derive(Debug, Default)]
pub struct FlapTracker {
    reopens: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl FlapTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        FlapTracker::default()
    }

    /// Records a reopen of `issue_id` at `now` and returns the reopens within `window`.
    pub fn record_reopen(&mut self, issue_id: &str, now: DateTime<Utc>, window: Duration) -> usize {
        let q = self.reopens.entry(issue_id.to_owned()).or_default();
        q.push_back(now);
        Self::prune(q, now, window);
        q.len()
    }

    /// Reopens of `issue_id` within `window` before `now`.
    pub fn reopens(&mut self, issue_id: &str, now: DateTime<Utc>, window: Duration) -> usize {
        match self.reopens.get_mut(issue_id) {
            Some(q) => {
                Self::prune(q, now, window);
                q.len()
            }
            None => 0,
        }
    }

    /// Whether `issue_id` reopened more than `threshold` times within `window`.
    pub fn is_flapping(
        &mut self,
        issue_id: &str,
        now: DateTime<Utc>,
        threshold: usize,
        window: Duration,
    ) -> bool {
        self.reopens(issue_id, now, window) > threshold
    }

    /// Forgets an issue (archived).
    pub fn forget(&mut self, issue_id: &str) {
        self.reopens.remove(issue_id);
    }

    /// Number of issues tracked.
    pub fn len(&self) -> usize {
        self.reopens.len()
    }

    /// Whether no issue is tracked.
    pub fn is_empty(&self) -> bool {
        self.reopens.is_empty()
    }

    fn prune(q: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>, window: Duration) {
        let cutoff = TimeDelta::from_std(window)
            .ok()
            .and_then(|w| now.checked_sub_signed(w))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        while q.front().is_some_and(|t| *t < cutoff) {
            q.pop_front();
        }
    }
}

/// Writes (or refreshes) the flapping note at the end of the issue's text.
pub fn mark_flapping(issue: &mut Issue, reopens: usize, window: Duration) {
    clear_flapping(issue);
    let minutes = window.as_secs().div_ceil(60);
    issue.last_alert.alert.text.push_str(&format!(
        "{FLAPPING_NOTE_PREFIX} reopened {reopens} times in the last {minutes} min_"
    ));
}

/// Removes the flapping note, if any.
pub fn clear_flapping(issue: &mut Issue) {
    if let Some(pos) = issue.last_alert.text.find(FLAPPING_NOTE_PREFIX) {
        issue.last_alert.alert.text.truncate(pos);
    }
}

/// Whether the text carries the flapping note.
pub fn is_marked_flapping(issue: &Issue) -> bool {
    issue.last_alert.text.contains(FLAPPING_NOTE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm_core::{Alert, Escalation, Field, Webhook};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn s(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    fn alert(sev: Severity, follow_up: bool, at: DateTime<Utc>) -> IssueAlert {
        let mut a = Alert::new(sev);
        a.timestamp = at;
        a.slack_channel_id = "C1".into();
        a.correlation_id = "corr".into();
        a.header = "Disk full".into();
        a.text = "on host a".into();
        a.issue_follow_up_enabled = follow_up;
        a.auto_resolve_seconds = 600;
        a.archiving_delay_seconds = 3600;
        IssueAlert::new(a)
    }

    #[test]
    fn defaults_fill_missing_values() {
        let mut settings = ManagerSettings::default();
        settings.init_and_validate().unwrap();
        let mut a = alert(Severity::default(), true, t0());
        a.correlation_id.clear();
        a.username.clear();
        a.icon_emoji.clear();
        a.archiving_delay_seconds = 0;
        a.webhooks = Some(vec![Webhook {
            id: "w".into(),
            ..Default::default()
        }]);
        set_default_values(&mut a, &settings);
        assert_eq!(a.correlation_id, a.default_correlation_id());
        assert_eq!(a.severity, Severity::Error);
        assert_eq!(a.username, "Slack Manager");
        assert_eq!(a.icon_emoji, ":female-detective:");
        assert_eq!(a.archiving_delay_seconds, 43_200);
        assert_eq!(
            a.webhooks.as_ref().unwrap()[0].access_level,
            WebhookAccessLevel::GlobalAdmins
        );
    }

    #[test]
    fn create_rules() {
        let now = t0() + s(5);
        // Follow-up error: resolves after the auto-resolve period; archive after that + delay.
        let i = new_issue(alert(Severity::Error, true, t0()), now);
        assert_eq!(i.created, now);
        assert_eq!(i.alert_count, 1);
        assert!(i.slack_post_needs_update);
        assert_eq!(i.resolve_time, t0() + s(600));
        assert_eq!(i.archive_time, t0() + s(600 + 3600));
        assert_eq!(i.slack_action(now), SlackAction::Alert);

        // Follow-up info becomes fire-and-forget; its delay is dropped.
        let mut a = alert(Severity::Info, true, t0());
        a.notification_delay_seconds = 60;
        let i = new_issue(a, now);
        assert!(!i.last_alert.issue_follow_up_enabled);
        assert_eq!(i.last_alert.notification_delay_seconds, 0);
        assert_eq!(i.archive_time, now + s(30));

        // Notification delay is measured from now.
        let mut a = alert(Severity::Warning, true, t0());
        a.notification_delay_seconds = 120;
        let i = new_issue(a, now);
        assert_eq!(i.slack_post_delayed_until, now + s(120));
        assert_eq!(i.slack_action(now), SlackAction::None);
        assert_eq!(i.slack_action(now + s(121)), SlackAction::Alert);

        // Without follow-up the delay is ignored.
        let mut a = alert(Severity::Warning, false, t0());
        a.notification_delay_seconds = 120;
        let i = new_issue(a, now);
        assert_eq!(i.slack_post_delayed_until, zero_time());

        assert!(ignored_for_new_issue(&alert(
            Severity::Resolved,
            true,
            t0()
        )));
        assert!(!ignored_for_new_issue(&alert(
            Severity::Resolved,
            false,
            t0()
        )));
    }

    #[test]
    fn add_alert_rules() {
        let now = t0();
        let base = new_issue(alert(Severity::Error, true, t0()), now);

        // Not newer: ignored.
        let mut i = base.clone();
        assert!(!add_alert(&mut i, alert(Severity::Error, true, t0()), now));
        assert_eq!(i, base);

        // Newer: applied.
        let mut i = base.clone();
        let mut a = alert(Severity::Warning, true, t0() + s(10));
        a.alert.text = "changed".into();
        assert!(add_alert(&mut i, a, now + s(10)));
        assert_eq!(i.alert_count, 2);
        assert_eq!(i.last_alert.text, "changed");
        assert_eq!(i.last_alert_received, now + s(10));
        assert_eq!(i.resolve_time, t0() + s(610));

        // Resolved alert on a resolved issue: ignored.
        let mut i = base.clone();
        i.last_alert.alert.severity = Severity::Resolved;
        assert!(!add_alert(
            &mut i,
            alert(Severity::Resolved, true, t0() + s(10)),
            now
        ));

        // Fire-and-forget issues absorb repeats.
        let mut i = new_issue(alert(Severity::Error, false, t0()), now);
        assert!(!add_alert(
            &mut i,
            alert(Severity::Error, false, t0() + s(1)),
            now
        ));

        // Resolve alert: resolve time = its timestamp; issue resolved.
        let mut i = base.clone();
        assert!(add_alert(
            &mut i,
            alert(Severity::Resolved, true, t0() + s(20)),
            now + s(20)
        ));
        assert_eq!(i.resolve_time, t0() + s(20));
        assert!(i.is_resolved(now + s(20)));
        assert_eq!(i.archive_time, t0() + s(20 + 3600));

        // Reopen: an error alert after resolve makes it open again.
        assert!(add_alert(
            &mut i,
            alert(Severity::Error, true, t0() + s(30)),
            now + s(30)
        ));
        assert!(!i.is_resolved(now + s(30)));

        // Sticky escalation: a lower severity keeps the escalated one.
        let mut i = base.clone();
        i.is_escalated = true;
        i.last_alert.alert.severity = Severity::Panic;
        assert!(add_alert(
            &mut i,
            alert(Severity::Warning, true, t0() + s(5)),
            now
        ));
        assert_eq!(i.last_alert.severity, Severity::Panic);
        // ... but a resolve is a resolve.
        assert!(add_alert(
            &mut i,
            alert(Severity::Resolved, true, t0() + s(6)),
            now
        ));
        assert_eq!(i.last_alert.severity, Severity::Resolved);

        // Notification delay measured from creation; user marks cleared.
        let mut i = base.clone();
        i.resolved_by_emoji = true;
        i.resolved_by_user = "U".into();
        i.terminated = true;
        let mut a = alert(Severity::Error, true, t0() + s(40));
        a.notification_delay_seconds = 100;
        assert!(add_alert(&mut i, a, now + s(40)));
        assert_eq!(i.slack_post_delayed_until, base.created + s(100));
        assert!(!i.resolved_by_emoji && !i.terminated && i.resolved_by_user.is_empty());
    }

    #[test]
    fn archiving_rules() {
        let now = t0();
        // Fire-and-forget: 30 s after the last alert.
        let i = new_issue(alert(Severity::Info, false, t0()), now);
        assert!(!is_ready_for_archiving(&i, now + s(30)));
        assert!(is_ready_for_archiving(&i, now + s(31)));

        // Follow-up with a post still showing an alert: never archived.
        let mut i = new_issue(alert(Severity::Error, true, t0()), now);
        i.slack_post_id = "1.1".into();
        i.slack_post_last_action = SlackAction::Alert;
        let late = now + s(100_000);
        assert!(!is_ready_for_archiving(&i, late));
        i.slack_post_last_action = SlackAction::Resolve;
        assert!(is_ready_for_archiving(&i, late));
        assert!(!is_ready_for_archiving(&i, t0() + s(600 + 3600)));

        // Terminated: at once (strictly after now).
        let mut i = new_issue(alert(Severity::Error, true, t0()), now);
        i.slack_post_id = "1.1".into();
        i.slack_post_last_action = SlackAction::Alert;
        terminate(&mut i, "U", now + s(1));
        assert!(is_ready_for_archiving(&i, now + s(2)));
        assert_eq!(i.terminated_by_user, "U");
    }

    #[test]
    fn user_actions() {
        let now = t0();
        let mut i = new_issue(alert(Severity::Error, true, t0()), now);
        i.slack_post_needs_update = false;
        assert!(resolve(&mut i, "U", now + s(10)));
        assert!(i.resolved_by_emoji && i.is_resolved(now + s(11)));
        assert_eq!(i.archive_time, now + s(10 + 3600));
        assert!(i.slack_post_needs_update);
        assert!(unresolve(&mut i, now + s(20)));
        assert!(!i.is_resolved(now + s(20)));
        assert_eq!(i.resolve_time, t0() + s(600));
        // Unresolve after the auto-resolve period: stays resolved.
        assert!(resolve(&mut i, "U", now + s(30)));
        assert!(unresolve(&mut i, now + s(700)));
        assert!(i.is_resolved(now + s(700)));

        assert!(set_investigated(&mut i, true, "U2", now));
        assert!(i.investigated && i.investigated_by_user == "U2" && i.investigated_since == now);
        assert!(set_investigated(&mut i, false, "U2", now));
        assert!(!i.investigated && i.investigated_by_user.is_empty());
        assert!(set_muted(&mut i, true, "U3", now));
        assert!(i.muted && i.muted_since == now);
        set_buttons(&mut i, true);
        assert!(i.buttons_activated);

        // Follow-up-only actions are no-ops on fire-and-forget issues.
        let mut f = new_issue(alert(Severity::Error, false, t0()), now);
        let before = f.clone();
        assert!(!resolve(&mut f, "U", now));
        assert!(!unresolve(&mut f, now));
        assert!(!set_investigated(&mut f, true, "U", now));
        assert!(!set_muted(&mut f, true, "U", now));
        assert_eq!(f, before);
        set_buttons(&mut f, true);
        assert!(f.buttons_activated);
    }

    #[test]
    fn mute_expiry() {
        let now = t0();
        let mut i = new_issue(alert(Severity::Error, true, t0()), now);
        set_muted(&mut i, true, "U", now);
        assert!(!expire_mute(&mut i, None, now + s(10_000)));
        assert!(!expire_mute(
            &mut i,
            Some(Duration::from_secs(60)),
            now + s(59)
        ));
        assert!(i.muted);
        assert!(expire_mute(
            &mut i,
            Some(Duration::from_secs(60)),
            now + s(60)
        ));
        assert!(!i.muted && i.muted_by_user.is_empty());
    }

    #[test]
    fn mentions() {
        let now = t0();
        let mut a = alert(Severity::Error, true, t0());
        a.alert.header = "for <@U1>".into();
        a.alert.text = "ping <@U1> and <!here> and <!EVERYONE>".into();
        a.alert.fields = Some(vec![Field {
            title: "<!channel>".into(),
            value: "v".into(),
        }]);
        let i = new_issue(a.clone(), now);
        assert_eq!(i.last_alert.header, "for *U1*");
        assert_eq!(i.last_alert.fields.as_ref().unwrap()[0].title, "*channel*");
        assert_eq!(i.last_alert.text, "ping <@U1> and <!here> and *everyone*");
        assert_eq!(i.last_slack_mention, "<@U1>,<!here>");
        assert_eq!(i.last_slack_mention_time, now);

        // Same mentions within the hour: silenced.
        let mut j = i.clone();
        let mut a2 = a.clone();
        a2.alert.timestamp = t0() + s(1);
        assert!(add_alert(&mut j, a2.clone(), now + s(60)));
        assert_eq!(j.last_alert.text, "ping *U1* and *here* and *everyone*");
        // After an hour they ping again.
        let mut k = i.clone();
        assert!(add_alert(&mut k, a2, now + s(3601)));
        assert_eq!(k.last_alert.text, "ping <@U1> and <!here> and *everyone*");
        assert_eq!(k.last_slack_mention_time, now + s(3601));
    }

    fn ladder() -> Vec<Escalation> {
        vec![
            Escalation {
                severity: Severity::Error,
                delay_seconds: 60,
                slack_mentions: None,
                move_to_channel: String::new(),
            },
            Escalation {
                severity: Severity::Panic,
                delay_seconds: 120,
                slack_mentions: Some(vec!["<@U9>".into()]),
                move_to_channel: "C2".into(),
            },
        ]
    }

    #[test]
    fn escalation_ladder() {
        let now = t0();
        let mut a = alert(Severity::Warning, true, t0());
        a.alert.auto_resolve_seconds = 100_000;
        a.alert.escalation = Some(ladder());
        let mut i = new_issue(a, now);
        i.slack_post_needs_update = false;

        assert_eq!(
            apply_escalation_rules(&mut i, now + s(59)),
            EscalationResult::default()
        );
        assert!(!i.is_escalated);

        let r = apply_escalation_rules(&mut i, now + s(60));
        assert!(r.escalated && r.move_to_channel.is_none());
        assert_eq!(i.last_alert.severity, Severity::Error);
        assert!(i.slack_post_needs_update && !i.slack_post_needs_delete);

        i.slack_post_needs_update = false;
        let r = apply_escalation_rules(&mut i, now + s(130));
        assert_eq!(r.move_to_channel.as_deref(), Some("C2"));
        assert_eq!(i.last_alert.severity, Severity::Panic);
        assert_eq!(i.last_alert.text, "on host a\n*Att:* <@U9>");
        assert!(i.slack_post_needs_update && i.slack_post_needs_delete);

        // Same rung again: no raise, mentions silenced within the hour.
        i.slack_post_needs_update = false;
        i.slack_post_needs_delete = false;
        let r = apply_escalation_rules(&mut i, now + s(140));
        assert!(r.escalated);
        assert!(!i.slack_post_needs_update);
        assert_eq!(i.last_alert.text, "on host a\n*Att:* *U9*");
    }

    #[test]
    fn escalation_skips_muted_resolved_and_rule_less_issues() {
        let now = t0();
        let mut a = alert(Severity::Warning, true, t0());
        a.alert.auto_resolve_seconds = 100_000;
        a.alert.escalation = Some(ladder());
        let mut i = new_issue(a.clone(), now);
        set_muted(&mut i, true, "U", now);
        assert!(!apply_escalation_rules(&mut i, now + s(200)).escalated);
        assert_eq!(i.last_alert.severity, Severity::Warning);
        // The mute expires: escalation resumes.
        assert!(expire_mute(
            &mut i,
            Some(Duration::from_secs(60)),
            now + s(200)
        ));
        assert!(apply_escalation_rules(&mut i, now + s(200)).escalated);

        let mut r = new_issue(a.clone(), now);
        r.last_alert.alert.severity = Severity::Resolved;
        assert!(!apply_escalation_rules(&mut r, now + s(200)).escalated);

        let mut n = new_issue(alert(Severity::Warning, true, t0()), now);
        assert!(!apply_escalation_rules(&mut n, now + s(200)).escalated);
    }

    #[test]
    fn moves() {
        let now = t0();
        let mut i = new_issue(alert(Severity::Error, true, t0()), now);
        i.slack_post_needs_update = false;
        register_move(&mut i, MoveReason::UserCommand, "U", "C2", "two");
        assert_eq!(i.channel_id(), "C2");
        assert_eq!(i.last_alert.slack_channel_name, "two");
        assert!(i.is_moved && i.move_reason == MoveReason::UserCommand && i.moved_by_user == "U");
        assert!(i.slack_post_needs_update);
        register_move(&mut i, MoveReason::UserCommand, "U", "C1", "one");
        assert!(!i.is_moved && i.move_reason == MoveReason::Unset && i.moved_by_user.is_empty());
    }

    #[test]
    fn flap_tracking() {
        let now = t0();
        let w = Duration::from_secs(100);
        let mut f = FlapTracker::new();
        for k in 0..3 {
            assert_eq!(
                f.record_reopen("i", now + s(k), w),
                usize::try_from(k + 1).unwrap()
            );
        }
        assert!(f.is_flapping("i", now + s(3), 2, w));
        assert!(!f.is_flapping("i", now + s(3), 3, w));
        // Old reopens fall out of the window.
        assert_eq!(f.reopens("i", now + s(101), w), 2);
        assert_eq!(f.reopens("i", now + s(102), w), 1);
        f.forget("i");
        assert!(f.is_empty());

        let mut i = new_issue(alert(Severity::Error, true, t0()), now);
        mark_flapping(&mut i, 6, Duration::from_secs(3600));
        assert!(is_marked_flapping(&i));
        assert!(
            i.last_alert
                .text
                .ends_with("reopened 6 times in the last 60 min_")
        );
        mark_flapping(&mut i, 7, Duration::from_secs(3600));
        assert_eq!(i.last_alert.text.matches(FLAPPING_NOTE_PREFIX).count(), 1);
        clear_flapping(&mut i);
        assert_eq!(i.last_alert.text, "on host a");
    }
}
