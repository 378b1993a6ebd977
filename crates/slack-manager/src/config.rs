//! Service configuration: embedded defaults, then a TOML file, then environment variables.
//!
//! Well-known variables keep their usual names (`SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`, `SLACK_API_URL`,
//! `REDIS_URL`, `DATABASE_URL`); every other key is set with `SM_<KEY>` (for example `SM_HTTP_ADDR`).
//!
//! Several deployments can share one Redis and one PostgreSQL database: give each its own
//! `redis_key_prefix` (`SM_REDIS_KEY_PREFIX`, default `slack-manager`) and `database_schema`
//! (`SM_DATABASE_SCHEMA`, default `slack_manager`); the processes of one deployment (API and
//! managers) must agree on both.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The whole service configuration.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    /// Address of the alert API (and `/metrics`, `/healthz`, `/readyz`).
    pub(crate) http_addr: SocketAddr,
    /// Redis URL; without it, queues are in memory and locking is a no-op (single instance).
    pub(crate) redis_url: Option<String>,
    /// Prefix of every Redis key the service writes (queues, channel locks, the Slack rate-limit
    /// gate): `<prefix>:queue:…`, `<prefix>:channel-lock:…`, `<prefix>:slack-api-client:rate-limit:…`.
    /// Processes that work together must use the same prefix; separate deployments sharing one Redis
    /// use different ones.
    pub(crate) redis_key_prefix: String,
    /// Store URL (`sqlite://…` or `postgres://…`); without it, a SQLite file under `data_dir`.
    pub(crate) database_url: Option<String>,
    /// PostgreSQL schema holding the store's tables (created when missing); ignored for SQLite.
    /// Processes that work together must use the same schema.
    pub(crate) database_schema: String,
    /// Directory of the default SQLite file.
    pub(crate) data_dir: PathBuf,
    /// Runtime settings file (manager settings and API routing rules; TOML, or JSON by extension),
    /// re-read when it changes. See the `settings_file` module.
    pub(crate) settings_file: Option<PathBuf>,
    /// How often, in seconds, the settings file's modification time is checked (at least 1).
    pub(crate) settings_reload_seconds: u64,
    /// Slack bot token (`xoxb-…`); without tokens an embedded Slack emulator is started.
    pub(crate) slack_bot_token: Option<String>,
    /// Slack app token (`xapp-…`) for Socket Mode.
    pub(crate) slack_app_token: Option<String>,
    /// Slack Web API base URL (default Slack's; the emulator's when embedded).
    pub(crate) slack_api_url: Option<String>,
    /// Address of the embedded Slack emulator.
    pub(crate) emulator_addr: SocketAddr,
    /// 32 alphanumeric characters encrypting webhook payloads (shared by API and manager).
    pub(crate) encryption_key: Option<String>,
    /// Name of the alert queue.
    pub(crate) alert_queue_name: String,
    /// Name of the command queue.
    pub(crate) command_queue_name: String,
    /// Log format.
    pub(crate) log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax); `RUST_LOG` overrides it.
    pub(crate) log_filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            redis_url: None,
            redis_key_prefix: "slack-manager".into(),
            database_url: None,
            database_schema: sm_store::DEFAULT_POSTGRES_SCHEMA.into(),
            data_dir: PathBuf::from("data"),
            settings_file: None,
            settings_reload_seconds: 10,
            slack_bot_token: None,
            slack_app_token: None,
            slack_api_url: None,
            emulator_addr: SocketAddr::from(([127, 0, 0, 1], 8090)),
            encryption_key: None,
            alert_queue_name: "alerts".into(),
            command_queue_name: "commands".into(),
            log_format: LogFormat::Pretty,
            log_filter: "info".into(),
        }
    }
}

/// Environment variables read without the `SM_` prefix.
const PLAIN_ENV: &[&str] = &[
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "REDIS_URL",
    "DATABASE_URL",
];

