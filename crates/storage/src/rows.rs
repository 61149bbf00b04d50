//! How the job and audit tables' rows are read: their column lists and the
//! one decoder for each row type, shared by every statement that selects
//! them. A stored value that does not decode into the domain's types is a
//! [`StorageError::Corrupt`] naming its column.

use regen_domain::{AuditRecord, JobSummary, JsonText, RegenerationJob};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StorageError;

/// A whole job, in the order [`job_from_row`] reads and inserts write.
pub(crate) const JOB_COLUMNS: &str = "id, status, target_type, target_id, instruction_json, \
     output_ref, error_json, created_at, created_by";

/// A job without its payloads: what listings read.
pub(crate) const SUMMARY_COLUMNS: &str =
    "id, status, target_type, target_id, created_at, created_by";

/// An audit row as stored, in the order inserts write.
pub(crate) const AUDIT_COLUMNS: &str =
    "id, event_type, job_id, actor, occurred_at, request_id, details";

/// An audit row with its actor's name, selected from [`AUDIT_WITH_NAMES`].
pub(crate) const AUDIT_RECORD_COLUMNS: &str = "a.id, a.event_type, a.job_id, a.actor, \
     COALESCE(u.username, a.actor) AS actor_name, a.occurred_at, a.request_id, a.details";

/// Audit rows with their actor's name: users are joined by id.
pub(crate) const AUDIT_WITH_NAMES: &str = "audit_events a LEFT JOIN users u ON u.id = a.actor";

pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String, StorageError> {
    Ok(row.try_get(column)?)
}

pub(crate) fn optional_text(row: &AnyRow, column: &str) -> Result<Option<String>, StorageError> {
    Ok(row.try_get(column)?)
}

/// A text column parsed into a domain type; a bad value names its column.
pub(crate) fn parse<T: std::str::FromStr>(row: &AnyRow, column: &str) -> Result<T, StorageError>
where
    T::Err: std::fmt::Display,
{
    text(row, column)?
        .parse()
        .map_err(|e| StorageError::corrupt(format!("{column}: {e}")))
}

pub(crate) fn optional_parse<T: std::str::FromStr>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, StorageError>
where
    T::Err: std::fmt::Display,
{
    optional_text(row, column)?
        .map(|value| {
            value
                .parse()
                .map_err(|e| StorageError::corrupt(format!("{column}: {e}")))
        })
        .transpose()
}

fn optional_json(row: &AnyRow, column: &str) -> Result<Option<JsonText>, StorageError> {
    optional_text(row, column)?
        .map(|value| {
            JsonText::parse(value).map_err(|e| StorageError::corrupt(format!("{column}: {e}")))
        })
        .transpose()
}

pub(crate) fn job_from_row(row: &AnyRow) -> Result<RegenerationJob, StorageError> {
    Ok(RegenerationJob {
        id: parse(row, "id")?,
        status: parse(row, "status")?,
        target_type: text(row, "target_type")?,
        target_id: text(row, "target_id")?,
        instruction_json: optional_json(row, "instruction_json")?
            .ok_or_else(|| StorageError::corrupt("instruction_json: NULL"))?,
        output_ref: optional_json(row, "output_ref")?,
        error_json: optional_json(row, "error_json")?,
        created_at: parse(row, "created_at")?,
        created_by: text(row, "created_by")?,
    })
}

pub(crate) fn summary_from_row(row: &AnyRow) -> Result<JobSummary, StorageError> {
    Ok(JobSummary {
        id: parse(row, "id")?,
        status: parse(row, "status")?,
        target_type: text(row, "target_type")?,
        target_id: text(row, "target_id")?,
        created_at: parse(row, "created_at")?,
        created_by: text(row, "created_by")?,
    })
}

pub(crate) fn record_from_row(row: &AnyRow) -> Result<AuditRecord, StorageError> {
    Ok(AuditRecord {
        id: parse(row, "id")?,
        event_type: parse(row, "event_type")?,
        job_id: parse(row, "job_id")?,
        actor: text(row, "actor")?,
        actor_name: text(row, "actor_name")?,
        occurred_at: parse(row, "occurred_at")?,
        request_id: optional_text(row, "request_id")?,
        details: optional_json(row, "details")?,
    })
}
