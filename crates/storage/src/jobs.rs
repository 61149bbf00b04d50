//! Jobs as they are written by importers and read one at a time: inserts
//! (each with its REGEN_JOB_CREATED audit row) and reads by id. Listings are
//! in `listing.rs`, the one status change in `trigger.rs`.

use regen_domain::{
    AuditEvent, AuditEventType, JobId, JsonText, NewJob, RegenerationJob, Timestamp,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::audit::{insert_audit, insert_audit_rows, TRIGGERS_COUNTED_PER_STATEMENT};
use crate::error::StorageError;
use crate::rows::{job_from_row, JOB_COLUMNS};
use crate::sql::{values_placeholders, Params, ROWS_PER_INSERT};
use crate::{now, AnyQuery, Store};

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
        self.as_bulk_import(&mut tx).await?;
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

    /// A bulk import (PostgreSQL) writes its activity counts to one shard
    /// (0006), so that reads sum few rows, and counts its TRIGGERED events
    /// once per statement (0016), so that it leaves no dead counter rows.
    async fn as_bulk_import(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<(), StorageError> {
        if self.backend() == crate::Backend::Postgres {
            sqlx::query(&format!(
                "SELECT set_config('regen.activity_shard', '0', true), {TRIGGERS_COUNTED_PER_STATEMENT}"
            ))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Inserts audit events recorded elsewhere (an importer's history, demo
    /// data) in one transaction. Audit rows stay insert-only.
    pub async fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        self.as_bulk_import(&mut tx).await?;
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
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Full jobs by id, in the order asked (unknown ids are skipped), in
    /// one statement.
    pub async fn get_jobs(&self, ids: &[JobId]) -> Result<Vec<RegenerationJob>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = Params::default();
        let list = params.list(ids.iter().map(|id| id.to_string()));
        let sql = format!("SELECT {JOB_COLUMNS} FROM regeneration_jobs WHERE id IN ({list})");
        let rows = params
            .bind_all(sqlx::query(&sql))
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|job| ids.iter().position(|id| *id == job.id));
        Ok(jobs)
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
