//! Reorder and throttle decisions as tables (pure functions, no Slack).

use chrono::{DateTime, Duration, Utc};
use sm_core::{Issue, Severity, SlackAction};
use sm_slack::{DeleteReason, PostSettings, plan_deletes, should_throttle, sort_by_priority};

use crate::support::{issue, t0};

fn now() -> DateTime<Utc> {
    t0() + Duration::minutes(10)
}

/// A posted issue: last action ALERT, post header/text equal to the alert's.
fn posted(correlation: &str, sev: Severity, ts: &str) -> Issue {
    let mut i = issue("C1", correlation, sev, t0());
    i.slack_post_id = ts.into();
    i.slack_post_last_action = SlackAction::Alert;
    i.slack_post_header = i.last_alert.header.clone();
    i.slack_post_text = i.last_alert.text.clone();
    i.slack_post_updated = now();
    i
}

#[test]
fn throttle_table() {
    type Tweak = fn(&mut Issue, &mut SlackAction, &mut usize);
    let cases: Vec<(&str, Tweak, bool)> = vec![
        (
            "10 alerts, updated 10 s ago: limit 20 s",
            |i, _, _| i.slack_post_updated = now() - Duration::seconds(10),
            true,
        ),
        (
            "updated 25 s ago",
            |i, _, _| i.slack_post_updated = now() - Duration::seconds(25),
            false,
        ),
        (
            "too few issues in channel",
            |i, _, n| {
                i.slack_post_updated = now() - Duration::seconds(1);
                *n = 4
            },
            false,
        ),
        (
            "exactly the minimum count",
            |i, _, n| {
                i.slack_post_updated = now() - Duration::seconds(1);
                *n = 5
            },
            true,
        ),
        (
            "action differs from the last one",
            |i, a, _| {
                i.slack_post_updated = now();
                *a = SlackAction::Resolve
            },
            false,
        ),
        ("no post", |i, _, _| i.slack_post_id.clear(), false),
        (
            "active mention",
            |i, _, _| i.last_alert.text = "ping <@U1>".into(),
            false,
        ),
        (
            "header changed",
            |i, _, _| i.last_alert.header = "new header".into(),
            false,
        ),
        (
            "text changed halves the limit: 15 s > 10 s",
            |i, _, _| {
                i.last_alert.text = "new".into();
                i.slack_post_updated = now() - Duration::seconds(15);
            },
            false,
        ),
        (
            "text changed, 5 s ago",
            |i, _, _| {
                i.last_alert.text = "new".into();
                i.slack_post_updated = now() - Duration::seconds(5);
            },
            true,
        ),
        (
            "limit capped at 90 s: 80 s ago",
            |i, _, _| {
                i.alert_count = 100;
                i.slack_post_updated = now() - Duration::seconds(80);
            },
            true,
        ),
        (
            "limit capped at 90 s: 95 s ago",
            |i, _, _| {
                i.alert_count = 100;
                i.slack_post_updated = now() - Duration::seconds(95);
            },
            false,
        ),
    ];
    let settings = PostSettings::default();
    for (name, tweak, want) in cases {
        let mut i = posted("a", Severity::Error, "1700000000.000100");
        i.alert_count = 10;
        let mut action = SlackAction::Alert;
        let mut n = 10;
        tweak(&mut i, &mut action, &mut n);
        assert_eq!(
            should_throttle(&i, &action, n, &settings, now()),
            want,
            "{name}"
        );
    }
}

#[test]
fn throttle_settings_apply() {
    let mut i = posted("a", Severity::Error, "1700000000.000100");
    i.alert_count = 10;
    i.slack_post_updated = now() - Duration::seconds(10);
    let s = PostSettings {
        max_throttle_duration: std::time::Duration::from_secs(5),
        ..PostSettings::default()
    };
    assert!(!should_throttle(&i, &SlackAction::Alert, 10, &s, now()));
    let s = PostSettings {
        min_issue_count_for_throttle: 11,
        ..PostSettings::default()
    };
    assert!(!should_throttle(&i, &SlackAction::Alert, 10, &s, now()));
}

