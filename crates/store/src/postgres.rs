//! [`PostgresStore`]: the store contract on PostgreSQL, one schema per store instance.
//!
//! Every pooled connection has its `search_path` set to the store's schema, so the tables and the
//! migration bookkeeping (`_sqlx_migrations`) of one instance live in its schema and several
//! instances (or test runs) can share one database without seeing each other. `init` creates the
//! schema when it is missing and runs the embedded migrations.
//!
//! Multi-issue saves run in one transaction (one commit for the batch) that first locks the batch's
//! existing rows in ID order, so concurrent batches sharing issues wait for each other instead of
//! deadlocking. Only batches that *create* the same new issues concurrently in different orders can
//! still deadlock; PostgreSQL then aborts one of them, and that batch is redone issue by issue
//! without a transaction, so concurrent saves never fail.

use std::str::FromStr;
use std::time::Duration;

use sm_core::{Issue, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::retention::AlertRetention;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The schema used when none is configured.
pub const DEFAULT_POSTGRES_SCHEMA: &str = "slack_manager";

/// SQLSTATE of a detected deadlock.
const DEADLOCK_DETECTED: &str = "40P01";

/// Options of a [`PostgresStore`].
#[derive(Debug, Clone)]
pub struct PostgresStoreOptions {
    url: String,
    schema: String,
    max_connections: u32,
    acquire_timeout: Duration,
    retention: AlertRetention,
}

impl PostgresStoreOptions {
    /// Connects to `url` (`postgres://user@host:port/database`), schema [`DEFAULT_POSTGRES_SCHEMA`].
    pub fn new(url: impl Into<String>) -> Self {
        PostgresStoreOptions {
            url: url.into(),
            schema: DEFAULT_POSTGRES_SCHEMA.to_owned(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(30),
            retention: AlertRetention::default(),
        }
    }

    /// The schema holding this store's tables: 1–63 ASCII letters, digits and underscores, not
    /// starting with a digit (checked by [`PostgresStore::connect`]).
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Pool size (default 8).
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long an operation waits for a pooled connection (default 30 s).
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Alert history bounds (default [`AlertRetention::default`]).
    pub fn with_retention(mut self, retention: AlertRetention) -> Self {
        self.retention = retention;
        self
    }
}

fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && name.len() <= 63 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The store contract on PostgreSQL. Call [`init`](sm_core::Store::init) once to create the schema.
///
/// ```no_run
/// # async fn dox() -> Result<(), sm_core::StoreError> {
/// use sm_core::Store;
/// use sm_store::{PostgresStore, PostgresStoreOptions};
/// let options = PostgresStoreOptions::new("postgres://postgres@127.0.0.1:5432/test")
///     .with_schema("slack_manager");
/// let store = PostgresStore::connect(options).await?;
/// store.init(false).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: String,
    retention: AlertRetention,
}

impl PostgresStore {
    /// Connects with `options`. Connections are opened lazily, so an unreachable server shows up on
    /// the first operation (usually `init`).
    pub async fn connect(options: PostgresStoreOptions) -> Result<Self, StoreError> {
        if !valid_schema(&options.schema) {
            return Err(StoreError::InvalidArgument(format!(
                "postgres schema name {:?} must be 1-63 ASCII letters, digits or underscores, not starting with a digit",
                options.schema
            )));
        }
        if options.max_connections == 0 {
            return Err(StoreError::InvalidArgument(
                "postgres max_connections is 0".into(),
            ));
        }
        let connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::InvalidArgument(format!("postgres url is invalid: {e}")))?
            .options([("search_path", options.schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy_with(connect);
        Ok(PostgresStore {
            pool,
            schema: options.schema,
            retention: options.retention,
        })
    }

    /// The schema this store uses.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The connection pool (for tools and tests that inspect the database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn run_init(&self, skip_schema_validation: bool) -> Result<(), StoreError> {
        let context = |what: &str| format!("{what} (schema {})", self.schema);
        if skip_schema_validation {
            let exists: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'issues'",
            )
            .bind(&self.schema)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::backend(context("checking the postgres schema"), e))?;
            if exists.is_some() {
                return Ok(());
            }
        }
        // The name was validated in `connect`, so quoting it is enough.
        let create = format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", self.schema);
        if let Err(e) = sqlx::query(&create).execute(&self.pool).await {
            // Two stores creating one schema at once: the loser sees a unique violation; the schema exists.
            let exists: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
            )
            .bind(&self.schema)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::backend(context("creating the postgres schema"), e))?;
            if exists.is_none() {
                return Err(StoreError::backend(
                    context("creating the postgres schema"),
                    e,
                ));
            }
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::backend(context("migrating the postgres schema"), e))
    }

    async fn save_batch(&self, issues: &[Issue]) -> Result<Vec<u64>, StoreError> {
        match self.save_batch_in_transaction(issues).await {
            Err(StoreError::Backend { source, .. }) if is_deadlock(source.as_ref()) => {
                tracing::debug!(
                    issues = issues.len(),
                    "batch save deadlocked with another batch; saving issue by issue"
                );
                let mut versions = Vec::with_capacity(issues.len());
                for issue in issues {
                    versions.push(self.save_pooled(issue).await?);
                }
                Ok(versions)
            }
            other => other,
        }
    }

    async fn save_batch_in_transaction(&self, issues: &[Issue]) -> Result<Vec<u64>, StoreError> {
        let context = || format!("saving {} issues", issues.len());
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::backend(context(), e))?;
        // Lock the existing rows in ID order first, so batches sharing issues in different orders
        // queue up instead of deadlocking. (Rows being created concurrently are not visible yet;
        // that rare case falls back as described in `save_batch`.)
        let ids: Vec<&str> = issues.iter().map(|i| i.id.as_str()).collect();
        sqlx::query("SELECT id FROM issues WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| StoreError::backend(context(), e))?;
        Self::save_each_and_commit(tx, issues).await
    }
}

fn is_deadlock(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .is_some_and(|code| code == DEADLOCK_DETECTED)
}

crate::sql::impl_sql_store!(PostgresStore, PgConnection);
