//! `POST /prometheus-alert`: Alertmanager webhooks mapped to alerts (`restapi.md` §7), then posts.

use serde_json::{Value, json};

use crate::support::{STATE_TIMEOUT, SmCommand, free_addr, header_of, history, wait_for};

fn am_alert(status: &str, labels: Value, annotations: Value) -> Value {
    json!({
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": "2026-01-02T03:04:05.678Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": "0123456789abcdef",
    })
}

fn webhook(alerts: Vec<Value>) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"DiskFull\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "slack-manager",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    })
}

/// Waits until `channel` has a post whose header is `header`, then returns all its posts.
async fn posts_once(api: &str, channel: &str, header: &str) -> Vec<Value> {
    wait_for(
        &format!("a post {header:?} in {channel}"),
        STATE_TIMEOUT,
        || async {
            let messages = history(api, channel).await?;
            if messages.iter().any(|m| header_of(m) == header) {
                Ok(messages)
            } else {
                Err(format!("{messages:?}"))
            }
        },
    )
    .await
}

/// Channels come from a label, an annotation or the URL segment; severity from `severity`
/// (`critical` → error, absent → error); header from `summary`/`title` with `:status:` prepended;
/// text from `description`/`text`; alerts with the same identifying labels share one correlation
/// ID and so one post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_payload_becomes_the_right_posts() {
    let data = tempfile::tempdir().unwrap();
    let emulator_addr = free_addr();
    let sm = SmCommand::new(&[])
        .env("SM_EMULATOR_ADDR", emulator_addr.to_string())
        .env("SM_DATA_DIR", data.path().display().to_string())
        .start()
        .ready()
        .await;
    let http = reqwest::Client::new();
    let api = format!("http://{emulator_addr}/api");

    let grouped = webhook(vec![
        am_alert(
            "firing",
            json!({"alertname": "DiskFull", "namespace": "prod", "instance": "db-1", "severity": "warning", "channel": "C0PROM001"}),
            json!({"summary": "Disk full on db-1", "description": "92% used"}),
        ),
        am_alert(
            "firing",
            json!({"alertname": "CpuHot", "namespace": "prod", "severity": "critical"}),
            json!({"title": "CPU hot on web-2", "text": "load 17", "slack_channel_id": "C0PROM002"}),
        ),
    ]);
    let response = http
        .post(format!("{}/prometheus-alert", sm.url()))
        .json(&grouped)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());

    let disk = posts_once(&api, "C0PROM001", ":warning: Disk full on db-1").await;
    assert_eq!(disk.len(), 1, "{disk:#?}");
    assert!(disk[0].to_string().contains("92% used"), "{:#}", disk[0]);

    // Same namespace and alertname as the first: the same issue (instance only counts in the
    // `monitoring` namespace), so the post is updated, not joined by a second one.
    let update = webhook(vec![am_alert(
        "firing",
        json!({"alertname": "DiskFull", "namespace": "prod", "instance": "db-2", "severity": "error", "channel": "C0PROM001"}),
        json!({"summary": "Disk full on db-2", "description": "97% used"}),
    )]);
    let response = http
        .post(format!("{}/prometheus-alert", sm.url()))
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());

    let by_url = webhook(vec![am_alert(
        "firing",
        json!({"alertname": "QueueSlow", "namespace": "monitoring", "instance": "mq-1"}),
        json!({"summary": ":status: Queue slow", "body": "lag 30 s"}),
    )]);
    let response = http
        .post(format!("{}/prometheus-alert/C0PROM003", sm.url()))
        .json(&by_url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());

    let disk = posts_once(&api, "C0PROM001", ":x: Disk full on db-2").await;
    assert_eq!(disk.len(), 1, "one issue, one post: {disk:#?}");
    assert!(disk[0].to_string().contains("97% used"), "{:#}", disk[0]);

    let cpu = posts_once(&api, "C0PROM002", ":x: CPU hot on web-2").await;
    assert_eq!(cpu.len(), 1, "{cpu:#?}");
    assert!(cpu[0].to_string().contains("load 17"), "{:#}", cpu[0]);

    let queue = posts_once(&api, "C0PROM003", ":x: Queue slow").await;
    assert_eq!(queue.len(), 1, "{queue:#?}");
    assert!(queue[0].to_string().contains("lag 30 s"), "{:#}", queue[0]);
}

/// A resolved Alertmanager alert resolves the issue its firing alert opened: the one post
/// changes to the resolved emoji.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_alertmanager_alert_resolves_the_post() {
    let data = tempfile::tempdir().unwrap();
    let emulator_addr = free_addr();
    let sm = SmCommand::new(&[])
        .env("SM_EMULATOR_ADDR", emulator_addr.to_string())
        .env("SM_DATA_DIR", data.path().display().to_string())
        .start()
        .ready()
        .await;
    let http = reqwest::Client::new();
    let api = format!("http://{emulator_addr}/api");
    let labels = json!({"alertname": "ApiDown", "namespace": "prod", "severity": "warning", "channel": "C0PROM004"});
    let annotations = json!({"summary": "API down"});

    for status in ["firing", "resolved"] {
        let response = http
            .post(format!("{}/prometheus-alert", sm.url()))
            .json(&webhook(vec![am_alert(
                status,
                labels.clone(),
                annotations.clone(),
            )]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
        let expected = if status == "firing" {
            ":warning: API down"
        } else {
            ":white_check_mark: API down"
        };
        let posts = posts_once(&api, "C0PROM004", expected).await;
        assert_eq!(posts.len(), 1, "{posts:#?}");
    }
}
