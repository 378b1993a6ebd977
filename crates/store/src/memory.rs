//! [`MemoryStore`]: the store contract over in-process maps.
//!
//! Indexes (open issues by channel and correlation ID, issues by channel and post ID, open issues by
//! channel) keep every lookup independent of the number of stored issues. One mutex guards all maps,
//! so each operation is atomic; it is never held across an `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sm_core::{
    ChannelProcessingState, Issue, IssueAlert, MoveMapping, Store, StoreError, StoredAlert,
};

use crate::args;
use crate::retention::AlertRetention;

type Pair = (String, String);

#[derive(Default)]
struct Maps {
    issues: HashMap<String, Issue>,
    open_by_correlation: HashMap<Pair, BTreeSet<String>>,
    by_post: HashMap<Pair, BTreeSet<String>>,
    open_by_channel: BTreeMap<String, BTreeSet<String>>,
    mappings: HashMap<Pair, MoveMapping>,
    states: HashMap<String, ChannelProcessingState>,
    alerts: HashMap<String, VecDeque<StoredAlert>>,
    /// When alerts of all issues were last checked against the age bound.
    last_age_sweep: Option<DateTime<Utc>>,
}

/// How often `save_alert` sweeps every issue's history for alerts past the age bound.
const AGE_SWEEP_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

fn remove_from<K: std::hash::Hash + Eq + Ord>(
    index: &mut HashMap<K, BTreeSet<String>>,
    key: K,
    id: &str,
) {
    if let Some(set) = index.get_mut(&key) {
        set.remove(id);
        if set.is_empty() {
            index.remove(&key);
        }
    }
}

impl Maps {
    fn unindex(&mut self, old: &Issue) {
        let channel = old.channel_id().to_owned();
        remove_from(
            &mut self.by_post,
            (channel.clone(), old.slack_post_id.clone()),
            &old.id,
        );
        if old.is_open() {
            remove_from(
                &mut self.open_by_correlation,
                (channel.clone(), old.correlation_id.clone()),
                &old.id,
            );
            if let Some(set) = self.open_by_channel.get_mut(&channel) {
                set.remove(&old.id);
                if set.is_empty() {
                    self.open_by_channel.remove(&channel);
                }
            }
        }
    }

    fn index(&mut self, issue: &Issue) {
        let channel = issue.channel_id().to_owned();
        if !issue.slack_post_id.is_empty() {
            self.by_post
                .entry((channel.clone(), issue.slack_post_id.clone()))
                .or_default()
                .insert(issue.id.clone());
        }
        if issue.is_open() {
            self.open_by_correlation
                .entry((channel.clone(), issue.correlation_id.clone()))
                .or_default()
                .insert(issue.id.clone());
            self.open_by_channel
                .entry(channel)
                .or_default()
                .insert(issue.id.clone());
        }
    }

    /// Applies the version rule and stores a copy; returns the new version.
    fn save(&mut self, issue: &Issue) -> Result<u64, StoreError> {
        args::issue(issue)?;
        args::version_i64(issue)?;
        let stored_version = self.issues.get(&issue.id).map_or(0, |old| old.version);
        if issue.version > 0 && issue.version != stored_version {
            return Err(StoreError::VersionConflict {
                issue_id: issue.id.clone(),
                expected: issue.version,
                actual: stored_version,
            });
        }
        let new_version = stored_version + 1;
        let mut copy = issue.clone();
        copy.version = new_version;
        if let Some(old) = self.issues.remove(&issue.id) {
            self.unindex(&old);
        }
        self.index(&copy);
        self.issues.insert(copy.id.clone(), copy);
        Ok(new_version)
    }

    fn matching(&self, ids: Option<&BTreeSet<String>>) -> Vec<Issue> {
        ids.into_iter()
            .flatten()
            .filter_map(|id| self.issues.get(id).cloned())
            .collect()
    }
}

