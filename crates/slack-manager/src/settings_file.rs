//! The runtime settings file: manager settings and API routing rules, hot-reloaded.
//!
//! The file (`settings_file`, `SM_SETTINGS_FILE`) is TOML, or JSON when its name ends in `.json`, with
//! two optional tables using the Go key names:
//!
//! ```toml
//! [manager]
//! appFriendlyName = "Ops Slack Manager"
//! globalAdmins = ["U0ADMIN"]
//! alertChannels = [{ id = "C0ALERTS", adminUsers = ["U0OPS"] }]
//!
//! [api]
//! routingRules = [{ name = "db", hasPrefix = ["db-"], channel = "C0DATABASE" }]
//! ```
//!
//! It is read at start (an invalid file stops the start) and re-read whenever its modification time
//! changes (checked every `settings_reload_seconds`, default 10). An invalid new version is logged and
//! refused; the settings in force stay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde::Deserialize;
use sm_api::{ApiServer, ApiSettings, RoutingTable};
use sm_manager::{Manager, ManagerSettings};
use tokio_util::sync::CancellationToken;

/// The two settings tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SettingsFile {
    /// Manager settings (Go `ManagerSettings` keys).
    pub(crate) manager: ManagerSettings,
    /// API settings (routing rules).
    pub(crate) api: ApiSettings,
}

impl SettingsFile {
    /// Reads and validates the file.
    pub(crate) fn load(path: &Path) -> Result<SettingsFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let settings: SettingsFile = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text)
                .with_context(|| format!("invalid JSON in {}", path.display()))?
        } else {
            toml::from_str(&text).with_context(|| format!("invalid TOML in {}", path.display()))?
        };
        settings
            .manager
            .clone()
            .init_and_validate()
            .with_context(|| format!("invalid [manager] in {}", path.display()))?;
        RoutingTable::new(settings.api.clone())
            .with_context(|| format!("invalid [api] in {}", path.display()))?;
        Ok(settings)
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Re-reads `path` when it changes and pushes the new settings into the running services.
pub(crate) async fn watch(
    path: PathBuf,
    every: Duration,
    manager: Option<Arc<Manager>>,
    api: Option<Arc<ApiServer>>,
    cancel: CancellationToken,
) {
    let mut last = modified(&path);
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now = modified(&path);
        if now == last {
            continue;
        }
        last = now;
        let settings = match SettingsFile::load(&path) {
            Ok(s) => s,
            Err(error) => {
                tracing::error!(file = %path.display(), error = %format!("{error:#}"), "settings file refused; the settings in force stay");
                continue;
            }
        };
        if let Some(manager) = &manager {
            if let Err(error) = manager.update_settings(settings.manager) {
                tracing::error!(%error, "manager settings refused");
            }
        }
        if let Some(api) = &api {
            if let Err(error) = api.update_settings(settings.api) {
                tracing::error!(%error, "API settings refused");
            }
        }
        tracing::info!(file = %path.display(), "settings reloaded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_and_json_and_refuses_invalid_settings() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("settings.toml");
        std::fs::write(
            &toml_path,
            "[manager]\nappFriendlyName = \"Ops\"\nissueProcessingIntervalSeconds = 5\n\n[api]\nroutingRules = [{ name = \"db\", hasPrefix = [\"db-\"], channel = \"C0DATABASE\" }]\n",
        )
        .unwrap();
        let s = SettingsFile::load(&toml_path).unwrap();
        assert_eq!(s.manager.app_friendly_name, "Ops");
        assert_eq!(s.api.routing_rules.len(), 1);

        let json_path = dir.path().join("settings.json");
        std::fs::write(
            &json_path,
            r#"{"manager": {"issueProcessingIntervalSeconds": 1}}"#,
        )
        .unwrap();
        let err = format!("{:#}", SettingsFile::load(&json_path).unwrap_err());
        assert!(
            err.contains("invalid [manager]") && err.contains("between 3 and 600"),
            "{err}"
        );

        std::fs::write(&json_path, r#"{"managr": {}}"#).unwrap();
        let err = format!("{:#}", SettingsFile::load(&json_path).unwrap_err());
        assert!(err.contains("unknown field"), "{err}");
    }
}
