//! The audit trail across jobs: keyset pages, newest first, in
//! (occurred_at DESC, id DESC) order, with each actor's user name when the
//! actor is a user. Never OFFSET, never COUNT.

use regen_domain::{AuditEventType, AuditRecord, JobId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::StorageError;
use crate::jobs::{job_from_row, PageDirection, JOB_COLUMNS};
use crate::Store;

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

/// Bound values of a statement being built, and their `$n` names.
#[derive(Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<String>,
}

impl Params {
    pub(crate) fn push(&mut self, value: String) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// `$1, $2, …` for a list of values.
    pub(crate) fn list(&mut self, values: impl Iterator<Item = String>) -> String {
        values.map(|v| self.push(v)).collect::<Vec<_>>().join(", ")
    }
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

pub(crate) const AUDIT_RECORD_COLUMNS: &str = "a.id, a.event_type, a.job_id, a.actor, \
     COALESCE(u.username, a.actor) AS actor_name, a.occurred_at, a.request_id, a.details";

/// Audit rows with their actor's name: users are joined by id.
pub(crate) const AUDIT_WITH_NAMES: &str = "audit_events a LEFT JOIN users u ON u.id = a.actor";

pub(crate) fn record_from_row(row: &AnyRow) -> Result<AuditRecord, StorageError> {
    let parse = |column: &str| -> Result<String, StorageError> { Ok(row.try_get(column)?) };
    let details: Option<String> = row.try_get("details")?;
    Ok(AuditRecord {
        id: parse("id")?.parse().map_err(StorageError::corrupt)?,
        event_type: parse("event_type")?
            .parse()
            .map_err(StorageError::corrupt)?,
        job_id: parse("job_id")?.parse().map_err(StorageError::corrupt)?,
        actor: parse("actor")?,
        actor_name: parse("actor_name")?,
        occurred_at: parse("occurred_at")?
            .parse()
            .map_err(StorageError::corrupt)?,
        request_id: row.try_get("request_id")?,
        details: details
            .map(|d| regen_domain::JsonText::parse(d).map_err(StorageError::corrupt))
            .transpose()?,
    })
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
        let (order, newest_last) = match from {
            None => ("DESC", false),
            Some((direction, position)) => {
                let at = params.push(position.occurred_at.to_string());
                let id = params.push(position.id.to_string());
                match direction {
                    PageDirection::Older => {
                        conditions.push(format!("(a.occurred_at, a.id) < ({at}, {id})"));
                        ("DESC", false)
                    }
                    PageDirection::Newer => {
                        conditions.push(format!("(a.occurred_at, a.id) > ({at}, {id})"));
                        ("ASC", true)
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
        let mut query = sqlx::query(&sql);
        for value in &params.values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut events = rows
            .iter()
            .map(record_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if newest_last {
            events.reverse();
        }
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

    /// Full jobs by id, in the order asked (unknown ids are skipped), in
    /// one statement.
    pub async fn get_jobs(
        &self,
        ids: &[JobId],
    ) -> Result<Vec<regen_domain::RegenerationJob>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = Params::default();
        let list = params.list(ids.iter().map(|id| id.to_string()));
        let sql = format!("SELECT {JOB_COLUMNS} FROM regeneration_jobs WHERE id IN ({list})");
        let mut query = sqlx::query(&sql);
        for value in &params.values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|job| ids.iter().position(|id| *id == job.id));
        Ok(jobs)
    }
}
