//! The endpoints' error answers: status codes and the exact messages of the REST API spec
//! (`restapi.md` §2–§4, §7), first character upper-cased, in `{"error": "…"}` bodies.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Sm, SmCommand, free_addr};

/// One request and the answer it must get.
struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    body: Option<String>,
    status: StatusCode,
    /// The exact `error` message, or (when `prefix`) its beginning.
    error: String,
    prefix: bool,
}

fn post(what: &'static str, path: &'static str, body: impl Into<String>, error: &str) -> Case {
    Case {
        what,
        method: Method::POST,
        path,
        body: Some(body.into()),
        status: StatusCode::BAD_REQUEST,
        error: error.to_owned(),
        prefix: false,
    }
}

fn post_json(what: &'static str, path: &'static str, body: Value, error: &str) -> Case {
    post(what, path, body.to_string(), error)
}

async fn embedded() -> (Sm, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let sm = SmCommand::new(&["run"])
        .env("SM_EMULATOR_ADDR", free_addr().to_string())
        .env("SM_DATA_DIR", data.path().display().to_string())
        .start()
        .ready()
        .await;
    (sm, data)
}

/// Every alert endpoint answers malformed input with 400 and the spec's message, never queueing
/// anything and never sending rate-limit headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_endpoints_answer_bad_input_with_the_spec_messages() {
    let (sm, _data) = embedded().await;
    let too_many: Vec<Value> = (0..31)
        .map(|i| json!({"slackChannelId": "C0BURST01", "header": format!("alert {i}")}))
        .collect();
    let mut cases = vec![
        post("empty /alert body", "/alert", "", "Missing POST body"),
        post("empty /alerts body", "/alerts", "", "Missing POST body"),
        Case {
            prefix: true,
            ..post(
                "/alert body that is not JSON",
                "/alert",
                "{not json",
                "Failed to parse POST body: failed to json unmarshal input: ",
            )
        },
        Case {
            prefix: true,
            ..post(
                "/alerts body that is not JSON",
                "/alerts/C0VALID01",
                "[{]",
                "Failed to parse POST body: failed to json unmarshal input: ",
            )
        },
        post_json(
            "neither header nor text",
            "/alert",
            json!({"slackChannelId": "C0VALID01", "text": "  "}),
            "Input validation failed: header and text cannot both be empty",
        ),
        post_json(
            "neither header nor text (URL channel)",
            "/alert/C0VALID01",
            json!({"severity": "error"}),
            "Input validation failed: header and text cannot both be empty",
        ),
        post_json(
            "no channel and no route key",
            "/alert",
            json!({"header": "h"}),
            "Alert has no route key, and no fallback mapping exists",
        ),
        post_json(
            "unknown route key",
            "/alert",
            json!({"routeKey": "payments-db", "type": "db", "header": "h"}),
            "No mapping exists for route key payments-db and alert type db",
        ),
        post_json(
            "unknown route key in an array",
            "/alerts",
            json!([{"slackChannelId": "C0VALID01", "header": "ok"}, {"routeKey": "nowhere", "header": "h"}]),
            "No mapping exists for route key nowhere and alert type ",
        ),
        post_json(
            "bad channel ID",
            "/alert",
            json!({"slackChannelId": "c#bad!", "header": "h"}),
            "Input validation failed: slackChannelId 'C#BAD!' is not valid, expected 1-80 characters of a-z, A-Z, 0-9, '-' and '_'",
        ),
        post_json(
            "bad severity",
            "/alert",
            json!({"slackChannelId": "C0VALID01", "header": "h", "severity": "Urgent"}),
            "Input validation failed: severity 'urgent' is not valid, expected one of panic, error, warning, resolved, info",
        ),
        post_json(
            "bad icon",
            "/alert",
            json!({"slackChannelId": "C0VALID01", "header": "h", "iconEmoji": "fire"}),
            "Input validation failed: iconEmoji 'fire' is not valid, expected the format :emoji_name:",
        ),
        post_json(
            "webhooks without an encryption key",
            "/alert",
            json!({
                "slackChannelId": "C0VALID01",
                "header": "h",
                "webhooks": [{"id": "restart", "url": "https://example.com/hook", "buttonText": "Restart"}],
            }),
            "Alert contains webhooks, but no encryption key is configured",
        ),
        post_json(
            "more alerts for one channel than the burst",
            "/alerts",
            Value::Array(too_many),
            "Too many alerts for channel C0BURST01: 31 alerts (limit: 30)",
        ),
        post(
            "empty /prometheus-alert body",
            "/prometheus-alert",
            "",
            "Missing POST body",
        ),
        Case {
            prefix: true,
            ..post(
                "/prometheus-alert body that is not JSON",
                "/prometheus-alert",
                "{\"alerts\": [",
                "Failed to decode POST body: ",
            )
        },
        post_json(
            "empty Alertmanager alert list",
            "/prometheus-alert/C0VALID01",
            json!({"version": "4", "status": "firing", "alerts": []}),
            "Prometheus alert list is empty",
        ),
        post_json(
            "Alertmanager alert without channel or route",
            "/prometheus-alert",
            json!({"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}),
            "Alert has no route key, and no fallback mapping exists",
        ),
    ];
    cases.push(Case {
        what: "unknown path",
        method: Method::GET,
        path: "/nope",
        body: None,
        status: StatusCode::NOT_FOUND,
        error: String::new(),
        prefix: false,
    });

    let http = reqwest::Client::new();
    for case in &cases {
        let mut request = http.request(case.method.clone(), format!("{}{}", sm.url(), case.path));
        if let Some(body) = &case.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        for header in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
            assert!(
                response.headers().get(header).is_none(),
                "{}: no {header} on errors",
                case.what
            );
        }
        let text = response.text().await.unwrap();
        assert_eq!(status, case.status, "{}: {text}", case.what);
        if case.status == StatusCode::NOT_FOUND {
            assert_eq!(text, "404 page not found", "{}", case.what);
            continue;
        }
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: error body is not JSON ({e}): {text}", case.what));
        let error = body["error"].as_str().unwrap_or_default();
        if case.prefix {
            assert!(
                error.starts_with(&case.error) && error.len() > case.error.len(),
                "{}: {error:?} should start with {:?}",
                case.what,
                case.error
            );
        } else {
            assert_eq!(error, case.error, "{}", case.what);
        }
    }
}

/// The informational endpoints answer as the spec says with no routing rules configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_endpoints() {
    let (sm, _data) = embedded().await;
    let http = reqwest::Client::new();

    let ping = http.get(format!("{}/ping", sm.url())).send().await.unwrap();
    assert_eq!(ping.status(), 200);
    assert!(
        ping.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(ping.text().await.unwrap(), "pong");
    let teapot = http
        .get(format!("{}/ping?status=418", sm.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(teapot.status(), 418);
    let ignored = http
        .get(format!("{}/ping?status=99", sm.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ignored.status(), 200, "invalid ?status values are ignored");

    let mappings = http
        .get(format!("{}/mappings", sm.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(mappings.status(), 200);
    assert_eq!(mappings.text().await.unwrap().trim(), "null");

    let channels: Value = http
        .get(format!("{}/channels", sm.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(channels.is_array(), "{channels}");

    let openapi: Value = http
        .get(format!("{}/openapi.json", sm.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/alert"].is_object(), "{openapi:#}");

    let test_alert = http
        .post(format!("{}/alerts-test/C0VALID01", sm.url()))
        .json(&json!({"header": "dry run"}))
        .send()
        .await
        .unwrap();
    assert_eq!(test_alert.status(), 204);
}
