use regen_domain::{
    AuditEvent, AuditEventType, AuditRecord, JobId, JobStatus, JobSummary, JsonText, NewJob,
    RegenerationJob, Timestamp,
};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::{Acquire, Row};
use std::sync::LazyLock;
use uuid::Uuid;

use crate::audit::{record_from_row, AUDIT_RECORD_COLUMNS, AUDIT_WITH_NAMES};
use crate::direct::DirectRow;
use crate::error::StorageError;
use crate::group_commit::Outcome;
use crate::{now, AnyQuery, Store};

pub(crate) const JOB_COLUMNS: &str =
    "id, status, target_type, target_id, instruction_json, output_ref, \
                           error_json, created_at, created_by";
pub(crate) const SUMMARY_COLUMNS: &str =
    "id, status, target_type, target_id, created_at, created_by";
const AUDIT_COLUMNS: &str = "id, event_type, job_id, actor, occurred_at, request_id, details";

/// Which jobs a listing shows. Empty `statuses` means every status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub statuses: Vec<JobStatus>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
    pub created_by: Option<String>,
}

/// A place in the (created_at DESC, id DESC) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysetPosition {
    pub created_at: Timestamp,
    pub id: JobId,
}

/// Which side of a [`KeysetPosition`] a page lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageDirection {
    /// Strictly after the position in listing order: older jobs.
    Older,
    /// Strictly before it: newer jobs, still returned newest first.
    Newer,
}

