//! Wiring: builds queues, locker, store and Slack client from the configuration and runs the API
//! and/or the manager until cancelled.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use sm_api::{ApiConfig, ApiServer, SlackChannelInfo};
use sm_core::{
    ChannelLocker, FifoQueue, FifoQueueProducer, InMemoryFifoQueue, NoopChannelLocker, SlackClient,
    Store,
};
use sm_manager::{Manager, ManagerConfig, ManagerSettings};
use sm_redis_lock::RedisChannelLocker;
use sm_redis_queue::{RedisFifoQueue, RedisFifoQueueOptions, RedisFifoQueueProducer};
use sm_slack::{
    InProcessGate, RateLimitGate, RedisGate, SlackApi, SlackClientConfig, SlackManagerClient,
};
use sm_slack_emulator::{Emulator, EmulatorConfig};
use sm_store::{
    CacheOptions, CachedStore, PostgresStore, PostgresStoreOptions, SqliteStore, SqliteStoreOptions,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ops::{self, Health};
use crate::post_settings::post_settings;
use crate::settings_file::{self, SettingsFile};
use futures::FutureExt;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// API and manager.
    All,
    /// API only.
    Api,
    /// Manager only.
    Manager,
}

impl Mode {
    fn runs_api(self) -> bool {
        matches!(self, Mode::All | Mode::Api)
    }

    fn runs_manager(self) -> bool {
        matches!(self, Mode::All | Mode::Manager)
    }
}

/// The queues: in memory (one process) or on Redis.
struct Queues {
    alerts: Arc<dyn FifoQueue>,
    commands: Arc<dyn FifoQueue>,
    alert_producer: Arc<dyn FifoQueueProducer>,
    locker: Arc<dyn ChannelLocker>,
    redis: Option<sm_redis_queue::redis::aio::ConnectionManager>,
}

async fn queues(config: &Config, mode: Mode) -> Result<Queues> {
    let Some(url) = &config.redis_url else {
        if mode != Mode::All {
            bail!(
                "running the API and the manager in separate processes needs a shared Redis: set REDIS_URL"
            );
        }
        tracing::warn!(
            "REDIS_URL is not set: in-memory queues and no channel locking (single instance only)"
        );
        let alerts = Arc::new(InMemoryFifoQueue::new(&config.alert_queue_name));
        let commands = Arc::new(InMemoryFifoQueue::new(&config.command_queue_name));
        return Ok(Queues {
            alert_producer: alerts.clone(),
            alerts,
            commands,
            locker: Arc::new(NoopChannelLocker),
            redis: None,
        });
    };
    let client = sm_redis_queue::redis::Client::open(url.as_str())
        .with_context(|| format!("invalid REDIS_URL {url:?}"))?;
    let conn = client
        .get_connection_manager()
        .await
        .with_context(|| format!("cannot connect to Redis at {url}"))?;
    let locker: Arc<dyn ChannelLocker> = Arc::new(
        RedisChannelLocker::new(conn.clone())
            .with_key_prefix(config.lock_key_prefix())
            .with_client(client.clone()),
    );
    let options = RedisFifoQueueOptions::default().with_key_prefix(config.queue_key_prefix());
    let alerts = RedisFifoQueue::new(
        conn.clone(),
        locker.clone(),
        &config.alert_queue_name,
        options.clone(),
    )?
    .with_client(client.clone());
    let commands = RedisFifoQueue::new(
        conn.clone(),
        locker.clone(),
        &config.command_queue_name,
        options.clone(),
    )?
    .with_client(client);
    let alert_producer =
        RedisFifoQueueProducer::new(conn.clone(), &config.alert_queue_name, options)?;
    tracing::info!(redis = %redact(url), prefix = %config.redis_key_prefix, "queues and channel locks on Redis");
    Ok(Queues {
        alerts: Arc::new(alerts),
        commands: Arc::new(commands),
        alert_producer: Arc::new(alert_producer),
        locker,
        redis: Some(conn),
    })
}

