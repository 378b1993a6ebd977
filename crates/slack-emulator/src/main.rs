//! `sm-slack-emulator`: runs the Slack emulator until Ctrl-C.

use std::path::PathBuf;

use clap::Parser;
use sm_slack_emulator::{Emulator, EmulatorConfig};

/// A Slack Web API and Socket Mode server on loopback, with a live web page at `/`.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
    /// TOML file with tokens, channels, users and user groups.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Answer `channel_not_found` for channels that were not seeded instead of creating them.
    #[arg(long)]
    strict: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => EmulatorConfig::from_file(path)?,
        None => EmulatorConfig::default(),
    };
    if args.strict {
        config.strict = true;
    }
    let emulator = Emulator::start_on(config, &args.addr).await?;
    println!(
        "slack emulator: web page {} · Web API base {} · bot token {:?} · app token {:?}",
        emulator.url(),
        emulator.base_url(),
        emulator.config().bot_token,
        emulator.config().app_token
    );
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        () = emulator.stopped() => {}
    }
    Ok(())
}
