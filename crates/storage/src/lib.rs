//! Every SQL statement of regen-admin lives in this crate.
//!
//! One implementation serves both backends through `sqlx::Any`: the SQL is
//! written once in the dialect SQLite and PostgreSQL share (`$n` parameters,
//! `RETURNING`, row-value comparisons), times and ids are stored as fixed-width
//! text on both, and each backend has its own migrations with the guard
//! triggers that keep jobs insert-only whatever code touches the database.
//! The contract tests in `tests/` run the same story against both.

#![forbid(unsafe_code)]

mod accounts;
mod activity;
mod audit;
mod bulk_trigger;
mod connect;
mod error;
mod export;
mod idempotency;
mod jobs;
mod listing;
mod page_plan;
mod page_rows;
mod rows;
mod server_secrets;
mod sql;
mod stats;
mod target_jobs;
#[cfg(feature = "testing")]
pub mod testing;
mod trigger;

pub use accounts::{
    AccessTaken, NewApiToken, NewSession, NewSignIn, Owner, PendingSignIn, SessionRecord,
    UserRecord,
};
pub use activity::{ActivityRow, BucketActivity};
pub use audit::{AuditFilter, AuditPosition};
pub use bulk_trigger::{BulkAuditFailure, BulkOutcome, BulkSelection, BulkTrigger, BulkTriggered};
pub use connect::{Backend, PoolStats, Store, StoreOptions};
pub use error::StorageError;
pub use export::max_page_bytes;
pub use export::{ExportPage, StoredJob, StoredJobRef, StoredJobs, SummaryRows};
pub use idempotency::{IdempotencyClaim, KeyClaim, KeyPolicy, StoredAnswer};
pub use listing::{JobFilter, JobListing, KeysetPosition, PageDirection, SCAN_BUDGET};
pub use page_plan::JobPagePlan;
pub use page_rows::PageRows;
pub use stats::{CountRow, KeptCounts};
pub use trigger::{AnswerUnder, AuditWriteFailure, TriggerResult};

/// A statement with its arguments, on whichever backend is connected.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The clock every stored time comes from, truncated to milliseconds.
pub fn now() -> regen_domain::Timestamp {
    regen_domain::Timestamp::from_datetime(chrono::Utc::now())
}
