//! Socket Mode: the WebSocket that `apps.connections.open` hands out.
//!
//! On connect the server sends `hello`, then any envelopes that were queued while no client was
//! connected (Slack redelivers too), then envelopes as test hooks create them. Client frames with an
//! `envelope_id` are acks and are recorded with their optional `payload`. A disconnect request sends
//! `{"type":"disconnect","reason":…}` and closes the socket; the client is expected to reconnect
//! through `apps.connections.open`.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::state::{Shared, SocketConn, SocketOut};

/// `GET /socket` (WebSocket upgrade).
pub(crate) async fn socket(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| run(shared, socket))
}

async fn run(shared: Arc<Shared>, mut socket: WebSocket) {
    let hello = json!({
        "type": "hello", "num_connections": 1,
        "connection_info": {"app_id": shared.config.app_id},
        "debug_info": {"host": "emulator", "approximate_connection_time": 3600},
    });
    if socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = shared.update(|st| {
        let id = st.next_id();
        while let Some(frame) = st.pending_envelopes.pop_front() {
            // The receiver is alive (it is ours, below), so queued frames go out in order.
            let _ = tx.send(SocketOut::Frame(frame));
        }
        st.sockets.push(SocketConn { id, tx });
        st.socket_connects += 1;
        id
    });
    tracing::info!(connection = id, "emulator: socket mode client connected");
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(SocketOut::Frame(f)) => {
                    if socket.send(WsMessage::Text(f.into())).await.is_err() {
                        break;
                    }
                }
                Some(SocketOut::Disconnect(reason)) => {
                    let frame = json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}});
                    let _ = socket.send(WsMessage::Text(frame.to_string().into())).await;
                    let _ = socket.send(WsMessage::Close(None)).await;
                    break;
                }
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(t))) => on_client_frame(&shared, t.as_str()),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    shared.update(|st| st.sockets.retain(|c| c.id != id));
    tracing::info!(connection = id, "emulator: socket mode client disconnected");
}

fn on_client_frame(shared: &Shared, text: &str) {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        tracing::warn!(frame = text, "emulator: socket mode frame is not JSON");
        return;
    };
    let Some(id) = v.get("envelope_id").and_then(Value::as_str) else {
        tracing::warn!(
            frame = text,
            "emulator: socket mode frame without envelope_id"
        );
        return;
    };
    let payload = v.get("payload").cloned().unwrap_or(Value::Null);
    let id = id.to_owned();
    shared.update(|st| {
        st.acks.insert(id, payload);
    });
}
