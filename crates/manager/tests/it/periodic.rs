use chrono::{Duration, Utc};
use sm_core::{Escalation, IssueAlert, Severity, SlackAction, Store};
use sm_manager::lifecycle;

use crate::support::{Harness, HarnessBuilder, alert, eventually};

fn escalating(channel: &str, corr: &str, move_to: &str) -> IssueAlert {
    let mut a = alert(channel, corr, "cpu hot");
    a.severity = Severity::Warning;
    a.escalation = Some(vec![Escalation {
        severity: Severity::Panic,
        delay_seconds: 30,
        slack_mentions: Some(vec!["<@U1>".into()]),
        move_to_channel: move_to.into(),
    }]);
    IssueAlert::new(a)
}

/// Stores an issue created `age_secs` ago, as if an earlier run had created it.
async fn seed(h: &HarnessBuilder, a: IssueAlert, age_secs: i64) -> sm_core::Issue {
    let mut issue = lifecycle::new_issue(a, Utc::now() - Duration::seconds(age_secs));
    issue.version = h.store.save_issue(&issue).await.unwrap();
    issue
}

async fn wait_for_pass(h: &Harness, channel: &str) {
    let after = Utc::now();
    eventually(10, "a periodic pass", || async {
        h.store
            .find_channel_processing_state(channel)
            .await
            .unwrap()
            .filter(|s| s.last_processed > after)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_raises_severity_and_adds_mentions() {
    let b = HarnessBuilder::new();
    seed(&b, escalating("C1", "esc", ""), 40).await;
    let h = b.start();
    let issue = eventually(10, "escalated and posted", || async {
        h.issue("C1", "esc")
            .await
            .filter(|i| i.is_escalated && !i.slack_post_id.is_empty() && !i.slack_post_needs_update)
    })
    .await;
    assert_eq!(issue.last_alert.severity, Severity::Panic);
    assert_eq!(issue.last_alert.text, "cpu hot\n*Att:* <@U1>");
    let posts = h.slack.posts("C1");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].severity, Severity::Panic);
    assert!(posts[0].text.contains("<@U1>"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muted_issue_is_not_escalated() {
    let b = HarnessBuilder::new();
    let mut issue = lifecycle::new_issue(
        escalating("C1", "m", ""),
        Utc::now() - Duration::seconds(40),
    );
    lifecycle::set_muted(&mut issue, true, "U", Utc::now());
    b.store.save_issue(&issue).await.unwrap();
    let h = b.start();
    wait_for_pass(&h, "C1").await;
    wait_for_pass(&h, "C1").await;
    let issue = h.issue("C1", "m").await.unwrap();
    assert!(!issue.is_escalated);
    assert_eq!(issue.last_alert.severity, Severity::Warning);
    assert!(issue.muted);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_mute_ends_and_escalation_resumes() {
    let mut b = HarnessBuilder::new();
    b.settings.mute_expiry_seconds = 60;
    let mut issue = lifecycle::new_issue(
        escalating("C1", "m2", ""),
        Utc::now() - Duration::seconds(400),
    );
    lifecycle::set_muted(&mut issue, true, "U", Utc::now() - Duration::seconds(120));
    b.store.save_issue(&issue).await.unwrap();
    let h = b.start();
    let issue = eventually(10, "unmuted and escalated", || async {
        h.issue("C1", "m2").await.filter(|i| i.is_escalated)
    })
    .await;
    assert!(!issue.muted);
    assert_eq!(issue.last_alert.severity, Severity::Panic);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_moves_the_issue_and_redirects_later_alerts() {
    let b = HarnessBuilder::new();
    let seeded = seed(&b, escalating("C1", "mv", "C2"), 40).await;
    let h = b.start();
    let moved = eventually(10, "issue moved to C2", || async {
        h.issue("C2", "mv")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    assert_eq!(moved.id, seeded.id);
    assert!(moved.is_moved);
    assert_eq!(moved.move_reason, sm_core::MoveReason::Escalation);
    assert!(h.issue("C1", "mv").await.is_none());
    let mapping = h
        .store
        .find_move_mapping("C1", "mv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mapping.target_channel_id, "C2");
    assert_eq!(h.slack.posts("C2").len(), 1);
    // A later alert to C1 lands on the moved issue.
    let mut later = alert("C1", "mv", "still hot");
    later.timestamp = Utc::now();
    h.send(&later).await;
    eventually(10, "alert redirected", || async {
        h.issue("C2", "mv").await.filter(|i| i.alert_count == 2)
    })
    .await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_to_a_non_alert_channel_is_dropped_from_the_rule() {
    let h = Harness::start();
    h.slack.set_not_alert_channel("INFO");
    let mut a = escalating("C1", "na", "INFO").alert;
    a.timestamp = Utc::now();
    h.send(&a).await;
    let issue = eventually(10, "issue", || async { h.issue("C1", "na").await }).await;
    assert_eq!(
        issue.last_alert.escalation.as_ref().unwrap()[0].move_to_channel,
        ""
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fire_and_forget_issue_archives_after_30_seconds_of_quiet() {
    let b = HarnessBuilder::new();
    let mut a = alert("C1", "ff", "fyi");
    a.issue_follow_up_enabled = false;
    a.severity = Severity::Info;
    let mut issue = lifecycle::new_issue(IssueAlert::new(a), Utc::now() - Duration::seconds(31));
    issue.slack_post_last_action = SlackAction::Alert;
    b.store.save_issue(&issue).await.unwrap();
    let h = b.start();
    eventually(10, "archived", || async {
        h.issue("C1", "ff").await.is_none().then_some(())
    })
    .await;
    assert!(h.store.find_active_channels().await.unwrap().is_empty());
    h.stop().await.unwrap();
}
