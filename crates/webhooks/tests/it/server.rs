//! A loopback HTTP server that records what it receives and answers as a test scripts it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use sm_core::WebhookCallback;
use sm_webhooks::RetryPolicy;

/// One received request.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) at: Instant,
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

type Responder = Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    responder: Responder,
}

/// A running server; stopped on drop.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` answering request number `i` (from 0) with `respond(i)`.
    pub(crate) async fn start<F, Fut>(respond: F) -> Self
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        Self::start_on("127.0.0.1:0", respond).await
    }

    /// As [`start`](Self::start), on the given address.
    pub(crate) async fn start_on<F, Fut>(bind: &str, respond: F) -> Self
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let shared = Shared {
            requests: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
            responder: Arc::new(move |i| Box::pin(respond(i))),
        };
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    /// `http://<addr><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Requests received so far (including those still being answered).
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub(crate) fn count(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(State(s): State<Shared>, req: Request) -> Response {
    let at = Instant::now();
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(Arc::clone(&s.in_flight));
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let index = {
        let mut requests = s.requests.lock().unwrap();
        requests.push(Recorded {
            at,
            path: parts.uri.path().to_owned(),
            headers: parts.headers,
            body,
        });
        requests.len() - 1
    };
    (s.responder)(index).await
}

/// A response with `status`, optional headers and a body.
pub(crate) fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Body>) -> Response {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).unwrap()
}

pub(crate) fn ok() -> Response {
    respond(200, &[], "ok")
}

/// A callback as the manager builds it.
pub(crate) fn callback() -> WebhookCallback {
    let mut payload = serde_json::Map::new();
    payload.insert("action".into(), "restart".into());
    WebhookCallback {
        id: "restart-service".into(),
        user_id: "U123".into(),
        user_real_name: "Ada Lovelace".into(),
        channel_id: "C0123456789".into(),
        message_id: "1700000000.000100".into(),
        timestamp: Utc::now(),
        input: Some([("reason".to_owned(), "stuck".to_owned())].into()),
        checkbox_input: None,
        payload,
    }
}

/// Short retry delays so tests spend their time on behaviour, not on waiting.
pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_min_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(50))
}

/// Polls `cond` every 10 ms for up to 10 s.
pub(crate) async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
