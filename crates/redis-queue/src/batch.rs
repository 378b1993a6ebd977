//! Natural batching of script calls: while one call of a shard is in flight, further requests
//! queue up and go out together in the next call. At low load every request goes out at once
//! (one round trip); under load one script call serves many requests, which cuts both the
//! commands per message and Redis's per-call overhead.

use std::future::Future;
use std::sync::Arc;

use sm_core::QueueError;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Most requests in one script call.
pub(crate) const MAX_BATCH: usize = 64;
/// Script calls of one batcher in flight at once (pipelined on the connection, executed in order).
const IN_FLIGHT: usize = 2;

type Job<Req, Resp> = (Req, oneshot::Sender<Result<Resp, QueueError>>);

/// Sends requests to a background task that runs them in batches.
pub(crate) struct Batcher<Req, Resp> {
    tx: mpsc::UnboundedSender<Job<Req, Resp>>,
}

impl<Req, Resp> Batcher<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    /// Starts the batching task on the current Tokio runtime. `run` executes one batch and
    /// returns one result per request, in order; an `Err` fails the whole batch.
    pub(crate) fn start<F, Fut>(context: &'static str, run: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Result<Resp, QueueError>>, QueueError>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job<Req, Resp>>();
        let run = Arc::new(run);
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        tokio::spawn(async move {
            loop {
                // Wait for a free slot first, so requests pile up while calls are in flight.
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                let Some(first) = rx.recv().await else {
                    return;
                };
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                let (reqs, replies): (Vec<Req>, Vec<_>) = jobs.into_iter().unzip();
                let n = reqs.len();
                // Concurrent calls never carry dependent requests: a caller waits for its
                // reply before it sends its next request, so per-caller order holds.
                let call = run(reqs);
                tokio::spawn(async move {
                    let _slot = slot;
                    reply_all(context, n, replies, call.await);
                });
            }
        });
        Batcher { tx }
    }

    /// Queues one request and waits for its result.
    pub(crate) async fn call(&self, req: Req) -> Result<Resp, QueueError> {
        let (reply, rx) = oneshot::channel();
        if self.tx.send((req, reply)).is_err() {
            return Err(QueueError::Closed("batching task ended".into()));
        }
        rx.await
            .unwrap_or_else(|_| Err(QueueError::Closed("batching task ended".into())))
    }
}

fn reply_all<Resp>(
    context: &'static str,
    n: usize,
    replies: Vec<oneshot::Sender<Result<Resp, QueueError>>>,
    result: Result<Vec<Result<Resp, QueueError>>, QueueError>,
) {
    match result {
        Ok(results) if results.len() == n => {
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(r);
            }
        }
        Ok(results) => {
            for reply in replies {
                let _ = reply.send(Err(QueueError::backend(
                    context,
                    format!("{} results for {n} requests", results.len()),
                )));
            }
        }
        Err(e) => {
            let text = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(QueueError::backend(context, text.clone())));
            }
        }
    }
}
