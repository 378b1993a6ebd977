use std::sync::Arc;
use std::time::Duration;

use sm_core::{Store, StoreError};
use sm_store::{AlertRetention, SqliteStore, SqliteStoreOptions};

use crate::conformance::{self, Caps, fresh, issue};

#[tokio::test]
async fn sqlite_file_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db"))
        .await
        .unwrap();
    store.init(false).await.unwrap();
    conformance::run_all(Arc::new(store), Caps { admin: true }).await;
}

#[tokio::test]
async fn sqlite_in_memory_store_conforms() {
    let store = SqliteStore::in_memory().await.unwrap();
    store.init(false).await.unwrap();
    conformance::run_all(Arc::new(store), Caps { admin: true }).await;
}

#[tokio::test]
async fn sqlite_alert_retention() {
    let by_count = SqliteStore::connect(
        SqliteStoreOptions::in_memory()
            .with_retention(AlertRetention::per_issue(3).with_max_age(None)),
    )
    .await
    .unwrap();
    by_count.init(false).await.unwrap();
    conformance::alert_retention_by_count(&by_count).await;
    // Pruned rows are deleted, not just hidden.
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts")
        .fetch_one(by_count.pool())
        .await
        .unwrap();
    assert_eq!(rows, 4, "3 kept for one issue, 1 for the other");

    let age = Duration::from_millis(200);
    let by_age = SqliteStore::connect(
        SqliteStoreOptions::in_memory()
            .with_retention(AlertRetention::per_issue(10).with_max_age(Some(age))),
    )
    .await
    .unwrap();
    by_age.init(false).await.unwrap();
    conformance::alert_retention_by_age(&by_age, age).await;
}

#[tokio::test]
async fn sqlite_file_persists_across_reopen_and_init_without_validation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("persist.db");
    let channel = fresh("C");
    let saved = issue(&channel, "keep");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.init(false).await.unwrap();
        store.save_issue(&saved).await.unwrap();
        store.pool().close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    store.init(true).await.unwrap();
    let found = store
        .find_open_issue_by_correlation_id(&channel, "keep")
        .await
        .unwrap()
        .expect("issue survives a reopen");
    assert_eq!(found.id, saved.id);
    assert_eq!(found.created, saved.created);
    assert_eq!(found.version, 1);
}

#[tokio::test]
async fn sqlite_corrupt_body_is_reported() {
    let store = SqliteStore::in_memory().await.unwrap();
    store.init(false).await.unwrap();
    sqlx::query(
        "INSERT INTO issues (id, channel_id, correlation_id, post_id, archived, version, body) \
         VALUES ('bad', 'C1', 'corr', '', 0, 1, '{\"id\":\"bad\",\"lastAlert\":null}')",
    )
    .execute(store.pool())
    .await
    .unwrap();
    match store.find_open_issue_by_correlation_id("C1", "corr").await {
        Err(StoreError::Corrupt { kind, id, .. }) => {
            assert_eq!((kind, id.as_str()), ("issue", "bad"))
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_empty_path_is_rejected() {
    match SqliteStore::open("").await {
        Err(StoreError::InvalidArgument(msg)) => assert!(msg.contains("path"), "{msg}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}
