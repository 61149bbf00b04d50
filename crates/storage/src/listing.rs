//! Listing jobs: keyset pages in (created_at, id) order, never OFFSET or
//! COUNT, never the payload columns.
//!
//! One filter (the most selective one that has an index) drives the scan,
//! together with the time window and the keyset position: that part is
//! served by an index range. Any other filter is applied to the rows that
//! scan produces. When there is such a residual filter, the scan examines at
//! most [`SCAN_BUDGET`] rows per page; a page it cannot fill within that
//! budget says where the scan stopped, so the caller can offer to go on
//! instead of running for seconds.

use regen_domain::JobSummary;

use crate::error::StorageError;
use crate::jobs::{summary_from_row, JobFilter, KeysetPosition, PageDirection, SUMMARY_COLUMNS};
use crate::Store;

/// Rows one page may examine when a filter is not fully served by an index.
pub const SCAN_BUDGET: u32 = 10_000;

/// A page of jobs, in listing order (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobListing {
    pub jobs: Vec<JobSummary>,
    /// The scan reached its budget before filling the page: it examined
    /// every row up to and including this position.
    pub scan_stopped_at: Option<KeysetPosition>,
}

impl std::ops::Deref for JobListing {
    type Target = Vec<JobSummary>;
    fn deref(&self) -> &Vec<JobSummary> {
        &self.jobs
    }
}

/// The filter whose index drives the scan, most selective first. Each of
/// these indexes ends in (created_at, id), so the time window and the keyset
/// position stay inside the index range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    TargetId,
    CreatedBy,
    TargetTypeAndStatus,
    TargetType,
    Status,
    Time,
}

impl Driver {
    fn for_filter(filter: &JobFilter) -> Driver {
        let one_status = filter.statuses.len() == 1;
        if filter.target_id.is_some() {
            Driver::TargetId
        } else if filter.created_by.is_some() {
            Driver::CreatedBy
        } else if filter.target_type.is_some() && one_status {
            Driver::TargetTypeAndStatus
        } else if filter.target_type.is_some() {
            Driver::TargetType
        } else if one_status {
            Driver::Status
        } else {
            Driver::Time
        }
    }
}

/// The statement's pieces: conditions an index range serves, conditions
/// checked on the rows it yields, and the bound values of both.
struct Conditions {
    driving: Vec<String>,
    residual: Vec<String>,
    params: Vec<String>,
}

impl Conditions {
    fn param(&mut self, value: String) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    fn build(filter: &JobFilter, from: Option<(PageDirection, KeysetPosition)>) -> Conditions {
        let mut c = Conditions {
            driving: Vec::new(),
            residual: Vec::new(),
            params: Vec::new(),
        };
        let driver = Driver::for_filter(filter);
        let equal = |c: &mut Conditions, column: &str, value: &str, drives: bool| {
            let p = c.param(value.to_owned());
            let condition = format!("{column} = {p}");
            if drives {
                c.driving.push(condition);
            } else {
                c.residual.push(condition);
            }
        };
        if let Some(target_id) = &filter.target_id {
            equal(&mut c, "target_id", target_id, driver == Driver::TargetId);
        }
        if let Some(created_by) = &filter.created_by {
            equal(
                &mut c,
                "created_by",
                created_by,
                driver == Driver::CreatedBy,
            );
        }
        if let Some(target_type) = &filter.target_type {
            let drives = matches!(driver, Driver::TargetTypeAndStatus | Driver::TargetType);
            equal(&mut c, "target_type", target_type, drives);
        }
        if let [status] = filter.statuses.as_slice() {
            let drives = matches!(driver, Driver::TargetTypeAndStatus | Driver::Status);
            equal(&mut c, "status", status.as_str(), drives);
        } else if !filter.statuses.is_empty() {
            // Several statuses: no index keeps them in time order together.
            let placeholders: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| c.param(s.as_str().to_owned()))
                .collect();
            c.residual
                .push(format!("status IN ({})", placeholders.join(", ")));
        }
        // Fixed-width UTC text: comparing the text compares the times.
        if let Some(from) = filter.created_from {
            let p = c.param(from.to_string());
            c.driving.push(format!("created_at >= {p}"));
        }
        if let Some(to) = filter.created_to {
            let p = c.param(to.to_string());
            c.driving.push(format!("created_at < {p}"));
        }
        if let Some((direction, position)) = from {
            let at = c.param(position.created_at.to_string());
            let id = c.param(position.id.to_string());
            let comparison = match direction {
                PageDirection::Older => "<",
                PageDirection::Newer => ">",
            };
            c.driving
                .push(format!("(created_at, id) {comparison} ({at}, {id})"));
        }
        c
    }
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// One listing statement: what `list_jobs` runs and `explain_list_jobs`
/// shows the plan of.
struct Listing {
    conditions: Conditions,
    driving: String,
    ordered: String,
    order: &'static str,
    sql: String,
}

