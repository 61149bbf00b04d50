//! Reading every job a filter matches, for an export: keyset pages in
//! listing order, each one short statement (no transaction is held across
//! pages, so SQLite's checkpoints and PostgreSQL's vacuum go on), each read
//! as one value (one message per page, not per row): summaries as JSON
//! (`json_rows`), whole records framed by their lengths (`framed_rows`), so
//! that neither the database nor this side escapes and unescapes payloads.
//!
//! Pages of whole records are sized by their payloads' bytes: a first,
//! cheap statement reads the payloads' lengths (SQLite's `octet_length`
//! and PostgreSQL's read the stored length, not the value) and finds where
//! [`MAX_PAGE_BYTES`] ends; the page is then read down to that row. A page
//! of 5 MB payloads holds one job, a page of small ones up to the row limit.
//! A page of one job is read as a plain row, not framed: its payload is then
//! copied as few times as sqlx allows, which keeps an export's memory flat.

use sqlx::Row;

use crate::error::StorageError;
use crate::listing::{keyset_position, BudgetEnd, Listing, PageLimit};
use crate::rows::{json_rows, summary_texts_from_json, SummaryText, JOB_COLUMNS};
use crate::Backend;
use crate::{JobFilter, KeysetPosition, PageDirection, Store};

/// The payload bytes one page of whole records may hold (a single bigger
/// job still makes a page of its own). An export holds about four pages'
/// worth at once (the page read ahead, as the database's buffer, sqlx's
/// copies and the jobs; the page being written; the chunks the channel and
/// the socket hold): at 1 MiB a 20,000-job export of 4 KB payloads grew the
/// server's peak RSS by 23 to 31 MB, at 256 KiB by 6 to 12 MB
/// (bench/NOTES.md, round 3, fourth session).
pub const MAX_PAGE_BYTES: i64 = 1 << 18;

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

/// One page of an export, and where the next one starts (`None`: this was
/// the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPage<T> {
    pub rows: Vec<T>,
    pub next: Option<KeysetPosition>,
}

/// The payload bytes of a row, read from the stored lengths. SQLite's time
/// index holds this very expression (migration 0014), so an unfiltered page
/// is sized from the index alone: change both or neither.
const PAYLOAD_BYTES: &str =
    "octet_length(instruction_json) + COALESCE(octet_length(output_ref), 0) \
     + COALESCE(octet_length(error_json), 0) AS bytes";

/// Where a page of whole records ends.
struct Cut {
    created_at: String,
    id: String,
    /// Rows in the page, counted from 1.
    rows: i64,
    /// The cut is the last row the scan found: nothing was left out.
    last_found: bool,
}

impl Store {
    /// Up to `limit` job summaries after `after`, newest first, as stored
    /// text ([`SummaryText`]).
    pub async fn export_job_summaries(
        &self,
        filter: &JobFilter,
        after: Option<KeysetPosition>,
        limit: u32,
    ) -> Result<ExportPage<SummaryText>, StorageError> {
        let from = after.map(|position| (PageDirection::Older, position));
        let (page, budget) = self.list_page_json(filter, from, limit).await?;
        let mut rows = summary_texts_from_json(&page)?;
        // Fixed-width UTC text: text order is time order.
        rows.sort_unstable_by(|a, b| (&b[4], &b[0]).cmp(&(&a[4], &a[0])));
        let next = match rows.last() {
            Some(last) if rows.len() == limit as usize => {
                Some(keyset_position(&(last[4].clone(), last[0].clone()))?)
            }
            // Short: the range ended, or the scan budget did (go on from
            // where it stopped).
            _ => budget.as_ref().map(keyset_position).transpose()?,
        };
        Ok(ExportPage { rows, next })
    }

