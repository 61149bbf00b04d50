//! Job counts, read from the counters the database keeps (see the
//! `0002_job_counts` migrations), and the recount that checks or rebuilds
//! them.

use regen_domain::{JobId, JobStatus, Timestamp};
use sqlx::Executor;

use crate::error::StorageError;
use crate::{Backend, Store};

/// The number of jobs with one target type and status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CountRow {
    pub target_type: String,
    pub status: JobStatus,
    pub jobs: i64,
}

fn rows(raw: Vec<(String, String, i64)>) -> Result<Vec<CountRow>, StorageError> {
    let mut rows = raw
        .into_iter()
        .map(|(target_type, status, jobs)| {
            Ok(CountRow {
                target_type,
                status: status.parse().map_err(StorageError::corrupt)?,
                jobs,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    rows.sort();
    Ok(rows)
}

const KEPT: &str = "SELECT target_type, status, CAST(SUM(jobs) AS BIGINT) \
                    FROM regeneration_job_counts GROUP BY target_type, status \
                    HAVING SUM(jobs) <> 0";

const RECOUNT: &str = "SELECT target_type, status, COUNT(*) FROM regeneration_jobs \
                       GROUP BY target_type, status";

impl Store {
    /// The kept counts, one row per (target type, status) that has jobs. Costs
    /// the same at any number of jobs: it reads the counters, not the jobs.
    pub async fn job_counts(&self) -> Result<Vec<CountRow>, StorageError> {
        let raw: Vec<(String, String, i64)> = sqlx::query_as(KEPT).fetch_all(&self.pool).await?;
        rows(raw)
    }

    /// The kept counts and a recount of the jobs with `COUNT(*)`, read in one
    /// snapshot so that a write between the two cannot look like drift.
    /// Reads every job; no statement timeout applies.
    pub async fn kept_and_recounted(&self) -> Result<(Vec<CountRow>, Vec<CountRow>), StorageError> {
        let mut tx = self.pool.begin().await?;
        if self.backend() == Backend::Postgres {
            tx.execute(sqlx::raw_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET LOCAL statement_timeout = 0",
            ))
            .await?;
        }
        let kept: Vec<(String, String, i64)> = sqlx::query_as(KEPT).fetch_all(&mut *tx).await?;
        let counted: Vec<(String, String, i64)> =
            sqlx::query_as(RECOUNT).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok((rows(kept)?, rows(counted)?))
    }

    /// Replaces the kept counts with a recount, beside a running server:
    /// readers go on, writers wait (PostgreSQL: a share lock on the jobs;
    /// SQLite: the write lock, taken first) for at most their lock timeout
    /// (`REGEN_DB_TIMEOUT_MS`), after which they answer 503 and change
    /// nothing. Returns the number of jobs counted.
    pub async fn rebuild_job_counts(&self) -> Result<i64, StorageError> {
        let mut tx = self.pool.begin().await?;
        if self.backend() == Backend::Postgres {
            tx.execute(sqlx::raw_sql(
                "SET LOCAL statement_timeout = 0; \
                 LOCK TABLE regeneration_jobs, audit_events IN SHARE ROW EXCLUSIVE MODE",
            ))
            .await?;
        }
        tx.execute("DELETE FROM regeneration_job_counts").await?;
        tx.execute(
            format!("INSERT INTO regeneration_job_counts (target_type, status, jobs) {RECOUNT}")
                .as_str(),
        )
        .await?;
        crate::activity::rebuild_activity(&mut tx).await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(jobs), 0) AS BIGINT) FROM regeneration_job_counts",
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(total)
    }

    /// The PENDING job that has waited longest, optionally of one target
    /// type: one probe of an index on (status, created_at) or
    /// (target_type, status, created_at).
    pub async fn oldest_pending(
        &self,
        target_type: Option<&str>,
    ) -> Result<Option<(JobId, Timestamp)>, StorageError> {
        let pending = JobStatus::Pending.as_str();
        let mut conn = self.pool.acquire().await?;
        let row: Option<(String, String)> = match target_type {
            None => {
                sqlx::query_as(
                    "SELECT id, created_at FROM regeneration_jobs WHERE status = $1 \
                     ORDER BY created_at, id LIMIT 1",
                )
                .bind(pending)
                .fetch_optional(&mut *conn)
                .await?
            }
            Some(target_type) => {
                sqlx::query_as(
                    "SELECT id, created_at FROM regeneration_jobs \
                     WHERE target_type = $1 AND status = $2 ORDER BY created_at, id LIMIT 1",
                )
                .bind(target_type)
                .bind(pending)
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        row.map(|(id, at)| {
            Ok((
                id.parse().map_err(StorageError::corrupt)?,
                at.parse().map_err(StorageError::corrupt)?,
            ))
        })
        .transpose()
    }
}
