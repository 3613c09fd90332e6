//! Whose turn is it? The password checks of one sign-in name or one client address are judged
//! one at a time. Within a replica that is an async mutex per key, waited for without holding a
//! pooled connection (sixteen tabs signing in at once must not take sixteen connections); across
//! replicas the advisory locks of `throttle::one_at_a_time` follow, uncontended but by other
//! replicas.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use tokio::sync::OwnedMutexGuard;

use crate::error::AppError;

/// How long a check waits for its turn before it is refused (429).
const WAIT: Duration = Duration::from_secs(2);
/// Entries kept before the dead ones are swept.
const SWEEP_AT: usize = 1024;

#[derive(Default)]
pub struct Turns(Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>);

/// A check's turn: held until it is dropped.
pub struct Turn(#[allow(dead_code)] Vec<OwnedMutexGuard<()>>);

impl Turns {
    /// Waits for the turn of every key, in the order given (callers give them in one order:
    /// the name, then the address); `429` after [`WAIT`].
    pub async fn take(&self, keys: &[String]) -> Result<Turn, AppError> {
        let mutexes: Vec<_> = keys.iter().map(|key| self.mutex_of(key)).collect();
        let all = async {
            let mut guards = Vec::with_capacity(mutexes.len());
            for mutex in mutexes {
                guards.push(mutex.lock_owned().await);
            }
            guards
        };
        tokio::time::timeout(WAIT, all)
            .await
            .map(Turn)
            .map_err(|_| AppError::RateLimited {
                retry_after_secs: 1,
            })
    }

    fn mutex_of(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mutex) = map.get(key).and_then(Weak::upgrade) {
            return mutex;
        }
        if map.len() >= SWEEP_AT {
            map.retain(|_, weak| weak.strong_count() > 0);
        }
        let mutex = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(key.to_owned(), Arc::downgrade(&mutex));
        mutex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_taken_once_at_a_time_and_other_keys_are_free() {
        let turns = Turns::default();
        let held = turns.take(&["a".into()]).await.unwrap();
        assert!(
            turns.take(&["b".into()]).await.is_ok(),
            "another key is free"
        );
        let both = ["a".to_owned(), "b".to_owned()];
        let waiting = turns.take(&both).await;
        assert!(
            matches!(waiting, Err(AppError::RateLimited { .. })),
            "after two seconds"
        );
        drop(held);
        assert!(turns.take(&["a".into()]).await.is_ok());
    }
}
