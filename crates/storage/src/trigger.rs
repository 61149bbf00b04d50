//! The one change this product makes to a job: PENDING → RUNNING, with its
//! REGEN_JOB_TRIGGERED audit row, in one transaction.
//!
//! [`Store::trigger_job`] is the whole path, and the one place to read to
//! see that a trigger is answered only after its own commit: every outcome
//! it returns as `Triggered` comes from the line after `tx.commit()`.

use regen_domain::{AuditEvent, AuditEventType, JobId, JobStatus, RegenerationJob};
use sqlx::any::AnyRow;
use sqlx::{Acquire, AnyConnection};
use uuid::Uuid;

use crate::audit::insert_audit;
use crate::error::StorageError;
use crate::rows::{job_from_row, JOB_COLUMNS};
use crate::{now, Backend, Store};

/// The audit row of a committed transition that could not be written. The
/// transition stands; the caller must make sure the event is not lost.
#[derive(Debug)]
pub struct AuditWriteFailure {
    pub event: AuditEvent,
    pub error: StorageError,
}

#[derive(Debug)]
// Returned once per trigger and consumed at once; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum TriggerResult {
    Triggered {
        job: RegenerationJob,
        audit: Result<AuditEvent, AuditWriteFailure>,
    },
    NotFound,
    Conflict {
        current: JobStatus,
    },
}

impl Store {
    /// PENDING → RUNNING as one conditional update, plus the
    /// REGEN_JOB_TRIGGERED audit row, in one transaction.
    ///
    /// The audit row is written inside a savepoint: if the database refuses
    /// it, only the savepoint is rolled back, the transition still commits,
    /// and the event is handed back so the caller can keep it elsewhere
    /// (the journal). That is the only path after a failure: nothing is
    /// retried. Waiting is bounded in total by the store's timeout: for the
    /// trigger's turn (SQLite), a connection, and the job's row (PostgreSQL)
    /// or the write lock (SQLite) together. A trigger that runs out of time
    /// drops its transaction before `commit`, which sqlx rolls back, and
    /// answers `Unavailable`: nothing was written. Any other error rolls
    /// everything back the same way and is returned.
    pub async fn trigger_job(
        &self,
        id: JobId,
        actor: &str,
        request_id: Option<&str>,
    ) -> Result<TriggerResult, StorageError> {
        let event = AuditEvent {
            id: Uuid::now_v7(),
            event_type: AuditEventType::Triggered,
            job_id: id,
            actor: actor.to_owned(),
            occurred_at: now(),
            request_id: request_id.map(str::to_owned),
            details: None,
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
        let out_of_time = |_| StorageError::Unavailable(sqlx::Error::PoolTimedOut);
        let _turn = self.sqlite_write_turn(deadline).await?;
        let mut conn = tokio::time::timeout_at(deadline, self.pool.acquire())
            .await
            .map_err(out_of_time)??;
        let mut tx = (&mut *conn).begin().await?;
        // Only the statement that waits for the lock runs against the
        // clock; past the deadline `tx` is dropped uncommitted.
        let transitioned = tokio::time::timeout_at(deadline, transition(&mut tx, id))
            .await
            .map_err(out_of_time)??;
        let Some(row) = transitioned else {
            tx.rollback().await?;
            return why_not_triggered(&mut conn, id).await;
        };
        let job = job_from_row(&row)?;
        let audit = {
            let mut savepoint = tx.begin().await?;
            match insert_audit(&mut savepoint, &event).await {
                Ok(()) => {
                    savepoint.commit().await?;
                    Ok(event)
                }
                Err(error) => {
                    savepoint.rollback().await?;
                    Err(AuditWriteFailure {
                        event,
                        error: error.into(),
                    })
                }
            }
        };
        tx.commit().await?;
        Ok(TriggerResult::Triggered { job, audit })
    }

    /// SQLite has one writer at a time. Triggers take turns here, in the
    /// order they arrive, before they ask for the write lock: otherwise
    /// each waits in SQLite's busy handler, which sleeps up to 100 ms
    /// between looks, and 32 concurrent triggers saw a p99 of 200 ms
    /// (bench/NOTES.md). The turn counts against the trigger's deadline.
    /// PostgreSQL locks only the job's row: no turn.
    async fn sqlite_write_turn(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<Option<tokio::sync::MutexGuard<'_, ()>>, StorageError> {
        if self.backend() != Backend::Sqlite {
            return Ok(None);
        }
        tokio::time::timeout_at(deadline, self.sqlite_writer.lock())
            .await
            .map(Some)
            .map_err(|_| StorageError::Unavailable(sqlx::Error::PoolTimedOut))
    }
}

/// Why a conditional update changed nothing: no such job, or it is no
/// longer PENDING (statuses never go back, so the answer stays true).
async fn why_not_triggered(
    conn: &mut AnyConnection,
    id: JobId,
) -> Result<TriggerResult, StorageError> {
    let current: Option<(String,)> =
        sqlx::query_as("SELECT status FROM regeneration_jobs WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?;
    match current {
        None => Ok(TriggerResult::NotFound),
        Some((status,)) => Ok(TriggerResult::Conflict {
            current: status.parse().map_err(StorageError::corrupt)?,
        }),
    }
}

/// PENDING → RUNNING for one job, as the domain defines it, as one
/// conditional update: the job's row as it now is, or `None` when no
/// PENDING job has the id (the database's guard triggers enforce the same
/// rule independently).
async fn transition(conn: &mut AnyConnection, id: JobId) -> Result<Option<AnyRow>, sqlx::Error> {
    let from = JobStatus::Pending;
    let to = from
        .trigger()
        .expect("the domain allows triggering a pending job");
    sqlx::query(&format!(
        "UPDATE regeneration_jobs SET status = $1 WHERE id = $2 AND status = $3 \
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(to.as_str())
    .bind(id.to_string())
    .bind(from.as_str())
    .fetch_optional(conn)
    .await
}
