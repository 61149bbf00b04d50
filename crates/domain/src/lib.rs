//! The regeneration-job domain: what a job is, which statuses exist, the one
//! transition this product performs, and the shapes shared by the REST API and
//! the UI. Pure Rust with no I/O, so it compiles for the browser too.

#![forbid(unsafe_code)]

mod access;
mod accounts;
mod audit;
mod bulk;
mod detail;
mod job;
mod json;
pub mod json_html;
pub mod json_tree;
mod preferences;
mod redaction;
mod stats;
mod target_links;
mod time;

pub use access::{Caller, Role, Scope, TriggerOutcome};
pub use accounts::{AccountOverview, PasswordRule, SessionSummary, TokenSummary, UserSummary};
pub use audit::{AuditEvent, AuditEventType, AuditEventView, AuditRecord};
pub use bulk::{BulkConflict, BulkTriggerResult};
pub use detail::JobDetail;
pub use job::{
    JobId, JobStatus, JobSummary, NewJob, RegenerationJob, TransitionError, UnknownStatus,
    ALL_STATUSES,
};
pub use json::{JsonText, JsonTextError};
pub use preferences::{Preferences, TimeDisplay};
pub use redaction::{HiddenValues, Redacted, RedactionRule, REDACTED};
pub use stats::{grouped, ActivityBucket, JobStats, OldestPending, StatusCounts, TargetTypeStats};
pub use target_links::{encode_path_segment, TargetLinks, TARGET_ID_PLACEHOLDER};
pub use time::{waited, Timestamp};

/// Longest accepted `targetType`, `targetId` or `createdBy`, in bytes.
pub const MAX_LABEL_LEN: usize = 200;
