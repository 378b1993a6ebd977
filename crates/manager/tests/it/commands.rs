use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sm_core::{
    Command, CommandAction, Issue, Store, Webhook, WebhookCallback, WebhookError, WebhookHandler,
    WebhookParameters,
};

use crate::support::{Harness, HarnessBuilder, alert, drained, eventually};

async fn posted(h: &Harness, corr: &str) -> Issue {
    h.send(&alert("C1", corr, "boom")).await;
    eventually(10, "posted issue", || async {
        h.issue("C1", corr)
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await
}

fn command(action: CommandAction, ts: &str) -> Command {
    let mut c = Command::new("C1", ts, action);
    c.user_id = "U7".into();
    c.user_real_name = "Ada".into();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_investigate_and_mute_commands_update_issue_and_post() {
    let h = Harness::start();
    let issue = posted(&h, "cmd").await;
    h.send_command(&command(CommandAction::ResolveIssue, &issue.slack_post_id))
        .await;
    let resolved = eventually(10, "resolved", || async {
        h.issue("C1", "cmd").await.filter(|i| i.resolved_by_emoji)
    })
    .await;
    assert_eq!(resolved.resolved_by_user, "U7");
    eventually(10, "post shows resolve", || async {
        h.slack
            .posts("C1")
            .first()
            .filter(|p| p.action == sm_core::SlackAction::Resolve)
            .cloned()
    })
    .await;
    h.send_command(&command(
        CommandAction::UnresolveIssue,
        &issue.slack_post_id,
    ))
    .await;
    h.send_command(&command(
        CommandAction::InvestigateIssue,
        &issue.slack_post_id,
    ))
    .await;
    h.send_command(&command(CommandAction::MuteIssue, &issue.slack_post_id))
        .await;
    let i = eventually(10, "investigated and muted", || async {
        h.issue("C1", "cmd")
            .await
            .filter(|i| i.investigated && i.muted && !i.resolved_by_emoji)
    })
    .await;
    assert_eq!(i.investigated_by_user, "U7");
    assert_eq!(i.muted_by_user, "U7");
    drained(&h).await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_failure_in_a_command_still_saves_the_change() {
    let h = Harness::start();
    let issue = posted(&h, "sf").await;
    h.slack.fail_next(1);
    h.send_command(&command(
        CommandAction::InvestigateIssue,
        &issue.slack_post_id,
    ))
    .await;
    let i = eventually(10, "investigated", || async {
        h.issue("C1", "sf").await.filter(|i| i.investigated)
    })
    .await;
    assert_eq!(i.investigated_by_user, "U7");
    // The periodic pass makes the update the command could not make.
    eventually(10, "update retried", || async {
        h.issue("C1", "sf")
            .await
            .filter(|i| !i.slack_post_needs_update)
    })
    .await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_deletes_the_post_and_archives() {
    let h = Harness::start();
    let issue = posted(&h, "t").await;
    h.send_command(&command(
        CommandAction::TerminateIssue,
        &issue.slack_post_id,
    ))
    .await;
    eventually(10, "post deleted", || async {
        h.slack.posts("C1").is_empty().then_some(())
    })
    .await;
    eventually(10, "archived", || async {
        h.issue("C1", "t").await.is_none().then_some(())
    })
    .await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_for_an_unknown_post_is_acked_and_ignored() {
    let h = Harness::start();
    h.send_command(&command(CommandAction::ResolveIssue, "123.456"))
        .await;
    drained(&h).await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_command_moves_issue_and_post() {
    let h = Harness::start();
    let issue = posted(&h, "mv").await;
    let mut c = command(CommandAction::MoveIssue, &issue.slack_post_id);
    c.parameters.insert("targetChannelId".into(), "C9".into());
    h.send_command(&c).await;
    let moved = eventually(10, "moved", || async {
        h.issue("C9", "mv")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    assert_eq!(moved.moved_by_user, "U7");
    assert!(h.slack.posts("C1").is_empty());
    assert_eq!(h.slack.posts("C9").len(), 1);
    let m = h
        .store
        .find_move_mapping("C1", "mv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.reason, sm_core::MoveReason::UserCommand);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_issue_command_queues_an_alert_that_opens_an_issue() {
    let h = Harness::start();
    let mut c = Command::new("C3", "", CommandAction::CreateIssue);
    c.user_real_name = "Grace".into();
    c.parameters.insert("severity".into(), "warning".into());
    c.parameters.insert("header".into(), "Manual".into());
    c.parameters.insert("text".into(), "made by hand".into());
    c.parameters.insert("followUpEnabled".into(), true.into());
    c.parameters
        .insert("autoResolveSeconds".into(), 3600.0.into());
    c.parameters
        .insert("iconEmoji".into(), "not an emoji".into());
    h.send_command(&c).await;
    let active = eventually(10, "issue created", || async {
        let chans = sm_core::Store::find_active_channels(&*h.store)
            .await
            .unwrap();
        chans.contains(&"C3".to_string()).then_some(chans)
    })
    .await;
    assert_eq!(active, ["C3"]);
    let posts = eventually(10, "posted", || async {
        let p = h.slack.posts("C3");
        (!p.is_empty()).then_some(p)
    })
    .await;
    assert_eq!(posts[0].text, "made by hand");
    assert_eq!(posts[0].severity, sm_core::Severity::Warning);
    h.stop().await.unwrap();
}

struct Recorder(Mutex<Vec<(String, WebhookCallback)>>);

#[async_trait]
impl WebhookHandler for Recorder {
    fn should_handle_webhook(&self, target: &str) -> bool {
        target.starts_with("test://")
    }
    async fn handle_webhook(
        &self,
        target: &str,
        data: &WebhookCallback,
    ) -> Result<(), WebhookError> {
        self.0
            .lock()
            .unwrap()
            .push((target.to_owned(), data.clone()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_command_reaches_the_first_matching_handler_with_the_decrypted_payload() {
    let key = "abcdefghijABCDEFGHIJ0123456789xy";
    let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
    let mut b = HarnessBuilder::new();
    b.config.encryption_key = key.into();
    b.handlers.push(recorder.clone());
    let h = b.start();
    let mut payload = serde_json::Map::new();
    payload.insert("restart".into(), "web-1".into());
    let mut a = alert("C1", "wh", "needs a restart");
    a.webhooks = Some(vec![Webhook {
        id: "restart".into(),
        url: "test://restart".into(),
        button_text: "Restart".into(),
        payload: Some(sm_webhooks_encrypt(key, &payload)),
        ..Default::default()
    }]);
    h.send(&a).await;
    let issue = eventually(10, "posted", || async {
        h.issue("C1", "wh")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    let mut c = command(CommandAction::Webhook, &issue.slack_post_id);
    c.webhook_parameters = Some(WebhookParameters {
        webhook_id: "restart".into(),
        ..Default::default()
    });
    h.send_command(&c).await;
    let (target, cb) = eventually(10, "webhook called", || async {
        recorder.0.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(target, "test://restart");
    assert_eq!(cb.id, "restart");
    assert_eq!(cb.user_id, "U7");
    assert_eq!(cb.message_id, issue.slack_post_id);
    assert_eq!(cb.payload_string("restart"), "web-1");
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_with_webhooks_is_dropped_without_an_encryption_key() {
    let h = Harness::start();
    let mut a = alert("C1", "nokey", "x");
    a.webhooks = Some(vec![Webhook {
        id: "w".into(),
        url: "https://example.invalid/hook".into(),
        button_text: "Go".into(),
        ..Default::default()
    }]);
    h.send(&a).await;
    drained(&h).await;
    assert!(h.issue("C1", "nokey").await.is_none());
    h.stop().await.unwrap();
}

fn sm_webhooks_encrypt(
    key: &str,
    payload: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    sm_webhooks::encrypt_webhook_payload(key, payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_command_is_acked() {
    let h = Harness::start();
    sm_core::FifoQueueProducer::send(&h.commands, "C1", "x", "[1,2]")
        .await
        .unwrap();
    drained(&h).await;
    h.stop().await.unwrap();
}
