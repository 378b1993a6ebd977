//! Dependency-edge checks: crates depend only downward, and sm-core stays free of I/O crates.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Crates that must never appear in sm-core's normal dependency tree.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "redis",
    "hyper",
    "reqwest",
    "axum",
    "sqlx",
    "tokio-postgres",
    "tonic",
    "tokio-tungstenite",
    "h2",
    "mio",
];

/// Internal crates, bottom first; each may depend only on crates listed before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("sm-core", &[]),
    ("sm-redis-lock", &["sm-core"]),
    ("sm-redis-queue", &["sm-core", "sm-redis-lock"]),
    ("sm-webhooks", &["sm-core"]),
    ("sm-store", &["sm-core"]),
    ("sm-slack", &["sm-core"]),
    ("sm-slack-emulator", &["sm-core"]),
    (
        "sm-api",
        &["sm-core", "sm-webhooks", "sm-slack", "sm-redis-queue"],
    ),
    (
        "sm-manager",
        &[
            "sm-core",
            "sm-redis-lock",
            "sm-redis-queue",
            "sm-webhooks",
            "sm-store",
            "sm-slack",
        ],
    ),
];

pub(crate) fn check(root: &Path) -> Result<()> {
    let tree = cargo_tree(&["-p", "sm-core", "-e", "normal", "--prefix", "none"])?;
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let bad: Vec<&&str> = FORBIDDEN_IN_CORE
        .iter()
        .filter(|f| names.contains(f))
        .collect();
    if !bad.is_empty() {
        bail!("sm-core must not depend on network or database crates, but depends on {bad:?}");
    }
    println!("sm-core: no network or database crates");

    for (package, allowed) in LAYERS {
        if !root
            .join("crates")
            .read_dir()?
            .filter_map(|e| e.ok())
            .any(|e| package_name(&e.path().join("Cargo.toml")).is_ok_and(|n| n == *package))
        {
            continue;
        }
        let tree = cargo_tree(&[
            "-p", package, "-e", "normal", "--depth", "1", "--prefix", "none",
        ])?;
        for dep in tree
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
        {
            let internal = dep.starts_with("sm-") || dep == "slack-manager";
            if internal && !allowed.contains(&dep) {
                bail!("{package} depends on {dep}, which is not below it (allowed: {allowed:?})");
            }
        }
        println!("{package}: depends only downward");
    }
    Ok(())
}

fn cargo_tree(args: &[&str]) -> Result<String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .arg("tree")
        .args(args)
        .output()
        .context("cannot run cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `name` of the `[package]` of a manifest.
pub(crate) fn package_name(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package {
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim)
                .and_then(|r| r.strip_prefix('='))
            {
                return Ok(value.trim().trim_matches('"').to_owned());
            }
        }
    }
    bail!("no [package] name in {}", manifest.display())
}
