//! How the job and audit tables' rows are read: their column lists and the
//! one decoder for each row type, shared by every statement that selects
//! them. A stored value that does not decode into the domain's types is a
//! [`StorageError::Corrupt`] naming its column.

use regen_domain::{AuditRecord, JobId, JobSummary, JsonText, RegenerationJob};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StorageError;
use crate::page_rows::{Frame, RowShape};
use crate::Backend;

/// The job ids in the first column of `rows` (statements that select or
/// return only ids).
pub(crate) fn job_ids(rows: &[AnyRow]) -> Result<Vec<JobId>, StorageError> {
    rows.iter()
        .map(|row| {
            row.try_get::<String, _>(0)?
                .parse()
                .map_err(StorageError::corrupt)
        })
        .collect()
}

/// A whole job, in the order [`job_from_row`] reads and inserts write.
pub(crate) const JOB_COLUMNS: &str = "id, status, target_type, target_id, instruction_json, \
     output_ref, error_json, created_at, created_by";

/// A job without its payloads: what listings read.
pub(crate) const SUMMARY_COLUMNS: &str =
    "id, status, target_type, target_id, created_at, created_by";

/// [`SUMMARY_COLUMNS`] as an export frames them (ids and times are of one
/// width: the table's CHECK constraints).
pub(crate) const SUMMARY_SHAPE: RowShape<6> = RowShape {
    columns: [
        ("id", Frame::Fixed(ID_WIDTH)),
        ("status", Frame::Text),
        ("target_type", Frame::Text),
        ("target_id", Frame::Text),
        ("created_at", Frame::Fixed(TIME_WIDTH)),
        ("created_by", Frame::Text),
    ],
    order_by: [4, 0],
};

/// [`JOB_COLUMNS`] as an export frames them.
pub(crate) const JOB_SHAPE: RowShape<9> = RowShape {
    columns: [
        ("id", Frame::Fixed(ID_WIDTH)),
        ("status", Frame::Text),
        ("target_type", Frame::Text),
        ("target_id", Frame::Text),
        ("instruction_json", Frame::Text),
        ("output_ref", Frame::Nullable),
        ("error_json", Frame::Nullable),
        ("created_at", Frame::Fixed(TIME_WIDTH)),
        ("created_by", Frame::Text),
    ],
    order_by: [7, 0],
};

/// A job id's stored width: a lower-case UUID.
pub(crate) const ID_WIDTH: usize = 36;
/// A stored time's width: `2026-01-01T00:00:00.000Z`.
pub(crate) const TIME_WIDTH: usize = 24;

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
    parse_text(column, &text(row, column)?)
}

pub(crate) fn parse_text<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, StorageError>
where
    T::Err: std::fmt::Display,
{
    value
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
        .map(|value| parse_text(column, &value))
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

/// A page of job summaries as the listing reads it (one JSON array of
/// `[SUMMARY_COLUMNS]` arrays, see `listing.rs` for why), each value
/// validated like any stored value.
pub(crate) fn summaries_from_json(page: &str) -> Result<Vec<JobSummary>, StorageError> {
    let rows: Vec<[String; 6]> = serde_json::from_str(page)
        .map_err(|e| StorageError::corrupt(format!("job summaries: {e}")))?;
    rows.into_iter()
        .map(
            |[id, status, target_type, target_id, created_at, created_by]| {
                Ok(JobSummary {
                    id: parse_text("id", &id)?,
                    status: parse_text("status", &status)?,
                    target_type,
                    target_id,
                    created_at: parse_text("created_at", &created_at)?,
                    created_by,
                })
            },
        )
        .collect()
}

/// Audit records as their readers read them: one JSON array of
/// `[AUDIT_RECORD_NAMES]` arrays (`json_rows`), each value validated like
/// any stored value.
pub(crate) fn records_from_json(page: &str) -> Result<Vec<AuditRecord>, StorageError> {
    type Record = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Record> = serde_json::from_str(page)
        .map_err(|e| StorageError::corrupt(format!("audit records: {e}")))?;
    rows.into_iter()
        .map(
            |(id, event_type, job_id, actor, actor_name, occurred_at, request_id, details)| {
                Ok(AuditRecord {
                    id: parse_text("id", &id)?,
                    event_type: parse_text("event_type", &event_type)?,
                    job_id: parse_text("job_id", &job_id)?,
                    actor,
                    actor_name,
                    occurred_at: parse_text("occurred_at", &occurred_at)?,
                    request_id,
                    details: details
                        .map(|d| {
                            JsonText::parse(d)
                                .map_err(|e| StorageError::corrupt(format!("details: {e}")))
                        })
                        .transpose()?,
                })
            },
        )
        .collect()
}

/// The names [`AUDIT_RECORD_COLUMNS`] selects, in its order.
pub(crate) const AUDIT_RECORD_NAMES: &str =
    "id, event_type, job_id, actor, actor_name, occurred_at, request_id, details";

/// `rows_sql` as one row holding a JSON array of its rows, each an array of
/// `names`. sqlx's SQLite driver hands every row from its worker thread to
/// the request's task as a message of its own (51 wake-ups for a page of
/// 50); as one value a page is one. PostgreSQL reads pages the same way, so
/// each row type keeps one decoder. Aggregates keep no promised order: the
/// readers sort what they decode.
pub(crate) fn json_rows(backend: Backend, names: &str, rows_sql: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("SELECT json_group_array(json_array({names})) FROM ({rows_sql}) AS page")
        }
        Backend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array({names}))::text, '[]') \
             FROM ({rows_sql}) AS page"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framed_shapes_name_the_columns_the_statements_select() {
        assert_eq!(SUMMARY_SHAPE.names(), SUMMARY_COLUMNS);
        assert_eq!(JOB_SHAPE.names(), JOB_COLUMNS);
    }
}