async fn store(config: &Config) -> Result<Arc<dyn Store>> {
    let url = config.effective_database_url();
    let store: Arc<dyn Store> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(
                PostgresStore::connect(
                    PostgresStoreOptions::new(&url).with_schema(&config.database_schema),
                )
                .await
                .context("cannot open PostgreSQL")?,
            )
        } else if let Some(rest) = url.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or(rest);
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
            }
            let options = if path == ":memory:" {
                SqliteStoreOptions::in_memory()
            } else {
                SqliteStoreOptions::file(path)
            };
            Arc::new(
                SqliteStore::connect(options)
                    .await
                    .with_context(|| format!("cannot open SQLite at {path}"))?,
            )
        } else {
            bail!("DATABASE_URL must start with sqlite:// or postgres://, got {url:?}");
        };
    store
        .init(false)
        .await
        .context("cannot initialise the store schema")?;
    tracing::info!(store = %redact(&url), "store ready");
    Ok(store)
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((head, tail)) => match head.rsplit_once(':') {
            Some((user, _)) if user.contains("://") && !user.ends_with('/') => {
                format!("{user}:****@{tail}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The Slack side: the real Web API, or an embedded emulator.
struct Slack {
    api: Arc<SlackApi>,
    config: SlackClientConfig,
    _emulator: Option<Emulator>,
}

async fn slack(
    config: &Config,
    redis: Option<&sm_redis_queue::redis::aio::ConnectionManager>,
) -> Result<Slack> {
    let (emulator, bot_token, app_token, base_url) = if config.uses_emulator() {
        let emulator =
            Emulator::start_on(EmulatorConfig::default(), &config.emulator_addr.to_string())
                .await
                .with_context(|| {
                    format!(
                        "cannot start the Slack emulator on {}",
                        config.emulator_addr
                    )
                })?;
        println!(
            "Slack emulator (no SLACK_BOT_TOKEN given): watch the posts at {}",
            emulator.url()
        );
        let defaults = EmulatorConfig::default();
        let base_url = emulator.base_url();
        (
            Some(emulator),
            defaults.bot_token,
            defaults.app_token,
            Some(base_url),
        )
    } else {
        (
            None,
            config.slack_bot_token.clone().unwrap_or_default(),
            config.slack_app_token.clone().unwrap_or_default(),
            config.slack_api_url.clone(),
        )
    };
    let mut slack_config = SlackClientConfig::new(bot_token).with_app_token(app_token);
    if let Some(url) = base_url {
        slack_config = slack_config.with_base_url(url);
    }
    let gate: Arc<dyn RateLimitGate> = match redis {
        Some(conn) => {
            Arc::new(RedisGate::new(conn.clone()).with_key_prefix(config.gate_key_prefix()))
        }
        None => Arc::new(InProcessGate::default()),
    };
    let api = SlackApi::new(slack_config.clone())
        .context("invalid Slack client configuration")?
        .with_gate(gate);
    let auth = api.connect().await.context("Slack auth.test failed")?;
    tracing::info!(team = %auth.team, bot = %auth.user, "connected to Slack");
    Ok(Slack {
        api: Arc::new(api),
        config: slack_config,
        _emulator: emulator,
    })
}

/// Runs `mode` until `cancel` fires.
pub(crate) async fn run(config: Config, mode: Mode, cancel: CancellationToken) -> Result<()> {
    let metrics = ops::install_metrics()?;
    let health = Health::default();
    let queues = queues(&config, mode).await?;
    let slack = slack(&config, queues.redis.as_ref()).await?;
    let mut tasks = tokio::task::JoinSet::new();

    let settings = match &config.settings_file {
        Some(path) => SettingsFile::load(path)?,
        None => SettingsFile::default(),
    };
    let mut running_manager = None;
    let mut running_api = None;

    if mode.runs_manager() {
        let db = store(&config).await?;
        let manager_settings = settings.manager.clone();
        let client = Arc::new(SlackManagerClient::new(
            slack.api.clone(),
            post_settings(&manager_settings),
        ));
        let mut manager_config = ManagerConfig {
            encryption_key: config.encryption_key.clone().unwrap_or_default(),
            ..ManagerConfig::default()
        };
        manager_config.slack_client.bot_token = slack.config.bot_token.clone();
        manager_config.slack_client.app_token = slack.config.app_token.clone();
        let observed = client.clone();
        let cache = Arc::new(CachedStore::new(db.clone(), CacheOptions::default()));
        let manager = Manager::new(
            db,
            queues.alerts.clone(),
            queues.commands.clone(),
            queues.locker.clone(),
            manager_config,
            manager_settings,
        )
        .with_cache_store(cache)
        .with_slack_client(client as Arc<dyn SlackClient>)
        .with_settings_observer(Arc::new(move |s: &ManagerSettings| {
            observed.set_post_settings(post_settings(s))
        }));
        let manager = Arc::new(manager);
        running_manager = Some(manager.clone());
        let cancel = cancel.clone();
        tasks.spawn(async move {
            manager
                .run(cancel)
                .await
                .context("manager stopped with an error")
        });
        tracing::info!("manager running");
    }

    let listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.http_addr))?;
    let router = if mode.runs_api() {
        let api_config = ApiConfig {
            encryption_key: config.encryption_key.clone().unwrap_or_default(),
            ..ApiConfig::default()
        };
        let api = ApiServer::new(
            queues.alert_producer.clone(),
            api_config,
            settings.api.clone(),
        )
        .context("invalid API configuration")?;
        let channel_info = SlackChannelInfo::new(slack.api.clone());
        let refresh = channel_info.spawn_refresh(cancel.clone());
        tasks.spawn(async move { refresh.await.context("channel info refresh task failed") });
        let api = Arc::new(api.with_channel_info(Arc::new(channel_info)));
        running_api = Some(api.clone());
        println!("Alert API listening on http://{}", config.http_addr);
        api.router().merge(ops::router(metrics, health.clone()))
    } else {
        println!("Health and metrics on http://{}", config.http_addr);
        ops::router(metrics, health.clone())
    };
    {
        let cancel = cancel.clone();
        tasks.spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await
            .context("HTTP server failed")
        });
    }
    if let Some(path) = config.settings_file.clone() {
        tasks.spawn(
            settings_file::watch(
                path,
                std::time::Duration::from_secs(config.settings_reload_seconds),
                running_manager,
                running_api,
                cancel.clone(),
            )
            .map(Ok),
        );
    }
    health.set_ready(true);

    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.context("a service task panicked").and_then(|r| r);
        if let Err(error) = outcome {
            tracing::error!(error = %format!("{error:#}"), "stopping");
            health.set_ready(false);
            cancel.cancel();
            if result.is_ok() {
                result = Err(error);
            }
        }
    }
    result
}