impl From<&JobSummary> for KeysetPosition {
    fn from(job: &JobSummary) -> Self {
        Self {
            created_at: job.created_at,
            id: job.id,
        }
    }
}

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
    /// Inserts a job and its REGEN_JOB_CREATED audit row in one transaction.
    pub async fn insert_job(&self, new: NewJob) -> Result<RegenerationJob, StorageError> {
        let job = new_row(new, now());
        let mut tx = self.pool.begin().await?;
        insert_job_row(&mut tx, &job).await?;
        insert_audit(&mut tx, &creation_event(&job)).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// After a bulk import: PostgreSQL plans the listings and the audit
    /// queries from table statistics that autovacuum refreshes only minutes
    /// later; until then a million fresh rows look like none, and a bounded
    /// listing or a filtered audit page took a second instead of
    /// milliseconds (measured after `demo --jobs 1000000`). The import also
    /// leaves the counter tables full of dead row versions (each of its
    /// transactions rewrote the same rows thousands of times); VACUUM makes
    /// that space reusable and the visibility map current before triggers
    /// and chart reads meet them (it does not shrink the file: see
    /// `bench/NOTES.md`). VACUUM runs outside a transaction, so this is one
    /// simple-protocol statement. SQLite keeps no statistics
    /// unless asked, and its plans are fixed by the query shapes
    /// (`listing.rs`), so it is left as it is.
    pub async fn refresh_statistics(&self) -> Result<(), StorageError> {
        if self.backend() == crate::Backend::Postgres {
            sqlx::raw_sql(
                "VACUUM (ANALYZE) regeneration_job_counts, regeneration_job_activity, \
                 regeneration_jobs, audit_events",
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Inserts many jobs, each with its REGEN_JOB_CREATED audit row, in one
    /// transaction, keeping the creation times the producer recorded. For
    /// importers, demo data and benchmark seeding.
    pub async fn insert_jobs(
        &self,
        jobs: Vec<(NewJob, Timestamp)>,
    ) -> Result<Vec<JobId>, StorageError> {
        let mut tx = self.pool.begin().await?;
        self.one_activity_shard(&mut tx).await?;
        let jobs: Vec<RegenerationJob> = jobs
            .into_iter()
            .map(|(new, created_at)| new_row(new, created_at))
            .collect();
        let events: Vec<AuditEvent> = jobs.iter().map(creation_event).collect();
        // Many rows per statement: fewer round trips, and on PostgreSQL each
        // counter row is written once per statement, not once per job (0009).
        for chunk in jobs.chunks(ROWS_PER_INSERT) {
            insert_job_rows(&mut tx, chunk).await?;
        }
        for chunk in events.chunks(ROWS_PER_INSERT) {
            insert_audit_rows(&mut tx, chunk).await?;
        }
        tx.commit().await?;
        Ok(jobs.iter().map(|job| job.id).collect())
    }

    /// A bulk import writes its activity counts to one shard (PostgreSQL;
    /// see 0006), so that reads sum few rows.
    async fn one_activity_shard(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<(), StorageError> {
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SET LOCAL regen.activity_shard = '0'")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Inserts audit events recorded elsewhere (an importer's history, demo
    /// data) in one transaction. Audit rows stay insert-only.
    pub async fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        self.one_activity_shard(&mut tx).await?;
        for chunk in events.chunks(ROWS_PER_INSERT) {
            insert_audit_rows(&mut tx, chunk).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_job(&self, id: JobId) -> Result<Option<RegenerationJob>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM regeneration_jobs WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.statement_connection().await?)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// PENDING → RUNNING as one conditional update, plus the
    /// REGEN_JOB_TRIGGERED audit row, committed together. A failing audit
    /// row never holds the transition back: the transition still commits
    /// and the failure is handed back with the event so it can be kept
    /// elsewhere.
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
        let attempt = match self.backend() {
            crate::Backend::Postgres => self.trigger_in_one_statement(&event).await,
            crate::Backend::Sqlite => match self.committer.as_ref() {
                Some(committer) => match committer.trigger(&event).await {
                    Outcome::Committed(row) => Ok(row),
                    Outcome::TryAlone => self.trigger_in_one_hand_off(&event).await,
                },
                None => self.trigger_in_one_hand_off(&event).await,
            },
        };
        match attempt {
            Ok(Some(row)) => Ok(TriggerResult::Triggered {
                job: job_from_row(&row)?,
                audit: Ok(event),
            }),
            Ok(None) => self.why_not_triggered(id).await,
            // The attempt kept nothing: PostgreSQL answers an autocommitted
            // statement with an error only when its transaction rolled
            // back, and the SQLite attempt rolls back whatever failed. The
            // savepoint path then tells a failing audit row (the transition
            // commits) from a failing transition (tried once more, it fails
            // again: a lock that timed out costs its wait twice).
            Err(sqlx::Error::Database(_)) => self.trigger_with_audit_savepoint(event).await,
            // A lost connection may have lost the answer to a commit: not
            // retried, as any failed commit.
            Err(other) => Err(other.into()),
        }
    }

    /// The transition and its audit row as one autocommitted statement: one
    /// round trip instead of six (BEGIN, UPDATE, SAVEPOINT, INSERT, RELEASE,
    /// COMMIT), which halved a trigger's time at the database and raised
    /// triggers per second by a third at 10 clients (bench/NOTES.md, round
    /// 2, eighth session). PostgreSQL only: SQLite has no data-modifying
    /// CTEs. The triggered job's row, or `None` when no PENDING job has the
    /// id.
    async fn trigger_in_one_statement(
        &self,
        event: &AuditEvent,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        bind_trigger(
            sqlx::query(&format!(
                "WITH moved AS ({TRANSITION} RETURNING {JOB_COLUMNS}), \
                      audited AS (INSERT INTO audit_events ({AUDIT_COLUMNS}) \
                                  SELECT $4, $5, moved.id, $6, $7, $8, $9 FROM moved) \
                 SELECT {JOB_COLUMNS} FROM moved"
            )),
            event,
        )
        .fetch_optional(&self.pool)
        .await
    }

    /// SQLite, one trigger alone (when its batch failed, or there is no
    /// committer, `group_commit.rs`): the transition and its audit row in
    /// one transaction, both statements in one hand-off to the connection's
    /// thread. The UPDATE takes the database's write lock and COMMIT
    /// releases it, and every hand-off in between keeps all other writers
    /// waiting. If anything fails, everything is rolled back and the error
    /// returned. The triggered job's row, or `None` when no PENDING job has
    /// the id.
    async fn trigger_in_one_hand_off(
        &self,
        event: &AuditEvent,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        let mut rows = commit_sqlite_triggers(&mut connection, &[event]).await?;
        Ok(rows.pop().flatten())
    }

    /// The transition in a transaction, its audit row in a savepoint.
    async fn trigger_with_audit_savepoint(
        &self,
        event: AuditEvent,
    ) -> Result<TriggerResult, StorageError> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = transition(&mut tx, &event).await? else {
            tx.rollback().await?;
            return self.why_not_triggered(event.job_id).await;
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

    /// Why a conditional update changed nothing: no such job, or it is no
    /// longer PENDING (statuses never go back, so the answer stays true).
    async fn why_not_triggered(&self, id: JobId) -> Result<TriggerResult, StorageError> {
        let current: Option<(String,)> =
            sqlx::query_as("SELECT status FROM regeneration_jobs WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *self.statement_connection().await?)
                .await?;
        match current {
            None => Ok(TriggerResult::NotFound),
            Some((status,)) => Ok(TriggerResult::Conflict {
                current: status.parse().map_err(StorageError::corrupt)?,
            }),
        }
    }

    /// One job's audit trail, oldest first, with actor names.
    pub async fn audit_events(&self, job: JobId) -> Result<Vec<AuditRecord>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_RECORD_COLUMNS} FROM {AUDIT_WITH_NAMES} WHERE a.job_id = $1 \
             ORDER BY a.occurred_at, a.id"
        ))
        .bind(job.to_string())
        .fetch_all(&mut *self.statement_connection().await?)
        .await?;
        rows.iter().map(record_from_row).collect()
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

/// A new job as stored: a fresh UUIDv7, and JSON `null` payloads as SQL NULL.
fn new_row(new: NewJob, created_at: Timestamp) -> RegenerationJob {
    RegenerationJob {
        id: JobId::from_uuid(Uuid::now_v7()),
        status: new.status,
        target_type: new.target_type,
        target_id: new.target_id,
        instruction_json: new.instruction_json,
        output_ref: new.output_ref.filter(|j| !j.is_null()),
        error_json: new.error_json.filter(|j| !j.is_null()),
        created_at,
        created_by: new.created_by,
    }
}

fn creation_event(job: &RegenerationJob) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        event_type: AuditEventType::Created,
        job_id: job.id,
        actor: job.created_by.clone(),
        occurred_at: job.created_at,
        request_id: None,
        details: None,
    }
}

/// Rows per multi-row INSERT of an import: 900 and 700 parameters, far
/// below either database's limit.
const ROWS_PER_INSERT: usize = 100;

/// `($1, …, $n), ($n+1, …)`: placeholders for `rows` rows of `columns`.
fn values_placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let row: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_job_row(
    conn: &mut AnyConnection,
    job: &RegenerationJob,
) -> Result<(), StorageError> {
    insert_job_rows(conn, std::slice::from_ref(job)).await
}

async fn insert_job_rows(
    conn: &mut AnyConnection,
    jobs: &[RegenerationJob],
) -> Result<(), StorageError> {
    let sql = format!(
        "INSERT INTO regeneration_jobs ({JOB_COLUMNS}) VALUES {}",
        values_placeholders(jobs.len(), 9)
    );
    let mut query: AnyQuery<'_> = sqlx::query(&sql);
    for job in jobs {
        query = query
            .bind(job.id.to_string())
            .bind(job.status.as_str())
            .bind(&job.target_type)
            .bind(&job.target_id)
            .bind(job.instruction_json.as_str())
            .bind(job.output_ref.as_ref().map(JsonText::as_str))
            .bind(job.error_json.as_ref().map(JsonText::as_str))
            .bind(job.created_at.to_string())
            .bind(&job.created_by);
    }
    query.execute(conn).await?;
    Ok(())
}

/// The one transition this product makes, as the domain defines it.
fn pending_to_running() -> (JobStatus, JobStatus) {
    let from = JobStatus::Pending;
    let to = from
        .trigger()
        .expect("the domain allows triggering a pending job");
    (from, to)
}

async fn insert_audit(conn: &mut AnyConnection, event: &AuditEvent) -> Result<(), sqlx::Error> {
    insert_audit_rows(conn, std::slice::from_ref(event)).await
}

/// The conditional update behind every trigger: $1 the new status, $2 the
/// job, $3 the status it must have.
const TRANSITION: &str = "UPDATE regeneration_jobs SET status = $1 WHERE id = $2 AND status = $3";

/// The values of a trigger's statements: [`TRANSITION`]'s $1–$3, then the
/// audit row's $4–$9 (its job is $2).
fn bind_trigger<'q>(query: AnyQuery<'q>, event: &'q AuditEvent) -> AnyQuery<'q> {
    let (from, to) = pending_to_running();
    query
        .bind(to.as_str())
        .bind(event.job_id.to_string())
        .bind(from.as_str())
        .bind(event.id.to_string())
        .bind(event.event_type.as_str())
        .bind(&event.actor)
        .bind(event.occurred_at.to_string())
        .bind(event.request_id.as_deref())
        .bind(event.details.as_ref().map(JsonText::as_str))
}

/// SQLite: a trigger's UPDATE and audit INSERT, sent to the connection's
/// thread together. The INSERT runs only when the UPDATE changed the row
/// (`changes()` counts the statement's own rows, not the counter
/// triggers'). Run it with `fetch_all`, never `fetch_optional`: sqlx stops a
/// list of statements at the first row it was asked for, and the INSERT
/// after the UPDATE's row would never run.
pub(crate) fn sqlite_trigger_statements(event: &AuditEvent) -> AnyQuery<'_> {
    static STATEMENTS: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{TRANSITION} RETURNING {JOB_COLUMNS}; \
             INSERT INTO audit_events ({AUDIT_COLUMNS}) \
             SELECT $4, $5, $2, $6, $7, $8, $9 WHERE changes() = 1"
        )
    });
    bind_trigger(sqlx::query(&STATEMENTS), event)
}

