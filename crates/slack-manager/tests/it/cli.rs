//! The command line: `--print-config` and `send-alert`.

use std::process::{Command, Output};

use crate::support::{
    BIN, EMULATOR_BOT_TOKEN, STATE_TIMEOUT, SmCommand, free_addr, header_of, history, wait_for,
};

/// Runs the binary to completion with a clean environment plus `envs`.
fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `--print-config` shows the effective configuration (file, then environment) as TOML with the
/// tokens, the encryption key and URL passwords masked.
#[test]
fn print_config_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sm.toml");
    std::fs::write(
        &file,
        "http_addr = \"127.0.0.1:9100\"\nalert_queue_name = \"file-alerts\"\nlog_format = \"json\"\n",
    )
    .unwrap();
    let secrets = [
        ("SLACK_BOT_TOKEN", "xoxb-bot-secret-123456"),
        ("SLACK_APP_TOKEN", "xapp-app-secret-654321"),
        ("SM_ENCRYPTION_KEY", "abcdefghijklmnopqrstuvwxyz012345"),
        (
            "DATABASE_URL",
            "postgres://sm:db-password@db.example:5432/sm",
        ),
        (
            "REDIS_URL",
            "redis://default:redis-password@redis.example:6379",
        ),
        ("SM_ALERT_QUEUE_NAME", "env-alerts"),
        ("SM_REDIS_KEY_PREFIX", "team-a"),
        ("SM_DATABASE_SCHEMA", "team_a"),
    ];
    let output = run(
        &["--config", file.to_str().unwrap(), "--print-config"],
        &secrets,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = stdout(&output);
    for secret in [
        "bot-secret",
        "app-secret",
        "abcdefghijklmnopqrstuvwxyz012345",
        "db-password",
        "redis-password",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
    let config: toml::Table = toml::from_str(&shown).unwrap();
    assert_eq!(config["slack_bot_token"].as_str(), Some("xoxb-****"));
    assert_eq!(config["slack_app_token"].as_str(), Some("xapp-****"));
    assert_eq!(
        config["database_url"].as_str(),
        Some("postgres://sm:****@db.example:5432/sm")
    );
    assert_eq!(
        config["redis_url"].as_str(),
        Some("redis://default:****@redis.example:6379")
    );
    assert_eq!(
        config["http_addr"].as_str(),
        Some("127.0.0.1:9100"),
        "from the file"
    );
    assert_eq!(config["log_format"].as_str(), Some("json"), "from the file");
    assert_eq!(
        config["alert_queue_name"].as_str(),
        Some("env-alerts"),
        "the environment overrides the file"
    );
    assert_eq!(config["redis_key_prefix"].as_str(), Some("team-a"));
    assert_eq!(config["database_schema"].as_str(), Some("team_a"));

    let defaults = run(&["--print-config"], &[]);
    assert!(defaults.status.success(), "{}", stderr(&defaults));
    let config: toml::Table = toml::from_str(&stdout(&defaults)).unwrap();
    assert_eq!(config["http_addr"].as_str(), Some("127.0.0.1:8080"));
    assert_eq!(config["emulator_addr"].as_str(), Some("127.0.0.1:8090"));
    assert_eq!(config["redis_key_prefix"].as_str(), Some("slack-manager"));
    assert!(
        !config.contains_key("slack_bot_token"),
        "unset secrets are absent"
    );
}

/// A bad configuration is refused before anything starts, naming the problem.
#[test]
fn invalid_configuration_is_refused() {
    let output = run(&["--print-config"], &[("SM_ENCRYPTION_KEY", "too-short")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("encryption_key must be a 32 character alphanumeric string"),
        "{}",
        stderr(&output)
    );
    let output = run(&["--config", "/nonexistent/sm.toml", "run"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
    let output = run(&["manager"], &[("SM_HTTP_ADDR", &free_addr().to_string())]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("set REDIS_URL"),
        "{}",
        stderr(&output)
    );
}

/// `send-alert` posts a test alert to a running API, which the manager turns into a post; against
/// an address where nothing listens it fails with exit code 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_alert_reaches_a_running_api() {
    let data = tempfile::tempdir().unwrap();
    let emulator_addr = free_addr();
    let sm = SmCommand::new(&[])
        .env("SM_EMULATOR_ADDR", emulator_addr.to_string())
        .env("SM_DATA_DIR", data.path().display().to_string())
        .start()
        .ready()
        .await;
    let url = sm.url();
    let output = tokio::task::spawn_blocking(move || {
        run(
            &[
                "send-alert",
                "--api-url",
                &url,
                "--channel",
                "C0SEND001",
                "--header",
                ":status: Sent from the command line",
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("alert accepted (202 Accepted) for channel C0SEND001"),
        "{}",
        stdout(&output)
    );
    let api = format!("http://{emulator_addr}/api");
    let posts = wait_for("the send-alert post", STATE_TIMEOUT, || async {
        let messages = history(&api, "C0SEND001").await?;
        if messages.is_empty() {
            Err("no post yet".to_owned())
        } else {
            Ok(messages)
        }
    })
    .await;
    assert_eq!(posts.len(), 1);
    assert_eq!(header_of(&posts[0]), ":warning: Sent from the command line");

    let nowhere = format!("http://{}", free_addr());
    let output =
        tokio::task::spawn_blocking(move || run(&["send-alert", "--api-url", &nowhere], &[]))
            .await
            .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot reach the API"),
        "{}",
        stderr(&output)
    );
}

/// `slack-manager emulator` runs the Slack emulator alone: its Web API answers with the emulator
/// token, its address is printed, and SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_subcommand_serves_the_web_api_until_sigterm() {
    let emulator_addr = free_addr();
    let mut emulator = SmCommand::new(&["emulator"])
        .env("SM_EMULATOR_ADDR", emulator_addr.to_string())
        .start();
    let http = reqwest::Client::new();
    let auth = wait_for("the emulator's auth.test", STATE_TIMEOUT, || async {
        let answer: serde_json::Value = http
            .post(format!("http://{emulator_addr}/api/auth.test"))
            .bearer_auth(EMULATOR_BOT_TOKEN)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        Ok(answer)
    })
    .await;
    assert_eq!(auth["ok"], true, "{auth}");
    let wrong_token: serde_json::Value = http
        .post(format!("http://{emulator_addr}/api/auth.test"))
        .bearer_auth("xoxb-wrong")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong_token["ok"], false, "{wrong_token}");
    assert!(
        emulator
            .output()
            .contains(&format!("http://{emulator_addr}")),
        "{}",
        emulator.output()
    );
    emulator.sigterm();
    let status = emulator.wait_exit().await;
    assert!(status.success(), "{status}\n{}", emulator.output());
}
