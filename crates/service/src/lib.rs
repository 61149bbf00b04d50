//! The use cases of regen-admin, shared by the REST API and the UI's server
//! functions so that both obey the same rules. Every operation takes the
//! caller and authorises it here: no route can reach the data without it.

mod audit_journal;
mod auth;
mod cursor;
mod error;
mod jobs;
mod metrics;

pub use audit_journal::{AuditJournal, ReplayReport};
pub use auth::{
    hash_password, Caller, LoginFailure, LoginThrottle, SessionPolicy, SessionSecret,
    API_TOKEN_PREFIX,
};
pub use cursor::Cursor;
pub use error::ServiceError;
pub use jobs::{percent_encode, JobPage, ListQuery, Triggered, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use metrics::{ServiceMetrics, TriggerCounts};
pub use regen_storage::{now, Backend, JobFilter, Role, Store, StoreOptions};

use std::sync::Arc;

/// The one service object an instance builds at start-up and hands to both
/// the REST routes and the Leptos server functions.
#[derive(Clone)]
pub struct AdminService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    journal: AuditJournal,
    sessions: SessionPolicy,
    throttle: LoginThrottle,
    password_checks: tokio::sync::Semaphore,
    metrics: ServiceMetrics,
}

impl AdminService {
    pub fn new(store: Store, journal: AuditJournal, sessions: SessionPolicy) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                journal,
                sessions,
                throttle: LoginThrottle::default(),
                password_checks: tokio::sync::Semaphore::new(4),
                metrics: ServiceMetrics::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn journal(&self) -> &AuditJournal {
        &self.inner.journal
    }

    pub fn metrics(&self) -> &ServiceMetrics {
        &self.inner.metrics
    }

    pub fn session_policy(&self) -> &SessionPolicy {
        &self.inner.sessions
    }
}

/// Only admins may see or do anything; members are known but refused.
pub fn require_admin(caller: Option<&Caller>) -> Result<&Caller, ServiceError> {
    match caller {
        None => Err(ServiceError::Unauthenticated),
        Some(caller) if caller.role == Role::Admin => Ok(caller),
        Some(_) => Err(ServiceError::Forbidden),
    }
}

/// Test support re-exported for the server's integration tests.
#[cfg(feature = "testing")]
pub use regen_storage::testing;
