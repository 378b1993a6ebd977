use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sm_core::{Store, StoreError};
use sm_store::{AlertRetention, PostgresStore, PostgresStoreOptions};

use crate::conformance::{self, Caps, fresh, issue};

/// A unique schema name for one test.
fn schema_name() -> String {
    format!("sm_store_test_{}", ulid::Ulid::new()).to_lowercase()
}

async fn store(schema: &str, retention: AlertRetention) -> PostgresStore {
    let options = PostgresStoreOptions::new(sm_test_support::postgres_url())
        .with_schema(schema)
        .with_max_connections(4)
        .with_retention(retention);
    let store = PostgresStore::connect(options).await.unwrap();
    if let Err(e) = store.init(false).await {
        panic!(
            "PostgreSQL at {} is not usable ({e}); run the tests with `.ci/run`, which starts it",
            sm_test_support::postgres_url()
        );
    }
    store
}

/// Runs `body` with a fresh schema and drops that schema (only it) afterwards, even when `body` panics.
async fn with_schema<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let schema = schema_name();
    let outcome = tokio::spawn(body(schema.clone())).await;
    let admin = PostgresStore::connect(PostgresStoreOptions::new(sm_test_support::postgres_url()))
        .await
        .unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(admin.pool())
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn postgres_store_conforms() {
    with_schema(|schema| async move {
        let store = store(&schema, AlertRetention::default()).await;
        conformance::run_all(Arc::new(store), Caps { admin: true }).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_alert_retention() {
    with_schema(|schema| async move {
        let by_count = store(&schema, AlertRetention::per_issue(3).with_max_age(None)).await;
        conformance::alert_retention_by_count(&by_count).await;
        let age = Duration::from_millis(200);
        let by_age = store(
            &schema,
            AlertRetention::per_issue(10).with_max_age(Some(age)),
        )
        .await;
        conformance::alert_retention_by_age(&by_age, age).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_schemas_isolate_stores() {
    with_schema(|first| async move {
        let a = store(&first, AlertRetention::default()).await;
        let second = schema_name();
        let b = store(&second, AlertRetention::default()).await;
        let channel = fresh("C");
        a.save_issue(&issue(&channel, "only-in-a")).await.unwrap();
        let in_b = b
            .find_open_issue_by_correlation_id(&channel, "only-in-a")
            .await;
        sqlx::query(&format!("DROP SCHEMA \"{second}\" CASCADE"))
            .execute(a.pool())
            .await
            .unwrap();
        assert_eq!(
            in_b.unwrap(),
            None,
            "the second schema does not see the first one's issue"
        );
        assert!(
            a.find_open_issue_by_correlation_id(&channel, "only-in-a")
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn postgres_invalid_schema_name_is_rejected() {
    for bad in ["", "1abc", "a-b", "x\"; DROP SCHEMA public; --"] {
        let options = PostgresStoreOptions::new(sm_test_support::postgres_url()).with_schema(bad);
        match PostgresStore::connect(options).await {
            Err(StoreError::InvalidArgument(msg)) => assert!(msg.contains("schema"), "{msg}"),
            other => panic!("expected InvalidArgument for {bad:?}, got {other:?}"),
        }
    }
}