    /// Whole jobs after `after`, newest first: at most `limit`, and no more
    /// than [`MAX_PAGE_BYTES`] of payloads unless the first job alone has
    /// more.
    pub async fn export_jobs(
        &self,
        filter: &JobFilter,
        after: Option<KeysetPosition>,
        limit: u32,
    ) -> Result<ExportPage<StoredJob>, StorageError> {
        let listing = Listing::new(
            filter,
            after.map(|position| (PageDirection::Older, position)),
            self.backend(),
        );
        // One connection for the page's statements: it is checked out once.
        let mut conn = self.pool.acquire().await?;
        let budget = listing.budget_bound(&mut conn).await?;
        let Some(cut) = page_cut(&mut conn, &listing, budget.as_ref(), limit).await? else {
            // Nothing more up to the scan budget's end: go on from there.
            return Ok(ExportPage {
                rows: Vec::new(),
                next: budget.as_ref().map(keyset_position).transpose()?,
            });
        };
        let cut_rows = PageLimit::Bound(cut.rows as u32);
        let rows_sql = listing.page_sql_of(JOB_COLUMNS, true, cut_rows);
        let bound = (cut.created_at.clone(), cut.id.clone());
        // LIMIT ends the scan (SQLite checks the cut as a filter, not as the
        // end of the index range). A job inserted into the range meanwhile
        // can push the cut's last rows out: the next page starts after the
        // last row read, so none is skipped.
        let mut rows = if cut.rows > 1 {
            let sql = framed_rows(self.backend(), &rows_sql);
            let page = listing
                .page_query(&sql, Some(&bound), cut_rows)
                .fetch_one(&mut *conn)
                .await?;
            // Borrowed from the row: the page's text is not copied again.
            stored_jobs_from_frames(page.try_get(0)?)?
        } else {
            // One job whose payloads pass MAX_PAGE_BYTES by themselves (up
            // to 5 MB): read as a plain row and copied out of it once. The
            // framing would copy the payload again on both sides (SQLite's
            // concatenations, and the page's text beside the job's).
            listing
                .page_query(&rows_sql, Some(&bound), cut_rows)
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| stored_job_from_row(&row))
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?
        };
        // Fixed-width UTC text: text order is time order.
        rows.sort_unstable_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
        let reached_cut = rows.last().is_some_and(|last| last.id == cut.id);
        let next = match rows.last() {
            _ if reached_cut && cut.last_found && cut.rows < i64::from(limit) => {
                budget.as_ref().map(keyset_position).transpose()?
            }
            Some(last) => Some(keyset_position(&(
                last.created_at.clone(),
                last.id.clone(),
            ))?),
            None => Some(keyset_position(&bound)?),
        };
        Ok(ExportPage { rows, next })
    }
}

/// The last row of the next page of whole records: the row limit, or the
/// byte limit, whichever comes first (the first row always counts). The
/// sizes come as one JSON value and are added up here: a window function
/// did the same in SQLite at seven times the cost (two sorts per page).
async fn page_cut(
    conn: &mut sqlx::AnyConnection,
    listing: &Listing,
    budget: Option<&BudgetEnd>,
    limit: u32,
) -> Result<Option<Cut>, StorageError> {
    let bounded = budget.is_some();
    let limit = PageLimit::Bound(limit);
    let sized = listing.page_sql_of(&format!("created_at, id, {PAYLOAD_BYTES}"), bounded, limit);
    let sql = json_rows(listing.backend(), "created_at, id, bytes", &sized);
    let page: String = listing
        .page_query(&sql, budget, limit)
        .fetch_one(conn)
        .await?
        .try_get(0)?;
    let mut sizes: Vec<(String, String, i64)> = serde_json::from_str(&page)
        .map_err(|e| StorageError::corrupt(format!("payload sizes: {e}")))?;
    // Fixed-width UTC text: text order is time order.
    sizes.sort_unstable_by(|a, b| (&b.0, &b.1).cmp(&(&a.0, &a.1)));
    let mut bytes = 0;
    let mut rows = 0;
    for (_, _, size) in &sizes {
        bytes += size;
        if rows > 0 && bytes > MAX_PAGE_BYTES {
            break;
        }
        rows += 1;
    }
    let last_found = rows == sizes.len();
    Ok(sizes
        .into_iter()
        .nth(rows.wrapping_sub(1))
        .map(|(created_at, id, _)| Cut {
            created_at,
            id,
            rows: rows as i64,
            last_found,
        }))
}

/// One page of whole jobs as one text value: every column of every row as
/// its byte length, `:` and its text, or `-` for NULL, one after the other
/// (`9:PENDING…`). The text goes in as stored: nothing escapes it, and
/// [`stored_jobs_from_frames`] cuts it out again by the lengths. Both
/// databases count `octet_length` in UTF-8 bytes, as Rust's strings do.
fn framed_rows(backend: Backend, rows_sql: &str) -> String {
    let frames = JOB_COLUMNS
        .split(',')
        .map(|column| {
            let column = column.trim();
            format!(
                "COALESCE(octet_length(CAST({column} AS TEXT)) || ':' || CAST({column} AS TEXT), '-')"
            )
        })
        .collect::<Vec<_>>()
        .join(" || ");
    let aggregate = match backend {
        Backend::Sqlite => "group_concat",
        Backend::Postgres => "string_agg",
    };
    format!("SELECT COALESCE({aggregate}({frames}, ''), '') FROM ({rows_sql}) AS page")
}

