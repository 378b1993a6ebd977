//! Per-target concurrency limit: at most N requests in flight to one origin (scheme, host, port).
//!
//! A burst of button clicks (or of retries) must not overload one receiver, while other targets
//! stay unaffected. Semaphores are created on demand and removed when the last permit holder and
//! waiter is gone, so the map does not grow with the number of distinct targets ever seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The semaphores of all targets with requests in flight.
#[derive(Debug)]
pub(crate) struct TargetLimits {
    max: usize,
    map: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl TargetLimits {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot for `key`.
    pub(crate) async fn acquire(self: &Arc<Self>, key: &str) -> TargetPermit {
        let sem = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                map.entry(key.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.max))),
            )
        };
        // The semaphore is never closed, so acquisition only fails if it were; treat that as "no
        // limit" rather than failing a delivery.
        let permit = Arc::clone(&sem).acquire_owned().await.ok();
        TargetPermit {
            permit,
            sem,
            key: key.to_owned(),
            limits: Arc::clone(self),
        }
    }

    /// Number of targets with a live semaphore (for tests).
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A slot for one request; released on drop.
#[derive(Debug)]
pub(crate) struct TargetPermit {
    permit: Option<OwnedSemaphorePermit>,
    sem: Arc<Semaphore>,
    key: String,
    limits: Arc<TargetLimits>,
}

impl Drop for TargetPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut map = self
            .limits
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Clones are only taken under this lock, so a count of 2 (the map's and ours) means nobody
        // else holds or waits on this semaphore.
        if Arc::strong_count(&self.sem) == 2 {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limits_per_key_and_cleans_up() {
        let limits = Arc::new(TargetLimits::new(2));
        let a1 = limits.acquire("a").await;
        let a2 = limits.acquire("a").await;
        let b1 = limits.acquire("b").await;
        assert_eq!(limits.tracked(), 2);
        let waiter = {
            let limits = Arc::clone(&limits);
            tokio::spawn(async move { limits.acquire("a").await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(a1);
        let a3 = waiter.await.unwrap();
        drop((a2, a3, b1));
        assert_eq!(limits.tracked(), 0);
    }
}