/// SQLite: each event's trigger statements, then one commit; on the first
/// error everything is rolled back and the error returned. Each trigger's
/// job row, or `None` when no PENDING job had its id.
pub(crate) async fn commit_sqlite_triggers(
    connection: &mut AnyConnection,
    events: &[&AuditEvent],
) -> Result<Vec<Option<AnyRow>>, sqlx::Error> {
    let mut tx = connection.begin().await?;
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        match sqlite_trigger_statements(event).fetch_all(&mut *tx).await {
            Ok(returned) => rows.push(returned.into_iter().next()),
            Err(error) => {
                // Some SQLite errors have rolled the transaction back
                // already; the error that matters is the statement's.
                let _ = tx.rollback().await;
                return Err(error);
            }
        }
    }
    tx.commit().await?;
    Ok(rows)
}

/// PENDING → RUNNING for the event's job, as one conditional update: the
/// job's row as it now is, or `None` when no PENDING job has the id.
async fn transition(
    conn: &mut AnyConnection,
    event: &AuditEvent,
) -> Result<Option<AnyRow>, sqlx::Error> {
    let (from, to) = pending_to_running();
    sqlx::query(&format!("{TRANSITION} RETURNING {JOB_COLUMNS}"))
        .bind(to.as_str())
        .bind(event.job_id.to_string())
        .bind(from.as_str())
        .fetch_optional(conn)
        .await
}

