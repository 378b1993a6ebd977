//! The `sm-slack-emulator` binary: flags, the TOML file, and strict mode.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn call(base: &str, method: &str, fields: &[(&str, &str)]) -> Option<Value> {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/{method}"))
        .form(fields)
        .send()
        .await
        .ok()?;
    resp.json().await.ok()
}

#[tokio::test]
async fn binary_serves_the_configured_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("slack.toml");
    std::fs::write(
        &cfg,
        "bot_token = \"xoxb-bin\"\n[[channels]]\nid = \"C7\"\nname = \"ops\"\n",
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_sm-slack-emulator"))
        .args(["--addr", &addr, "--strict", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child);
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let auth = loop {
        if let Some(v) = call(&base, "auth.test", &[("token", "xoxb-bin")]).await {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "the emulator binary did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(auth["user_id"], "UBOT");
    let v = call(
        &base,
        "conversations.info",
        &[("token", "xoxb-bin"), ("channel", "C7")],
    )
    .await
    .unwrap();
    assert_eq!(v["channel"]["name"], "ops");
    let v = call(
        &base,
        "conversations.info",
        &[("token", "xoxb-bin"), ("channel", "C8")],
    )
    .await
    .unwrap();
    assert_eq!(v["error"], "channel_not_found", "--strict");
    let v = call(&base, "auth.test", &[("token", "xoxb-emulator")])
        .await
        .unwrap();
    assert_eq!(
        v["error"], "invalid_auth",
        "the file's token replaces the default"
    );
}
