//! Jobs over time, read from the hourly counters the database keeps (see
//! the `0006_job_activity` migrations), and their recount.

use regen_domain::{StatusCounts, Timestamp, ALL_STATUSES};
use sqlx::{Executor, Row};

use crate::error::StorageError;
use crate::{Backend, Store};

/// One kept hourly figure: jobs created in `hour` now in status `series`,
/// or (series `TRIGGERED`) triggers in `hour`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActivityRow {
    pub hour: String,
    pub target_type: String,
    pub series: String,
    pub jobs: i64,
}

/// The advisory lock that lets one instance at a time fold the shards.
const FOLD_LOCK: i64 = 0x7265_6765_6e5f_6631; // "regen_f1"

const HOUR_OF_CREATION: &str = "substr(created_at, 1, 13) || ':00:00.000Z'";

/// The kept series in column order, each a column of
/// `regeneration_job_activity` (0008): one per status, then the triggers.
fn series() -> impl Iterator<Item = (&'static str, String)> {
    ALL_STATUSES
        .iter()
        .map(|status| status.as_str())
        .chain(["TRIGGERED"])
        .map(|name| (name, name.to_ascii_lowercase()))
}

/// The kept figures as (hour, target type, series, jobs) rows, shards summed.
fn kept() -> String {
    let per_series: Vec<String> = series()
        .map(|(name, column)| {
            format!(
                "SELECT hour, target_type, '{name}' AS series, CAST(SUM({column}) AS BIGINT) AS jobs \
                 FROM regeneration_job_activity GROUP BY hour, target_type"
            )
        })
        .collect();
    format!(
        "SELECT hour, target_type, series, jobs FROM ({}) kept WHERE jobs <> 0",
        per_series.join(" UNION ALL ")
    )
}

fn recount_created() -> String {
    format!(
        "SELECT {HOUR_OF_CREATION} AS hour, target_type, status AS series, COUNT(*) AS jobs \
         FROM regeneration_jobs GROUP BY 1, 2, 3"
    )
}

const RECOUNT_TRIGGERED: &str = "SELECT substr(a.occurred_at, 1, 13) || ':00:00.000Z' AS hour, \
     j.target_type AS target_type, 'TRIGGERED' AS series, COUNT(*) AS jobs FROM audit_events a \
     JOIN regeneration_jobs j ON j.id = a.job_id \
     WHERE a.event_type = 'REGEN_JOB_TRIGGERED' GROUP BY 1, 2";

fn rows(raw: Vec<(String, String, String, i64)>) -> Vec<ActivityRow> {
    let mut rows: Vec<ActivityRow> = raw
        .into_iter()
        .map(|(hour, target_type, series, jobs)| ActivityRow {
            hour,
            target_type,
            series,
            jobs,
        })
        .collect();
    rows.sort();
    rows
}

/// One bucket's kept figures: the jobs created in it, by their status now,
/// and the triggers in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketActivity {
    /// The first characters of the bucket's hours (`2026-12-01T10` for an
    /// hour, `2026-12-01` for a day).
    pub bucket: String,
    pub created: StatusCounts,
    pub triggered: u64,
}

impl Store {
    /// Per bucket in `[from, to)`, summed over target types (or of one). A
    /// bucket is named by the first `prefix` characters of its hours (13:
    /// the hour itself, 10: its day). Reads the counters, never the jobs:
    /// one row per hour and target type (and, on PostgreSQL, per shard not
    /// yet folded by [`Store::fold_activity_shards`]).
    pub async fn job_activity(
        &self,
        from: Timestamp,
        to: Timestamp,
        prefix: usize,
        target_type: Option<&str>,
    ) -> Result<Vec<BucketActivity>, StorageError> {
        let prefix = prefix.clamp(1, 24);
        let sums: Vec<String> = series()
            .map(|(_, column)| format!("CAST(SUM({column}) AS BIGINT)"))
            .collect();
        let rows = sqlx::query(&format!(
            "SELECT substr(hour, 1, {prefix}), {} FROM regeneration_job_activity \
             WHERE hour >= $1 AND hour < $2 AND ($3 IS NULL OR target_type = $3) \
             GROUP BY 1",
            sums.join(", ")
        ))
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(target_type)
        .fetch_all(&self.pool)
        .await?;
        let count = |row: &sqlx::any::AnyRow, i: usize| -> Result<u64, StorageError> {
            Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
        };
        rows.iter()
            .map(|row| {
                let mut created = StatusCounts::default();
                for (i, status) in ALL_STATUSES.iter().enumerate() {
                    created.add(*status, count(row, 1 + i)?);
                }
                Ok(BucketActivity {
                    bucket: row.try_get(0)?,
                    created,
                    triggered: count(row, 1 + ALL_STATUSES.len())?,
                })
            })
            .collect()
    }