async fn insert_audit_rows(
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

fn text(row: &AnyRow, column: &str) -> Result<String, StorageError> {
    row.try_get(column).map_err(StorageError::Other)
}

fn optional_text(row: &AnyRow, column: &str) -> Result<Option<String>, StorageError> {
    row.try_get(column).map_err(StorageError::Other)
}

fn parse<T: std::str::FromStr>(row: &AnyRow, column: &str) -> Result<T, StorageError>
where
    T::Err: std::fmt::Display,
{
    parse_text(column, &text(row, column)?)
}

fn parse_text<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, StorageError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| StorageError::corrupt(format!("{column}: {e}")))
}

fn json(value: String) -> Result<JsonText, StorageError> {
    JsonText::parse(value).map_err(StorageError::corrupt)
}

pub(crate) fn job_from_row(row: &AnyRow) -> Result<RegenerationJob, StorageError> {
    Ok(RegenerationJob {
        id: parse(row, "id")?,
        status: parse(row, "status")?,
        target_type: text(row, "target_type")?,
        target_id: text(row, "target_id")?,
        instruction_json: json(text(row, "instruction_json")?)?,
        output_ref: optional_text(row, "output_ref")?.map(json).transpose()?,
        error_json: optional_text(row, "error_json")?.map(json).transpose()?,
        created_at: parse(row, "created_at")?,
        created_by: text(row, "created_by")?,
    })
}

/// A summary read by `direct.rs`, columns in SUMMARY_COLUMNS order.
pub(crate) fn summary_from_direct(row: DirectRow) -> Result<JobSummary, StorageError> {
    let columns: [Option<String>; 6] = row
        .try_into()
        .map_err(|_| StorageError::corrupt("job summary: wrong width"))?;
    if columns.iter().any(Option::is_none) {
        return Err(StorageError::corrupt("job summary: NULL"));
    }
    summary_from_texts(columns.map(Option::unwrap_or_default))
}

/// A summary from its SUMMARY_COLUMNS as text, validated like any row.
pub(crate) fn summary_from_texts(
    [id, status, target_type, target_id, created_at, created_by]: [String; 6],
) -> Result<JobSummary, StorageError> {
    Ok(JobSummary {
        id: parse_text("id", &id)?,
        status: parse_text("status", &status)?,
        target_type,
        target_id,
        created_at: parse_text("created_at", &created_at)?,
        created_by,
    })
}

pub(crate) fn summary_from_row(row: &AnyRow) -> Result<JobSummary, StorageError> {
    summary_from_texts([
        text(row, "id")?,
        text(row, "status")?,
        text(row, "target_type")?,
        text(row, "target_id")?,
        text(row, "created_at")?,
        text(row, "created_by")?,
    ])
}
