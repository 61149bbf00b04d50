//! Many PENDING → RUNNING at once, in one transaction: the same
//! conditional update as one trigger (`trigger.rs`), over lists of ids, each
//! transition with its own REGEN_JOB_TRIGGERED audit row.
//!
//! [`Store::bulk_trigger`] is the whole path. Exactly-once is the
//! conditional update's: a job another request triggered first is not
//! PENDING any more and comes back as a conflict. One transaction, so a
//! failure leaves nothing behind and the answer (and the idempotent answer
//! kept with it) is given only after the commit.

use std::collections::{HashMap, HashSet};

use regen_domain::{AuditEvent, AuditEventType, JobId, JobStatus, JsonText};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::audit::TRIGGERS_COUNTED_PER_STATEMENT;
use crate::error::StorageError;
use crate::listing::matching_ids;
use crate::rows::job_ids;
use crate::sql::Params;
use crate::trigger::{audit_in_savepoint, keep_answer, trigger_statuses, AnswerUnder};
use crate::{now, Backend, JobFilter, Store};

/// Ids per statement: 501 bound values, far below SQLite's limit (32,766)
/// and PostgreSQL's (65,535), whatever `REGEN_BULK_TRIGGER_MAX` is.
const IDS_PER_STATEMENT: usize = 500;

/// The advisory lock PostgreSQL bulk triggers take turns on (any constant
/// the schema uses for nothing else). Two bulks updating the same counter
/// rows in different orders could deadlock; one at a time, they cannot.
const BULK_TRIGGER_LOCK: i64 = 0x7265_6765_6e42;

/// Which jobs a bulk trigger is about.
#[derive(Debug, Clone, Copy)]
pub enum BulkSelection<'a> {
    /// These ids (duplicates count once).
    Ids(&'a [JobId]),
    /// The PENDING jobs `filter` selects, when they are exactly
    /// `expected_count` and at most `max`.
    Filter {
        filter: &'a JobFilter,
        expected_count: u64,
        max: usize,
    },
}

/// One bulk trigger request.
#[derive(Debug, Clone)]
pub struct BulkTrigger<'a> {
    pub selection: BulkSelection<'a>,
    pub actor: &'a str,
    pub request_id: Option<&'a str>,
    /// The `details` of every audit row it writes.
    pub details: JsonText,
}

/// The audit rows of a committed bulk that could not be written. The
/// transitions stand; the caller must make sure the events are not lost.
#[derive(Debug)]
pub struct BulkAuditFailure {
    pub events: Vec<AuditEvent>,
    pub error: StorageError,
}

/// What a committed bulk trigger did, each list in the order the jobs were
/// selected.
#[derive(Debug)]
pub struct BulkTriggered {
    pub triggered: Vec<JobId>,
    pub conflicts: Vec<(JobId, JobStatus)>,
    pub not_found: Vec<JobId>,
    pub audit: Result<(), BulkAuditFailure>,
}

#[derive(Debug)]
pub enum BulkOutcome {
    Done(BulkTriggered),
    /// The filter selects more than `max` PENDING jobs; nothing changed.
    TooMany,
    /// The filter selects another number of PENDING jobs than expected;
    /// nothing changed.
    CountChanged {
        current: u64,
    },
    /// The idempotency key was taken over while this ran; nothing changed.
    ClaimLost,
}