/// The store contract in process memory. Cheap to create; nothing persists.
///
/// ```
/// # async fn dox() -> Result<(), sm_core::StoreError> {
/// use sm_core::Store;
/// let store = sm_store::MemoryStore::new();
/// store.init(false).await?;
/// assert!(store.find_active_channels().await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct MemoryStore {
    maps: Mutex<Maps>,
    retention: AlertRetention,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store with the default [`AlertRetention`].
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The same store with another alert retention.
    pub fn with_retention(mut self, retention: AlertRetention) -> Self {
        self.retention = retention;
        self
    }

    fn maps(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later calls
        // rely on more than the panicking call did, so a poisoned lock is used as is.
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn single(
    mut found: Vec<Issue>,
    channel_id: &str,
    what: String,
) -> Result<Option<Issue>, StoreError> {
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        count => Err(StoreError::Ambiguous {
            channel_id: channel_id.to_owned(),
            what,
            count,
        }),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn init(&self, _skip_schema_validation: bool) -> Result<(), StoreError> {
        Ok(())
    }

    async fn save_alert(&self, issue_id: &str, alert: &IssueAlert) -> Result<(), StoreError> {
        args::non_empty("issue_id", issue_id)?;
        let now = Utc::now();
        let cutoff = self.retention.cutoff(now);
        let max = self.retention.max_per_issue;
        let mut maps = self.maps();
        if let Some(cutoff) = cutoff {
            let prune = |history: &mut VecDeque<StoredAlert>| {
                while history.front().is_some_and(|a| a.stored_at < cutoff) {
                    history.pop_front();
                }
                !history.is_empty()
            };
            // Sweeping every history on every save would cost O(issues); this issue's history is
            // pruned now, the others at most once a minute (reads filter by age anyway).
            if maps
                .last_age_sweep
                .is_none_or(|last| now - last >= AGE_SWEEP_INTERVAL)
            {
                maps.alerts.retain(|_, history| prune(history));
                maps.last_age_sweep = Some(now);
            } else if let Some(history) = maps.alerts.get_mut(issue_id) {
                prune(history);
            }
        }
        if max == 0 {
            return Ok(());
        }
        let history = maps.alerts.entry(issue_id.to_owned()).or_default();
        history.push_back(StoredAlert {
            issue_id: issue_id.to_owned(),
            stored_at: now,
            alert: alert.clone(),
        });
        while history.len() > max {
            history.pop_front();
        }
        Ok(())
    }

    async fn save_issue(&self, issue: &Issue) -> Result<u64, StoreError> {
        self.maps().save(issue)
    }

    async fn save_issues(&self, issues: &[Issue]) -> Result<Vec<u64>, StoreError> {
        let mut maps = self.maps();
        issues.iter().map(|issue| maps.save(issue)).collect()
    }

    async fn move_issue(
        &self,
        issue: &Issue,
        source_channel_id: &str,
        target_channel_id: &str,
    ) -> Result<u64, StoreError> {
        args::move_issue(issue, source_channel_id, target_channel_id)?;
        self.maps().save(issue)
    }

    async fn find_open_issue_by_correlation_id(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<Option<Issue>, StoreError> {
        args::non_empty("channel_id", channel_id)?;
        args::non_empty("correlation_id", correlation_id)?;
        let maps = self.maps();
        let key = (channel_id.to_owned(), correlation_id.to_owned());
        let found = maps.matching(maps.open_by_correlation.get(&key));
        drop(maps);
        single(
            found,
            channel_id,
            format!("correlation id {correlation_id}"),
        )
    }

    async fn find_issue_by_slack_post_id(
        &self,
        channel_id: &str,
        post_id: &str,
    ) -> Result<Option<Issue>, StoreError> {
        args::non_empty("channel_id", channel_id)?;
        args::non_empty("post_id", post_id)?;
        let maps = self.maps();
        let key = (channel_id.to_owned(), post_id.to_owned());
        let found = maps.matching(maps.by_post.get(&key));
        drop(maps);
        single(found, channel_id, format!("post id {post_id}"))
    }

    async fn find_active_channels(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.maps().open_by_channel.keys().cloned().collect())
    }

    async fn load_open_issues_in_channel(
        &self,
        channel_id: &str,
    ) -> Result<Vec<Issue>, StoreError> {
        args::non_empty("channel_id", channel_id)?;
        let maps = self.maps();
        Ok(maps.matching(maps.open_by_channel.get(channel_id)))
    }

    async fn save_move_mapping(&self, mapping: &MoveMapping) -> Result<(), StoreError> {
        args::move_mapping(mapping)?;
        let key = (
            mapping.original_channel_id.clone(),
            mapping.correlation_id.clone(),
        );
        self.maps().mappings.insert(key, mapping.clone());
        Ok(())
    }

    async fn find_move_mapping(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<Option<MoveMapping>, StoreError> {
        args::non_empty("channel_id", channel_id)?;
        args::non_empty("correlation_id", correlation_id)?;
        let key = (channel_id.to_owned(), correlation_id.to_owned());
        Ok(self.maps().mappings.get(&key).cloned())
    }

    async fn delete_move_mapping(
        &self,
        channel_id: &str,
        correlation_id: &str,
    ) -> Result<(), StoreError> {
        args::non_empty("channel_id", channel_id)?;
        args::non_empty("correlation_id", correlation_id)?;
        let key = (channel_id.to_owned(), correlation_id.to_owned());
        self.maps().mappings.remove(&key);
        Ok(())
    }

    async fn save_channel_processing_state(
        &self,
        state: &ChannelProcessingState,
    ) -> Result<(), StoreError> {
        args::processing_state(state)?;
        self.maps()
            .states
            .insert(state.channel_id.clone(), state.clone());
        Ok(())
    }

    async fn find_channel_processing_state(
        &self,
        channel_id: &str,
    ) -> Result<Option<ChannelProcessingState>, StoreError> {
        args::non_empty("channel_id", channel_id)?;
        Ok(self.maps().states.get(channel_id).cloned())
    }

    async fn find_alerts_for_issue(
        &self,
        issue_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        args::non_empty("issue_id", issue_id)?;
        let cutoff = self.retention.cutoff(Utc::now());
        let maps = self.maps();
        let Some(history) = maps.alerts.get(issue_id) else {
            return Ok(Vec::new());
        };
        let kept: Vec<&StoredAlert> = history
            .iter()
            .filter(|a| cutoff.is_none_or(|c| a.stored_at >= c))
            .collect();
        let skip = kept.len().saturating_sub(limit);
        Ok(kept.into_iter().skip(skip).cloned().collect())
    }

    async fn drop_all_data(&self) -> Result<(), StoreError> {
        *self.maps() = Maps::default();
        Ok(())
    }
}
