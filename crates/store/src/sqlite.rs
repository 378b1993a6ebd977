//! [`SqliteStore`]: the store contract on an embedded SQLite database (a file, or in memory).
//!
//! File databases use WAL journaling with `synchronous = NORMAL` (a commit survives a process crash;
//! the last commits may be lost on power loss) and a generous busy timeout, so concurrent writers
//! wait for each other instead of failing. Multi-issue saves run in one `BEGIN IMMEDIATE`
//! transaction (one commit for the batch; SQLite has a single writer, so they cannot deadlock). An
//! in-memory database lives on a single pooled connection that is never closed, so it lasts as long
//! as the store.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sm_core::{Issue, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::retention::AlertRetention;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
enum Location {
    File(PathBuf),
    Memory,
}

/// Options of a [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteStoreOptions {
    location: Location,
    max_connections: u32,
    busy_timeout: Duration,
    retention: AlertRetention,
}

impl SqliteStoreOptions {
    /// A database in the file at `path`, created when missing.
    pub fn file(path: impl AsRef<Path>) -> Self {
        SqliteStoreOptions {
            location: Location::File(path.as_ref().to_path_buf()),
            max_connections: 4,
            busy_timeout: Duration::from_secs(30),
            retention: AlertRetention::default(),
        }
    }

    /// A private in-memory database (one connection; gone when the store is dropped).
    pub fn in_memory() -> Self {
        SqliteStoreOptions {
            location: Location::Memory,
            max_connections: 1,
            ..SqliteStoreOptions::file("")
        }
    }

    /// Pool size for file databases (default 4; readers run in parallel, writers take turns).
    /// Ignored in memory, where there is one connection.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a writer waits for another writer's lock before failing (default 30 s).
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Alert history bounds (default [`AlertRetention::default`]).
    pub fn with_retention(mut self, retention: AlertRetention) -> Self {
        self.retention = retention;
        self
    }
}

/// The store contract on SQLite. Call [`init`](sm_core::Store::init) once to create the schema.
///
/// ```
/// # async fn dox() -> Result<(), sm_core::StoreError> {
/// use sm_core::Store;
/// let store = sm_store::SqliteStore::in_memory().await?;
/// store.init(false).await?;
/// assert!(store.find_active_channels().await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    retention: AlertRetention,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with default options.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        SqliteStore::connect(SqliteStoreOptions::file(path)).await
    }

    /// A private in-memory database with default options.
    pub async fn in_memory() -> Result<Self, StoreError> {
        SqliteStore::connect(SqliteStoreOptions::in_memory()).await
    }

    /// Opens a database with `options`.
    pub async fn connect(options: SqliteStoreOptions) -> Result<Self, StoreError> {
        let (connect, pool) = match &options.location {
            Location::File(path) => {
                if path.as_os_str().is_empty() {
                    return Err(StoreError::InvalidArgument(
                        "sqlite database path is empty".into(),
                    ));
                }
                if options.max_connections == 0 {
                    return Err(StoreError::InvalidArgument(
                        "sqlite max_connections is 0".into(),
                    ));
                }
                (
                    SqliteConnectOptions::new()
                        .filename(path)
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal),
                    SqlitePoolOptions::new().max_connections(options.max_connections),
                )
            }
            Location::Memory => (
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| {
                    StoreError::backend("configuring an in-memory sqlite database", e)
                })?,
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None),
            ),
        };
        let connect = connect.busy_timeout(options.busy_timeout);
        let pool = pool.connect_with(connect).await.map_err(|e| {
            StoreError::backend(format!("opening sqlite database {:?}", options.location), e)
        })?;
        Ok(SqliteStore {
            pool,
            retention: options.retention,
        })
    }

    /// The connection pool (for tools and tests that inspect the database).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn run_init(&self, skip_schema_validation: bool) -> Result<(), StoreError> {
        if skip_schema_validation {
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'issues'",
            )
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::backend("checking the sqlite schema", e))?;
            if exists.is_some() {
                return Ok(());
            }
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::backend("migrating the sqlite schema", e))
    }

    async fn save_batch(&self, issues: &[Issue]) -> Result<Vec<u64>, StoreError> {
        let context = || format!("saving {} issues", issues.len());
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::backend(context(), e))?;
        Self::save_each_and_commit(tx, issues).await
    }
}

crate::sql::impl_sql_store!(SqliteStore, SqliteConnection);
