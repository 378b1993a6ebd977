//! The settings file: routing rules apply at start and are hot-reloaded when the file changes.

use serde_json::json;

use crate::support::{STATE_TIMEOUT, SmCommand, free_addr, history, wait_for};

fn rule(prefix: &str, channel: &str) -> String {
    format!(
        "[api]\nroutingRules = [{{ name = \"r\", hasPrefix = [\"{prefix}\"], channel = \"{channel}\" }}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_rules_apply_and_reload_when_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.toml");
    std::fs::write(&file, rule("db-", "C0DATABASE")).unwrap();
    let emulator_addr = free_addr();
    let sm = SmCommand::new(&[])
        .env("SM_EMULATOR_ADDR", emulator_addr.to_string())
        .env("SM_DATA_DIR", dir.path().display().to_string())
        .env("SM_SETTINGS_FILE", file.display().to_string())
        .env("SM_SETTINGS_RELOAD_SECONDS", "1")
        .start()
        .ready()
        .await;
    let http = reqwest::Client::new();
    let send = |route_key: &'static str| {
        let http = http.clone();
        let url = format!("{}/alert", sm.url());
        async move {
            http.post(url)
                .json(&json!({"routeKey": route_key, "header": format!("via {route_key}"), "severity": "error"}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(send("db-primary").await.status(), 202);
    let emulator_api = format!("http://{emulator_addr}/api");
    wait_for("the routed post", STATE_TIMEOUT, || async {
        let messages = history(&emulator_api, "C0DATABASE").await?;
        if messages.len() == 1 {
            Ok(())
        } else {
            Err(format!("{} messages", messages.len()))
        }
    })
    .await;
    // A key no rule matches is refused.
    assert_eq!(send("cache-eu").await.status(), 400);

    // An invalid file is refused and the rules in force stay.
    std::fs::write(&file, "[api]\nroutingRules = [{ name = \"\" }]\n").unwrap();
    wait_for("the refusal of the invalid file", STATE_TIMEOUT, || async {
        if sm.output().contains("settings file refused") {
            Ok(())
        } else {
            Err("not yet".to_owned())
        }
    })
    .await;
    assert_eq!(
        send("db-replica").await.status(),
        202,
        "the old rules stay in force"
    );
    // A valid new file takes over.
    std::fs::write(&file, rule("cache-", "C0CACHE001")).unwrap();
    wait_for("the reloaded rules", STATE_TIMEOUT, || async {
        let mappings: serde_json::Value = http
            .get(format!("{}/mappings", sm.url()))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if mappings.to_string().contains("C0CACHE001") {
            Ok(())
        } else {
            Err(mappings.to_string())
        }
    })
    .await;
    assert_eq!(send("cache-eu").await.status(), 202);
}