impl Store {
    /// Triggers every PENDING job of the selection in one transaction,
    /// audit rows in one savepoint (refused: rolled back alone and handed
    /// back, as for one trigger), the answer kept under `key` before the
    /// commit. Any other error rolls everything back: nothing was written.
    pub async fn bulk_trigger(
        &self,
        request: &BulkTrigger<'_>,
        key: Option<AnswerUnder<'_, BulkTriggered>>,
    ) -> Result<BulkOutcome, StorageError> {
        let _turn = self.sqlite_write_turn(self.write_deadline()).await?;
        let mut tx = match self.backend() {
            // The write lock from the start: a deferred transaction that
            // reads (the filter's ids) before it writes fails outright
            // (SQLITE_BUSY_SNAPSHOT) when another connection, of this
            // instance or another, wrote in between.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query(&format!(
                    "SELECT pg_advisory_xact_lock($1), {TRIGGERS_COUNTED_PER_STATEMENT}"
                ))
                .bind(BULK_TRIGGER_LOCK)
                .execute(&mut *tx)
                .await?;
                tx
            }
        };
        let ids = match request.selection {
            BulkSelection::Ids(ids) => {
                let mut seen = HashSet::new();
                ids.iter().copied().filter(|id| seen.insert(*id)).collect()
            }
            BulkSelection::Filter {
                filter,
                expected_count,
                max,
            } => {
                // Selected inside the transaction: the jobs counted are the
                // jobs triggered, and never a job the filter does not match.
                let found = matching_ids(&mut tx, filter, self.backend(), max + 1).await?;
                if found.len() > max {
                    tx.rollback().await?;
                    return Ok(BulkOutcome::TooMany);
                }
                if found.len() as u64 != expected_count {
                    tx.rollback().await?;
                    return Ok(BulkOutcome::CountChanged {
                        current: found.len() as u64,
                    });
                }
                found
            }
        };
        if self.backend() == Backend::Postgres {
            // Every job row locked before any counter row: a single trigger
            // holding one of them then never waits on this transaction's
            // counters while this one waits on its job.
            for chunk in ids.chunks(IDS_PER_STATEMENT) {
                lock_pending(&mut tx, chunk).await?;
            }
        }
        let mut moved = HashSet::new();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            moved.extend(transition_all(&mut tx, chunk).await?);
        }
        let rest: Vec<JobId> = ids
            .iter()
            .copied()
            .filter(|id| !moved.contains(id))
            .collect();
        let mut current = HashMap::new();
        for chunk in rest.chunks(IDS_PER_STATEMENT) {
            current.extend(statuses(&mut tx, chunk).await?);
        }
        let triggered: Vec<JobId> = ids
            .iter()
            .copied()
            .filter(|id| moved.contains(id))
            .collect();
        let occurred_at = now();
        let events: Vec<AuditEvent> = triggered
            .iter()
            .map(|&job_id| AuditEvent {
                id: Uuid::now_v7(),
                event_type: AuditEventType::Triggered,
                job_id,
                actor: request.actor.to_owned(),
                occurred_at,
                request_id: request.request_id.map(str::to_owned),
                details: Some(request.details.clone()),
            })
            .collect();
        let audit = match audit_in_savepoint(&mut tx, &events).await? {
            Ok(()) => Ok(()),
            Err(error) => Err(BulkAuditFailure { events, error }),
        };
        let outcome = BulkTriggered {
            triggered,
            conflicts: rest
                .iter()
                .filter_map(|id| current.get(id).map(|status| (*id, *status)))
                .collect(),
            not_found: rest
                .iter()
                .copied()
                .filter(|id| !current.contains_key(id))
                .collect(),
            audit,
        };
        if !keep_answer(&mut tx, key, &outcome).await? {
            tx.rollback().await?;
            return Ok(BulkOutcome::ClaimLost);
        }
        tx.commit().await?;
        Ok(BulkOutcome::Done(outcome))
    }
}

/// `IN ($n, …)` over `ids`, after the values already in `params`.
fn id_list(params: &mut Params, ids: &[JobId]) -> String {
    params.list(ids.iter().map(JobId::to_string))
}

/// Locks the PENDING jobs among `ids` in id order (PostgreSQL).
async fn lock_pending(conn: &mut AnyConnection, ids: &[JobId]) -> Result<(), sqlx::Error> {
    let mut params = Params::default();
    let pending = params.push(JobStatus::Pending.as_str().to_owned());
    let list = id_list(&mut params, ids);
    let sql = format!(
        "SELECT id FROM regeneration_jobs WHERE id IN ({list}) AND status = {pending} \
         ORDER BY id FOR UPDATE"
    );
    params.bind_all(sqlx::query(&sql)).execute(conn).await?;
    Ok(())
}

/// The one conditional update of `trigger.rs`, over many ids: the ids that
/// were PENDING and now are RUNNING.
async fn transition_all(
    conn: &mut AnyConnection,
    ids: &[JobId],
) -> Result<Vec<JobId>, StorageError> {
    let (from, to) = trigger_statuses();
    let mut params = Params::default();
    let to = params.push(to.as_str().to_owned());
    let from = params.push(from.as_str().to_owned());
    let list = id_list(&mut params, ids);
    let sql = format!(
        "UPDATE regeneration_jobs SET status = {to} WHERE id IN ({list}) AND status = {from} \
         RETURNING id"
    );
    job_ids(&params.bind_all(sqlx::query(&sql)).fetch_all(conn).await?)
}

/// The current status of each of `ids` that exists (statuses never go
/// back to PENDING, so a conflict read now stays true).
async fn statuses(
    conn: &mut AnyConnection,
    ids: &[JobId],
) -> Result<Vec<(JobId, JobStatus)>, StorageError> {
    let mut params = Params::default();
    let list = id_list(&mut params, ids);
    let sql = format!("SELECT id, status FROM regeneration_jobs WHERE id IN ({list})");
    let rows = params.bind_all(sqlx::query(&sql)).fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get(0)?;
            let status: String = row.try_get(1)?;
            Ok((
                id.parse().map_err(StorageError::corrupt)?,
                status.parse().map_err(StorageError::corrupt)?,
            ))
        })
        .collect()
}
