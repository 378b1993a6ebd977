//! The rate-limit gate shared by two client instances through one Redis.

use std::sync::Arc;
use std::time::Duration;

use sm_slack::{RateLimitGate, RedisGate, SlackApi};
use sm_slack_emulator::Failure;
use sm_test_support::{redis_connection_manager, unique_prefix};

use crate::support::{emulator, fast_config};

#[tokio::test]
async fn a_429_on_one_instance_holds_the_method_on_another() {
    let slack = emulator().await;
    let prefix = unique_prefix("slack-gate");
    let gate_a =
        Arc::new(RedisGate::new(redis_connection_manager().await).with_key_prefix(&prefix));
    let gate_b =
        Arc::new(RedisGate::new(redis_connection_manager().await).with_key_prefix(&prefix));
    let other = RedisGate::new(redis_connection_manager().await)
        .with_key_prefix(unique_prefix("slack-gate-other"));
    let a = Arc::new(
        SlackApi::new(fast_config(&slack))
            .unwrap()
            .with_gate(gate_a),
    );
    let b = Arc::new(
        SlackApi::new(fast_config(&slack))
            .unwrap()
            .with_gate(gate_b.clone()),
    );

    slack.fail_next("users.info", Failure::rate_limited(2));
    let task_a = tokio::spawn({
        let a = a.clone();
        async move { a.get_user_info("U1").await }
    });
    // Wait until A has been rate limited and recorded the hold in Redis.
    let held = slack
        .wait_until(Duration::from_secs(10), || {
            slack.calls_to("users.info").first().map(|c| c.status)
        })
        .await;
    assert_eq!(held, Some(429));
    let mut remaining = Duration::ZERO;
    for _ in 0..200 {
        remaining = gate_b.remaining("users.info").await;
        if !remaining.is_zero() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        remaining > Duration::ZERO && remaining <= Duration::from_secs(2),
        "{remaining:?}"
    );
    assert_eq!(
        gate_b.remaining("chat.postMessage").await,
        Duration::ZERO,
        "other methods are open"
    );
    assert_eq!(
        other.remaining("users.info").await,
        Duration::ZERO,
        "other prefixes are open"
    );

    // B's call waits for the hold: while the key lives, the emulator sees no call from B.
    let task_b = tokio::spawn({
        let b = b.clone();
        async move { b.get_user_info("U2").await }
    });
    // Once the emulator has seen B's call, the hold must already be over (B waited for it).
    loop {
        let b_called = slack
            .calls_to("users.info")
            .iter()
            .any(|c| c.param("user").as_deref() == Some("U2"));
        let rem = gate_b.remaining("users.info").await;
        if b_called {
            assert!(
                rem.is_zero(),
                "B called users.info while the method was held ({rem:?} left)"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(task_b.await.unwrap().unwrap().id, "U2");
    assert_eq!(task_a.await.unwrap().unwrap().id, "U1");
    let statuses: Vec<u16> = slack
        .calls_to("users.info")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![429, 200, 200]);
}
