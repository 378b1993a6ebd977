//! The Web API: `POST /api/<method>` with form or JSON bodies, answered in Slack's shapes.
//!
//! Each call is recorded (method, parameters, encoding, where the token came from, the answer) before
//! anything else happens, then authenticated (`not_authed` / `invalid_auth`), then checked against
//! the scripted failures of its method, then served from the workspace state.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::blocks::validate_blocks;
use crate::state::{
    CallRecord, Ephemeral, Failure, Message, Shared, State as Ws, param_json, param_str,
};

type ApiResult = Result<Value, String>;

/// Parses a request's parameters: query string, then the form or JSON body.
pub(crate) fn parse_params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> (Map<String, Value>, String) {
    let mut params = Map::new();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("application/json") {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
            params.extend(obj);
        }
    } else {
        for (k, v) in url::form_urlencoded::parse(body) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    (params, content_type)
}

/// `POST|GET /api/<method>`.
pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let (params, content_type) = parse_params(&headers, query.as_deref(), &body);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let (token, token_source) = match (param_str(&params, "token"), bearer) {
        (Some(t), _) if !t.is_empty() => (Some(t), "form"),
        (_, Some(t)) => (Some(t), "bearer"),
        _ => (None, "none"),
    };
    let expected = if method == "apps.connections.open" {
        &shared.config.app_token
    } else {
        &shared.config.bot_token
    };
    let auth_error = match &token {
        None => Some("not_authed"),
        Some(t) if t != expected => Some("invalid_auth"),
        Some(_) => None,
    };

    let (status, outcome, retry_after) = shared.update(|st| {
        let failure = st.failures.get_mut(&method).and_then(|q| q.pop_front());
        let (status, outcome, retry_after): (u16, ApiResult, Option<u64>) =
            match (auth_error, failure) {
                (Some(code), _) => (200, Err(code.to_owned()), None),
                (None, Some(Failure::Error { code })) => (200, Err(code), None),
                (None, Some(Failure::RateLimited { retry_after_secs })) => {
                    (429, Err("ratelimited".to_owned()), retry_after_secs)
                }
                (None, Some(Failure::Http { status })) => {
                    (status, Err(format!("http_{status}")), None)
                }
                (None, None) => (200, dispatch(&shared, st, &method, &params), None),
            };
        let seq = st.calls.len() as u64 + 1;
        st.calls.push(CallRecord {
            seq,
            method: method.clone(),
            params: params.clone(),
            content_type: content_type.clone(),
            token_source: token_source.to_owned(),
            status,
            error: outcome.as_ref().err().cloned(),
        });
        (status, outcome, retry_after)
    });

    match (status, outcome) {
        (200, Ok(mut v)) => {
            if let Value::Object(obj) = &mut v {
                obj.insert("ok".into(), Value::Bool(true));
            }
            json_response(StatusCode::OK, &v)
        }
        (200, Err(code)) => {
            tracing::debug!(method, code, "emulator: answering error");
            json_response(StatusCode::OK, &json!({"ok": false, "error": code}))
        }
        (429, _) => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"ok": false, "error": "ratelimited"}),
            );
            if let Some(secs) = retry_after {
                if let Ok(h) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, h);
                }
            }
            r
        }
        (status, _) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, format!("emulated HTTP {status}")).into_response()
        }
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

fn need(params: &Map<String, Value>, key: &str, code: &str) -> Result<String, String> {
    match param_str(params, key) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(code.to_owned()),
    }
}

fn flag(params: &Map<String, Value>, key: &str) -> bool {
    matches!(param_str(params, key).as_deref(), Some("true" | "1"))
}

fn limit(params: &Map<String, Value>, default: usize) -> usize {
    param_str(params, "limit")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
        .min(1000)
}

