//! Reading every job a filter matches, for an export: keyset pages in
//! listing order, each one short statement (no transaction is held across
//! pages, so SQLite's checkpoints and PostgreSQL's vacuum go on), each read
//! as [`PageRows`]: as the backend sends it cheapest, nothing escaped or
//! parsed, the values lent out, not copied.
//!
//! Pages of whole records are sized by their payloads' bytes, read from
//! the stored lengths (SQLite's `octet_length` and PostgreSQL's read the
//! stored length, not the value), up to [`max_page_bytes`]: a page of 5 MB
//! payloads holds one job, a page of small ones up to the row limit.
//! - SQLite: a first, cheap statement reads the lengths from the time index
//!   alone and finds where the page ends; the page is then read down to that
//!   row. A page of one job is read as a plain row, not framed: its payload
//!   is then copied as few times as sqlx allows, which keeps memory flat.
//! - PostgreSQL: one statement, cut by a running sum of the lengths.

use sqlx::Row;

use crate::error::StorageError;
use crate::listing::{keyset_position, BudgetEnd, Listing, PageDirection, PageLimit};
use crate::page_plan::{listing_after, Cut, JobPagePlan, PlanEnd};
use crate::page_rows::{fetch_page, page_rows_sql, PageRows};
use crate::rows::{JOB_COLUMNS, JOB_SHAPE};
use crate::{Backend, JobFilter, KeysetPosition, Store};

/// The payload bytes one page of whole records may hold on `backend` (a
/// single bigger job still makes a page of its own). An export holds
/// several pages' worth at once (the page read ahead, as the database's
/// buffer, sqlx's copies and the jobs; the page being written; the chunks
/// the channel and the socket hold), so memory bounds the page, and each
/// page costs a statement and a credential check, so time wants it big.
/// - SQLite: 256 KiB. Its framed page is one more copy (SQLite's own
///   concatenation): at 1 MiB a 20,000-job export of 4 KB payloads grew the
///   server's peak RSS by 23 to 31 MB, at 256 KiB by 6 to 12 MB
///   (bench/NOTES.md, round 3, fourth session).
/// - PostgreSQL: 512 KiB. A 1M-job NDJSON export took 5.6 s at 256 KiB and
///   4.4 s at 512 KiB, growing the server by 11 and 15 MB; at 1 MiB, 4.5 s
///   and 22 MB (bench/NOTES.md, round 3, eighth session). A 5 MB job among
///   them sets the peak whatever the page (18.9 MB in the full run).
pub fn max_page_bytes(backend: Backend) -> i64 {
    match backend {
        Backend::Sqlite => 1 << 18,
        Backend::Postgres => 1 << 19,
    }
}

/// A whole job as the database holds it: exports write every column as it
/// is, never parsed and written again. The table's CHECK constraints keep
/// each in its documented form (a lower-case UUID, a status name, a
/// fixed-width UTC time, and payloads that are valid JSON: `json_valid`,
/// `::json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredJob {
    pub id: String,
    pub status: String,
    pub target_type: String,
    pub target_id: String,
    pub instruction_json: String,
    pub output_ref: Option<String>,
    pub error_json: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

impl StoredJob {
    pub fn borrowed(&self) -> StoredJobRef<'_> {
        StoredJobRef {
            id: &self.id,
            status: &self.status,
            target_type: &self.target_type,
            target_id: &self.target_id,
            instruction_json: &self.instruction_json,
            output_ref: self.output_ref.as_deref(),
            error_json: self.error_json.as_deref(),
            created_at: &self.created_at,
            created_by: &self.created_by,
        }
    }
}

/// A [`StoredJob`] lent from the page that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredJobRef<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub instruction_json: &'a str,
    pub output_ref: Option<&'a str>,
    pub error_json: Option<&'a str>,
    pub created_at: &'a str,
    pub created_by: &'a str,
}

impl StoredJobRef<'_> {
    pub fn to_stored_job(&self) -> StoredJob {
        StoredJob {
            id: self.id.to_owned(),
            status: self.status.to_owned(),
            target_type: self.target_type.to_owned(),
            target_id: self.target_id.to_owned(),
            instruction_json: self.instruction_json.to_owned(),
            output_ref: self.output_ref.map(str::to_owned),
            error_json: self.error_json.map(str::to_owned),
            created_at: self.created_at.to_owned(),
            created_by: self.created_by.to_owned(),
        }
    }
}