impl Config {
    /// Defaults, then `file` (if given, it must exist), then the environment.
    pub(crate) fn load(file: Option<&Path>) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                bail!("configuration file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(
                Env::raw()
                    .only(PLAIN_ENV)
                    .map(|k| k.as_str().to_ascii_lowercase().into()),
            )
            .merge(Env::prefixed("SM_"));
        let mut config: Config = figment.extract().context("invalid configuration")?;
        config.normalise();
        config.validate()?;
        Ok(config)
    }

    /// Empty strings mean "not set".
    fn normalise(&mut self) {
        self.settings_reload_seconds = self.settings_reload_seconds.max(1);
        if self
            .settings_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            self.settings_file = None;
        }
        for value in [
            &mut self.redis_url,
            &mut self.database_url,
            &mut self.slack_bot_token,
            &mut self.slack_app_token,
            &mut self.slack_api_url,
            &mut self.encryption_key,
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(key) = &self.encryption_key {
            if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                bail!("encryption_key must be a 32 character alphanumeric string");
            }
        }
        if self.redis_key_prefix.trim().is_empty() {
            bail!("redis_key_prefix cannot be empty");
        }
        if !valid_schema_name(&self.database_schema) {
            bail!(
                "database_schema {:?} is not valid, expected 1-63 ASCII letters, digits and underscores, not starting with a digit",
                self.database_schema
            );
        }
        if self.alert_queue_name == self.command_queue_name {
            bail!(
                "alert_queue_name and command_queue_name must differ (both are {:?})",
                self.alert_queue_name
            );
        }
        if self.slack_bot_token.is_some() != self.slack_app_token.is_some()
            && self.slack_api_url.is_none()
        {
            // A bot token alone is enough for posting; Socket Mode needs the app token too.
            tracing::warn!("only one of SLACK_BOT_TOKEN and SLACK_APP_TOKEN is set");
        }
        Ok(())
    }

    /// Whether to start the embedded Slack emulator (no bot token given).
    pub(crate) fn uses_emulator(&self) -> bool {
        self.slack_bot_token.is_none()
    }

    /// The store URL: `DATABASE_URL`, else a SQLite file under `data_dir`.
    pub(crate) fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("slack-manager.db").display()
            ),
        }
    }

    /// Key prefix of the Redis queues (`<prefix>:queue`, the queue crate's default layout).
    pub(crate) fn queue_key_prefix(&self) -> String {
        format!("{}:queue", self.redis_key_prefix)
    }

    /// Key prefix of the Redis channel locks (`<prefix>:channel-lock:`).
    pub(crate) fn lock_key_prefix(&self) -> String {
        format!("{}:channel-lock:", self.redis_key_prefix)
    }

    /// Key prefix of the Redis Slack rate-limit gate (`<prefix>:slack-api-client:rate-limit:`).
    pub(crate) fn gate_key_prefix(&self) -> String {
        format!("{}:slack-api-client:rate-limit:", self.redis_key_prefix)
    }

    /// The configuration as TOML with secrets masked.
    pub(crate) fn to_masked_toml(&self) -> Result<String> {
        let mut masked = self.clone();
        for value in [
            &mut masked.slack_bot_token,
            &mut masked.slack_app_token,
            &mut masked.encryption_key,
        ]
        .into_iter()
        .flatten()
        {
            *value = mask(value);
        }
        for value in [&mut masked.redis_url, &mut masked.database_url]
            .into_iter()
            .flatten()
        {
            *value = mask_url_password(value);
        }
        toml::to_string_pretty(&masked).context("cannot render the configuration as TOML")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_masked_toml().unwrap_or_else(|e| format!("<{e}>")))
    }
}

/// A PostgreSQL schema name the store accepts: 1–63 ASCII letters, digits and underscores, not
/// starting with a digit.
fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Keeps a short recognisable prefix (`xoxb-`) and hides the rest.
fn mask(secret: &str) -> String {
    let prefix: String = secret.chars().take(5).collect();
    if secret.chars().count() <= 8 {
        "****".to_owned()
    } else {
        format!("{prefix}****")
    }
}

/// Hides the password of `scheme://user:password@host/…`.
fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_url_passwords() {
        assert_eq!(mask("xoxb-123456789"), "xoxb-****");
        assert_eq!(mask("short"), "****");
        assert_eq!(
            mask_url_password("postgres://sm:hunter2@db:5432/sm"),
            "postgres://sm:****@db:5432/sm"
        );
        assert_eq!(
            mask_url_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        let config = Config {
            slack_bot_token: Some("xoxb-very-secret".into()),
            database_url: Some("postgres://u:pw@h/db".into()),
            ..Config::default()
        };
        let shown = config.to_masked_toml().unwrap();
        assert!(
            !shown.contains("very-secret") && !shown.contains(":pw@"),
            "{shown}"
        );
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type.
    fn redis_key_prefix_and_database_schema() {
        let defaults = Config::default();
        assert_eq!(defaults.queue_key_prefix(), "slack-manager:queue");
        assert_eq!(
            defaults.lock_key_prefix(),
            sm_redis_lock::DEFAULT_KEY_PREFIX
        );
        assert_eq!(defaults.gate_key_prefix(), sm_slack::DEFAULT_GATE_PREFIX);
        assert_eq!(defaults.database_schema, sm_store::DEFAULT_POSTGRES_SCHEMA);
        figment::Jail::expect_with(|jail| {
            jail.set_env("SM_REDIS_KEY_PREFIX", "team-a");
            jail.set_env("SM_DATABASE_SCHEMA", "team_a");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.queue_key_prefix(), "team-a:queue");
            assert_eq!(config.lock_key_prefix(), "team-a:channel-lock:");
            assert_eq!(
                config.gate_key_prefix(),
                "team-a:slack-api-client:rate-limit:"
            );
            assert_eq!(config.database_schema, "team_a");
            jail.set_env("SM_DATABASE_SCHEMA", "1-bad");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("database_schema \"1-bad\" is not valid"),
                "{err}"
            );
            jail.set_env("SM_DATABASE_SCHEMA", "team_a");
            jail.set_env("SM_REDIS_KEY_PREFIX", " ");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("redis_key_prefix cannot be empty"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type.
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("sm-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sm.toml");
        std::fs::write(
            &path,
            "http_addr = \"127.0.0.1:9000\"\nalert_queue_name = \"a\"\n",
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("SM_ALERT_QUEUE_NAME", "from-env");
            jail.set_env("REDIS_URL", "redis://127.0.0.1:7000");
            let config = Config::load(Some(&path)).map_err(|e| e.to_string())?;
            assert_eq!(config.http_addr.port(), 9000);
            assert_eq!(config.alert_queue_name, "from-env");
            assert_eq!(config.redis_url.as_deref(), Some("redis://127.0.0.1:7000"));
            jail.set_env("SM_ENCRYPTION_KEY", "short");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("32 character"), "{err}");
            Ok(())
        });
        let missing = Config::load(Some(Path::new("/nonexistent/sm.toml")))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("does not exist"));
    }
}
