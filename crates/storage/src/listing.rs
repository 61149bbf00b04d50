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

use regen_domain::{JobId, JobStatus, JobSummary, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::StorageError;
use crate::export::SummaryRows;
use crate::page_rows::{fetch_page, page_rows_sql};
use crate::rows::{
    job_ids, json_rows, parse_text, summaries_from_json, SUMMARY_COLUMNS, SUMMARY_SHAPE,
};
use crate::stats::{bind_counts, counts_columns_sql, kept_counts, KeptCounts};
use crate::{AnyQuery, Backend, Store};

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

/// The (created_at, id) of the last row a page's scan budget lets it examine.
pub(crate) type BudgetEnd = (String, String);

/// How many rows a page statement reads, and how its LIMIT is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PageLimit {
    /// Bound as the statement's last value: one prepared statement for
    /// pages of every size (an export's, whose sizes vary page by page).
    Bound(u32),
    /// Written into the statement, for pages that come in a few sizes (a
    /// listing's). PostgreSQL plans a statement with a bound LIMIT again on
    /// every execution (its generic plan, made without knowing the LIMIT,
    /// always looks dearer), which cost a listing page as much as reading
    /// it; with the LIMIT written, its plan is made once per connection.
    Written(u32),
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

    /// `residual_prefix` goes before each residual column: SQLite's unary
    /// `+` keeps a term from choosing the index, so the driving index's
    /// order serves the ORDER BY and no sort is needed.
    fn build(
        filter: &JobFilter,
        from: Option<(PageDirection, KeysetPosition)>,
        residual_prefix: &str,
    ) -> Conditions {
        let mut c = Conditions {
            driving: Vec::new(),
            residual: Vec::new(),
            params: Vec::new(),
        };
        let driver = Driver::for_filter(filter);
        let equal = |c: &mut Conditions, column: &str, value: &str, drives: bool| {
            let p = c.param(value.to_owned());
            if drives {
                c.driving.push(format!("{column} = {p}"));
            } else {
                c.residual.push(format!("{residual_prefix}{column} = {p}"));
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
            c.residual.push(format!(
                "{residual_prefix}status IN ({})",
                placeholders.join(", ")
            ));
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

/// One page's statements: what `list_jobs` runs and `explain_list_jobs`
/// shows the plans of.
///
/// With a residual filter, the scan budget is a keyset bound: first the
/// position of the budget's last row in the driving index (an index-only
/// step over at most [`SCAN_BUDGET`] entries), then the page from the
/// driving index down to that bound, residual filter applied, which stops
/// as soon as the page is full. (A `LIMIT` subquery bounds the scan as
/// well, but SQLite sorts its output again, so it always read the whole
/// budget: 40 ms a page at a million jobs.)
pub(crate) struct Listing {
    conditions: Conditions,
    driving: String,
    ordered: String,
    order: &'static str,
    backend: Backend,
}

impl Listing {
    pub(crate) fn new(
        filter: &JobFilter,
        from: Option<(PageDirection, KeysetPosition)>,
        backend: Backend,
    ) -> Listing {
        let residual_prefix = match backend {
            Backend::Sqlite => "+",
            Backend::Postgres => "",
        };
        let conditions = Conditions::build(filter, from, residual_prefix);
        let order = match from {
            Some((PageDirection::Newer, _)) => "ASC",
            _ => "DESC",
        };
        let driving = where_clause(&conditions.driving);
        let ordered = format!("ORDER BY created_at {order}, id {order}");
        Listing {
            conditions,
            driving,
            ordered,
            order,
            backend,
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn budgeted(&self) -> bool {
        !self.conditions.residual.is_empty()
    }

    /// The position of the last row the budget lets one page examine.
    fn budget_end_sql(&self) -> String {
        format!(
            "SELECT created_at, id FROM regeneration_jobs {} {} LIMIT 1 OFFSET {}",
            self.driving,
            self.ordered,
            SCAN_BUDGET - 1
        )
    }

    /// The page, down to `bound` when the budget ends before the range does.
    fn page_sql(&self, bounded: bool, limit: PageLimit) -> String {
        self.page_sql_of(SUMMARY_COLUMNS, bounded, limit)
    }

    /// The page's `ORDER BY …`: a window over the page's rows uses it too.
    pub(crate) fn ordered(&self) -> &str {
        &self.ordered
    }

    /// [`Listing::page_sql`] selecting `columns`. With `bounded`, the page
    /// ends at a keyset position (inclusive), bound after the filter's
    /// values; a bound LIMIT comes last.
    pub(crate) fn page_sql_of(&self, columns: &str, bounded: bool, limit: PageLimit) -> String {
        let mut conditions = self.conditions.driving.clone();
        if bounded {
            let n = self.conditions.params.len();
            let comparison = if self.order == "ASC" { "<=" } else { ">=" };
            conditions.push(format!(
                "(created_at, id) {comparison} (${}, ${})",
                n + 1,
                n + 2
            ));
        }
        conditions.extend(self.conditions.residual.iter().cloned());
        let limit = match limit {
            PageLimit::Bound(_) => format!("${}", self.page_params(bounded, limit)),
            PageLimit::Written(rows) => rows.to_string(),
        };
        format!(
            "SELECT {columns} FROM regeneration_jobs {} {} LIMIT {limit}",
            where_clause(&conditions),
            self.ordered,
        )
    }

    /// How many values [`Listing::page_query`] binds: the filter's, the
    /// bound's two, and a bound LIMIT, which comes last.
    pub(crate) fn page_params(&self, bounded: bool, limit: PageLimit) -> usize {
        let limit = match limit {
            PageLimit::Bound(_) => 1,
            PageLimit::Written(_) => 0,
        };
        self.conditions.params.len() + if bounded { 2 } else { 0 } + limit
    }

    /// Where the scan budget ends, when the filter needs one (see
    /// [`budget_end`]).
    pub(crate) async fn budget_bound(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<Option<BudgetEnd>, StorageError> {
        if self.budgeted() {
            budget_end(conn, self).await
        } else {
            Ok(None)
        }
    }

    fn bind_filter<'q>(&'q self, mut query: AnyQuery<'q>) -> AnyQuery<'q> {
        for param in &self.conditions.params {
            query = query.bind(param);
        }
        query
    }

    /// `sql` (the page statement or an EXPLAIN of it) with every value bound.
    pub(crate) fn page_query<'q>(
        &'q self,
        sql: &'q str,
        bound: Option<&'q (String, String)>,
        limit: PageLimit,
    ) -> AnyQuery<'q> {
        let mut query = self.bind_filter(sqlx::query(sql));
        if let Some((at, id)) = bound {
            query = query.bind(at).bind(id);
        }
        match limit {
            PageLimit::Bound(rows) => query.bind(i64::from(rows)),
            PageLimit::Written(_) => query,
        }
    }

    /// `sql` (the budget statement or an EXPLAIN of it) with every value bound.
    fn budget_query<'q>(&'q self, sql: &'q str) -> AnyQuery<'q> {
        self.bind_filter(sqlx::query(sql))
    }
}

impl Store {
    /// The database's plans for one page of `filter`, one line per plan
    /// node (the scan budget's statement first, when the filter needs one):
    /// `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on
    /// PostgreSQL (which runs the statements). How the indexes were chosen,
    /// and how a test proves each filter shape keeps using one.
    pub async fn explain_list_jobs(
        &self,
        filter: &JobFilter,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        let listing = Listing::new(filter, None, self.backend());
        let explain = match self.backend() {
            Backend::Sqlite => "EXPLAIN QUERY PLAN",
            Backend::Postgres => "EXPLAIN (ANALYZE, BUFFERS)",
        };
        // The plan's text: SQLite's fourth column, PostgreSQL's only one.
        let detail = |row: &sqlx::any::AnyRow| {
            let column = row.columns().len() - 1;
            row.try_get::<String, _>(column).map_err(StorageError::from)
        };
        let mut lines = Vec::new();
        let mut bound = None;
        let mut conn = self.pool.acquire().await?;
        if listing.budgeted() {
            let sql = format!("{explain} {}", listing.budget_end_sql());
            for row in listing.budget_query(&sql).fetch_all(&mut *conn).await? {
                lines.push(format!("(scan budget) {}", detail(&row)?));
            }
            bound = budget_end(&mut conn, &listing).await?;
        }
        let limit = PageLimit::Written(limit);
        let sql = format!("{explain} {}", listing.page_sql(bound.is_some(), limit));
        for row in listing
            .page_query(&sql, bound.as_ref(), limit)
            .fetch_all(&mut *conn)
            .await?
        {
            lines.push(detail(&row)?);
        }
        Ok(lines)
    }

    /// Up to `limit` jobs from `from` in the given direction, newest first.
    pub async fn list_jobs(
        &self,
        filter: &JobFilter,
        from: Option<(PageDirection, KeysetPosition)>,
        limit: u32,
    ) -> Result<JobListing, StorageError> {
        let (row, bound) = self.read_page(filter, from, limit, false).await?;
        job_listing(row.try_get("page")?, bound, limit)
    }

    /// [`Store::list_jobs`] and, read by the same statement,
    /// [`Store::job_counts`] with the oldest PENDING job of the filter's
    /// target type. The list page shows both: this way they come from one
    /// snapshot, in one round trip and one checkout of a connection.
    pub async fn list_jobs_with_counts(
        &self,
        filter: &JobFilter,
        from: Option<(PageDirection, KeysetPosition)>,
        limit: u32,
    ) -> Result<(JobListing, KeptCounts), StorageError> {
        let (row, bound) = self.read_page(filter, from, limit, true).await?;
        let page: &str = row.try_get("page")?;
        Ok((job_listing(page, bound, limit)?, kept_counts(&row)?))
    }

    /// The row of one listing page: the page as `json_rows` reads it
    /// (`page`) and, `with_counts`, the kept counts beside it
    /// ([`counts_columns_sql`], the oldest PENDING job of the filter's
    /// target type); and where the page's scan budget ended (`None`: the
    /// driving range fits the budget).
    async fn read_page(
        &self,
        filter: &JobFilter,
        from: Option<(PageDirection, KeysetPosition)>,
        limit: u32,
        with_counts: bool,
    ) -> Result<(AnyRow, Option<BudgetEnd>), StorageError> {
        let listing = Listing::new(filter, from, self.backend());
        let mut conn = self.pool.acquire().await?;
        let bound = listing.budget_bound(&mut conn).await?;
        let bounded = bound.is_some();
        let rows = PageLimit::Written(limit);
        let page = listing.page_sql(bounded, rows);
        let page = json_rows(self.backend(), SUMMARY_COLUMNS, &page);
        let row = if with_counts {
            let oldest_of = filter.target_type.as_deref();
            let counts = counts_columns_sql(
                self.backend(),
                listing.page_params(bounded, rows) + 1,
                oldest_of.is_some(),
            );
            let sql = format!("SELECT ({page}) AS page, {counts}");
            bind_counts(listing.page_query(&sql, bound.as_ref(), rows), oldest_of)
                .fetch_one(&mut *conn)
                .await?
        } else {
            let sql = format!("SELECT ({page}) AS page");
            listing
                .page_query(&sql, bound.as_ref(), rows)
                .fetch_one(&mut *conn)
                .await?
        };
        Ok((row, bound))
    }

    /// One page of job summaries as an export reads them (`page_rows_sql`:
    /// each value as stored, lent out), and where its scan budget ended.
    pub(crate) async fn summary_rows(
        &self,
        filter: &JobFilter,
        from: Option<(PageDirection, KeysetPosition)>,
        limit: u32,
    ) -> Result<(SummaryRows, Option<BudgetEnd>), StorageError> {
        let listing = Listing::new(filter, from, self.backend());
        let mut conn = self.pool.acquire().await?;
        let bound = listing.budget_bound(&mut conn).await?;
        let rows = PageLimit::Written(limit);
        let page = listing.page_sql(bound.is_some(), rows);
        let sql = page_rows_sql(self.backend(), &SUMMARY_SHAPE, &page);
        let query = listing.page_query(&sql, bound.as_ref(), rows);
        let page = fetch_page(&mut conn, self.backend(), SUMMARY_SHAPE, query).await?;
        Ok((page, bound))
    }
}

/// A page read by `json_rows`, decoded: newest first, whichever way it was
/// read (an aggregate keeps no promised order), and where its scan stopped
/// when the budget ended before `limit` rows were found.
fn job_listing(
    page: &str,
    bound: Option<BudgetEnd>,
    limit: u32,
) -> Result<JobListing, StorageError> {
    let mut jobs = summaries_from_json(page)?;
    let scan_stopped_at = match &bound {
        Some(end) if jobs.len() < limit as usize => Some(keyset_position(end)?),
        _ => None,
    };
    jobs.sort_unstable_by_key(|job| std::cmp::Reverse((job.created_at, job.id)));
    Ok(JobListing {
        jobs,
        scan_stopped_at,
    })
}

/// A keyset position as stored text, parsed.
pub(crate) fn keyset_position(
    (created_at, id): &BudgetEnd,
) -> Result<KeysetPosition, StorageError> {
    Ok(KeysetPosition {
        created_at: parse_text("created_at", created_at)?,
        id: parse_text("id", id)?,
    })
}

/// The (created_at, id) of the last row a budgeted page may examine, or
/// `None` when the driving range holds fewer rows than the budget.
pub(crate) async fn budget_end(
    conn: &mut AnyConnection,
    listing: &Listing,
) -> Result<Option<BudgetEnd>, StorageError> {
    let sql = listing.budget_end_sql();
    let row = listing.budget_query(&sql).fetch_optional(conn).await?;
    row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .transpose()
}

/// The ids of at most `limit` jobs `filter` selects, newest first: the jobs
/// a bulk trigger by filter counts and triggers. The whole filter applies
/// (no scan budget: the count must be exact); the limit bounds the rows
/// read, and the driving index the scan.
pub(crate) async fn matching_ids(
    conn: &mut AnyConnection,
    filter: &JobFilter,
    backend: Backend,
    limit: usize,
) -> Result<Vec<JobId>, StorageError> {
    let listing = Listing::new(filter, None, backend);
    let mut conditions = listing.conditions.driving.clone();
    conditions.extend(listing.conditions.residual.iter().cloned());
    let sql = format!(
        "SELECT id FROM regeneration_jobs {} {} LIMIT {limit}",
        where_clause(&conditions),
        listing.ordered
    );
    job_ids(
        &listing
            .bind_filter(sqlx::query(&sql))
            .fetch_all(conn)
            .await?,
    )
}
