//! The one change this product makes to a job: PENDING → RUNNING, with its
//! REGEN_JOB_TRIGGERED audit row, in one transaction.
//!
//! [`Store::trigger_job`] is the whole path, and the one place to read to
//! see that a trigger is answered only after its own commit: every outcome
//! it returns as `Triggered` comes from the line after `tx.commit()`. The
//! bulk trigger (`bulk_trigger.rs`) shares its turn, its audit savepoint and
//! its idempotent answer.

use regen_domain::{AuditEvent, AuditEventType, JobId, JobStatus, RegenerationJob};
use sqlx::any::AnyRow;
use sqlx::{Acquire, Any, AnyConnection, Transaction};
use uuid::Uuid;

use crate::audit::insert_audit_rows;
use crate::error::StorageError;
use crate::idempotency::{record_answer, IdempotencyClaim, StoredAnswer};
use crate::rows::{job_from_row, JOB_COLUMNS};
use crate::sql::ROWS_PER_INSERT;
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
    /// The idempotency key's lease ran out while this trigger ran and
    /// another request took the key: everything was rolled back.
    ClaimLost,
}

/// The answer to keep under a request's idempotency key, written in the
/// transaction of its transitions: no crash can leave a committed trigger
/// whose key replays anything else.
pub struct AnswerUnder<'a, T> {
    pub claim: &'a IdempotencyClaim,
    pub answer: &'a (dyn Fn(&T) -> StoredAnswer + Sync),
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
        self.trigger_job_answering(id, actor, request_id, None)
            .await
    }

    /// [`Store::trigger_job`], keeping the answer of a successful trigger
    /// under its idempotency key in the same transaction.
    pub async fn trigger_job_answering(
        &self,
        id: JobId,
        actor: &str,
        request_id: Option<&str>,
        key: Option<AnswerUnder<'_, RegenerationJob>>,
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
        let deadline = self.write_deadline();
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
        let audit = match audit_in_savepoint(&mut tx, std::slice::from_ref(&event)).await? {
            Ok(()) => Ok(event),
            Err(error) => Err(AuditWriteFailure { event, error }),
        };
        if !keep_answer(&mut tx, key, &job).await? {
            tx.rollback().await?;
            return Ok(TriggerResult::ClaimLost);
        }
        tx.commit().await?;
        Ok(TriggerResult::Triggered { job, audit })
    }

    /// When a write that starts now has waited long enough.
    pub(crate) fn write_deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.timeout
    }

    /// SQLite has one writer at a time. Triggers take turns here, in the
    /// order they arrive, before they ask for the write lock: otherwise
    /// each waits in SQLite's busy handler, which sleeps up to 100 ms
    /// between looks, and 32 concurrent triggers saw a p99 of 200 ms
    /// (bench/NOTES.md). The turn counts against the trigger's deadline.
    /// PostgreSQL locks only the job's row: no turn.
    pub(crate) async fn sqlite_write_turn(
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

/// Writes `events` inside a savepoint of `tx`. If the database refuses
/// them, only the savepoint is rolled back (the transitions before it
/// stand) and the refusal is handed back: `Ok(Err(_))`. An `Err` is a
/// failure of the transaction itself.
pub(crate) async fn audit_in_savepoint(
    tx: &mut Transaction<'_, Any>,
    events: &[AuditEvent],
) -> Result<Result<(), StorageError>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Ok(()));
    }
    let mut savepoint = tx.begin().await?;
    for rows in events.chunks(ROWS_PER_INSERT) {
        if let Err(error) = insert_audit_rows(&mut savepoint, rows).await {
            savepoint.rollback().await?;
            return Ok(Err(error.into()));
        }
    }
    savepoint.commit().await?;
    Ok(Ok(()))
}

/// Records the request's answer under its idempotency key, if it has one;
/// false when the key was taken over (the caller rolls back).
pub(crate) async fn keep_answer<T>(
    conn: &mut AnyConnection,
    key: Option<AnswerUnder<'_, T>>,
    outcome: &T,
) -> Result<bool, sqlx::Error> {
    match key {
        None => Ok(true),
        Some(key) => record_answer(conn, key.claim, &(key.answer)(outcome)).await,
    }
}

/// The one transition, as the domain defines it: (from, to).
pub(crate) fn trigger_statuses() -> (JobStatus, JobStatus) {
    let from = JobStatus::Pending;
    let to = from
        .trigger()
        .expect("the domain allows triggering a pending job");
    (from, to)
}

/// PENDING → RUNNING for one job, as the domain defines it, as one
/// conditional update: the job's row as it now is, or `None` when no
/// PENDING job has the id (the database's guard triggers enforce the same
/// rule independently).
async fn transition(conn: &mut AnyConnection, id: JobId) -> Result<Option<AnyRow>, sqlx::Error> {
    let (from, to) = trigger_statuses();
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
