//! [`CachedStore`]: the manager's DB cache middleware (Go `manager/db_cache.go`) over any store.
//!
//! Three sub-caches, in process memory ([`moka`]), keyed as in the Go manager
//! (`<prefix>db-cache:<kind>:<id>`, default prefix [`DEFAULT_CACHE_KEY_PREFIX`]):
//!
//! | Sub-cache | Key suffix | Value | TTL |
//! |---|---|---|---|
//! | issue hash | `issueHash:<issue ID>` | SHA-256 of the issue JSON (without `version`) and the stored version | 30 days |
//! | processing state | `channelProcessingState:<channel ID>` | the state | 24 h |
//! | move mapping | `moveMapping:<concat_hash(channel + ":" + correlation ID)>` | the mapping, or "not found" | 24 h |
//!
//! - Issue saves skip issues whose JSON hash equals the cached one, *if* the copy's version is 0 or
//!   the cached stored version; a skipped issue's returned version is that stored version, unchanged.
//!   Changed issues lose their cached hash before the write; after a successful write the hashes of
//!   all input issues are cached. One changed issue is written with `save_issue`, several with
//!   `save_issues`. `move_issue` and `load_open_issues_in_channel` refresh hashes too.
//! - Move-mapping lookups are cached including "not found" (a negative cache); deleting removes
//!   the entry before the write.
//! - Processing states are cached when found or saved.
//! - `init` and `drop_all_data` fail with [`StoreError::Unsupported`]: call them on the wrapped store.
//! - Everything else passes through.
//!
//! # Multi-instance caveat
//! The caches live in this process. With several manager instances on one database:
//! - The negative move-mapping cache and the processing-state cache can be stale for up to their
//!   TTL (24 h by default): a mapping created, or a state saved, by another instance is not seen.
//!   Use a short TTL ([`CacheOptions::with_move_mapping_ttl`],
//!   [`CacheOptions::with_processing_state_ttl`]) or no cache in such setups.
//! - The issue-hash skip is safe for versioned copies: a skipped save wrote nothing, and if another
//!   instance saved the issue meanwhile, the next real save of this copy fails with
//!   [`StoreError::VersionConflict`] instead of overwriting. For version-0 (last-write-wins) copies,
//!   a skipped save leaves another instance's newer write in place where the plain store would have
//!   overwritten it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use sm_core::{
    ChannelProcessingState, Issue, IssueAlert, MoveMapping, Store, StoreError, StoredAlert,
    concat_hash,
};

/// The key prefix of the Go manager's cache (`slack-manager:`), followed by `db-cache:`.
pub const DEFAULT_CACHE_KEY_PREFIX: &str = "slack-manager:";

/// Sizes, lifetimes and key prefix of a [`CachedStore`].
#[derive(Debug, Clone)]
pub struct CacheOptions {
    key_prefix: String,
    issue_hash_ttl: Duration,
    move_mapping_ttl: Duration,
    processing_state_ttl: Duration,
    max_entries: u64,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            key_prefix: DEFAULT_CACHE_KEY_PREFIX.to_owned(),
            issue_hash_ttl: Duration::from_secs(30 * 24 * 3600),
            move_mapping_ttl: Duration::from_secs(24 * 3600),
            processing_state_ttl: Duration::from_secs(24 * 3600),
            max_entries: 100_000,
        }
    }
}

impl CacheOptions {
    /// Key prefix before `db-cache:` (default [`DEFAULT_CACHE_KEY_PREFIX`]).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Lifetime of cached issue hashes (default 30 days).
    pub fn with_issue_hash_ttl(mut self, ttl: Duration) -> Self {
        self.issue_hash_ttl = ttl;
        self
    }

    /// Lifetime of cached move mappings and "not found" results (default 24 h).
    pub fn with_move_mapping_ttl(mut self, ttl: Duration) -> Self {
        self.move_mapping_ttl = ttl;
        self
    }

    /// Lifetime of cached processing states (default 24 h).
    pub fn with_processing_state_ttl(mut self, ttl: Duration) -> Self {
        self.processing_state_ttl = ttl;
        self
    }

    /// Most entries kept per sub-cache (default 100 000); the least used are evicted first.
    pub fn with_max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }
}

/// What the cache knows of a stored issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IssueHash {
    sha256: [u8; 32],
    version: u64,
}

/// The DB cache middleware over a store `S` (by default any `dyn Store`).
///
/// ```
/// # async fn dox() -> Result<(), sm_core::StoreError> {
/// use std::sync::Arc;
/// use sm_core::Store;
/// use sm_store::{CacheOptions, CachedStore, MemoryStore};
/// let inner: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// inner.init(false).await?;
/// let store = CachedStore::new(inner, CacheOptions::default());
/// assert_eq!(store.find_move_mapping("C1", "corr").await?, None);
/// # Ok(()) }
/// ```
pub struct CachedStore<S: Store + ?Sized = dyn Store> {
    inner: Arc<S>,
    key_prefix: String,
    issue_hashes: Cache<String, IssueHash>,
    move_mappings: Cache<String, Option<MoveMapping>>,
    processing_states: Cache<String, ChannelProcessingState>,
}