fn plan(issues: &[Issue], allowed: bool) -> Vec<(String, DeleteReason)> {
    let mut refs: Vec<&Issue> = issues.iter().collect();
    sort_by_priority(&mut refs, now());
    plan_deletes(&refs, allowed, now())
        .into_iter()
        .map(|(i, r)| (refs[i].correlation_id.clone(), r))
        .collect()
}

#[test]
fn reorder_table() {
    use DeleteReason::*;
    let w = |ts: &str| posted("w", Severity::Warning, ts);
    let e = |ts: &str| posted("e", Severity::Error, ts);
    let p = |ts: &str| posted("p", Severity::Panic, ts);
    type Case = (
        &'static str,
        Vec<Issue>,
        bool,
        Vec<(&'static str, DeleteReason)>,
    );
    let cases: Vec<Case> = vec![
        (
            "already in order",
            vec![w("1.1"), e("1.2"), p("1.3")],
            true,
            vec![],
        ),
        (
            "error above a newer warning",
            vec![e("1.1"), w("1.2")],
            true,
            vec![("e", Reorder)],
        ),
        (
            "reordering not allowed",
            vec![e("1.1"), w("1.2")],
            false,
            vec![],
        ),
        (
            "two above one newer warning",
            vec![p("1.1"), e("1.2"), w("1.3")],
            true,
            vec![("e", Reorder), ("p", Reorder)],
        ),
        (
            "flagged needs-delete wins",
            vec![{
                let mut x = w("1.1");
                x.slack_post_needs_delete = true;
                x
            }],
            false,
            vec![("w", NeedsDelete)],
        ),
        (
            "same correlation ID is ignored",
            vec![e("1.1"), {
                let mut x = w("1.2");
                x.correlation_id = "e".into();
                x
            }],
            true,
            vec![],
        ),
        (
            "no follow-up: never reordered",
            vec![
                {
                    let mut x = e("1.1");
                    x.last_alert.issue_follow_up_enabled = false;
                    x
                },
                w("1.2"),
            ],
            true,
            vec![],
        ),
        (
            "muted panic counts as resolved",
            vec![w("1.1"), {
                let mut x = p("1.2");
                x.muted = true;
                x
            }],
            true,
            vec![("w", Reorder)],
        ),
        (
            "unposted issues are not deleted",
            vec![
                {
                    let mut x = e("1.1");
                    x.slack_post_id.clear();
                    x
                },
                w("1.2"),
            ],
            true,
            vec![],
        ),
        (
            "ts compares as strings",
            vec![e("1700000000.000200"), w("1700000000.000100")],
            true,
            vec![],
        ),
    ];
    for (name, issues, allowed, want) in cases {
        let want: Vec<(String, DeleteReason)> =
            want.into_iter().map(|(c, r)| (c.to_owned(), r)).collect();
        assert_eq!(plan(&issues, allowed), want, "{name}");
    }
}

#[test]
fn priority_sort_is_stable_and_puts_the_most_important_last() {
    let mut a = issue("C1", "a", Severity::Panic, t0());
    let mut b = issue("C1", "b", Severity::Warning, t0());
    let mut c = issue("C1", "c", Severity::Warning, t0());
    let d = issue("C1", "d", Severity::Info, t0());
    a.last_alert_received = t0() + Duration::seconds(1);
    b.last_alert_received = t0() + Duration::seconds(3);
    c.last_alert_received = t0() + Duration::seconds(2);
    let mut refs = vec![&a, &b, &c, &d];
    sort_by_priority(&mut refs, now());
    let order: Vec<&str> = refs.iter().map(|i| i.correlation_id.as_str()).collect();
    // Unposted equal-priority issues order by last alert time.
    assert_eq!(order, vec!["d", "c", "b", "a"]);
}
