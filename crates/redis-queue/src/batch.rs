//! Natural batching of script calls: while one call of a shard is in flight, further requests
//! queue up and go out together in the next call. At low load every request goes out at once
//! (one round trip); under load one script call serves many requests, which cuts both the
//! commands per message and Redis's per-call overhead.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use redis::aio::ConnectionLike;
use redis::{ScriptInvocation, Value};
use sm_core::QueueError;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Most requests in one script call.
pub(crate) const MAX_BATCH: usize = 64;
/// Script calls of one batcher in flight at once (pipelined on the connection, executed in order).
const IN_FLIGHT: usize = 2;

type Job<Req, Resp> = (Req, oneshot::Sender<Result<Resp, QueueError>>);
type BatchResult<Resp> = Result<Vec<Result<Resp, QueueError>>, QueueError>;
type BatchFuture<Resp> = Pin<Box<dyn Future<Output = BatchResult<Resp>> + Send>>;
type RunBatch<Req, Resp> = dyn Fn(Vec<Req>) -> BatchFuture<Resp> + Send + Sync;

/// Sends requests to a background task that runs them in batches.
pub(crate) struct Batcher<Req, Resp> {
    tx: mpsc::UnboundedSender<Job<Req, Resp>>,
    run: Arc<RunBatch<Req, Resp>>,
    slots: Arc<Semaphore>,
    /// Requests handed to the task and not yet taken into a batch.
    queued: Arc<AtomicUsize>,
    context: &'static str,
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
        Fut: Future<Output = BatchResult<Resp>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job<Req, Resp>>();
        let run: Arc<RunBatch<Req, Resp>> =
            Arc::new(move |reqs: Vec<Req>| -> BatchFuture<Resp> { Box::pin(run(reqs)) });
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let queued = Arc::new(AtomicUsize::new(0));
        let task_run = Arc::clone(&run);
        let task_slots = Arc::clone(&slots);
        let task_queued = Arc::clone(&queued);
        tokio::spawn(async move {
            loop {
                // Wait for a free slot first, so requests pile up while calls are in flight.
                let Ok(slot) = Arc::clone(&task_slots).acquire_owned().await else {
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
                task_queued.fetch_sub(jobs.len(), Ordering::AcqRel);
                let (reqs, replies): (Vec<Req>, Vec<_>) = jobs.into_iter().unzip();
                let n = reqs.len();
                // Concurrent calls never carry dependent requests: a caller waits for its
                // reply before it sends its next request, so per-caller order holds.
                let call = task_run(reqs);
                tokio::spawn(async move {
                    let _slot = slot;
                    reply_all(context, n, replies, call.await);
                });
            }
        });
        Batcher {
            tx,
            run,
            slots,
            queued,
            context,
        }
    }

    /// Runs one request, batched with others when calls are in flight.
    pub(crate) async fn call(&self, req: Req) -> Result<Resp, QueueError> {
        // Nothing waiting and a free slot: run it at once in the caller's task, which saves the
        // two task hand-overs of the batching path (a message's ack is on its channel's critical
        // path: the next message goes out only after it).
        if self.queued.load(Ordering::Acquire) == 0 {
            if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
                let result = (self.run)(vec![req]).await;
                drop(slot);
                return split(self.context, 1, result)
                    .pop()
                    .unwrap_or_else(|| Err(QueueError::backend(self.context, "no result")));
            }
        }
        let (reply, rx) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.tx.send((req, reply)).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(QueueError::Closed("batching task ended".into()));
        }
        rx.await
            .unwrap_or_else(|_| Err(QueueError::Closed("batching task ended".into())))
    }
}

/// Runs one batched script call whose reply holds one element per request, in order.
pub(crate) async fn invoke_batch<C: ConnectionLike>(
    inv: ScriptInvocation<'static>,
    mut conn: C,
    context: String,
) -> BatchResult<Value> {
    let v: Value = inv
        .invoke_async(&mut conn)
        .await
        .map_err(|e| QueueError::backend(context, e))?;
    Ok(match v {
        Value::Array(items) => items.into_iter().map(Ok).collect(),
        _ => Vec::new(),
    })
}

/// One result per request: the batch's own, or its error for each request.
fn split<Resp>(
    context: &'static str,
    n: usize,
    result: BatchResult<Resp>,
) -> Vec<Result<Resp, QueueError>> {
    match result {
        Ok(results) if results.len() == n => results,
        Ok(results) => {
            let text = format!("{} results for {n} requests", results.len());
            (0..n)
                .map(|_| Err(QueueError::backend(context, text.clone())))
                .collect()
        }
        Err(e) => {
            let text = e.to_string();
            (0..n)
                .map(|_| Err(QueueError::backend(context, text.clone())))
                .collect()
        }
    }
}

fn reply_all<Resp>(
    context: &'static str,
    n: usize,
    replies: Vec<oneshot::Sender<Result<Resp, QueueError>>>,
    result: BatchResult<Resp>,
) {
    for (reply, r) in replies.into_iter().zip(split(context, n, result)) {
        let _ = reply.send(r);
    }
}
