//! The live web page: its HTML, its JSON feed, and (when Chromium is installed) the rendered DOM and
//! a screenshot.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use sm_slack_emulator::Emulator;

use crate::support::{form, start};

/// The browser: `SM_CHROMIUM` if set, else `/usr/bin/chromium`.
fn chromium() -> String {
    std::env::var("SM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

async fn post_issue(slack: &Emulator, channel: &str, header: &str) -> String {
    let blocks = json!([
        {"type":"header","text":{"type":"plain_text","text":header,"emoji":true}},
        {"type":"section","text":{"type":"mrkdwn","text":"Replication lag is *high*"}},
        {"type":"section","fields":[{"type":"mrkdwn","text":"*Lag:*\n42 s"}]},
        {"type":"context","elements":[{"type":"mrkdwn","text":"*Prometheus*"}]},
        {"type":"actions","block_id":"issue_actions","elements":[
            {"type":"button","action_id":"webhook_action_0","value":"restart","style":"danger",
             "text":{"type":"plain_text","text":"Restart replica"}}]}
    ])
    .to_string();
    let (_, v) = form(
        slack,
        "chat.postMessage",
        &[
            ("channel", channel),
            ("blocks", &blocks),
            ("username", "Monitor"),
            ("icon_emoji", ":x:"),
        ],
    )
    .await;
    v["ts"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn page_html_and_feed() {
    let slack = start().await;
    let resp = reqwest::get(format!("{}/", slack.url())).await.unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("<title>Slack emulator</title>"));
    assert!(
        html.contains("fetch(\"/_emulator/feed\")"),
        "the page polls the feed"
    );

    let ts = post_issue(&slack, "C1", ":x: db-primary is down").await;
    let feed: Value = reqwest::get(format!("{}/_emulator/feed", slack.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c1 = feed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "C1")
        .unwrap();
    assert_eq!(c1["name"], "alerts");
    assert_eq!(c1["messages"][0]["ts"], ts.as_str());
    assert_eq!(
        c1["messages"][0]["blocks"][0]["text"]["text"],
        ":x: db-primary is down"
    );
    let version = feed["version"].as_u64().unwrap();

    // A long poll returns when something changes.
    let url = format!("{}/_emulator/feed?since={version}", slack.url());
    let poll = tokio::spawn(async move {
        reqwest::get(url)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    post_issue(&slack, "C1", ":warning: disk almost full").await;
    let feed = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .unwrap()
        .unwrap();
    assert!(feed["version"].as_u64().unwrap() > version);
    let c1 = feed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "C1")
        .unwrap();
    assert_eq!(c1["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn page_renders_in_headless_chromium() {
    let browser = chromium();
    if !Path::new(&browser).exists() {
        println!(
            "BROWSER PART SKIPPED: {browser} is not installed; checking the page and its feed over HTTP only"
        );
        // Still check what the browser would load: the page and a feed with the message.
        let slack = start().await;
        post_issue(&slack, "C1", ":x: db-primary is down").await;
        let html = reqwest::get(format!("{}/", slack.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("function renderBlock"));
        let feed: Value = reqwest::get(format!("{}/_emulator/feed?since=0", slack.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(feed["channels"].as_array().unwrap().len(), 3);
        return;
    }
    let slack = start().await;
    post_issue(&slack, "C1", ":x: db-primary is down").await;
    post_issue(&slack, "C1", ":warning: disk almost full").await;
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("page.png");
    let profile = dir.path().join("profile");
    let url = format!("{}/", slack.url());
    let base_args = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--hide-scrollbars".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        "--virtual-time-budget=3000".to_owned(),
    ];
    let dom = tokio::task::spawn_blocking({
        let (args, url, browser) = (base_args.clone(), url.clone(), browser.clone());
        move || {
            Command::new(browser)
                .args(&args)
                .arg("--dump-dom")
                .arg(&url)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert!(html.contains(r#"data-channel="C1""#), "{html}");
    // Rendered messages (the script's own string literals do not carry a numeric ts).
    assert_eq!(
        html.matches(r#"<div class="message" data-ts="1"#).count(),
        2,
        "{html}"
    );
    assert!(
        html.contains(r#"<div class="block-header">❌ db-primary is down</div>"#),
        "header with its emoji code rendered: {html}"
    );
    assert!(html.contains(r#"data-action-id="webhook_action_0""#));
    assert!(html.contains("<b>high</b>"), "mrkdwn bold is rendered");
    let out = tokio::task::spawn_blocking({
        let (args, url, shot) = (base_args.clone(), url.clone(), shot.clone());
        move || {
            Command::new(browser)
                .args(&args)
                .arg("--window-size=1280,900")
                .arg(format!("--screenshot={}", shot.display()))
                .arg(&url)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "chromium screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "screenshot is {} bytes", png.len());
    if let Ok(dest) = std::env::var("SM_EMULATOR_SCREENSHOT") {
        std::fs::copy(&shot, dest).unwrap();
    }
}
