//! Test hooks shared by the Rust API ([`crate::Emulator`]) and the HTTP control API: acting as a
//! user (reactions, button clicks, messages), scripting failures, and Socket Mode envelopes.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::error::EmulatorError;
use crate::state::{Failure, Message, Reaction, Shared, SocketOut};

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Queues `failure` for the next `times` calls of `method`.
pub(crate) fn fail(shared: &Shared, method: &str, failure: Failure, times: usize) {
    shared.update(|st| {
        let q = st.failures.entry(method.to_owned()).or_default();
        for _ in 0..times {
            q.push_back(failure.clone());
        }
    });
}

/// Wraps an inner event in an `events_api` envelope and delivers it; returns the envelope ID.
pub(crate) fn send_event(shared: &Shared, event: Value) -> String {
    shared.update(|st| {
        let n = st.next_id();
        let envelope_id = format!("E{n:08}");
        let frame = json!({
            "type": "events_api", "envelope_id": envelope_id,
            "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": "",
            "payload": {
                "token": "emulator", "team_id": shared.config.team_id,
                "api_app_id": shared.config.app_id, "type": "event_callback",
                "event_id": format!("Ev{n:08}"), "event_time": now_secs(), "event": event,
            },
        });
        st.deliver_envelope(frame.to_string());
        envelope_id
    })
}

/// Wraps an interaction payload in an `interactive` envelope and delivers it; returns the envelope ID.
pub(crate) fn send_interactive(shared: &Shared, payload: Value) -> String {
    shared.update(|st| {
        let n = st.next_id();
        let envelope_id = format!("E{n:08}");
        let frame = json!({
            "type": "interactive", "envelope_id": envelope_id,
            "accepts_response_payload": false, "payload": payload,
        });
        st.deliver_envelope(frame.to_string());
        envelope_id
    })
}

/// Adds (`added`) or removes a reaction as `user`, and sends the matching event.
pub(crate) fn reaction(
    shared: &Shared,
    channel: &str,
    ts: &str,
    user: &str,
    name: &str,
    added: bool,
) -> Result<String, EmulatorError> {
    let name = name.trim_matches(':').to_owned();
    let item_user = shared.update(|st| {
        let msg = st
            .messages
            .get_mut(channel)
            .and_then(|v| v.iter_mut().find(|m| m.ts == ts))
            .ok_or_else(|| EmulatorError::MessageNotFound {
                channel: channel.to_owned(),
                ts: ts.to_owned(),
            })?;
        if added {
            match msg.reactions.iter_mut().find(|r| r.name == name) {
                Some(r) if !r.users.iter().any(|u| u == user) => r.users.push(user.to_owned()),
                Some(_) => {}
                None => msg.reactions.push(Reaction {
                    name: name.clone(),
                    users: vec![user.to_owned()],
                }),
            }
        } else if let Some(r) = msg.reactions.iter_mut().find(|r| r.name == name) {
            r.users.retain(|u| u != user);
        }
        msg.reactions.retain(|r| !r.users.is_empty());
        Ok::<_, EmulatorError>(msg.user.clone())
    })?;
    let kind = if added {
        "reaction_added"
    } else {
        "reaction_removed"
    };
    let event = json!({
        "type": kind, "user": user, "reaction": name, "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": format!("{}.000100", now_secs()),
    });
    Ok(send_event(shared, event))
}

