use std::sync::Arc;
use std::time::Duration;

use sm_core::Store;
use sm_store::{AlertRetention, MemoryStore};

use crate::conformance::{self, Caps};

#[tokio::test]
async fn memory_store_conforms() {
    let store = MemoryStore::new();
    store.init(false).await.unwrap();
    conformance::run_all(Arc::new(store), Caps { admin: true }).await;
}

#[tokio::test]
async fn memory_store_alert_retention() {
    let by_count =
        MemoryStore::new().with_retention(AlertRetention::per_issue(3).with_max_age(None));
    conformance::alert_retention_by_count(&by_count).await;
    let age = Duration::from_millis(200);
    let by_age =
        MemoryStore::new().with_retention(AlertRetention::per_issue(10).with_max_age(Some(age)));
    conformance::alert_retention_by_age(&by_age, age).await;
}