/// One page of `items` from the cursor (`"offset:<n>"`), with the next cursor (empty at the end).
fn page<T: Clone>(
    items: &[T],
    params: &Map<String, Value>,
    default: usize,
) -> Result<(Vec<T>, String), String> {
    let start = match param_str(params, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .strip_prefix("offset:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or("invalid_cursor")?,
    };
    let n = limit(params, default);
    let end = (start + n).min(items.len());
    let slice = items.get(start.min(items.len())..end).unwrap_or_default();
    let next = if end < items.len() {
        format!("offset:{end}")
    } else {
        String::new()
    };
    Ok((slice.to_vec(), next))
}

fn channel_json(c: &crate::state::Channel) -> Value {
    json!({
        "id": c.id, "name": c.name, "is_channel": !c.is_private, "is_group": false, "is_im": false,
        "is_private": c.is_private, "is_archived": c.is_archived, "is_member": true,
        "created": 1_700_000_000, "name_normalized": c.name,
    })
}

fn blocks_param(params: &Map<String, Value>) -> Result<Option<Value>, String> {
    match param_json(params, "blocks") {
        None => Ok(None),
        Some(Err(())) => Err("invalid_blocks_format".into()),
        Some(Ok(v)) => {
            if let Err(reason) = validate_blocks(&v) {
                tracing::info!(reason, "emulator: invalid_blocks");
                return Err("invalid_blocks".into());
            }
            Ok(Some(v))
        }
    }
}

fn dispatch(shared: &Shared, st: &mut Ws, method: &str, p: &Map<String, Value>) -> ApiResult {
    let cfg = &shared.config;
    let bot = cfg.bot_user_id.as_str();
    match method {
        "api.test" => Ok(json!({"args": p})),
        "auth.test" => Ok(json!({
            "url": format!("{}/", shared.origin), "team": cfg.team, "user": cfg.bot_name,
            "team_id": cfg.team_id, "user_id": cfg.bot_user_id, "bot_id": cfg.bot_id,
        })),
        "apps.connections.open" => {
            let ticket = st.next_id();
            let ws = shared.origin.replacen("http://", "ws://", 1);
            Ok(json!({"url": format!("{ws}/socket?ticket={ticket}")}))
        }
        "chat.postMessage" => {
            let channel = need(p, "channel", "channel_not_found")?;
            let blocks = blocks_param(p)?;
            let attachments = param_json(p, "attachments").and_then(Result::ok);
            let text = param_str(p, "text").unwrap_or_default();
            if blocks.is_none() && attachments.is_none() && text.is_empty() {
                return Err("no_text".into());
            }
            let ch = st.channel_mut(&channel, cfg.strict, bot)?;
            if ch.is_archived {
                return Err("is_archived".into());
            }
            if !ch.members.iter().any(|m| m == bot) {
                return Err("not_in_channel".into());
            }
            let thread_ts = param_str(p, "thread_ts").filter(|t| !t.is_empty());
            if let Some(t) = &thread_ts {
                if st.thread(&channel, t).is_none() {
                    return Err("thread_not_found".into());
                }
            }
            let ts = st.next_ts();
            let msg = Message {
                kind: "message".into(),
                ts: ts.clone(),
                user: bot.to_owned(),
                text,
                blocks: blocks.unwrap_or_else(|| json!([])),
                attachments,
                username: param_str(p, "username").unwrap_or_default(),
                icon_emoji: param_str(p, "icon_emoji").unwrap_or_default(),
                icon_url: param_str(p, "icon_url").unwrap_or_default(),
                thread_ts,
                reply_count: 0,
                reactions: Vec::new(),
                edit_count: 0,
            };
            let msg_json = serde_json::to_value(&msg).unwrap_or(Value::Null);
            st.store_message(&channel, msg);
            Ok(json!({"channel": channel, "ts": ts, "message": msg_json}))
        }
        "chat.update" => {
            let channel = need(p, "channel", "channel_not_found")?;
            let ts = need(p, "ts", "message_not_found")?;
            let blocks = blocks_param(p)?;
            let text = param_str(p, "text").unwrap_or_default();
            let ch = st.channel_mut(&channel, cfg.strict, bot)?;
            if ch.is_archived {
                return Err("is_archived".into());
            }
            let msg = st
                .messages
                .get_mut(&channel)
                .and_then(|v| v.iter_mut().find(|m| m.ts == ts))
                .ok_or("message_not_found")?;
            if msg.user != bot {
                return Err("cant_update_message".into());
            }
            if let Some(b) = blocks {
                msg.blocks = b;
            }
            if p.contains_key("text") {
                msg.text = text.clone();
            }
            msg.edit_count += 1;
            Ok(json!({"channel": channel, "ts": ts, "text": text}))
        }
        "chat.delete" => {
            let channel = need(p, "channel", "channel_not_found")?;
            let ts = need(p, "ts", "message_not_found")?;
            st.channel_mut(&channel, cfg.strict, bot)?;
            let list = st.messages.entry(channel.clone()).or_default();
            let idx = list
                .iter()
                .position(|m| m.ts == ts)
                .ok_or("message_not_found")?;
            if list[idx].user != bot {
                return Err("cant_delete_message".into());
            }
            let removed = list.remove(idx);
            if let Some(parent_ts) = removed.thread_ts.filter(|t| *t != ts) {
                if let Some(parent) = list.iter_mut().find(|m| m.ts == parent_ts) {
                    parent.reply_count = parent.reply_count.saturating_sub(1);
                }
            }
            Ok(json!({"channel": channel, "ts": ts}))
        }
        "chat.postEphemeral" => {
            let channel = need(p, "channel", "channel_not_found")?;
            let user = need(p, "user", "user_not_found")?;
            let blocks = blocks_param(p)?;
            let attachments = param_json(p, "attachments").and_then(Result::ok);
            let text = param_str(p, "text").unwrap_or_default();
            if blocks.is_none() && attachments.is_none() && text.is_empty() {
                return Err("no_text".into());
            }
            let ch = st.channel_mut(&channel, cfg.strict, bot)?;
            if ch.is_archived {
                return Err("is_archived".into());
            }
            let message_ts = st.next_ts();
            st.ephemerals.push(Ephemeral {
                channel,
                user,
                message_ts: message_ts.clone(),
                text,
                blocks,
                attachments,
            });
            Ok(json!({"message_ts": message_ts}))
        }
        "conversations.info" => {
            let channel = need(p, "channel", "channel_not_found")?;
            let ch = st.channel_mut(&channel, cfg.strict, bot)?;
            let mut v = channel_json(ch);
            if flag(p, "include_num_members") {
                v["num_members"] = json!(ch.members.len());
            }
            Ok(json!({"channel": v}))
        }
        "conversations.members" => {
            let channel = need(p, "channel", "channel_not_found")?;
            let members = st.channel_mut(&channel, cfg.strict, bot)?.members.clone();
            let (members, next) = page(&members, p, 100)?;
            Ok(json!({"members": members, "response_metadata": {"next_cursor": next}}))
        }
        "conversations.replies" => {
            let channel = need(p, "channel", "channel_not_found")?;
            let ts = need(p, "ts", "thread_not_found")?;
            st.channel_mut(&channel, cfg.strict, bot)?;
            let mut thread = st.thread(&channel, &ts).ok_or("thread_not_found")?;
            if !flag(p, "inclusive") && param_str(p, "oldest").is_some() {
                thread.retain(|m| m.ts != ts);
            }
            let (msgs, next) = page(&thread, p, 1000)?;
            Ok(json!({
                "messages": msgs, "has_more": !next.is_empty(),
                "response_metadata": {"next_cursor": next},
            }))
        }
        "conversations.history" => {
            let channel = need(p, "channel", "channel_not_found")?;
            st.channel_mut(&channel, cfg.strict, bot)?;
            let mut msgs = st.top_level(&channel);
            msgs.reverse();
            let (msgs, next) = page(&msgs, p, 100)?;
            Ok(json!({
                "messages": msgs, "has_more": !next.is_empty(),
                "response_metadata": {"next_cursor": next},
            }))
        }
        "conversations.list" | "users.conversations" => {
            let exclude_archived = flag(p, "exclude_archived");
            let types = param_str(p, "types").unwrap_or_else(|| "public_channel".into());
            let member = (method == "users.conversations")
                .then(|| param_str(p, "user").unwrap_or_else(|| bot.to_owned()));
            let mut chans: Vec<_> = st
                .channels
                .values()
                .filter(|c| !(exclude_archived && c.is_archived))
                .filter(|c| {
                    let t = if c.is_private {
                        "private_channel"
                    } else {
                        "public_channel"
                    };
                    types.split(',').any(|x| x.trim() == t)
                })
                .filter(|c| member.as_ref().is_none_or(|u| c.members.contains(u)))
                .map(channel_json)
                .collect();
            chans.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            let (chans, next) = page(&chans, p, 100)?;
            Ok(json!({"channels": chans, "response_metadata": {"next_cursor": next}}))
        }
        "users.info" => {
            let user = need(p, "user", "user_not_found")?;
            let u = st.users.get(&user).ok_or("user_not_found")?;
            Ok(json!({"user": u}))
        }
        "usergroups.users.list" => {
            let group = need(p, "usergroup", "no_such_subteam")?;
            let users = st.groups.get(&group).ok_or("no_such_subteam")?;
            Ok(json!({"users": users}))
        }
        "views.open" => {
            need(p, "trigger_id", "invalid_arguments")?;
            let view = match param_json(p, "view") {
                Some(Ok(v @ Value::Object(_))) => v,
                _ => return Err("invalid_arguments".into()),
            };
            if let Some(blocks) = view.get("blocks") {
                if validate_blocks(blocks).is_err() {
                    return Err("invalid_arguments".into());
                }
            }
            let id = format!("V{}", st.next_id());
            let mut stored = view.clone();
            stored["id"] = json!(id);
            st.views.push(stored.clone());
            Ok(json!({"view": stored}))
        }
        _ => Err("unknown_method".into()),
    }
}
