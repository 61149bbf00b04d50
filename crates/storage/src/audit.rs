//! The audit trail across jobs: keyset pages, newest first, in
//! (occurred_at DESC, id DESC) order, with each actor's user name when the
//! actor is a user. Never OFFSET, never COUNT. Also every other read of the
//! audit table (one job's trail, jobs whose audit is missing) and its inserts.

use regen_domain::{
    AuditEvent, AuditEventType, AuditRecord, JobId, JobStatus, JsonText, Timestamp,
};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::error::StorageError;
use crate::listing::PageDirection;
use crate::rows::{
    json_rows, records_from_json, AUDIT_COLUMNS, AUDIT_RECORD_COLUMNS, AUDIT_RECORD_NAMES,
    AUDIT_WITH_NAMES,
};
use crate::sql::{values_placeholders, Params};
use crate::{AnyQuery, Store};

/// Which audit events a listing shows. Empty lists mean no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub event_types: Vec<AuditEventType>,
    /// Any of these stored actors (a user name resolves to its id and the
    /// name itself, as `actorName` shows both).
    pub actors: Vec<String>,
    pub job_id: Option<JobId>,
    /// Occurred at or after.
    pub occurred_from: Option<Timestamp>,
    /// Occurred before.
    pub occurred_to: Option<Timestamp>,
}

/// A place in the (occurred_at DESC, id DESC) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPosition {
    pub occurred_at: Timestamp,
    pub id: Uuid,
}

impl From<&AuditRecord> for AuditPosition {
    fn from(event: &AuditRecord) -> Self {
        Self {
            occurred_at: event.occurred_at,
            id: event.id,
        }
    }
}

impl Store {
    /// One page of audit events in listing order (newest first), starting
    /// after `from` in its direction.
    pub async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        from: Option<(PageDirection, AuditPosition)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StorageError> {
        let mut conditions = Vec::new();
        let mut params = Params::default();
        if !filter.event_types.is_empty() {
            let list = params.list(filter.event_types.iter().map(|t| t.as_str().to_owned()));
            conditions.push(format!("a.event_type IN ({list})"));
        }
        if !filter.actors.is_empty() {
            let list = params.list(filter.actors.iter().cloned());
            conditions.push(format!("a.actor IN ({list})"));
        }
        if let Some(job) = filter.job_id {
            conditions.push(format!("a.job_id = {}", params.push(job.to_string())));
        }
        if let Some(at) = filter.occurred_from {
            conditions.push(format!("a.occurred_at >= {}", params.push(at.to_string())));
        }
        if let Some(at) = filter.occurred_to {
            conditions.push(format!("a.occurred_at < {}", params.push(at.to_string())));
        }
        let order = match from {
            None => "DESC",
            Some((direction, position)) => {
                let at = params.push(position.occurred_at.to_string());
                let id = params.push(position.id.to_string());
                match direction {
                    PageDirection::Older => {
                        conditions.push(format!("(a.occurred_at, a.id) < ({at}, {id})"));
                        "DESC"
                    }
                    PageDirection::Newer => {
                        conditions.push(format!("(a.occurred_at, a.id) > ({at}, {id})"));
                        "ASC"
                    }
                }
            }
        };
        let filter_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {AUDIT_RECORD_COLUMNS} FROM {AUDIT_WITH_NAMES} {filter_sql} \
             ORDER BY a.occurred_at {order}, a.id {order} LIMIT {limit}"
        );
        let sql = json_rows(self.backend(), AUDIT_RECORD_NAMES, &sql);
        let page: String = params
            .bind_all(sqlx::query(&sql))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let mut events = records_from_json(&page)?;
        // Newest first, whichever way the page was read.
        events.sort_unstable_by_key(|event| std::cmp::Reverse((event.occurred_at, event.id)));
        Ok(events)
    }

    /// The ids of the users with this name (at most one), for filters that
    /// name a person.
    pub async fn user_ids_named(&self, username: &str) -> Result<Vec<String>, StorageError> {
        let rows = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>("id")?))
            .collect()
    }

    /// One job's audit trail, oldest first, with actor names.
    pub async fn audit_events(&self, job: JobId) -> Result<Vec<AuditRecord>, StorageError> {
        let trail =
            format!("SELECT {AUDIT_RECORD_COLUMNS} FROM {AUDIT_WITH_NAMES} WHERE a.job_id = $1");
        let page: String = sqlx::query(&json_rows(self.backend(), AUDIT_RECORD_NAMES, &trail))
            .bind(job.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let mut events = records_from_json(&page)?;
        events.sort_unstable_by_key(|event| (event.occurred_at, event.id));
        Ok(events)
    }

    /// Inserts an audit event unless one with its id exists. Returns whether
    /// it was inserted. Used to replay the fallback journal idempotently.
    pub async fn insert_audit_event_if_missing(
        &self,
        event: &AuditEvent,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await?;
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM audit_events WHERE id = $1")
            .bind(event.id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Jobs whose status is not backed by the audit event that must have
    /// produced it: RUNNING without REGEN_JOB_TRIGGERED, or any job without
    /// REGEN_JOB_CREATED.
    pub async fn jobs_missing_audit(&self) -> Result<Vec<(JobId, JobStatus)>, StorageError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT j.id, j.status FROM regeneration_jobs j \
             WHERE (j.status = $1 AND NOT EXISTS (SELECT 1 FROM audit_events a \
                     WHERE a.job_id = j.id AND a.event_type = $2)) \
                OR NOT EXISTS (SELECT 1 FROM audit_events a \
                     WHERE a.job_id = j.id AND a.event_type = $3) \
             ORDER BY j.created_at, j.id",
        )
        .bind(JobStatus::Running.as_str())
        .bind(AuditEventType::Triggered.as_str())
        .bind(AuditEventType::Created.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, status)| {
                Ok((
                    id.parse().map_err(StorageError::corrupt)?,
                    status.parse().map_err(StorageError::corrupt)?,
                ))
            })
            .collect()
    }
}

pub(crate) async fn insert_audit(
    conn: &mut AnyConnection,
    event: &AuditEvent,
) -> Result<(), sqlx::Error> {
    insert_audit_rows(conn, std::slice::from_ref(event)).await
}

/// Selected (PostgreSQL) in a transaction that inserts many audit events
/// per statement: its TRIGGERED events are then added to the activity
/// counters once per statement, not once per event (0016).
pub(crate) const TRIGGERS_COUNTED_PER_STATEMENT: &str =
    "set_config('regen.triggers_counted_per_statement', 'on', true)";

pub(crate) async fn insert_audit_rows(
    conn: &mut AnyConnection,
    events: &[AuditEvent],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES {}",
        values_placeholders(events.len(), 7)
    );
    let mut query: AnyQuery<'_> = sqlx::query(&sql);
    for event in events {
        query = query
            .bind(event.id.to_string())
            .bind(event.event_type.as_str())
            .bind(event.job_id.to_string())
            .bind(&event.actor)
            .bind(event.occurred_at.to_string())
            .bind(event.request_id.as_deref())
            .bind(event.details.as_ref().map(JsonText::as_str));
    }
    query.execute(conn).await?;
    Ok(())
}