impl<S: Store + ?Sized> std::fmt::Debug for CachedStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore")
            .field("key_prefix", &self.key_prefix)
            .field("issue_hashes", &self.issue_hashes.entry_count())
            .field("move_mappings", &self.move_mappings.entry_count())
            .field("processing_states", &self.processing_states.entry_count())
            .finish_non_exhaustive()
    }
}

fn cache<V: Clone + Send + Sync + 'static>(max: u64, ttl: Duration) -> Cache<String, V> {
    Cache::builder().max_capacity(max).time_to_live(ttl).build()
}

/// SHA-256 of the issue JSON without its version (the version is kept beside the hash).
fn issue_hash(issue: &Issue) -> Result<[u8; 32], StoreError> {
    let json = if issue.version == 0 {
        serde_json::to_vec(issue)
    } else {
        let mut copy = issue.clone();
        copy.version = 0;
        serde_json::to_vec(&copy)
    }
    .map_err(|e| StoreError::backend(format!("encoding issue {} for hashing", issue.id), e))?;
    Ok(Sha256::digest(&json).into())
}

impl<S: Store + ?Sized> CachedStore<S> {
    /// Wraps `inner`. The wrapped store must already be initialised.
    pub fn new(inner: Arc<S>, options: CacheOptions) -> Self {
        CachedStore {
            inner,
            key_prefix: format!("{}db-cache:", options.key_prefix),
            issue_hashes: cache(options.max_entries, options.issue_hash_ttl),
            move_mappings: cache(options.max_entries, options.move_mapping_ttl),
            processing_states: cache(options.max_entries, options.processing_state_ttl),
        }
    }

    /// The wrapped store (for `init`, `drop_all_data` and reads that must bypass the cache).
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    fn issue_key(&self, issue_id: &str) -> String {
        format!("{}issueHash:{issue_id}", self.key_prefix)
    }

    fn mapping_key(&self, channel_id: &str, correlation_id: &str) -> String {
        let hash = concat_hash([format!("{channel_id}:{correlation_id}")]);
        format!("{}moveMapping:{hash}", self.key_prefix)
    }

    fn state_key(&self, channel_id: &str) -> String {
        format!("{}channelProcessingState:{channel_id}", self.key_prefix)
    }

    async fn remember_issue(&self, issue: &Issue, sha256: [u8; 32], version: u64) {
        self.issue_hashes
            .insert(self.issue_key(&issue.id), IssueHash { sha256, version })
            .await;
    }
}

