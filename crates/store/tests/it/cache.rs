use std::sync::Arc;

use sm_core::{ChannelProcessingState, MoveMapping, MoveReason, Store};
use sm_store::{CacheOptions, CachedStore, MemoryStore};

use crate::conformance::{self, Caps, fresh, issue};

#[tokio::test]
async fn cached_memory_store_conforms() {
    let inner: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let store = CachedStore::new(inner, CacheOptions::default());
    conformance::run_all(Arc::new(store), Caps { admin: false }).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn cached_sqlite_store_conforms() {
    let inner = sm_store::SqliteStore::in_memory().await.unwrap();
    inner.init(false).await.unwrap();
    let store = CachedStore::new(Arc::new(inner), CacheOptions::default());
    conformance::run_all(Arc::new(store), Caps { admin: false }).await;
}

#[tokio::test]
async fn unchanged_issues_are_not_written_again() {
    let inner = Arc::new(MemoryStore::new());
    let cached = CachedStore::new(Arc::clone(&inner), CacheOptions::default());
    let channel = fresh("C");
    let mut i = issue(&channel, "skip");

    // Version-0 copies: the second identical save is skipped and returns the stored version.
    assert_eq!(cached.save_issue(&i).await.unwrap(), 1);
    assert_eq!(cached.save_issue(&i).await.unwrap(), 1);
    let stored = inner
        .find_open_issue_by_correlation_id(&channel, "skip")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.version, 1,
        "the skipped save did not reach the store"
    );

    // Versioned copies: unchanged at the current version is skipped; a change is written.
    i.version = 1;
    assert_eq!(cached.save_issue(&i).await.unwrap(), 1);
    i.alert_count += 1;
    assert_eq!(cached.save_issue(&i).await.unwrap(), 2);
    assert_eq!(
        inner
            .find_open_issue_by_correlation_id(&channel, "skip")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    // A batch writes only the changed issues and returns every version in order.
    let other = issue(&channel, "skip-2");
    i.version = 2;
    let versions = cached
        .save_issues(&[i.clone(), other.clone()])
        .await
        .unwrap();
    assert_eq!(versions, vec![2, 1]);
    assert_eq!(
        inner
            .find_open_issue_by_correlation_id(&channel, "skip")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    // Loading refreshes hashes: saving a loaded, unchanged issue is skipped.
    let other_channel = fresh("C");
    let loaded_issue = issue(&other_channel, "loaded");
    inner.save_issue(&loaded_issue).await.unwrap();
    inner.save_issue(&loaded_issue).await.unwrap();
    let loaded = cached
        .load_open_issues_in_channel(&other_channel)
        .await
        .unwrap();
    assert_eq!(loaded[0].version, 2);
    assert_eq!(cached.save_issue(&loaded[0]).await.unwrap(), 2);
    assert_eq!(
        inner
            .find_open_issue_by_correlation_id(&other_channel, "loaded")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

#[tokio::test]
async fn move_mapping_misses_are_cached() {
    let inner = Arc::new(MemoryStore::new());
    let cached = CachedStore::new(Arc::clone(&inner), CacheOptions::default());
    let channel = fresh("C");
    assert_eq!(cached.find_move_mapping(&channel, "m").await.unwrap(), None);

    // Written behind the cache's back (as another instance would): the negative entry hides it.
    let m = MoveMapping::new("m", &channel, fresh("C"), MoveReason::UserCommand);
    inner.save_move_mapping(&m).await.unwrap();
    assert_eq!(cached.find_move_mapping(&channel, "m").await.unwrap(), None);

    // Written through the cache: visible at once; deleted through the cache: gone at once.
    cached.save_move_mapping(&m).await.unwrap();
    assert_eq!(
        cached.find_move_mapping(&channel, "m").await.unwrap(),
        Some(m)
    );
    cached.delete_move_mapping(&channel, "m").await.unwrap();
    assert_eq!(cached.find_move_mapping(&channel, "m").await.unwrap(), None);
    assert_eq!(inner.find_move_mapping(&channel, "m").await.unwrap(), None);
}

#[tokio::test]
async fn processing_states_are_cached() {
    let inner = Arc::new(MemoryStore::new());
    let cached = CachedStore::new(Arc::clone(&inner), CacheOptions::default());
    let channel = fresh("C");
    // Misses are not cached: a state saved behind the cache is found.
    assert_eq!(
        cached
            .find_channel_processing_state(&channel)
            .await
            .unwrap(),
        None
    );
    let mut st = ChannelProcessingState::new(&channel);
    inner.save_channel_processing_state(&st).await.unwrap();
    assert_eq!(
        cached
            .find_channel_processing_state(&channel)
            .await
            .unwrap(),
        Some(st.clone())
    );

    // Hits are: a later change behind the cache is not seen (the multi-instance caveat).
    let cached_copy = st.clone();
    st.open_issues = 3;
    inner.save_channel_processing_state(&st).await.unwrap();
    assert_eq!(
        cached
            .find_channel_processing_state(&channel)
            .await
            .unwrap(),
        Some(cached_copy)
    );

    // Saved through the cache: seen at once.
    st.open_issues = 4;
    cached.save_channel_processing_state(&st).await.unwrap();
    assert_eq!(
        cached
            .find_channel_processing_state(&channel)
            .await
            .unwrap(),
        Some(st)
    );
}
