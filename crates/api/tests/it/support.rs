//! A running API on loopback with an in-memory alert queue, and helpers to read what it queued.

use std::sync::Arc;
use std::time::Duration;

use sm_api::{ApiConfig, ApiServer, ApiSettings, ChannelInfoProvider};
use sm_core::{Alert, FifoQueue, InMemoryFifoQueue};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Upper bound for waiting on queued items; reached only when a test fails.
const WAIT: Duration = Duration::from_secs(10);

pub(crate) struct TestApi {
    pub(crate) base: String,
    pub(crate) queue: Arc<InMemoryFifoQueue>,
    pub(crate) server: ApiServer,
    pub(crate) client: reqwest::Client,
    cancel: CancellationToken,
    task: Option<JoinHandle<Result<(), sm_api::ApiError>>>,
}

impl TestApi {
    pub(crate) async fn start(config: ApiConfig, settings: ApiSettings) -> TestApi {
        Self::start_with(config, settings, None).await
    }

    pub(crate) async fn start_with(
        config: ApiConfig,
        settings: ApiSettings,
        channels: Option<Arc<dyn ChannelInfoProvider>>,
    ) -> TestApi {
        let queue = Arc::new(InMemoryFifoQueue::new("alerts"));
        Self::start_on(queue.clone(), queue, config, settings, channels).await
    }

    pub(crate) async fn start_on(
        queue: Arc<InMemoryFifoQueue>,
        producer: Arc<dyn sm_core::FifoQueueProducer>,
        config: ApiConfig,
        settings: ApiSettings,
        channels: Option<Arc<dyn ChannelInfoProvider>>,
    ) -> TestApi {
        let mut server = ApiServer::new(producer, config, settings).unwrap();
        if let Some(c) = channels {
            server = server.with_channel_info(c);
        }
        Self::launch(queue, server).await
    }

    /// Serves `server` on a free loopback port; `queue` is the alert queue it writes to.
    pub(crate) async fn launch(queue: Arc<InMemoryFifoQueue>, server: ApiServer) -> TestApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let cancel = CancellationToken::new();
        let task = tokio::spawn({
            let server = server.clone();
            let cancel = cancel.clone();
            async move { server.serve(listener, cancel).await }
        });
        TestApi {
            base,
            queue,
            server,
            client: reqwest::Client::new(),
            cancel,
            task: Some(task),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn post(&self, path: &str, body: impl Into<String>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.into())
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Receives exactly `n` queued alerts (acking each) and checks that nothing else is queued.
    pub(crate) async fn take_queued(&self, n: usize) -> Vec<Alert> {
        let cancel = CancellationToken::new();
        let (tx, mut rx) = mpsc::channel(16);
        let receiver = tokio::spawn({
            let queue = self.queue.clone();
            let cancel = cancel.clone();
            async move { queue.receive(cancel, tx).await }
        });
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let item = tokio::time::timeout(WAIT, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("only {i} of {n} alerts were queued"))
                .unwrap();
            let alert: Alert = serde_json::from_str(&item.body).unwrap();
            assert_eq!(item.slack_channel_id, alert.slack_channel_id);
            out.push(alert);
            item.ack().await.unwrap();
        }
        cancel.cancel();
        receiver.await.unwrap().unwrap();
        assert!(self.queue.is_empty(), "more than {n} alerts were queued");
        out
    }

    pub(crate) async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Status and parsed `{"error": ...}` message of an error response.
pub(crate) async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap();
    let msg = body["error"].as_str().unwrap().to_owned();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "error body has extra fields: {body}"
    );
    (status, msg)
}

pub(crate) fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}