impl Listing {
    fn new(filter: &JobFilter, from: Option<(PageDirection, KeysetPosition)>) -> Listing {
        let conditions = Conditions::build(filter, from);
        let order = match from {
            Some((PageDirection::Newer, _)) => "ASC",
            _ => "DESC",
        };
        let driving = where_clause(&conditions.driving);
        let ordered = format!("ORDER BY created_at {order}, id {order}");
        let n = conditions.params.len();
        // LIMIT is bound, so one statement per filter shape is prepared and
        // cached, not one per page size.
        let sql = if conditions.residual.is_empty() {
            format!(
                "SELECT {SUMMARY_COLUMNS} FROM regeneration_jobs {driving} {ordered} LIMIT ${}",
                n + 1
            )
        } else {
            format!(
                "SELECT {SUMMARY_COLUMNS} FROM (SELECT {SUMMARY_COLUMNS} FROM regeneration_jobs \
                 {driving} {ordered} LIMIT ${budget}) scanned {residual} {ordered} LIMIT ${limit}",
                budget = n + 1,
                limit = n + 2,
                residual = where_clause(&conditions.residual),
            )
        };
        Listing {
            conditions,
            driving,
            ordered,
            order,
            sql,
        }
    }

    /// `sql` (the statement or an EXPLAIN of it) with every value bound.
    fn query<'q>(
        &'q self,
        sql: &'q str,
        limit: u32,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut query = sqlx::query(sql);
        for param in &self.conditions.params {
            query = query.bind(param);
        }
        if !self.conditions.residual.is_empty() {
            query = query.bind(i64::from(SCAN_BUDGET));
        }
        query.bind(i64::from(limit))
    }
}

impl Store {
    /// The database's plan for one page of `filter`, one line per plan node:
    /// `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on
    /// PostgreSQL (which runs the query). How the indexes were chosen, and
    /// how a test proves each filter shape keeps using one.
    pub async fn explain_list_jobs(
        &self,
        filter: &JobFilter,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        let listing = Listing::new(filter, None);
        let (sql, detail_column) = match self.backend() {
            crate::Backend::Sqlite => (format!("EXPLAIN QUERY PLAN {}", listing.sql), 3),
            crate::Backend::Postgres => (format!("EXPLAIN (ANALYZE, BUFFERS) {}", listing.sql), 0),
        };
        let rows = listing.query(&sql, limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                sqlx::Row::try_get::<String, _>(row, detail_column).map_err(StorageError::from)
            })
            .collect()
    }

    /// Up to `limit` jobs from `from` in the given direction, newest first.
    pub async fn list_jobs(
        &self,
        filter: &JobFilter,
        from: Option<(PageDirection, KeysetPosition)>,
        limit: u32,
    ) -> Result<JobListing, StorageError> {
        let listing = Listing::new(filter, from);
        let rows = listing
            .query(&listing.sql, limit)
            .fetch_all(&self.pool)
            .await?;
        let (conditions, driving, ordered, order) = (
            &listing.conditions,
            &listing.driving,
            &listing.ordered,
            listing.order,
        );
        let mut jobs = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let scan_stopped_at = if conditions.residual.is_empty() || jobs.len() >= limit as usize {
            None
        } else {
            self.budget_end(conditions, driving, ordered).await?
        };
        if order == "ASC" {
            jobs.reverse();
        }
        Ok(JobListing {
            jobs,
            scan_stopped_at,
        })
    }

    /// Where a budgeted scan stopped, if it examined the whole budget: the
    /// position of the last row it may examine.
    async fn budget_end(
        &self,
        conditions: &Conditions,
        driving: &str,
        ordered: &str,
    ) -> Result<Option<KeysetPosition>, StorageError> {
        let n = conditions.params.len();
        let sql = format!(
            "SELECT created_at, id FROM regeneration_jobs {driving} {ordered} LIMIT 1 OFFSET ${}",
            n + 1
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for param in &conditions.params {
            query = query.bind(param);
        }
        let row = query
            .bind(i64::from(SCAN_BUDGET) - 1)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(at, id)| {
            Ok(KeysetPosition {
                created_at: at.parse().map_err(StorageError::corrupt)?,
                id: id.parse().map_err(StorageError::corrupt)?,
            })
        })
        .transpose()
    }
}
