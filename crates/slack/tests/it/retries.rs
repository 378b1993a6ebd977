//! The retry policy of `spec/slack.md` §2.3 against scripted emulator failures.

use std::time::Duration;

use sm_core::SlackError;
use sm_slack::{NON_RETRYABLE_ERRORS, SlackApi};
use sm_slack_emulator::Failure;

use crate::support::{emulator, fast_config};

#[tokio::test]
async fn rate_limited_then_success() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    slack.fail_next("auth.test", Failure::rate_limited(1));
    let info = api.auth_test().await.unwrap();
    assert_eq!(info.user_id, "UBOT");
    let calls = slack.calls_to("auth.test");
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
}

#[tokio::test]
async fn rate_limit_without_retry_after_is_transient() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    slack.fail_times(
        "auth.test",
        Failure::RateLimited {
            retry_after_secs: None,
        },
        2,
    );
    api.auth_test().await.unwrap();
    assert_eq!(slack.calls_to("auth.test").len(), 3);
}

#[tokio::test]
async fn rate_limit_attempts_are_limited() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack).with_max_attempts(2, 5, 5)).unwrap();
    slack.fail_times("auth.test", Failure::rate_limited(0), 5);
    let err = api.auth_test().await.unwrap_err();
    assert!(
        matches!(err, SlackError::RateLimited { ref method, .. } if method == "auth.test"),
        "{err}"
    );
    assert_eq!(slack.calls_to("auth.test").len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_until_give_up() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    slack.fail_times("users.info", Failure::http(500), 20);
    let err = api.get_user_info("U1").await.unwrap_err();
    assert!(matches!(err, SlackError::Http { status: 500, .. }), "{err}");
    assert_eq!(
        slack.calls_to("users.info").len(),
        5,
        "MaxAttemptsForTransientError"
    );
}

#[tokio::test]
async fn transient_slack_codes_are_retried() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    slack.fail_next("users.info", Failure::error("internal_error"));
    slack.fail_next("users.info", Failure::http(503));
    let u = api.get_user_info("U1").await.unwrap();
    assert_eq!(u.id, "U1");
    assert_eq!(slack.calls_to("users.info").len(), 3);
}

#[tokio::test]
async fn other_errors_are_fatal_class_with_their_own_limit() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack).with_max_attempts(10, 5, 3)).unwrap();
    slack.fail_times("users.info", Failure::error("team_added_to_org"), 10);
    let err = api.get_user_info("U1").await.unwrap_err();
    assert_eq!(err.code(), Some("team_added_to_org"));
    assert_eq!(slack.calls_to("users.info").len(), 3);
}

#[tokio::test]
async fn the_wait_budget_ends_retries_early() {
    let slack = emulator().await;
    let cfg = fast_config(&slack)
        .with_max_attempts(100, 100, 100)
        .with_max_wait_times(
            Duration::from_secs(1),
            Duration::from_millis(12),
            Duration::from_secs(1),
        );
    let api = SlackApi::new(cfg).unwrap();
    slack.fail_times("users.info", Failure::http(500), 100);
    api.get_user_info("U1").await.unwrap_err();
    // Waits are 5 ms, 10 ms, …: a 12 ms budget allows at most three attempts, however fast the
    // machine (without the budget there would be 100). How many fit below three depends on how
    // long each attempt takes, so only the bound is asserted.
    let n = slack.calls_to("users.info").len();
    assert!((1..=3).contains(&n), "{n} attempts");
}

#[tokio::test]
async fn non_retryable_codes_are_returned_at_once() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    for code in NON_RETRYABLE_ERRORS {
        slack.fail_times("chat.delete", Failure::error(code), 5);
        let err = api.delete_message("C1", "1.000001").await.unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.to_string(), format!("slack chat.delete failed: {code}"));
        slack.clear_failures();
    }
    assert_eq!(
        slack.calls_to("chat.delete").len(),
        NON_RETRYABLE_ERRORS.len()
    );
}

#[tokio::test]
async fn views_open_is_never_retried() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    slack.fail_times("views.open", Failure::http(500), 3);
    let view =
        serde_json::json!({"type":"modal","title":{"type":"plain_text","text":"x"},"blocks":[]});
    let err = api.open_modal("T1", &view).await.unwrap_err();
    assert!(matches!(err, SlackError::Http { status: 500, .. }));
    assert_eq!(slack.calls_to("views.open").len(), 1);
}

#[tokio::test]
async fn expected_errors_are_not_retried() {
    let slack = emulator().await;
    let api = SlackApi::new(fast_config(&slack)).unwrap();
    assert!(
        api.list_user_group_members("SNOPE")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(slack.calls_to("usergroups.users.list").len(), 1);
}
