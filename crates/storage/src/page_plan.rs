//! Where an export's page of whole records ends, found before the page is
//! read, so the page after it can be read at the same time (the service's
//! `export_pages`). SQLite reads the payloads' stored lengths from the time
//! index alone ([`page_cut`]); PostgreSQL's page statement finds its own
//! end (`export.rs`).

use crate::error::StorageError;
use crate::export::PAYLOAD_BYTES;
use crate::listing::{keyset_position, BudgetEnd, Listing, PageDirection, PageLimit};
use crate::page_rows::{fetch_page, page_rows_sql, Frame, RowShape};
use crate::rows::{parse_text, ID_WIDTH, TIME_WIDTH};
use crate::{Backend, JobFilter, KeysetPosition, Store};

/// Where a page of whole records ends.
#[derive(Debug, Clone)]
pub(crate) struct Cut {
    pub(crate) created_at: String,
    pub(crate) id: String,
    /// Rows in the page, counted from 1.
    pub(crate) rows: i64,
    /// The cut is the last row the scan found: nothing was left out.
    last_found: bool,
    /// The payload bytes of the page's rows.
    bytes: i64,
}

impl Cut {
    /// Nothing follows the cut up to where the page's scan ends (the end,
    /// or the scan budget's), for a page that asked for `limit` rows.
    pub(crate) fn ends_scan(&self, limit: u32) -> bool {
        self.last_found && self.rows < i64::from(limit)
    }
}

impl Store {
    /// Where the page of [`Store::export_jobs`] ends, found before it is
    /// read: on SQLite from the time index alone ([`page_cut`]), so that the
    /// page after it can be planned and read while this one is read, on
    /// another connection (see [`JobPagePlan::planned_next`]). PostgreSQL
    /// finds a page's end in the page's own statement.
    ///
    /// On SQLite the page holds at most `max_bytes` of payloads (unless its
    /// first job alone has more); PostgreSQL's statement cuts its pages at
    /// [`max_page_bytes`].
    pub async fn plan_job_page(
        &self,
        filter: &JobFilter,
        after: Option<KeysetPosition>,
        limit: u32,
        max_bytes: i64,
    ) -> Result<JobPagePlan, StorageError> {
        let end = match self.backend() {
            Backend::Postgres => PlanEnd::InStatement,
            Backend::Sqlite => {
                let listing = listing_after(filter, after, self.backend());
                // One connection for the plan's statements: it is checked
                // out once.
                let mut conn = self.pool.acquire().await?;
                let budget = listing.budget_bound(&mut conn).await?;
                match page_cut(&mut conn, &listing, budget.as_ref(), limit, max_bytes).await? {
                    Some(cut) => PlanEnd::Cut { cut, budget },
                    // Nothing more up to the scan budget's end: go on from
                    // there.
                    None => PlanEnd::Nothing {
                        next: budget.as_ref().map(keyset_position).transpose()?,
                    },
                }
            }
        };
        Ok(JobPagePlan { after, limit, end })
    }
}

/// Where a page of whole records starts, and (SQLite) where it ends: found
/// by [`Store::plan_job_page`], read by [`Store::read_job_page`].
#[derive(Debug, Clone)]
pub struct JobPagePlan {
    pub(crate) after: Option<KeysetPosition>,
    pub(crate) limit: u32,
    pub(crate) end: PlanEnd,
}

#[derive(Debug, Clone)]
pub(crate) enum PlanEnd {
    /// PostgreSQL: the page's statement finds its end.
    InStatement,
    /// SQLite: the page runs down to this row; a scan budget's end, if the
    /// filter has one.
    Cut { cut: Cut, budget: Option<BudgetEnd> },
    /// SQLite: nothing more up to the scan budget's end, from where the
    /// next page starts (`None`: the end).
    Nothing { next: Option<KeysetPosition> },
}

impl JobPagePlan {
    /// Where the page after this one starts, when the plan knows it: the
    /// page's `next` as [`Store::read_job_page`] will find it, unless jobs
    /// are inserted into the page's range before it is read (then the page
    /// ends earlier, at its last row read). `Some(None)`: this is the last
    /// page. `None`: only reading the page tells (PostgreSQL).
    pub fn planned_next(&self) -> Option<Option<KeysetPosition>> {
        match &self.end {
            PlanEnd::InStatement => None,
            PlanEnd::Cut { cut, budget } => Some(if cut.ends_scan(self.limit) {
                budget.as_ref().map(keyset_position).transpose().ok()?
            } else {
                Some(keyset_position(&(cut.created_at.clone(), cut.id.clone())).ok()?)
            }),
            PlanEnd::Nothing { next } => Some(*next),
        }
    }

    /// The jobs the page will hold, when the plan knows it.
    pub fn planned_rows(&self) -> Option<u32> {
        match &self.end {
            PlanEnd::InStatement => None,
            PlanEnd::Cut { cut, .. } => u32::try_from(cut.rows).ok(),
            PlanEnd::Nothing { .. } => Some(0),
        }
    }

    /// The payload bytes the page will hold, when the plan knows them.
    pub fn planned_bytes(&self) -> Option<i64> {
        match &self.end {
            PlanEnd::InStatement => None,
            PlanEnd::Cut { cut, .. } => Some(cut.bytes),
            PlanEnd::Nothing { .. } => Some(0),
        }
    }
}

pub(crate) fn listing_after(
    filter: &JobFilter,
    after: Option<KeysetPosition>,
    backend: Backend,
) -> Listing {
    Listing::new(
        filter,
        after.map(|position| (PageDirection::Older, position)),
        backend,
    )
}

/// The last row of the next page of whole records: the row limit, or the
/// byte limit, whichever comes first (the first row always counts). The
/// sizes come as one page ([`PageRows`]) and are added up here: a window function
/// did the same in SQLite at seven times the cost (two sorts per page).
async fn page_cut(
    conn: &mut sqlx::AnyConnection,
    listing: &Listing,
    budget: Option<&BudgetEnd>,
    limit: u32,
    max_bytes: i64,
) -> Result<Option<Cut>, StorageError> {
    let bounded = budget.is_some();
    let limit = PageLimit::Bound(limit);
    let sized = listing.page_sql_of(
        &format!("created_at, id, {PAYLOAD_BYTES} AS bytes"),
        bounded,
        limit,
    );
    let sql = page_rows_sql(listing.backend(), &SIZE_SHAPE, &sized);
    let query = listing.page_query(&sql, budget, limit);
    let sizes = fetch_page(conn, listing.backend(), SIZE_SHAPE, query).await?;
    let mut bytes = 0;
    let mut rows = 0;
    let mut last = None;
    for [created_at, id, size] in sizes.iter() {
        let size: i64 = parse_text("bytes", size.unwrap_or_default())?;
        if rows > 0 && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        rows += 1;
        last = created_at.zip(id);
    }
    Ok(last.map(|(created_at, id)| Cut {
        created_at: created_at.to_owned(),
        id: id.to_owned(),
        rows,
        last_found: rows as usize == sizes.len(),
        bytes,
    }))
}

/// A row of [`page_cut`]'s sizes: creation time, id, payload bytes.
const SIZE_SHAPE: RowShape<3> = RowShape {
    columns: [
        ("created_at", Frame::Fixed(TIME_WIDTH)),
        ("id", Frame::Fixed(ID_WIDTH)),
        ("bytes", Frame::Integer),
    ],
    order_by: [0, 1],
};
