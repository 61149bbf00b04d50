//! Job counts, read from the counters the database keeps (see the
//! `0002_job_counts` migrations), and the recount that checks or rebuilds
//! them.

use regen_domain::{JobId, JobStatus, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{Executor, Row};

use crate::error::StorageError;
use crate::rows::{json_rows, parse_text};
use crate::{AnyQuery, Backend, Store};

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

const KEPT: &str = "SELECT target_type, status, CAST(SUM(jobs) AS BIGINT) AS jobs \
                    FROM regeneration_job_counts GROUP BY target_type, status \
                    HAVING SUM(jobs) <> 0";

const RECOUNT: &str = "SELECT target_type, status, COUNT(*) FROM regeneration_jobs \
                       GROUP BY target_type, status";

/// The kept counts and the PENDING job that has waited longest, as one
/// statement reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCounts {
    /// One row per (target type, status) that has jobs, every target type.
    pub rows: Vec<CountRow>,
    /// The oldest PENDING job (of the target type asked for, if any).
    pub oldest_pending: Option<(JobId, Timestamp)>,
}

/// The oldest PENDING job as a JSON `[id, created_at]`: one probe of an
/// index on (status, created_at) or (target_type, status, created_at). Its
/// status is bound as `$first`, the target type (if any) as the next.
fn oldest_pending_sql(backend: Backend, first: usize, of_target_type: bool) -> String {
    let filter = if of_target_type {
        format!("status = ${first} AND target_type = ${}", first + 1)
    } else {
        format!("status = ${first}")
    };
    let pair = match backend {
        Backend::Sqlite => "json_array(id, created_at)",
        Backend::Postgres => "json_build_array(id, created_at)::text",
    };
    format!("SELECT {pair} FROM regeneration_jobs WHERE {filter} ORDER BY created_at, id LIMIT 1")
}

/// The select-list items `kept` and `oldest` that read the kept counts and
/// the oldest PENDING job (of a target type, with `of_target_type`), whose
/// values are bound from `$first` on by [`bind_counts`]. A statement that
/// selects them is decoded by [`kept_counts`].
pub(crate) fn counts_columns_sql(backend: Backend, first: usize, of_target_type: bool) -> String {
    format!(
        "({}) AS kept, ({}) AS oldest",
        json_rows(backend, "target_type, status, jobs", KEPT),
        oldest_pending_sql(backend, first, of_target_type)
    )
}

/// Binds the values of [`counts_columns_sql`], after those bound before it.
pub(crate) fn bind_counts<'q>(query: AnyQuery<'q>, oldest_of: Option<&'q str>) -> AnyQuery<'q> {
    let query = query.bind(JobStatus::Pending.as_str());
    match oldest_of {
        Some(target_type) => query.bind(target_type),
        None => query,
    }
}

/// The `kept` and `oldest` columns of [`counts_columns_sql`], decoded.
pub(crate) fn kept_counts(row: &AnyRow) -> Result<KeptCounts, StorageError> {
    let kept: &str = row.try_get("kept")?;
    let oldest: Option<&str> = row.try_get("oldest")?;
    let kept: Vec<(String, String, i64)> = serde_json::from_str(kept)
        .map_err(|e| StorageError::corrupt(format!("job counts: {e}")))?;
    let oldest_pending = oldest
        .map(|pair| {
            let (id, at): (&str, &str) = serde_json::from_str(pair)
                .map_err(|e| StorageError::corrupt(format!("oldest pending: {e}")))?;
            Ok::<_, StorageError>((parse_text("id", id)?, parse_text("created_at", at)?))
        })
        .transpose()?;
    Ok(KeptCounts {
        rows: rows(kept)?,
        oldest_pending,
    })
}

impl Store {
    /// The kept counts and the oldest PENDING job (of `oldest_of`, a target
    /// type, when given), read by one statement as one row: a page that
    /// shows both makes one round trip to the database, not one per row.
    /// Costs the same at any number of jobs: it reads the counters and one
    /// index entry, not the jobs.
    pub async fn job_counts(&self, oldest_of: Option<&str>) -> Result<KeptCounts, StorageError> {
        let sql = format!(
            "SELECT {}",
            counts_columns_sql(self.backend(), 1, oldest_of.is_some())
        );
        let row = bind_counts(sqlx::query(&sql), oldest_of)
            .fetch_one(&self.pool)
            .await?;
        kept_counts(&row)
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
}
