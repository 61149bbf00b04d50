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

const HOUR_OF_CREATION: &str = "substr(created_at, 1, 13) || ':00:00.000Z'";

const KEPT: &str = "SELECT hour, target_type, series, CAST(SUM(jobs) AS BIGINT) \
                    FROM regeneration_job_activity GROUP BY hour, target_type, series \
                    HAVING SUM(jobs) <> 0";

fn recount_created() -> String {
    format!(
        "SELECT {HOUR_OF_CREATION}, target_type, status, COUNT(*) FROM regeneration_jobs \
         GROUP BY 1, 2, 3"
    )
}

const RECOUNT_TRIGGERED: &str = "SELECT substr(a.occurred_at, 1, 13) || ':00:00.000Z', \
     j.target_type, 'TRIGGERED', COUNT(*) FROM audit_events a \
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
    /// the hour itself, 10: its day). Reads the counters, never the jobs.
    ///
    /// First one row per hour with its series side by side, grouped in the
    /// primary key's order (no sort), then the hours of each bucket summed:
    /// 30 days sort 720 hour rows and return 30, where grouping by (bucket,
    /// series) sorted all ~14,000 kept figures and returned 150.
    pub async fn job_activity(
        &self,
        from: Timestamp,
        to: Timestamp,
        prefix: usize,
        target_type: Option<&str>,
    ) -> Result<Vec<BucketActivity>, StorageError> {
        let prefix = prefix.clamp(1, 24);
        let series: Vec<&str> = ALL_STATUSES
            .iter()
            .map(|status| status.as_str())
            .chain(["TRIGGERED"])
            .collect();
        let per_hour: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(i, name)| format!("SUM(CASE series WHEN '{name}' THEN jobs ELSE 0 END) AS s{i}"))
            .collect();
        let per_bucket: Vec<String> = (0..series.len())
            .map(|i| format!("CAST(SUM(s{i}) AS BIGINT)"))
            .collect();
        let rows = sqlx::query(&format!(
            "SELECT substr(hour, 1, {prefix}), {} FROM \
             (SELECT hour, {} FROM regeneration_job_activity \
              WHERE hour >= $1 AND hour < $2 AND ($3 IS NULL OR target_type = $3) \
              GROUP BY hour) per_hour \
             GROUP BY 1",
            per_bucket.join(", "),
            per_hour.join(", ")
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
            sqlx::query_as(KEPT).fetch_all(&mut *tx).await?;
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
/// transaction (which holds the locks that keep writers out).
pub(crate) async fn rebuild_activity(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
) -> Result<(), StorageError> {
    tx.execute("DELETE FROM regeneration_job_activity").await?;
    let shard = match backend {
        Backend::Postgres => ", 0",
        Backend::Sqlite => "",
    };
    let columns = match backend {
        Backend::Postgres => "hour, target_type, series, jobs, shard",
        Backend::Sqlite => "hour, target_type, series, jobs",
    };
    for recount in [recount_created(), RECOUNT_TRIGGERED.to_owned()] {
        // The recount's columns, plus the shard on PostgreSQL.
        let select = recount.replacen("COUNT(*)", &format!("COUNT(*){shard}"), 1);
        tx.execute(format!("INSERT INTO regeneration_job_activity ({columns}) {select}").as_str())
            .await?;
    }
    Ok(())
}