    /// Folds the shards of every hour before `before` into shard 0, so a
    /// read sums one row per hour and target type however many shards
    /// concurrent writers used (PostgreSQL; SQLite keeps one row per key and
    /// has nothing to fold). One statement, so every sum stays exact at
    /// every moment; any instance may run it at any time, and an advisory
    /// lock lets one fold while the others skip. A writer that adds to a
    /// folded hour later simply makes a new shard row for the next fold.
    /// Returns the (hour, target type) rows that absorbed shards.
    pub async fn fold_activity_shards(&self, before: Timestamp) -> Result<u64, StorageError> {
        if self.backend() != Backend::Postgres {
            return Ok(0);
        }
        let columns: Vec<String> = series().map(|(_, column)| column).collect();
        let sums: Vec<String> = columns.iter().map(|c| format!("SUM({c})")).collect();
        let add: Vec<String> = columns
            .iter()
            .map(|c| format!("{c} = regeneration_job_activity.{c} + EXCLUDED.{c}"))
            .collect();
        let mut tx = self.pool.begin().await?;
        let (ours,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
            .bind(FOLD_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !ours {
            return Ok(0);
        }
        let folded = sqlx::query(&format!(
            "WITH folded AS (DELETE FROM regeneration_job_activity WHERE hour < $1 AND shard <> 0 \
                             RETURNING hour, target_type, {columns}) \
             INSERT INTO regeneration_job_activity (hour, target_type, shard, {columns}) \
             SELECT hour, target_type, 0, {sums} FROM folded GROUP BY hour, target_type \
             ON CONFLICT (hour, target_type, shard) DO UPDATE SET {add}",
            columns = columns.join(", "),
            sums = sums.join(", "),
            add = add.join(", ")
        ))
        .bind(before.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(folded)
    }

    /// The kept hourly figures and a recount from the jobs and the audit
    /// trail, in one snapshot. Reads every job.
    pub async fn kept_activity_and_recounted(
        &self,
    ) -> Result<(Vec<ActivityRow>, Vec<ActivityRow>), StorageError> {
        let mut tx = self.pool.begin().await?;
        if self.backend() == Backend::Postgres {
            tx.execute(sqlx::raw_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET LOCAL statement_timeout = 0",
            ))
            .await?;
        }
        let kept: Vec<(String, String, String, i64)> =
            sqlx::query_as(&kept()).fetch_all(&mut *tx).await?;
        let mut counted: Vec<(String, String, String, i64)> = sqlx::query_as(&recount_created())
            .fetch_all(&mut *tx)
            .await?;
        counted.extend(
            sqlx::query_as::<_, (String, String, String, i64)>(RECOUNT_TRIGGERED)
                .fetch_all(&mut *tx)
                .await?,
        );
        tx.commit().await?;
        Ok((rows(kept), rows(counted)))
    }
}

/// Replaces the kept hourly figures with a recount, inside the rebuild's
/// transaction (which holds the locks that keep writers out). On PostgreSQL
/// every figure lands in shard 0.
pub(crate) async fn rebuild_activity(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<(), StorageError> {
    tx.execute("DELETE FROM regeneration_job_activity").await?;
    let columns: Vec<String> = series().map(|(_, column)| column).collect();
    let pivot: Vec<String> = series()
        .map(|(name, _)| format!("SUM(CASE series WHEN '{name}' THEN jobs ELSE 0 END)"))
        .collect();
    tx.execute(
        format!(
            "INSERT INTO regeneration_job_activity (hour, target_type, {}) \
             SELECT hour, target_type, {} FROM ({} UNION ALL {RECOUNT_TRIGGERED}) recounted \
             GROUP BY hour, target_type",
            columns.join(", "),
            pivot.join(", "),
            recount_created()
        )
        .as_str(),
    )
    .await?;
    Ok(())
}
