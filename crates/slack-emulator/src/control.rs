//! The HTTP control API under `/_emulator/`, for tests in other languages and for people.
//!
//! See the crate documentation for the endpoints.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::EmulatorError;
use crate::hooks;
use crate::state::{Failure, Shared};

fn hook_error(e: EmulatorError) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response()
}

pub(crate) async fn calls(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(s.read().calls))
}

pub(crate) async fn ephemerals(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(s.read().ephemerals))
}

pub(crate) async fn views(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(s.read().views))
}

pub(crate) async fn responses(State(s): State<Arc<Shared>>) -> Json<Value> {
    let st = s.read();
    let list: Vec<Value> = st
        .responses
        .iter()
        .map(|(n, b)| json!({"id": n, "body": b}))
        .collect();
    Json(json!(list))
}

pub(crate) async fn acks(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(s.read().acks))
}

pub(crate) async fn channel_messages(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let st = s.read();
    if !st.channels.contains_key(&id) {
        return hook_error(EmulatorError::ChannelNotFound(id));
    }
    Json(json!(st.top_level(&id))).into_response()
}

/// The whole workspace as the web page shows it.
pub(crate) fn feed_json(s: &Shared) -> Value {
    let version = s.version();
    let st = s.read();
    let mut channels: Vec<Value> = st
        .channels
        .values()
        .map(|c| {
            let messages: Vec<Value> = st
                .top_level(&c.id)
                .into_iter()
                .map(|m| {
                    let replies: Vec<Value> = st
                        .thread(&c.id, &m.ts)
                        .unwrap_or_default()
                        .into_iter()
                        .skip(1)
                        .map(|r| json!(r))
                        .collect();
                    let mut v = json!(m);
                    v["replies"] = json!(replies);
                    v
                })
                .collect();
            json!({"id": c.id, "name": c.name, "is_archived": c.is_archived, "messages": messages})
        })
        .collect();
    channels.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({"version": version, "channels": channels})
}

#[derive(Deserialize)]
pub(crate) struct FeedQuery {
    since: Option<u64>,
}

pub(crate) async fn feed(State(s): State<Arc<Shared>>, Query(q): Query<FeedQuery>) -> Json<Value> {
    if let Some(since) = q.since {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = s.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if s.version() > since {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
    }
    Json(feed_json(&s))
}

#[derive(Deserialize)]
pub(crate) struct FailRequest {
    method: String,
    failure: Failure,
    #[serde(default)]
    times: Option<usize>,
}

pub(crate) async fn add_failure(
    State(s): State<Arc<Shared>>,
    Json(r): Json<FailRequest>,
) -> Json<Value> {
    hooks::fail(&s, &r.method, r.failure, r.times.unwrap_or(1));
    Json(json!({"ok": true}))
}

pub(crate) async fn clear_failures(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.update(|st| st.failures.clear());
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
pub(crate) struct ReactionRequest {
    channel: String,
    ts: String,
    user: String,
    reaction: String,
    #[serde(default)]
    removed: bool,
}

pub(crate) async fn reaction(
    State(s): State<Arc<Shared>>,
    Json(r): Json<ReactionRequest>,
) -> Response {
    match hooks::reaction(&s, &r.channel, &r.ts, &r.user, &r.reaction, !r.removed) {
        Ok(id) => Json(json!({"envelope_id": id})).into_response(),
        Err(e) => hook_error(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct ClickRequest {
    channel: String,
    ts: String,
    user: String,
    action_id: String,
}

pub(crate) async fn click(State(s): State<Arc<Shared>>, Json(r): Json<ClickRequest>) -> Response {
    match hooks::click_button(&s, &r.channel, &r.ts, &r.user, &r.action_id) {
        Ok(id) => Json(json!({"envelope_id": id})).into_response(),
        Err(e) => hook_error(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct PostRequest {
    channel: String,
    user: String,
    text: String,
    #[serde(default)]
    thread_ts: Option<String>,
}

pub(crate) async fn post_message(
    State(s): State<Arc<Shared>>,
    Json(r): Json<PostRequest>,
) -> Response {
    match hooks::post_as_user(&s, &r.channel, &r.user, &r.text, r.thread_ts.as_deref()) {
        Ok(ts) => Json(json!({"ts": ts})).into_response(),
        Err(e) => hook_error(e),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DisconnectRequest {
    #[serde(default)]
    reason: Option<String>,
}

pub(crate) async fn disconnect(State(s): State<Arc<Shared>>, body: Bytes) -> Json<Value> {
    let r: DisconnectRequest = serde_json::from_slice(&body).unwrap_or_default();
    let reason = r.reason.unwrap_or_else(|| "warning".into());
    let n = hooks::disconnect_all(&s, &reason);
    Json(json!({"disconnected": n}))
}

pub(crate) async fn response_sink(
    State(s): State<Arc<Shared>>,
    Path(n): Path<u64>,
    body: Bytes,
) -> Response {
    let v = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    s.update(|st| st.responses.push((n, v)));
    (StatusCode::OK, Json(json!({"ok": true}))).into_response()
}
