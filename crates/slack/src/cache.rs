//! The Web API client's lookup cache: in-process (moka), with a TTL per entry and jitter.
//!
//! Jitter spreads expiry so many instances do not refresh the same lookup at the same moment: the
//! TTL of an entry is `min + uniform whole seconds in [0, variation)` (`spec/slack.md` §2.2).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use rand::Rng;

use crate::types::{ChannelInfo, ChannelSummary, UserInfo};

/// A cached lookup result.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    Channel(Arc<ChannelInfo>),
    ChannelNotFound,
    Channels(Arc<Vec<ChannelSummary>>),
    User(Arc<UserInfo>),
    Set(Arc<HashSet<String>>),
    Bool(bool),
}

#[derive(Debug, Clone)]
struct Entry {
    value: Cached,
    ttl: Duration,
}

struct PerEntry;

impl Expiry<String, Entry> for PerEntry {
    fn expire_after_create(&self, _key: &String, value: &Entry, _now: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// `min + rand[0, variation)` in whole seconds.
pub(crate) fn jittered(min: Duration, variation_secs: u64) -> Duration {
    if variation_secs == 0 {
        return min;
    }
    min + Duration::from_secs(rand::rng().random_range(0..variation_secs))
}

/// The cache, keyed `<prefix>slack-api-client:<Key>`.
pub(crate) struct LookupCache {
    inner: moka::future::Cache<String, Entry>,
    prefix: String,
}

impl LookupCache {
    pub(crate) fn new(prefix: &str) -> Self {
        LookupCache {
            inner: moka::future::Cache::builder()
                .max_capacity(100_000)
                .expire_after(PerEntry)
                .build(),
            prefix: format!("{prefix}slack-api-client:"),
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Option<Cached> {
        self.inner
            .get(&format!("{}{key}", self.prefix))
            .await
            .map(|e| e.value)
    }

    pub(crate) async fn put(&self, key: &str, value: Cached, ttl: Duration) {
        self.inner
            .insert(format!("{}{key}", self.prefix), Entry { value, ttl })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..200 {
            let d = jittered(Duration::from_secs(10), 10);
            assert!(
                d >= Duration::from_secs(10) && d < Duration::from_secs(20),
                "{d:?}"
            );
        }
        assert_eq!(
            jittered(Duration::from_secs(60), 0),
            Duration::from_secs(60)
        );
    }

    #[tokio::test]
    async fn entries_expire_after_their_own_ttl() {
        let c = LookupCache::new("p:");
        c.put("a", Cached::Bool(true), Duration::from_millis(30))
            .await;
        c.put("b", Cached::Bool(false), Duration::from_secs(60))
            .await;
        assert!(matches!(c.get("a").await, Some(Cached::Bool(true))));
        let deadline = Instant::now() + Duration::from_secs(5);
        while c.get("a").await.is_some() {
            assert!(Instant::now() < deadline, "entry a did not expire");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(matches!(c.get("b").await, Some(Cached::Bool(false))));
    }
}