/// The columns of [`JOB_COLUMNS`] per row.
const JOB_COLUMN_COUNT: usize = 9;

/// The first column's value (`None` for NULL) and the text after it.
fn next_frame(text: &str) -> Result<(Option<&str>, &str), StorageError> {
    let corrupt = |what: &str| StorageError::corrupt(format!("framed page: {what}"));
    if let Some(after) = text.strip_prefix('-') {
        return Ok((None, after));
    }
    let (length, after) = text.split_once(':').ok_or_else(|| corrupt("no length"))?;
    let length: usize = length
        .parse()
        .map_err(|_| corrupt("a length is not a number"))?;
    let value = after
        .get(..length)
        .ok_or_else(|| corrupt("a length runs past its text"))?;
    Ok((Some(value), &after[length..]))
}

/// Whole jobs out of [`framed_rows`]' text.
fn stored_jobs_from_frames(page: &str) -> Result<Vec<StoredJob>, StorageError> {
    let mut rest = page;
    let mut jobs = Vec::new();
    while !rest.is_empty() {
        let mut columns: [Option<&str>; JOB_COLUMN_COUNT] = Default::default();
        for column in &mut columns {
            let (value, after) = next_frame(rest)?;
            *column = value;
            rest = after;
        }
        jobs.push(stored_job(columns)?);
    }
    Ok(jobs)
}

/// A whole job out of a row of [`JOB_COLUMNS`], its text borrowed from the
/// row and copied once.
fn stored_job_from_row(row: &sqlx::any::AnyRow) -> Result<StoredJob, StorageError> {
    let mut columns: [Option<&str>; JOB_COLUMN_COUNT] = Default::default();
    for (index, column) in columns.iter_mut().enumerate() {
        *column = row.try_get(index)?;
    }
    stored_job(columns)
}

/// The one decoder of a stored job: its [`JOB_COLUMNS`], in order, however
/// they were read.
fn stored_job(columns: [Option<&str>; JOB_COLUMN_COUNT]) -> Result<StoredJob, StorageError> {
    let [id, status, target_type, target_id, instruction_json, output_ref, error_json, created_at, created_by] =
        columns;
    let required = |value: Option<&str>| {
        value
            .map(str::to_owned)
            .ok_or_else(|| StorageError::corrupt("stored job: a NULL where none may be"))
    };
    Ok(StoredJob {
        id: required(id)?,
        status: required(status)?,
        target_type: required(target_type)?,
        target_id: required(target_id)?,
        instruction_json: required(instruction_json)?,
        output_ref: output_ref.map(str::to_owned),
        error_json: error_json.map(str::to_owned),
        created_at: required(created_at)?,
        created_by: required(created_by)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_text_is_cut_by_byte_lengths_whatever_it_holds() {
        let row = |id: &str, instruction: &str, output: Option<&str>| {
            let frame = |text: Option<&str>| match text {
                Some(text) => format!("{}:{text}", text.len()),
                None => "-".to_owned(),
            };
            [
                Some(id),
                Some("PENDING"),
                Some("article"),
                Some("a:1-"),
                Some(instruction),
                output,
                None,
                Some("2026-01-01T00:00:00.000Z"),
                Some("svc"),
            ]
            .into_iter()
            .map(frame)
            .collect::<String>()
        };
        let tricky = "{\"x\":\"9:-é\u{1F600}\n\",\"y\":\"-\"}";
        let page = row("id-1", tricky, Some("\"out\"")) + &row("id-2", "{}", None);
        let jobs = stored_jobs_from_frames(&page).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].instruction_json, tricky);
        assert_eq!(jobs[0].target_id, "a:1-");
        assert_eq!(jobs[0].output_ref.as_deref(), Some("\"out\""));
        assert_eq!(jobs[1].id, "id-2");
        assert_eq!(jobs[1].output_ref, None);
        assert_eq!(jobs[1].created_by, "svc");
        assert!(stored_jobs_from_frames("").unwrap().is_empty());
        for broken in ["4:id-1", "x:abc", "99:short", "3:id-", "-"] {
            assert!(stored_jobs_from_frames(broken).is_err(), "{broken}");
        }
    }
}