/// The columns of [`JOB_COLUMNS`] per row.
const JOB_COLUMN_COUNT: usize = 9;

/// A page of whole jobs, newest first.
#[derive(Debug)]
pub struct StoredJobs(PageRows<JOB_COLUMN_COUNT>);

impl StoredJobs {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = StoredJobRef<'_>> + '_ {
        self.0.iter().map(stored_job_ref)
    }

    fn last(&self) -> Option<StoredJobRef<'_>> {
        self.0.last().map(stored_job_ref)
    }
}

/// A job summary's columns as the database holds them, in
/// `SUMMARY_COLUMNS` order (id, status, target type, target id, creation
/// time, creator). Exports write these as they are: the table's CHECK
/// constraints keep each column in its documented form.
pub type SummaryRows = PageRows<6>;

/// One page of an export, and where the next one starts (`None`: this was
/// the last).
#[derive(Debug)]
pub struct ExportPage<T> {
    pub rows: T,
    pub next: Option<KeysetPosition>,
}

/// The payload bytes of a row, read from the stored lengths. SQLite's time
/// index holds this very expression (migration 0014), so an unfiltered page
/// is sized from the index alone: change both or neither.
pub(crate) const PAYLOAD_BYTES: &str =
    "octet_length(instruction_json) + COALESCE(octet_length(output_ref), 0) \
     + COALESCE(octet_length(error_json), 0)";

impl Store {
    /// Up to `limit` job summaries after `after`, newest first, as stored
    /// text ([`SummaryRows`]).
    pub async fn export_job_summaries(
        &self,
        filter: &JobFilter,
        after: Option<KeysetPosition>,
        limit: u32,
    ) -> Result<ExportPage<SummaryRows>, StorageError> {
        let from = after.map(|position| (PageDirection::Older, position));
        let (rows, budget) = self.summary_rows(filter, from, limit).await?;
        let next = match rows.last() {
            Some([Some(id), _, _, _, Some(created_at), _]) if rows.len() == limit as usize => {
                Some(keyset_position(&(created_at.to_owned(), id.to_owned()))?)
            }
            // Short: the range ended, or the scan budget did (go on from
            // where it stopped).
            _ => budget.as_ref().map(keyset_position).transpose()?,
        };
        Ok(ExportPage { rows, next })
    }

    /// Whole jobs after `after`, newest first: at most `limit`, and no more
    /// than [`max_page_bytes`] of payloads unless the first job alone has
    /// more.
    pub async fn export_jobs(
        &self,
        filter: &JobFilter,
        after: Option<KeysetPosition>,
        limit: u32,
    ) -> Result<ExportPage<StoredJobs>, StorageError> {
        let plan = self
            .plan_job_page(filter, after, limit, max_page_bytes(self.backend()))
            .await?;
        self.read_job_page(filter, &plan).await
    }

    /// The page `plan` describes. Its `next` is where the page after it
    /// starts: the plan's [`JobPagePlan::planned_next`] unless jobs were
    /// inserted into the page's range meanwhile.
    pub async fn read_job_page(
        &self,
        filter: &JobFilter,
        plan: &JobPagePlan,
    ) -> Result<ExportPage<StoredJobs>, StorageError> {
        let listing = listing_after(filter, plan.after, self.backend());
        let mut conn = self.pool.acquire().await?;
        match &plan.end {
            PlanEnd::InStatement => {
                let budget = listing.budget_bound(&mut conn).await?;
                postgres_job_page(&mut conn, &listing, budget, plan.limit).await
            }
            PlanEnd::Cut { cut, budget } => {
                sqlite_job_page(&mut conn, &listing, cut, budget.as_ref(), plan.limit).await
            }
            PlanEnd::Nothing { next } => Ok(ExportPage {
                rows: StoredJobs(PageRows::empty(JOB_SHAPE)),
                next: *next,
            }),
        }
    }
}

