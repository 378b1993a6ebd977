//! Workspace automation: `cargo xtask test` and `cargo xtask bench [NAME]`.
//!
//! `test` is the README's test command and exactly what CI runs. It finds or starts the Redis the
//! tests need (a reachable `REDIS_URL`, else a private `redis-server` on a free port, else
//! `docker compose up -d redis`), checks formatting, lints, documentation and the dependency edges
//! between crates, runs the whole suite (cargo-nextest when installed, plain `cargo test` otherwise,
//! plus doctests), stops what it started and exits non-zero on any failure.

mod deps;
mod redis;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test            fmt check, clippy, docs, dependency edges, then the whole test suite against a real Redis
  bench [NAME]    run the benchmarks (all, or those named NAME: e.g. lock, queue, webhooks, store, manager)
  help            this text";

fn main() {
    if let Err(error) = run() {
        eprintln!("xtask: error: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root()?;
    std::env::set_current_dir(&root).with_context(|| format!("cannot enter {}", root.display()))?;
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("bench") => bench(&root, args.get(1).map(String::as_str)),
        Some("help") | Some("--help") | Some("-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// Runs a command, echoing it, and fails with its exit status.
fn step(title: &str, cmd: &mut Command) -> Result<()> {
    println!("\n==> {title}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{title} failed ({status})");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn test(root: &Path, extra: &[String]) -> Result<()> {
    step(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "cargo clippy --all-targets -D warnings",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    println!("\n==> dependency edges");
    deps::check(root)?;
    step(
        "cargo doc --no-deps (warnings are errors)",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;

    let redis = redis::find_or_start(root)?;
    println!("\n==> using Redis at {} ({})", redis.url(), redis.origin());

    let mut suite = cargo();
    if has_nextest() {
        suite.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        println!("cargo-nextest not found; using cargo test");
        suite.args(["test", "--workspace", "--no-fail-fast"]);
    }
    suite.args(extra).env("REDIS_URL", redis.url());
    let result = step("test suite", &mut suite).and_then(|()| {
        step(
            "doctests",
            cargo()
                .args(["test", "--workspace", "--doc"])
                .env("REDIS_URL", redis.url()),
        )
    });
    drop(redis);
    result
}

fn bench(root: &Path, name: Option<&str>) -> Result<()> {
    let benches = find_benches(root)?;
    let selected: Vec<&(String, String)> = benches
        .iter()
        .filter(|(_, bench)| name.is_none_or(|n| n == bench))
        .collect();
    if selected.is_empty() {
        let known: Vec<&str> = benches.iter().map(|(_, b)| b.as_str()).collect();
        bail!(
            "no benchmark named {:?}; known: {}",
            name.unwrap_or(""),
            known.join(", ")
        );
    }
    let redis = redis::find_or_start(root)?;
    println!("using Redis at {} ({})", redis.url(), redis.origin());
    for (package, bench) in selected {
        step(
            &format!("bench {bench} ({package})"),
            cargo()
                .args(["bench", "-p", package, "--bench", bench])
                .env("REDIS_URL", redis.url()),
        )?;
    }
    Ok(())
}

/// Every `crates/*/benches/<name>.rs`, as (package, bench name).
fn find_benches(root: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).context("cannot list crates/")? {
        let dir = entry?.path();
        let Ok(files) = std::fs::read_dir(dir.join("benches")) else {
            continue;
        };
        let package = deps::package_name(&dir.join("Cargo.toml"))?;
        for file in files {
            let path = file?.path();
            if path.extension().is_some_and(|e| e == "rs") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    out.push((package.clone(), stem.to_owned()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
