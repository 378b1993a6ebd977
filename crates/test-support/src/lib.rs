//! Helpers for the workspace's tests and benchmarks (not published).
//!
//! - [`redis_url`] names the Redis the tests use (`REDIS_URL`, else the local default); `cargo xtask test`
//!   sets it after finding or starting a server.
//! - [`unique_prefix`] gives each test its own key prefix, so tests never touch each other's keys and
//!   nothing ever flushes a database.
//! - [`RedisServer`] starts a private `redis-server` on a free port in a temporary directory, for tests
//!   that stop, restart or reconfigure Redis; it is killed on drop.

#![warn(missing_docs)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The default Redis the tests use when `REDIS_URL` is not set.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// The default PostgreSQL database the tests use when `SM_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The Redis URL for tests: `REDIS_URL` if set, else [`DEFAULT_REDIS_URL`].
pub fn redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_REDIS_URL.to_owned())
}

/// The PostgreSQL URL for tests: `SM_TEST_POSTGRES_URL` if set, else [`DEFAULT_POSTGRES_URL`].
pub fn postgres_url() -> String {
    std::env::var("SM_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// A fresh key prefix for one test: `sm-test:<name>:<ulid>:`.
pub fn unique_prefix(name: &str) -> String {
    format!("sm-test:{name}:{}:", ulid::Ulid::new())
}

/// A client for the test Redis. Panics with a clear message when Redis is unreachable: tests that need
/// Redis fail rather than skip (run them through `cargo xtask test`, which finds or starts one).
pub async fn redis_client() -> redis::Client {
    let url = redis_url();
    let client = match redis::Client::open(url.as_str()) {
        Ok(c) => c,
        Err(e) => panic!("REDIS_URL {url:?} is not a valid Redis URL: {e}"),
    };
    if let Err(e) = client.get_multiplexed_async_connection().await {
        panic!(
            "Redis at {url} is not reachable ({e}); run the tests with `cargo xtask test`, which starts one"
        );
    }
    client
}

/// A connection manager on the test Redis (see [`redis_client`]).
pub async fn redis_connection_manager() -> redis::aio::ConnectionManager {
    let client = redis_client().await;
    match client.get_connection_manager().await {
        Ok(c) => c,
        Err(e) => panic!("cannot open a connection manager on {}: {e}", redis_url()),
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for a child server).
pub fn free_port() -> u16 {
    match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("no free port on 127.0.0.1: {e}"),
    }
}

/// A private `redis-server` process on a free port in a temporary directory; killed on drop.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    extra_args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server with persistence off.
    pub fn start() -> RedisServer {
        Self::start_with_args(&["--save", "", "--appendonly", "no"])
    }

    /// Starts a server with extra command-line arguments (for example `["--appendonly", "yes"]`).
    pub fn start_with_args(args: &[&str]) -> RedisServer {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("cannot create a temp dir for redis-server: {e}"),
        };
        let mut server = RedisServer {
            port: free_port(),
            dir,
            extra_args: args.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(c) => self.child = Some(c),
            Err(e) => panic!("cannot start redis-server (is it on the PATH?): {e}"),
        }
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(client) = redis::Client::open(self.url()) {
                if let Ok(mut conn) = client.get_connection() {
                    if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                        return;
                    }
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "private redis-server on port {} did not start within 10 s",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's working directory (RDB/AOF files live here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server (SIGKILL); its data directory stays for a restart.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server again on the same port and directory (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The path of a file in the server's directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private three-master Redis Cluster (all 16384 slots assigned), for tests of cluster layouts;
/// killed on drop. Needs `redis-server` and `redis-cli` on the PATH.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers on free ports, joins them with `redis-cli --cluster create`
    /// and waits until every node reports `cluster_state:ok`.
    pub fn start() -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                let bus_port = free_port().to_string();
                RedisServer::start_with_args(&[
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                    "--cluster-port",
                    &bus_port,
                ])
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output();
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&out.stdout)
            ),
            Err(e) => panic!("cannot run redis-cli (is it on the PATH?): {e}"),
        }
        let cluster = RedisCluster { nodes };
        for node in &cluster.nodes {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let info = redis::Client::open(node.url())
                    .and_then(|c| c.get_connection())
                    .and_then(|mut conn| {
                        redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut conn)
                    });
                if info.is_ok_and(|i| i.contains("cluster_state:ok")) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {} did not reach cluster_state:ok in 20 s",
                    node.port()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        cluster
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }
}

/// Polls `check` every 20 ms until it gives `Some`, for at most `secs` seconds; panics naming `what`
/// on timeout. For waiting on state a test cannot be signalled about (a post on the emulator, a row in
/// the store), instead of sleeping and hoping.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