/// SQLite: the page down to its cut (`page_plan.rs`), framed.
async fn sqlite_job_page(
    conn: &mut sqlx::AnyConnection,
    listing: &Listing,
    cut: &Cut,
    budget: Option<&BudgetEnd>,
    limit: u32,
) -> Result<ExportPage<StoredJobs>, StorageError> {
    let cut_rows = PageLimit::Bound(cut.rows as u32);
    let rows_sql = listing.page_sql_of(JOB_COLUMNS, true, cut_rows);
    let bound = (cut.created_at.clone(), cut.id.clone());
    // LIMIT ends the scan (SQLite checks the cut as a filter, not as the
    // end of the index range). A job inserted into the range meanwhile
    // can push the cut's last rows out: the next page starts after the
    // last row read, so none is skipped.
    let rows = if cut.rows > 1 {
        let sql = page_rows_sql(listing.backend(), &JOB_SHAPE, &rows_sql);
        let query = listing.page_query(&sql, Some(&bound), cut_rows);
        fetch_page(conn, listing.backend(), JOB_SHAPE, query).await?
    } else {
        // One job whose payloads pass max_page_bytes by themselves (up
        // to 5 MB): read as a plain row. Framed, its payload would be
        // copied again on both sides (SQLite's concatenation, and the
        // page's text beside the job's).
        let rows = listing
            .page_query(&rows_sql, Some(&bound), cut_rows)
            .fetch_all(&mut *conn)
            .await?;
        PageRows::from_rows(rows, JOB_SHAPE)?
    };
    let rows = StoredJobs(rows);
    let reached_cut = rows.last().is_some_and(|last| last.id == cut.id);
    let next = match rows.last() {
        _ if reached_cut && cut.ends_scan(limit) => budget.map(keyset_position).transpose()?,
        Some(last) => Some(keyset_position(&(
            last.created_at.to_owned(),
            last.id.to_owned(),
        ))?),
        None => Some(keyset_position(&bound)?),
    };
    Ok(ExportPage { rows, next })
}

/// PostgreSQL: the page in one statement, cut by a running sum of the
/// payloads' sizes. A separate statement for the sizes read every row it
/// looked at from the table twice, and the sizes alone cost PostgreSQL a
/// third of what reading whole rows does (`octet_length` reads a value's
/// stored length: a payload the cut leaves out is never sent or
/// decompressed). The window runs over the page's index scan as it goes, no
/// sort; `lead` looks one row past each, so the page knows whether its
/// last row was the scan's last.
async fn postgres_job_page(
    conn: &mut sqlx::AnyConnection,
    listing: &Listing,
    budget: Option<BudgetEnd>,
    limit: u32,
) -> Result<ExportPage<StoredJobs>, StorageError> {
    let window = format!("OVER ({} ROWS UNBOUNDED PRECEDING)", listing.ordered());
    let limit = PageLimit::Bound(limit);
    let scan = listing.page_sql_of(
        &format!(
            "{JOB_COLUMNS}, {PAYLOAD_BYTES} AS bytes, sum({PAYLOAD_BYTES}) {window} AS running, \
             lead(id) {window} IS NULL AS scan_ended"
        ),
        budget.is_some(),
        limit,
    );
    let sql = format!(
        "SELECT {JOB_COLUMNS}, scan_ended FROM ({scan}) AS page \
         WHERE running <= {} OR running = bytes {}",
        max_page_bytes(Backend::Postgres),
        listing.ordered()
    );
    let rows = listing
        .page_query(&sql, budget.as_ref(), limit)
        .fetch_all(&mut *conn)
        .await?;
    let scan_ended = match rows.last() {
        Some(last) => last.try_get::<bool, _>(JOB_COLUMN_COUNT)?,
        None => true,
    };
    let rows = StoredJobs(PageRows::from_rows(rows, JOB_SHAPE)?);
    let next = match rows.last() {
        Some(last) if !scan_ended => Some(keyset_position(&(
            last.created_at.to_owned(),
            last.id.to_owned(),
        ))?),
        // Nothing more up to the scan budget's end: go on from there.
        _ => budget.as_ref().map(keyset_position).transpose()?,
    };
    Ok(ExportPage { rows, next })
}

/// The one decoder of a stored job: its [`JOB_COLUMNS`], in order, however
/// they were read, checked against [`JOB_SHAPE`].
fn stored_job_ref(columns: [Option<&str>; JOB_COLUMN_COUNT]) -> StoredJobRef<'_> {
    let [id, status, target_type, target_id, instruction_json, output_ref, error_json, created_at, created_by] =
        columns;
    StoredJobRef {
        id: id.unwrap_or_default(),
        status: status.unwrap_or_default(),
        target_type: target_type.unwrap_or_default(),
        target_id: target_id.unwrap_or_default(),
        instruction_json: instruction_json.unwrap_or_default(),
        output_ref,
        error_json,
        created_at: created_at.unwrap_or_default(),
        created_by: created_by.unwrap_or_default(),
    }
}