#[async_trait]
impl<S: Store + ?Sized> Store for CachedStore<S> {
    async fn init(&self, _skip_schema_validation: bool) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "init through the database cache; call it on the wrapped store".into(),
        ))
    }

    async fn save_alert(&self, issue_id: &str, alert: &IssueAlert) -> Result<(), StoreError> {
        self.inner.save_alert(issue_id, alert).await
    }

    async fn save_issue(&self, issue: &Issue) -> Result<u64, StoreError> {
        let mut versions = self.save_issues(std::slice::from_ref(issue)).await?;
        versions.pop().ok_or_else(|| {
            StoreError::backend(
                format!("saving issue {}", issue.id),
                "the store returned no version",
            )
        })
    }

    async fn save_issues(&self, issues: &[Issue]) -> Result<Vec<u64>, StoreError> {
        let mut hashes = Vec::with_capacity(issues.len());
        // For each input: Some(version) when skipped, None when it must be written.
        let mut versions: Vec<Option<u64>> = Vec::with_capacity(issues.len());
        let mut changed = Vec::new();
        for (i, issue) in issues.iter().enumerate() {
            crate::args::issue(issue)?;
            let sha256 = issue_hash(issue)?;
            let key = self.issue_key(&issue.id);
            match self.issue_hashes.get(&key).await {
                Some(c)
                    if c.sha256 == sha256 && (issue.version == 0 || issue.version == c.version) =>
                {
                    versions.push(Some(c.version));
                }
                _ => {
                    self.issue_hashes.invalidate(&key).await;
                    versions.push(None);
                    changed.push(i);
                }
            }
            hashes.push(sha256);
        }
        let written = match changed.as_slice() {
            [] => Vec::new(),
            [one] => vec![self.inner.save_issue(&issues[*one]).await?],
            many => {
                let batch: Vec<Issue> = many.iter().map(|&i| issues[i].clone()).collect();
                self.inner.save_issues(&batch).await?
            }
        };
        if written.len() != changed.len() {
            return Err(StoreError::backend(
                format!("saving {} issues", changed.len()),
                format!("the store returned {} versions", written.len()),
            ));
        }
        for (&i, v) in changed.iter().zip(written) {
            versions[i] = Some(v);
        }
        let mut out = Vec::with_capacity(issues.len());
        for ((issue, sha256), version) in issues.iter().zip(hashes).zip(versions) {
            // Every slot is filled: skipped ones above, written ones just now.
            let version = version.unwrap_or(issue.version);
            self.remember_issue(issue, sha256, version).await;
            out.push(version);
        }
        Ok(out)
    }

    async fn move_issue(
        &self,
        issue: &Issue,
        source_channel_id: &str,
        target_channel_id: &str,
    ) -> Result<u64, StoreError> {
        crate::args::move_issue(issue, source_channel_id, target_channel_id)?;
        let sha256 = issue_hash(issue)?;
        self.issue_hashes
            .invalidate(&self.issue_key(&issue.id))
            .await;
        let version = self
            .inner
            .move_issue(issue, source_channel_id, target_channel_id)
            .await?;
        self.remember_issue(issue, sha256, version).await;
        Ok(version)
    }

    async fn find_open_issue_by_correlation_id(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<Option<Issue>, StoreError> {
        self.inner
            .find_open_issue_by_correlation_id(channel_id, correlation_id)
            .await
    }

    async fn find_issue_by_slack_post_id(
        &self,
        channel_id: &str,
        post_id: &str,
    ) -> Result<Option<Issue>, StoreError> {
        self.inner
            .find_issue_by_slack_post_id(channel_id, post_id)
            .await
    }

    async fn find_active_channels(&self) -> Result<Vec<String>, StoreError> {
        self.inner.find_active_channels().await
    }

    async fn load_open_issues_in_channel(
        &self,
        channel_id: &str,
    ) -> Result<Vec<Issue>, StoreError> {
        let issues = self.inner.load_open_issues_in_channel(channel_id).await?;
        for issue in &issues {
            // Hash the canonical re-serialisation (not the raw body) so the next save of an
            // unchanged issue is skipped.
            match issue_hash(issue) {
                Ok(sha256) => self.remember_issue(issue, sha256, issue.version).await,
                Err(e) => {
                    tracing::warn!(issue_id = %issue.id, error = %e, "cannot hash loaded issue")
                }
            }
        }
        Ok(issues)
    }

    async fn save_move_mapping(&self, mapping: &MoveMapping) -> Result<(), StoreError> {
        self.inner.save_move_mapping(mapping).await?;
        let key = self.mapping_key(&mapping.original_channel_id, &mapping.correlation_id);
        self.move_mappings.insert(key, Some(mapping.clone())).await;
        Ok(())
    }

    async fn find_move_mapping(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<Option<MoveMapping>, StoreError> {
        crate::args::non_empty("channel_id", channel_id)?;
        crate::args::non_empty("correlation_id", correlation_id)?;
        let key = self.mapping_key(channel_id, correlation_id);
        if let Some(cached) = self.move_mappings.get(&key).await {
            return Ok(cached);
        }
        let found = self
            .inner
            .find_move_mapping(channel_id, correlation_id)
            .await?;
        self.move_mappings.insert(key, found.clone()).await;
        Ok(found)
    }

    async fn delete_move_mapping(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<(), StoreError> {
        crate::args::non_empty("channel_id", channel_id)?;
        crate::args::non_empty("correlation_id", correlation_id)?;
        self.move_mappings
            .invalidate(&self.mapping_key(channel_id, correlation_id))
            .await;
        self.inner
            .delete_move_mapping(channel_id, correlation_id)
            .await
    }

    async fn save_channel_processing_state(
        &self,
        state: &ChannelProcessingState,
    ) -> Result<(), StoreError> {
        self.inner.save_channel_processing_state(state).await?;
        self.processing_states
            .insert(self.state_key(&state.channel_id), state.clone())
            .await;
        Ok(())
    }

    async fn find_channel_processing_state(
        &self,
        channel_id: &str,
    ) -> Result<Option<ChannelProcessingState>, StoreError> {
        crate::args::non_empty("channel_id", channel_id)?;
        let key = self.state_key(channel_id);
        if let Some(cached) = self.processing_states.get(&key).await {
            return Ok(Some(cached));
        }
        let found = self.inner.find_channel_processing_state(channel_id).await?;
        if let Some(state) = &found {
            self.processing_states.insert(key, state.clone()).await;
        }
        Ok(found)
    }

    async fn find_alerts_for_issue(
        &self,
        issue_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        self.inner.find_alerts_for_issue(issue_id, limit).await
    }

    async fn drop_all_data(&self) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "drop_all_data through the database cache; call it on the wrapped store".into(),
        ))
    }
}
