//! A credential's last use (a token's last-used time, a session's
//! last-seen time) is bookkeeping beside a request: it never makes the
//! request wait on another writer, and never makes it fail.
//! - Within this process one request at a time writes a credential's time.
//!   The others that find it stale meanwhile answer without writing, instead
//!   of queueing behind that write's lock and commit (under a slow disk or a
//!   long bulk trigger, every request of the credential stalled together).
//!   Across instances the UPDATE's own condition lets one write win.
//! - A write that fails (the lock held past the timeout) is logged and the
//!   request answers: the next request that finds the time stale writes it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::StorageError;

/// The credentials whose time a request of this process is writing now.
#[derive(Debug, Clone, Default)]
pub(crate) struct LastUseWrites(Arc<Mutex<HashSet<String>>>);

/// The right to write one credential's time, given back when dropped (also
/// when the request is dropped half-way).
struct Claim {
    writes: LastUseWrites,
    key: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.writes.held().remove(&self.key);
    }
}

impl LastUseWrites {
    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // The set stays whole whatever panicked while holding it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim(&self, key: String) -> Option<Claim> {
        self.held().insert(key.clone()).then(|| Claim {
            writes: self.clone(),
            key,
        })
    }

    /// Runs `update` (a conditional UPDATE of `what`'s time, keyed by
    /// `key`) unless a request of this process is already running it; its
    /// failure is logged, not returned.
    pub(crate) async fn record<'q, 'c>(
        &self,
        what: &'static str,
        key: &str,
        executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
        update: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) {
        let Some(_claim) = self.claim(format!("{what}:{key}")) else {
            return;
        };
        if let Err(error) = update.execute(executor).await.map_err(StorageError::from) {
            tracing::warn!(%error, what, "could not record a credential's last use; the request goes on");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_credential_at_a_time_given_back_when_dropped() {
        let writes = LastUseWrites::default();
        let first = writes.claim("token:a".into());
        assert!(first.is_some());
        assert!(writes.claim("token:a".into()).is_none());
        assert!(
            writes.claim("token:b".into()).is_some(),
            "another credential"
        );
        drop(first);
        assert!(writes.claim("token:a".into()).is_some());
    }
}
