//! Finding or starting the Redis the tests use.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A Redis for the test run; stops what it started on drop.
pub(crate) struct TestRedis {
    url: String,
    origin: &'static str,
    child: Option<Child>,
    dir: Option<PathBuf>,
    compose_root: Option<PathBuf>,
}

impl TestRedis {
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn origin(&self) -> &'static str {
        self.origin
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(root) = self.compose_root.take() {
            let _ = Command::new("docker")
                .args(["compose", "stop", "redis"])
                .current_dir(root)
                .status();
        }
    }
}

/// `REDIS_URL` if reachable; else a private `redis-server`; else `docker compose up -d redis`.
pub(crate) fn find_or_start(root: &Path) -> Result<TestRedis> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        if !url.is_empty() {
            if ping(&url) {
                return Ok(TestRedis {
                    url,
                    origin: "REDIS_URL",
                    child: None,
                    dir: None,
                    compose_root: None,
                });
            }
            println!("REDIS_URL={url} is not reachable; starting a private redis-server instead");
        }
    }
    if let Some(redis) = start_private()? {
        return Ok(redis);
    }
    if Command::new("docker")
        .args(["compose", "version"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let status = Command::new("docker")
            .args(["compose", "up", "-d", "redis"])
            .current_dir(root)
            .status();
        let url = "redis://127.0.0.1:6379".to_owned();
        if status.is_ok_and(|s| s.success()) && wait_for(&url, Duration::from_secs(30)) {
            return Ok(TestRedis {
                url,
                origin: "docker compose",
                child: None,
                dir: None,
                compose_root: Some(root.to_owned()),
            });
        }
    }
    bail!(
        "no Redis available: set REDIS_URL to a reachable server, install redis-server \
         (e.g. `apt-get install redis-server`), or install Docker and run `docker compose up -d redis`"
    )
}

fn start_private() -> Result<Option<TestRedis>> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("no free port on 127.0.0.1")?
        .port();
    let dir = std::env::temp_dir().join(format!("sm-xtask-redis-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let spawned = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(None);
        }
        Err(e) => return Err(e).context("cannot start redis-server"),
    };
    let url = format!("redis://127.0.0.1:{port}");
    let redis = TestRedis {
        url,
        origin: "private redis-server",
        child: Some(child),
        dir: Some(dir),
        compose_root: None,
    };
    if !wait_for(redis.url(), Duration::from_secs(10)) {
        bail!("private redis-server on port {port} did not answer PING within 10 s");
    }
    Ok(Some(redis))
}

fn wait_for(url: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ping(url) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Sends `PING` over a plain TCP connection (no TLS, no auth) and expects `+PONG`.
fn ping(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("redis://") else {
        return false;
    };
    let host_port = rest.rsplit('@').next().unwrap_or(rest);
    let host_port = host_port.split('/').next().unwrap_or(host_port);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:6379")
    };
    let Some(addr) = host_port.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
