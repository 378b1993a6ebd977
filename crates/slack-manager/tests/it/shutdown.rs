//! SIGTERM under load: with the queues on Redis, alerts accepted while the manager stops (or is
//! down) are all posted once it is back, each exactly once.

use std::collections::BTreeMap;

use sm_slack_emulator::{Emulator, EmulatorConfig};
use sm_test_support::redis_url;

use crate::support::{RedisKeys, STATE_TIMEOUT, SmCommand, alert, header_of, wait_for};

const CHANNELS: [&str; 3] = ["C0DRAIN01", "C0DRAIN02", "C0DRAIN03"];
const ALERTS: usize = 60;

fn header(i: usize) -> String {
    format!("drain alert {i:03}")
}

/// How many posts each header has, over the test's channels.
fn post_counts(slack: &Emulator) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for channel in CHANNELS {
        for message in slack.messages(channel) {
            let value = serde_json::to_value(&message).unwrap();
            *counts.entry(header_of(&value)).or_insert(0) += 1;
        }
    }
    counts
}

/// An API process and a manager process on Redis (SQLite file store). Half of the alerts are sent,
/// the manager gets SIGTERM as soon as it has posted a few, the other half is sent while it shuts
/// down and is gone; it exits cleanly, is started again, and every alert ends up as exactly one
/// post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_nothing() {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let keys = RedisKeys::new("slack-manager-shutdown");
    let data = tempfile::tempdir().unwrap();
    let command = |args: &[&str]| {
        SmCommand::new(args)
            .slack(&slack.base_url())
            .env("REDIS_URL", redis_url())
            .env("SM_REDIS_KEY_PREFIX", &keys.prefix)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/store.db?mode=rwc", data.path().display()),
            )
    };
    let api = command(&["api"]).start().ready().await;
    let mut manager = command(&["manager"]).start().ready().await;
    let http = reqwest::Client::new();
    let send = |i: usize| {
        let request = http.post(format!("{}/alert", api.url())).json(&alert(
            CHANNELS[i % CHANNELS.len()],
            &header(i),
            &format!("drain-{i:03}"),
        ));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                202,
                "alert {i}: {}",
                response.text().await.unwrap()
            );
        }
    };

    for i in 0..ALERTS / 2 {
        send(i).await;
    }
    wait_for("the manager's first posts", STATE_TIMEOUT, || async {
        let posted = post_counts(&slack).values().sum::<usize>();
        if posted >= 3 {
            Ok(())
        } else {
            Err(format!("{posted} posts"))
        }
    })
    .await;
    manager.sigterm();
    for i in ALERTS / 2..ALERTS {
        send(i).await;
    }
    let status = manager.wait_exit().await;
    let posted_before_restart = post_counts(&slack).values().sum::<usize>();
    assert!(
        posted_before_restart < ALERTS,
        "alerts sent after SIGTERM wait for the restart ({posted_before_restart} posted)"
    );
    assert!(
        status.success(),
        "graceful shutdown exits 0: {status}\n{}",
        manager.output()
    );
    assert!(manager.output().contains("SIGTERM"), "{}", manager.output());

    manager.restart();
    let manager = manager.ready().await;
    let expected: BTreeMap<String, usize> = (0..ALERTS).map(|i| (header(i), 1)).collect();
    wait_for("every alert posted", STATE_TIMEOUT, || async {
        let counts = post_counts(&slack);
        if counts.len() == ALERTS || counts.values().any(|n| *n > 1) {
            Ok(())
        } else {
            Err(format!("{} of {ALERTS} posted", counts.len()))
        }
    })
    .await;
    assert_eq!(post_counts(&slack), expected, "{}", manager.output());
    assert!(
        keys.keys()
            .iter()
            .any(|k| k.starts_with(&format!("{}:queue:", keys.prefix))),
        "the queues live under the configured prefix: {:?}",
        keys.keys()
    );
    drop(api);
}
