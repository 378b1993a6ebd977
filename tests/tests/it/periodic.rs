//! The periodic pass: escalation and reordering.

use sm_core::{Escalation, Severity, Store};

use crate::support::{Stack, alert, content, fast_settings, status, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_raises_severity_and_adds_mentions() {
    let stack = Stack::start("escalation", &["C1"], fast_settings()).await;
    let mut a = alert("C1", "cpu", "cpu hot");
    a.severity = Severity::Warning;
    // 30 s is the smallest escalation delay the validation allows.
    a.escalation = Some(vec![Escalation {
        severity: Severity::Panic,
        delay_seconds: 30,
        slack_mentions: Some(vec!["<@U1>".into()]),
        move_to_channel: String::new(),
    }]);
    stack.send(&a).await;
    let warning = status().warning;
    stack
        .wait_for_messages("C1", 20, "the warning post", |m| {
            (m.len() == 1 && content(&m[0]).contains(&warning) && !content(&m[0]).contains("<@U1>"))
                .then_some(())
        })
        .await;
    let panic = status().panic;
    let msgs = stack
        .wait_for_messages("C1", 60, "the escalated post", |m| {
            m.last()
                .filter(|l| content(l).contains(&panic) && content(l).contains("<@U1>"))
                .map(|_| m.to_vec())
        })
        .await;
    assert_eq!(msgs.len(), 1, "escalation keeps one post per issue");
    let issue = wait_until(20, "the escalation saved", || async {
        stack
            .issue("C1", "cpu")
            .await
            .filter(|i| i.is_escalated && !i.slack_post_needs_update)
    })
    .await;
    assert_eq!(issue.last_alert.severity, Severity::Panic);
    assert!(issue.last_alert.text.contains("<@U1>"));
    assert_eq!(issue.slack_post_id, msgs[0].ts);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordering_puts_the_most_severe_issue_at_the_bottom() {
    let stack = Stack::start("reorder", &["C1"], fast_settings()).await;
    let mut panic = alert("C1", "p", "panic first");
    panic.severity = Severity::Panic;
    stack.send(&panic).await;
    stack
        .wait_for_messages("C1", 20, "the panic post", |m| (m.len() == 1).then_some(()))
        .await;
    let mut warn = alert("C1", "w", "warning later");
    warn.severity = Severity::Warning;
    let mut err = alert("C1", "e", "error last");
    err.severity = Severity::Error;
    stack.send(&warn).await;
    stack.send(&err).await;
    // The periodic pass re-posts issues so that severity grows towards the bottom of the channel
    // (the last message of its history): warning, error, panic.
    stack
        .wait_for_messages("C1", 30, "warning, error, panic from top to bottom", |m| {
            (m.len() == 3
                && content(&m[0]).contains("warning later")
                && content(&m[1]).contains("error last")
                && content(&m[2]).contains("panic first"))
            .then_some(())
        })
        .await;
    let open = stack.store.load_open_issues_in_channel("C1").await.unwrap();
    assert_eq!(
        open.len(),
        3,
        "reordering re-posts, it does not open issues"
    );
    stack.stop().await;
}
