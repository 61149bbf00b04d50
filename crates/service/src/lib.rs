//! The use cases of regen-admin, shared by the REST API, the UI's server
//! functions and the operator CLI, so that all of them obey the same rules.
//! Every operation takes its caller and authorises it here. Storage is
//! private to this crate: no route, page or command reaches the data
//! without passing through one of these methods.

#![forbid(unsafe_code)]

mod accounts;
mod activity;
mod audit;
mod audit_journal;
mod auth;
mod bulk;
mod cursor;
mod device_cookies;
mod error;
mod export;
mod export_format;
mod export_pages;
mod idempotency;
mod jobs;
mod metrics;
mod operator;
mod page_chart;
mod passwords;
mod payloads;
mod preferences;
mod secrets;
mod sso;
mod stats;
mod target_jobs;
mod throttle;
mod trigger;

pub use accounts::{CreatedToken, PasswordChange, RoleChange, TokenRequest, MAX_TOKEN_LABEL};
pub use activity::{ActivityQuery, BucketSize, ACTIVITY_FOLD_EVERY, MAX_BUCKETS};
pub use audit::{AuditPage, AuditQuery};
pub use audit_journal::ReplayReport;
pub use auth::{ClientInfo, LoggedIn, LoginFailure, SessionPolicy};
pub use bulk::{BulkFilter, BulkSelection};
pub use cursor::{CURSOR_PATTERN, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use device_cookies::DeviceCookie;
pub use error::ServiceError;
pub use export::{Export, ExportKind, ExportLimit, ExportOutcome};
pub use export_format::{csv_cell, ExportFormat};
pub use idempotency::{
    Admission, IdempotencyKey, KeyedRequest, IDEMPOTENCY_KEY_KEPT, IDEMPOTENCY_LEASE,
    MAX_IDEMPOTENCY_KEY_LEN,
};
pub use jobs::{JobPage, ListQuery};
pub use metrics::{ExportCount, SecurityEvent, ServiceMetrics, TriggerCounts};
pub use operator::Operator;
pub use page_chart::PAGE_CHART_MAX_AGE;
pub use regen_oidc::OidcSettings;
pub use regen_redact::{RedactKeys, Redaction, ValuePatterns};
pub use regen_storage::AccessTaken;
pub use regen_storage::StoredAnswer;
pub use secrets::{CredentialHash, SessionSecret, API_TOKEN_PREFIX};
pub use sso::{
    SsoFailure, SsoPolicy, SsoReturn, SsoSettings, SsoSignedIn, SsoStart, SIGN_IN_LIFETIME,
};
pub use stats::CountMismatch;
pub use target_jobs::{OtherJobs, OTHER_JOBS_SHOWN};
pub use throttle::LoginThrottle;
pub use trigger::{trigger_outcome, Triggered};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use audit_journal::AuditJournal;
use regen_domain::{Caller, Timestamp};
use regen_storage::{Backend, Store, StoreOptions};

/// The clock every stored time comes from, truncated to milliseconds.
pub fn now() -> Timestamp {
    regen_storage::now()
}

/// The moment `duration` before now.
pub(crate) fn before(duration: Duration) -> Timestamp {
    let now = regen_storage::now();
    Timestamp::from_millis(now.millis() - duration.as_millis() as i64).unwrap_or(now)
}

/// The name of the database backend a `DATABASE_URL` selects (`sqlite` or
/// `postgres`), or `None` when no backend serves it.
pub fn database_kind(url: &str) -> Option<&'static str> {
    Backend::from_url(url).map(Backend::name)
}

/// What an instance needs to build its service.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub database_url: String,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection (and, on SQLite, for
    /// the write lock) before the service reports itself unavailable.
    pub acquire_timeout: Duration,
    /// The JSON-lines journal for audit events the database refused.
    pub audit_fallback_path: PathBuf,
    pub sessions: SessionPolicy,
    pub login_throttle: LoginThrottle,
    /// The most jobs one bulk trigger may name or select.
    pub bulk_trigger_max: usize,
    /// What is hidden of every payload on its way out.
    pub redaction: Redaction,
}

/// How the database pool is used, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The one service object an instance builds at start-up and hands to the
/// REST routes, the Leptos server functions and the CLI.
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
    device_key: tokio::sync::OnceCell<device_cookies::DeviceKey>,
    metrics: ServiceMetrics,
    page_charts: page_chart::PageCharts,
    bulk_trigger_max: usize,
    redaction: Redaction,
    /// Set by `start_sso` when `REGEN_OIDC_ISSUER` is; the CLI never sets it.
    sso: sso::SsoCell,
}

impl AdminService {
    /// Connects to the database and applies pending migrations.
    pub async fn connect(settings: &ServiceSettings) -> Result<AdminService, ServiceError> {
        let options = StoreOptions {
            max_connections: settings.max_connections,
            acquire_timeout: settings.acquire_timeout,
        };
        let store = Store::connect(&settings.database_url, &options)
            .await
            .map_err(ServiceError::Setup)?;
        store.migrate().await.map_err(ServiceError::Setup)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                journal: AuditJournal::new(settings.audit_fallback_path.clone()),
                sessions: settings.sessions,
                throttle: settings.login_throttle,
                password_checks: tokio::sync::Semaphore::new(4),
                device_key: tokio::sync::OnceCell::new(),
                metrics: ServiceMetrics::default(),
                page_charts: Default::default(),
                bulk_trigger_max: settings.bulk_trigger_max,
                redaction: settings.redaction.clone(),
                sso: sso::SsoCell::new(),
            }),
        })
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn journal(&self) -> &AuditJournal {
        &self.inner.journal
    }

    pub fn metrics(&self) -> &ServiceMetrics {
        &self.inner.metrics
    }

    pub fn session_policy(&self) -> &SessionPolicy {
        &self.inner.sessions
    }

    /// Ready when the database answers and every migration this binary
    /// knows is applied. Public: it reveals nothing about any job.
    pub async fn is_ready(&self) -> bool {
        match self.store().is_ready().await {
            Ok(ready) => ready,
            Err(error) => {
                tracing::warn!(error = %error, "readiness check failed");
                false
            }
        }
    }

    pub fn pool_usage(&self) -> PoolUsage {
        let stats = self.store().pool_stats();
        PoolUsage {
            size: stats.size,
            idle: stats.idle,
            max: stats.max,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        self.store().backend().name()
    }

    /// Closes the pool; anything not committed by now rolls back.
    pub async fn close(&self) {
        self.store().close().await;
    }
}

/// Only admins may see or do anything; members are known but refused.
pub(crate) fn require_admin(caller: Option<&Caller>) -> Result<&Caller, ServiceError> {
    match caller {
        None => Err(ServiceError::Unauthenticated),
        Some(caller) if caller.is_admin() => Ok(caller),
        Some(_) => Err(ServiceError::Forbidden),
    }
}

/// Changing anything needs an admin whose credential is not read-only.
pub(crate) fn require_acting(caller: Option<&Caller>) -> Result<&Caller, ServiceError> {
    let caller = require_admin(caller)?;
    if caller.may_act() {
        Ok(caller)
    } else {
        Err(ServiceError::InsufficientScope)
    }
}
