//! Wake-ups for waiting obtainers over Redis Pub/Sub.
//!
//! The release script publishes on the lock's channel (`<lock key>:released`). A [`Notifier`] keeps
//! one dedicated Pub/Sub connection per locker and subscribes to a lock's channel only while some
//! `obtain` of this process waits for that lock, so a process receives only the releases it cares
//! about.
//!
//! A wake-up is only a hint: the woken obtainer simply tries `SET NX` again. Nothing here is needed
//! for correctness — when the Pub/Sub connection is down, a message is lost, or the holder is a Go
//! instance that does not publish, waiters fall back to their backoff ticks.
//!
//! Design:
//! - One background task owns the connection. Subscribe and unsubscribe requests reach it in
//!   order through a channel, decided under the state mutex, so the server's subscription set
//!   always converges to the set of channels with waiters.
//! - Each watched channel has a [`Notify`]; a message wakes *one* waiter of this process
//!   (`notify_one`, which stores a permit when nobody is parked yet), so a release costs one retry
//!   per waiting process instead of one per waiting task.
//! - After a reconnect the task re-subscribes to every watched channel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long a waiter waits for its subscription to be confirmed before it goes on without one.
const SUBSCRIBE_WAIT: Duration = Duration::from_millis(500);
/// Bound on one SUBSCRIBE/UNSUBSCRIBE round trip before the connection is considered broken.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// First and largest delay between reconnect attempts.
const RECONNECT_MIN: Duration = Duration::from_millis(50);
const RECONNECT_MAX: Duration = Duration::from_secs(2);

/// Subscribes to release channels on behalf of waiting obtainers.
pub(crate) struct Notifier {
    shared: Arc<Shared>,
}

struct Shared {
    client: redis::Client,
    state: Mutex<State>,
    ops: mpsc::UnboundedSender<Op>,
    /// The receiving end of `ops`, taken by the pump task when it starts.
    ops_rx: Mutex<Option<mpsc::UnboundedReceiver<Op>>>,
    cancel: CancellationToken,
}

#[derive(Default)]
struct State {
    channels: HashMap<String, Entry>,
    next_id: u64,
}

struct Entry {
    id: u64,
    watchers: usize,
    notify: Arc<Notify>,
    confirmed: watch::Sender<bool>,
}

enum Op {
    Subscribe { channel: String, id: u64 },
    Unsubscribe { channel: String },
}

