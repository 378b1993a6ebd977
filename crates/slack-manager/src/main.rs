//! `slack-manager`: the service people run.
//!
//! `slack-manager` (or `slack-manager run`) starts the alert API and the manager in one process. With no
//! configuration at all it runs on embedded defaults: in-memory queues, a SQLite file under `./data`, and an
//! embedded Slack emulator whose web page shows the posts.

mod config;
mod logging;
mod ops;
mod post_settings;
mod send_alert;
mod service;
mod settings_file;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Slack Manager: one live Slack post per problem, from a flood of alerts.
#[derive(Debug, Parser)]
#[command(name = "slack-manager", version, about)]
struct Cli {
    /// TOML configuration file (environment variables override it).
    #[arg(long, short, global = true, env = "SM_CONFIG")]
    config: Option<PathBuf>,
    /// Print the effective configuration (secrets masked) and exit.
    #[arg(long, global = true)]
    print_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// API and manager in one process (the default).
    Run,
    /// The alert API only.
    Api,
    /// The manager only.
    Manager,
    /// Post a test alert to a running API.
    SendAlert(send_alert::SendAlertArgs),
    /// The Slack emulator alone.
    Emulator,
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("slack-manager: error: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        Some(Command::SendAlert(args)) => return send_alert::run(args).await,
        other => other,
    };
    let config = Config::load(cli.config.as_deref())?;
    if cli.print_config {
        print!("{}", config.to_masked_toml()?);
        return Ok(());
    }
    logging::init(config.log_format, &config.log_filter);
    let mode = match command {
        None | Some(Command::Run) => service::Mode::All,
        Some(Command::Api) => service::Mode::Api,
        Some(Command::Manager) => service::Mode::Manager,
        Some(Command::Emulator) => return emulator(&config).await,
        Some(Command::SendAlert(_)) => bail!("send-alert takes no configuration file"),
    };
    let cancel = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(cancel.clone()));
    service::run(config, mode, cancel).await
}

/// Cancels on Ctrl-C or SIGTERM; in-flight work then drains.
async fn shutdown_on_signal(cancel: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
    cancel.cancel();
}

/// `slack-manager emulator`: the Slack emulator alone, until Ctrl-C or SIGTERM.
async fn emulator(config: &Config) -> Result<()> {
    let emulator = sm_slack_emulator::Emulator::start_on(
        sm_slack_emulator::EmulatorConfig::default(),
        &config.emulator_addr.to_string(),
    )
    .await
    .with_context(|| {
        format!(
            "cannot start the Slack emulator on {}",
            config.emulator_addr
        )
    })?;
    println!(
        "Slack emulator: web page {} , Web API {}",
        emulator.url(),
        emulator.base_url()
    );
    let cancel = CancellationToken::new();
    shutdown_on_signal(cancel.clone()).await;
    drop(emulator);
    Ok(())
}
