//! Starting the built `slack-manager` binary as a child process, and waiting for state.
//!
//! Every process gets a clean environment (only what the test sets, plus `PATH`), its own free
//! ports and its own log directory; it is killed when its [`Sm`] is dropped. Waiting is bounded
//! polling: a condition is checked until it holds or a deadline passes, never a fixed sleep.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sm_test_support::free_port;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_slack-manager");

/// How long a process may take to become ready (a debug build opening its store on a busy machine).
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the tests wait for an expected state (posts appearing, a process exiting).
pub(crate) const STATE_TIMEOUT: Duration = Duration::from_secs(60);

/// The emulator's bot token (the embedded one and `EmulatorConfig::default()`).
pub(crate) const EMULATOR_BOT_TOKEN: &str = "xoxb-emulator";

/// The emulator's app token.
pub(crate) const EMULATOR_APP_TOKEN: &str = "xapp-emulator";

/// A `127.0.0.1` address on a free port.
pub(crate) fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`; panics with `what`
/// (and the last observed state) when the deadline passes.
pub(crate) async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await {
            Ok(value) => return value,
            Err(state) => state,
        };
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last state: {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `slack-manager` command line with its environment, ready to start (again).
#[derive(Debug, Clone)]
pub(crate) struct SmCommand {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    http_addr: SocketAddr,
}

impl SmCommand {
    /// `slack-manager <args>` with `SM_HTTP_ADDR` on a free port and nothing else configured.
    pub(crate) fn new(args: &[&str]) -> SmCommand {
        let http_addr = free_addr();
        SmCommand {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            envs: vec![("SM_HTTP_ADDR".into(), http_addr.to_string())],
            http_addr,
        }
    }

    /// Adds an environment variable.
    pub(crate) fn env(mut self, key: &str, value: impl Into<String>) -> SmCommand {
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// Points the process at an external Slack (an emulator started by the test).
    pub(crate) fn slack(self, api_url: &str) -> SmCommand {
        self.env("SLACK_BOT_TOKEN", EMULATOR_BOT_TOKEN)
            .env("SLACK_APP_TOKEN", EMULATOR_APP_TOKEN)
            .env("SLACK_API_URL", api_url)
    }

    /// Starts the process; its output goes to files in a fresh directory.
    pub(crate) fn start(&self) -> Sm {
        let logs = tempfile::tempdir().unwrap();
        let child = self.spawn(&run_dir(logs.path(), 1));
        Sm {
            command: self.clone(),
            child: Some(child),
            logs,
            starts: 1,
        }
    }

    fn spawn(&self, logs: &Path) -> Child {
        let stdout = std::fs::File::create(logs.join("stdout.log")).unwrap();
        let stderr = std::fs::File::create(logs.join("stderr.log")).unwrap();
        let mut command = Command::new(BIN);
        command
            .args(&self.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_BACKTRACE", "1")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"))
    }
}

/// A running `slack-manager` process, killed on drop.
pub(crate) struct Sm {
    command: SmCommand,
    child: Option<Child>,
    logs: tempfile::TempDir,
    starts: u32,
}

impl Sm {
    /// Base URL of the process's HTTP server (API and/or `/readyz`, `/metrics`).
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.command.http_addr)
    }

    /// Everything the process (all its runs) wrote to stdout and stderr so far.
    pub(crate) fn output(&self) -> String {
        let mut all = String::new();
        for run in 1..=self.starts {
            let dir = self.logs.path().join(format!("run{run}"));
            for name in ["stdout", "stderr"] {
                let text =
                    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
                all.push_str(&format!("--- run {run} {name} ---\n{text}\n"));
            }
        }
        all
    }

    /// Waits until `/readyz` answers 200; panics (with the process output) when the process exits
    /// or the deadline passes.
    pub(crate) async fn ready(mut self) -> Sm {
        let http = reqwest::Client::new();
        let url = format!("{}/readyz", self.url());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.exit_status() {
                panic!(
                    "slack-manager exited ({status}) before becoming ready:\n{}",
                    self.output()
                );
            }
            if let Ok(response) = http.get(&url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    return self;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "slack-manager was not ready within {READY_TIMEOUT:?}:\n{}",
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The exit status if the process has exited (it is reaped then).
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status)
    }

    /// Sends SIGTERM.
    pub(crate) fn sigterm(&self) {
        let pid = self.child.as_ref().expect("process not running").id();
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits (bounded) for the process to exit and returns its status.
    pub(crate) async fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + STATE_TIMEOUT;
        loop {
            let child = self.child.as_mut().expect("process not running");
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "slack-manager did not exit within {STATE_TIMEOUT:?}:\n{}",
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the same command again (same ports and environment) after the process exited; its
    /// output is added to [`output`](Self::output).
    pub(crate) fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "restart needs the process to have exited"
        );
        self.starts += 1;
        self.child = Some(self.command.spawn(&run_dir(self.logs.path(), self.starts)));
    }
}

/// The log directory of run `run` (1 for the first start).
fn run_dir(logs: &Path, run: u32) -> PathBuf {
    let dir = logs.join(format!("run{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Drop for Sm {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("output of {BIN}:\n{}", self.output());
        }
    }
}

/// The top-level messages of `channel` on an emulator at `base_url` (its Web API root, ending in
/// `/api`), read with `conversations.history` as a Slack client would; `[]` while the channel does
/// not exist yet.
pub(crate) async fn history(base_url: &str, channel: &str) -> Result<Vec<Value>, String> {
    let response: Value = reqwest::Client::new()
        .post(format!(
            "{}/conversations.history",
            base_url.trim_end_matches('/')
        ))
        .bearer_auth(EMULATOR_BOT_TOKEN)
        .form(&[("channel", channel), ("limit", "1000")])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if response["ok"] == Value::Bool(true) {
        Ok(response["messages"].as_array().cloned().unwrap_or_default())
    } else if response["error"] == "channel_not_found" {
        Ok(Vec::new())
    } else {
        Err(format!("conversations.history failed: {response}"))
    }
}

/// The text of a message's header block (`""` when it has none).
pub(crate) fn header_of(message: &Value) -> String {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["type"] == "header")
        .and_then(|b| b["text"]["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A minimal valid alert for `channel`.
pub(crate) fn alert(channel: &str, header: &str, correlation_id: &str) -> Value {
    serde_json::json!({
        "slackChannelId": channel,
        "header": header,
        "text": format!("text of {header}"),
        "severity": "error",
        "correlationId": correlation_id,
    })
}

/// A fresh Redis key prefix for the processes of one test (`sm-test:<name>:<ulid>`), given as
/// `SM_REDIS_KEY_PREFIX`; drop the guard to delete the test's keys.
pub(crate) struct RedisKeys {
    /// The prefix (no trailing colon).
    pub(crate) prefix: String,
}

impl RedisKeys {
    /// A fresh prefix for test `name`.
    pub(crate) fn new(name: &str) -> RedisKeys {
        RedisKeys {
            prefix: sm_test_support::unique_prefix(name)
                .trim_end_matches(':')
                .to_owned(),
        }
    }

    /// The keys under the prefix (what the processes of the test wrote).
    pub(crate) fn keys(&self) -> Vec<String> {
        use sm_redis_queue::redis::Commands;
        let client = sm_redis_queue::redis::Client::open(sm_test_support::redis_url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        conn.scan_match::<_, String>(format!("{}:*", self.prefix))
            .unwrap()
            .collect::<Result<Vec<String>, _>>()
            .unwrap()
    }
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        use sm_redis_queue::redis::Commands;
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        if let Ok(client) = sm_redis_queue::redis::Client::open(sm_test_support::redis_url()) {
            if let Ok(mut conn) = client.get_connection() {
                let _: Result<(), _> = conn.del(keys);
            }
        }
    }
}