impl Notifier {
    /// A notifier that opens its Pub/Sub connection from `client` when first needed.
    pub(crate) fn new(client: redis::Client) -> Notifier {
        let (ops, ops_rx) = mpsc::unbounded_channel();
        Notifier {
            shared: Arc::new(Shared {
                client,
                state: Mutex::new(State::default()),
                ops,
                ops_rx: Mutex::new(Some(ops_rx)),
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// Starts listening for releases on `channel`. Returns once the subscription is confirmed, or
    /// after a short wait when it is not (the caller then relies on its backoff ticks).
    pub(crate) async fn watch(&self, channel: &str) -> Watch {
        self.start_pump();
        let (notify, mut confirmed) = {
            let mut state = self.shared.lock_state();
            let state = &mut *state;
            let entry = match state.channels.get_mut(channel) {
                Some(entry) => entry,
                None => {
                    state.next_id += 1;
                    let id = state.next_id;
                    // Sent under the state lock, so the order of requests follows the order of
                    // the watcher-count transitions.
                    let _ = self.shared.ops.send(Op::Subscribe {
                        channel: channel.to_owned(),
                        id,
                    });
                    state
                        .channels
                        .entry(channel.to_owned())
                        .or_insert_with(|| Entry {
                            id,
                            watchers: 0,
                            notify: Arc::new(Notify::new()),
                            confirmed: watch::channel(false).0,
                        })
                }
            };
            entry.watchers += 1;
            (entry.notify.clone(), entry.confirmed.subscribe())
        };
        let watch = Watch {
            shared: self.shared.clone(),
            channel: channel.to_owned(),
            notify,
        };
        if tokio::time::timeout(SUBSCRIBE_WAIT, confirmed.wait_for(|c| *c))
            .await
            .is_err()
        {
            tracing::debug!(channel, "lock release subscription not confirmed in time");
        }
        watch
    }

    fn start_pump(&self) {
        let rx = self
            .shared
            .ops_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(rx) = rx {
            tokio::spawn(pump(self.shared.clone(), rx));
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl Shared {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn confirm(&self, channel: &str, id: u64) {
        let state = self.lock_state();
        if let Some(entry) = state.channels.get(channel) {
            if entry.id == id {
                entry.confirmed.send_replace(true);
            }
        }
    }

    fn wake(&self, channel: &str) {
        let state = self.lock_state();
        if let Some(entry) = state.channels.get(channel) {
            entry.notify.notify_one();
        }
    }
}

/// A registration for release messages of one channel; unsubscribes when the last one is dropped.
pub(crate) struct Watch {
    shared: Arc<Shared>,
    channel: String,
    notify: Arc<Notify>,
}

impl Watch {
    /// Completes when a release was announced (possibly before this call).
    pub(crate) async fn released(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut state = self.shared.lock_state();
        let Some(entry) = state.channels.get_mut(&self.channel) else {
            return;
        };
        entry.watchers = entry.watchers.saturating_sub(1);
        if entry.watchers == 0 {
            state.channels.remove(&self.channel);
            let _ = self.shared.ops.send(Op::Unsubscribe {
                channel: self.channel.clone(),
            });
        }
    }
}

/// Owns the Pub/Sub connection: applies subscription requests, routes messages, reconnects.
async fn pump(shared: Arc<Shared>, mut ops: mpsc::UnboundedReceiver<Op>) {
    let mut delay = RECONNECT_MIN;
    loop {
        let connected = tokio::select! {
            () = shared.cancel.cancelled() => return,
            r = tokio::time::timeout(COMMAND_TIMEOUT, shared.client.get_async_pubsub()) => r,
        };
        let pubsub = match connected {
            Ok(Ok(p)) => p,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot open the lock release subscription connection");
                if !pause(&shared, &mut delay).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                tracing::warn!("opening the lock release subscription connection timed out");
                if !pause(&shared, &mut delay).await {
                    return;
                }
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();

        // Re-subscribe to everything watched while disconnected (or before the first connect).
        let watched: Vec<(String, u64)> = shared
            .lock_state()
            .channels
            .iter()
            .map(|(c, e)| (c.clone(), e.id))
            .collect();
        if !watched.is_empty() {
            let names: Vec<&str> = watched.iter().map(|(c, _)| c.as_str()).collect();
            match tokio::time::timeout(COMMAND_TIMEOUT, sink.subscribe(&names)).await {
                Ok(Ok(())) => {
                    for (channel, id) in &watched {
                        shared.confirm(channel, *id);
                    }
                }
                _ => {
                    tracing::warn!("re-subscribing to lock release channels failed");
                    if !pause(&shared, &mut delay).await {
                        return;
                    }
                    continue;
                }
            }
        }
        delay = RECONNECT_MIN;

        loop {
            tokio::select! {
                () = shared.cancel.cancelled() => return,
                op = ops.recv() => {
                    let ok = match op {
                        None => return,
                        Some(Op::Subscribe { channel, id }) => {
                            let r = tokio::time::timeout(COMMAND_TIMEOUT, sink.subscribe(&channel)).await;
                            let ok = matches!(r, Ok(Ok(())));
                            if ok {
                                shared.confirm(&channel, id);
                            }
                            ok
                        }
                        Some(Op::Unsubscribe { channel }) => {
                            let r = tokio::time::timeout(COMMAND_TIMEOUT, sink.unsubscribe(&channel)).await;
                            matches!(r, Ok(Ok(())))
                        }
                    };
                    if !ok {
                        tracing::warn!("lock release subscription connection failed; reconnecting");
                        break;
                    }
                }
                msg = stream.next() => match msg {
                    Some(msg) => shared.wake(msg.get_channel_name()),
                    None => {
                        tracing::warn!("lock release subscription connection closed; reconnecting");
                        break;
                    }
                },
            }
        }

        for entry in shared.lock_state().channels.values() {
            entry.confirmed.send_replace(false);
        }
        if !pause(&shared, &mut delay).await {
            return;
        }
    }
}

/// Waits before the next reconnect (doubling the delay up to its cap); `false` when cancelled.
async fn pause(shared: &Shared, delay: &mut Duration) -> bool {
    let wait = *delay;
    *delay = (*delay * 2).min(RECONNECT_MAX);
    tokio::select! {
        () = shared.cancel.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}