/// Clicks the button `action_id` of a message as `user`: sends a `block_actions` interaction.
pub(crate) fn click_button(
    shared: &Shared,
    channel: &str,
    ts: &str,
    user: &str,
    action_id: &str,
) -> Result<String, EmulatorError> {
    let (msg, block_id, element, response_n, trigger_n) = {
        let st = shared.read();
        let msg: Message = st
            .messages
            .get(channel)
            .and_then(|v| v.iter().find(|m| m.ts == ts))
            .cloned()
            .ok_or_else(|| EmulatorError::MessageNotFound {
                channel: channel.to_owned(),
                ts: ts.to_owned(),
            })?;
        let found =
            msg.blocks
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("actions"))
                .find_map(|b| {
                    let el =
                        b.get("elements")?.as_array()?.iter().find(|e| {
                            e.get("action_id").and_then(Value::as_str) == Some(action_id)
                        })?;
                    let block_id = b.get("block_id").and_then(Value::as_str).unwrap_or("auto");
                    Some((block_id.to_owned(), el.clone()))
                });
        let Some((block_id, element)) = found else {
            return Err(EmulatorError::ButtonNotFound {
                channel: channel.to_owned(),
                ts: ts.to_owned(),
                action_id: action_id.to_owned(),
            });
        };
        drop(st);
        let (r, t) = shared.update(|st| (st.next_id(), st.next_id()));
        (msg, block_id, element, r, t)
    };
    let (user_name, channel_name) = {
        let st = shared.read();
        (
            st.users
                .get(user)
                .and_then(|u| u.get("name"))
                .and_then(Value::as_str)
                .unwrap_or(user)
                .to_owned(),
            st.channels
                .get(channel)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        )
    };
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": shared.config.team_id},
        "api_app_id": shared.config.app_id, "token": "emulator",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": format!("{trigger_n}.emulator.trigger"),
        "team": {"id": shared.config.team_id, "domain": "emulator"},
        "channel": {"id": channel, "name": channel_name},
        "message": msg,
        "response_url": format!("{}/_emulator/response/{response_n}", shared.origin),
        "actions": [{
            "type": element.get("type").cloned().unwrap_or(json!("button")),
            "action_id": action_id, "block_id": block_id,
            "value": element.get("value").cloned().unwrap_or(json!("")),
            "text": element.get("text").cloned().unwrap_or(Value::Null),
            "action_ts": format!("{}.000200", now_secs()),
        }],
    });
    Ok(send_interactive(shared, payload))
}

/// Posts a message as a user (optionally as a thread reply); returns its `ts`.
pub(crate) fn post_as_user(
    shared: &Shared,
    channel: &str,
    user: &str,
    text: &str,
    thread_ts: Option<&str>,
) -> Result<String, EmulatorError> {
    let bot = shared.config.bot_user_id.clone();
    let strict = shared.config.strict;
    shared.update(|st| {
        st.channel_mut(channel, strict, &bot)
            .map_err(|_| EmulatorError::ChannelNotFound(channel.to_owned()))?;
        if let Some(t) = thread_ts {
            if st.thread(channel, t).is_none() {
                return Err(EmulatorError::MessageNotFound {
                    channel: channel.to_owned(),
                    ts: t.to_owned(),
                });
            }
        }
        let ts = st.next_ts();
        st.store_message(
            channel,
            Message {
                kind: "message".into(),
                ts: ts.clone(),
                user: user.to_owned(),
                text: text.to_owned(),
                blocks: json!([]),
                attachments: None,
                username: String::new(),
                icon_emoji: String::new(),
                icon_url: String::new(),
                thread_ts: thread_ts.map(str::to_owned),
                reply_count: 0,
                reactions: Vec::new(),
                edit_count: 0,
            },
        );
        Ok(ts)
    })
}

/// Adds (`joined`) or removes a channel member and sends `member_joined_channel` / `member_left_channel`.
pub(crate) fn membership(
    shared: &Shared,
    channel: &str,
    user: &str,
    joined: bool,
) -> Result<String, EmulatorError> {
    shared.update(|st| {
        let c = st
            .channels
            .get_mut(channel)
            .ok_or_else(|| EmulatorError::ChannelNotFound(channel.to_owned()))?;
        if joined {
            if !c.members.iter().any(|m| m == user) {
                c.members.push(user.to_owned());
            }
        } else {
            c.members.retain(|m| m != user);
        }
        Ok::<_, EmulatorError>(())
    })?;
    let kind = if joined {
        "member_joined_channel"
    } else {
        "member_left_channel"
    };
    let event = json!({
        "type": kind, "user": user, "channel": channel, "channel_type": "C",
        "team": shared.config.team_id, "event_ts": format!("{}.000300", now_secs()),
    });
    Ok(send_event(shared, event))
}

/// Sends `disconnect` to every Socket Mode connection.
pub(crate) fn disconnect_all(shared: &Shared, reason: &str) -> usize {
    shared.update(|st| {
        let n = st.sockets.len();
        for c in st.sockets.drain(..) {
            let _ = c.tx.send(SocketOut::Disconnect(reason.to_owned()));
        }
        n
    })
}
