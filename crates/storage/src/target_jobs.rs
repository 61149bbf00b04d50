//! A job's neighbours: the other jobs of its target (same target type and
//! target id), newest first, for the detail page. One statement over the
//! target-id index (`regeneration_jobs_by_target_id`, which keeps its jobs
//! in listing order), stopped by its LIMIT: it costs what a listing's first
//! page costs, however many jobs the target has.

use regen_domain::{JobId, JobSummary};
use sqlx::Row;

use crate::error::StorageError;
use crate::rows::{json_rows, summaries_from_json, SUMMARY_COLUMNS};
use crate::{Backend, Store};

/// The rows; the target type is checked on the rows the index yields
/// (SQLite's `+` keeps it from choosing another index, as in listings). The
/// LIMIT is written, not bound, as a listing page's is (`PageLimit` in
/// `listing.rs`): PostgreSQL then settles on one plan per connection instead
/// of planning every detail page again.
fn rows_sql(backend: Backend, limit: u32) -> String {
    let residual = match backend {
        Backend::Sqlite => "+",
        Backend::Postgres => "",
    };
    format!(
        "SELECT {SUMMARY_COLUMNS} FROM regeneration_jobs \
         WHERE target_id = $1 AND {residual}target_type = $2 AND {residual}id <> $3 \
         ORDER BY created_at DESC, id DESC LIMIT {limit}"
    )
}

impl Store {
    /// Up to `limit` jobs of the same target type and target id as a job,
    /// newest first, without the job itself.
    pub async fn other_jobs_of_target(
        &self,
        target_type: &str,
        target_id: &str,
        except: JobId,
        limit: u32,
    ) -> Result<Vec<JobSummary>, StorageError> {
        let sql = json_rows(
            self.backend(),
            SUMMARY_COLUMNS,
            &rows_sql(self.backend(), limit),
        );
        let page: String = sqlx::query(&sql)
            .bind(target_id)
            .bind(target_type)
            .bind(except.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let mut jobs = summaries_from_json(&page)?;
        // An aggregate keeps no promised order.
        jobs.sort_unstable_by_key(|job| std::cmp::Reverse((job.created_at, job.id)));
        Ok(jobs)
    }

    /// The database's plan of [`Store::other_jobs_of_target`], one line per
    /// node: `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL (whose
    /// plan depends on its statistics).
    pub async fn explain_other_jobs_of_target(&self) -> Result<Vec<String>, StorageError> {
        let explain = match self.backend() {
            Backend::Sqlite => "EXPLAIN QUERY PLAN",
            Backend::Postgres => "EXPLAIN",
        };
        let sql = format!("{explain} {}", rows_sql(self.backend(), 11));
        let rows = sqlx::query(&sql)
            .bind("t")
            .bind("insight")
            .bind("00000000-0000-7000-8000-000000000000")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let column = row.columns().len() - 1;
                row.try_get::<String, _>(column).map_err(StorageError::from)
            })
            .collect()
    }
}
