//! The manager with the real Slack client (`sm-slack`) against the loopback Slack emulator.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sm_core::{Severity, SlackClient};
use sm_slack::{PostSettings, SlackApi, SlackClientConfig, SlackManagerClient};
use sm_slack_emulator::{ChannelSeed, Emulator, EmulatorConfig, Failure};

use crate::support::{HarnessBuilder, alert, eventually};

fn seed(id: &str) -> ChannelSeed {
    ChannelSeed {
        id: id.into(),
        name: id.to_lowercase(),
        ..serde_json::from_value(serde_json::json!({"id": id, "name": id})).unwrap()
    }
}

async fn emulator(channels: &[&str]) -> (Emulator, Arc<dyn SlackClient>) {
    let config = EmulatorConfig {
        channels: channels.iter().map(|c| seed(c)).collect(),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(config).await.unwrap();
    let cfg = SlackClientConfig::new("xoxb-emulator")
        .with_base_url(emu.base_url())
        .with_retry_timing(Duration::from_millis(10), Duration::from_millis(10));
    let api = SlackApi::new(cfg).unwrap();
    api.connect().await.unwrap();
    let client: Arc<dyn SlackClient> = Arc::new(SlackManagerClient::new(
        Arc::new(api),
        PostSettings::default(),
    ));
    (emu, client)
}

fn builder(slack: Arc<dyn SlackClient>) -> HarnessBuilder {
    let mut b = HarnessBuilder::new();
    b.slack_client = Some(slack);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_one_post_in_the_emulator() {
    let (emu, slack) = emulator(&["C1"]).await;
    let h = builder(slack).start();
    h.send(&alert("C1", "disk", "disk is full")).await;
    let issue = eventually(10, "issue with post", || async {
        h.issue("C1", "disk")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    let msgs = emu.messages("C1");
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].ts, issue.slack_post_id);
    assert!(msgs[0].blocks.to_string().contains("disk is full"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_1000_alerts_gives_one_post_with_the_latest_text() {
    let (emu, slack) = emulator(&["C1"]).await;
    let h = builder(slack).start();
    let base = Utc::now();
    let n = 1000;
    for k in 0..n {
        let mut a = alert("C1", "storm", &format!("reading {k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        h.send(&a).await;
    }
    let last = format!("reading {}", n - 1);
    eventually(60, "latest text in the one post", || async {
        let msgs = emu.messages("C1");
        (msgs.len() == 1 && msgs[0].blocks.to_string().contains(&last)).then_some(())
    })
    .await;
    let posts = emu.calls_to("chat.postMessage").len();
    let updates = emu.calls_to("chat.update").len();
    assert_eq!(posts, 1);
    assert!(
        posts + updates <= 50,
        "{posts} posts + {updates} updates for {n} alerts"
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_slack_still_ends_in_the_right_state() {
    let (emu, slack) = emulator(&["C1"]).await;
    emu.fail_times(
        "chat.postMessage",
        Failure::RateLimited {
            retry_after_secs: Some(1),
        },
        3,
    );
    let h = builder(slack).start();
    let base = Utc::now();
    for k in 0..5 {
        let mut a = alert("C1", "rl", &format!("t{k}"));
        a.timestamp = base + chrono::Duration::milliseconds(k);
        h.send(&a).await;
    }
    let issue = eventually(30, "posted with the latest text", || async {
        h.issue("C1", "rl").await.filter(|i| {
            i.alert_count == 5 && !i.slack_post_id.is_empty() && !i.slack_post_needs_update
        })
    })
    .await;
    let msgs = emu.messages("C1");
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].ts, issue.slack_post_id);
    assert!(msgs[0].blocks.to_string().contains("t4"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordering_puts_the_most_severe_issue_at_the_bottom() {
    let (emu, slack) = emulator(&["C1"]).await;
    let h = builder(slack).start();
    let mut panic = alert("C1", "p", "panic first");
    panic.severity = Severity::Panic;
    h.send(&panic).await;
    eventually(10, "panic posted", || async {
        h.issue("C1", "p")
            .await
            .filter(|i| !i.slack_post_id.is_empty())
    })
    .await;
    let mut warn = alert("C1", "w", "warning later");
    warn.severity = Severity::Warning;
    h.send(&warn).await;
    // The periodic pass re-posts the panic issue below the newer, less severe one.
    eventually(15, "panic at the bottom", || async {
        let msgs = emu.messages("C1");
        let last = msgs.last()?;
        (msgs.len() == 2 && last.blocks.to_string().contains("panic first")).then_some(())
    })
    .await;
    h.stop().await.unwrap();
}
