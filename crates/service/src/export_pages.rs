//! An export's job pages, read one ahead: while one page is written into
//! the chunk (on this task), the next is already being read (on the
//! database's side: sqlx's SQLite worker thread, or PostgreSQL), so the two
//! halves of the work overlap instead of taking turns. Whole records on
//! SQLite are read two pages at a time ([`read_records`]).

use regen_storage::{
    max_page_bytes, ExportPage, JobFilter, JobPagePlan, KeysetPosition, Store, StoredJobRef,
    StoredJobs, SummaryRows,
};

use crate::export_format::{job_line, write_job_rows, ExportFormat};
use crate::{AdminService, ServiceError};

/// Whole jobs read per page, and so per chunk (fewer when their payloads
/// pass `regen_storage::max_page_bytes`). Big pages keep the cost per
/// statement small against the rows it reads.
const JOB_PAGE_ROWS: u32 = 1000;

/// The fewest whole jobs a page asks for.
const MIN_JOB_PAGE_ROWS: u32 = 8;

/// Job summaries the first page of a CSV export asks for; later pages ask
/// for about [`SUMMARY_PAGE_BYTES`] ([`next_summary_ask`]).
const SUMMARY_PAGE_ROWS: u32 = 4000;

/// About how many bytes of CSV a page of summaries makes. A page costs a
/// statement (and a credential check) whatever its size, and the database
/// waits while the export finds where the next page starts: at 1M demo jobs
/// (about 100 bytes a line), pages of 8,000 took 0.77 s against 0.87 s at
/// 4,000 on SQLite, 1.11 against 1.22 s on PostgreSQL (bench/NOTES.md,
/// round 3, ninth session). By bytes, not rows: a summary can be 650 bytes
/// (three texts of up to 200 characters), and a page is held about three
/// times over while it moves.
const SUMMARY_PAGE_BYTES: usize = 800 * 1024;

/// Summary pages ask for whole thousands of rows, at least one and at most
/// ten: the statement has its LIMIT written in (`PageLimit::Written`), and
/// PostgreSQL plans each text once per connection.
const SUMMARY_ROWS_STEP: u32 = 1000;
const MAX_SUMMARY_PAGE_ROWS: u32 = 10 * SUMMARY_ROWS_STEP;

/// One page in the export's format: summaries for CSV, whole records for
/// NDJSON.
pub(crate) enum JobPage {
    Summaries(ExportPage<SummaryRows>),
    /// One page of whole records, or two read at once ([`read_records`]).
    Records(Vec<ExportPage<StoredJobs>>),
}

impl JobPage {
    /// Where the page after this one starts (`None`: this was the last).
    fn next(&self) -> Option<KeysetPosition> {
        match self {
            JobPage::Summaries(page) => page.next,
            JobPage::Records(pages) => pages.last().and_then(|page| page.next),
        }
    }
}

/// Where an export of jobs stands: its filter, the page read ahead, and
/// where the one after it starts.
pub(crate) struct JobPages {
    filter: JobFilter,
    format: ExportFormat,
    after: Option<KeysetPosition>,
    ahead: Option<JobPage>,
    /// How many rows the next page asks for ([`next_ask`],
    /// [`next_summary_ask`]).
    ask: u32,
}

impl JobPages {
    pub(crate) fn new(filter: JobFilter, format: ExportFormat) -> JobPages {
        JobPages {
            filter,
            format,
            after: None,
            ahead: None,
            ask: match format {
                ExportFormat::Csv => SUMMARY_PAGE_ROWS,
                ExportFormat::Ndjson => JOB_PAGE_ROWS,
            },
        }
    }

    /// Writes the next page into `out`, reading the one after it meanwhile.
    /// Returns the rows written, and whether more pages follow.
    pub(crate) async fn write_next(
        &mut self,
        service: &AdminService,
        out: &mut String,
    ) -> Result<(usize, bool), ServiceError> {
        let store = service.store();
        let page = match self.ahead.take() {
            Some(page) => page,
            None => read(store, &self.filter, self.format, self.after, self.ask).await?,
        };
        let next = page.next();
        if let JobPage::Records(pages) = &page {
            let held = pages.last().map_or(0, |page| page.rows.len());
            self.ask = next_ask(self.ask, held);
        }
        let ask = self.ask;
        let written_from = out.len();
        let read_ahead = async {
            match next {
                Some(position) => read(store, &self.filter, self.format, Some(position), ask)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        // Polled first, the read is under way when the writing starts.
        let (ahead, rows) = tokio::join!(read_ahead, async { write(service, page, out) });
        if self.format == ExportFormat::Csv {
            // Known once written: the page after the one read ahead asks
            // by it.
            self.ask = next_summary_ask(rows, out.len() - written_from);
        }
        self.ahead = ahead?;
        self.after = next;
        Ok((rows, next.is_some()))
    }
}

/// How many whole jobs to ask for after a page that asked for `asked` and
/// held `held`. A page reads the payload size of every row it asks for to
/// find its cut (SQLite from the time index; PostgreSQL from each row in the
/// table, a third of what reading the whole rows costs it): asking for 1,000
/// rows when 300 fill a page read every row's size three times over. So a page
/// cut short by its bytes asks for a little more than it held; one that held
/// every row it asked for asks for twice as many, up to [`JOB_PAGE_ROWS`].
/// Asking for too few costs nothing but a smaller page.
fn next_ask(asked: u32, held: usize) -> u32 {
    let held = u32::try_from(held).unwrap_or(u32::MAX);
    let ask = if held >= asked {
        asked.saturating_mul(2)
    } else {
        held.saturating_add(held / 4)
            .saturating_add(MIN_JOB_PAGE_ROWS)
    };
    ask.clamp(MIN_JOB_PAGE_ROWS, JOB_PAGE_ROWS)
}

/// How many job summaries to ask for after a page of `rows` that made
/// `bytes` of CSV: about [`SUMMARY_PAGE_BYTES`] of rows like them, in
/// whole [`SUMMARY_ROWS_STEP`]s.
fn next_summary_ask(rows: usize, bytes: usize) -> u32 {
    let Some(per_row) = bytes.checked_div(rows).filter(|per_row| *per_row > 0) else {
        return SUMMARY_PAGE_ROWS;
    };
    let ask = u32::try_from(SUMMARY_PAGE_BYTES / per_row).unwrap_or(u32::MAX);
    (ask / SUMMARY_ROWS_STEP * SUMMARY_ROWS_STEP).clamp(SUMMARY_ROWS_STEP, MAX_SUMMARY_PAGE_ROWS)
}

async fn read(
    store: &Store,
    filter: &JobFilter,
    format: ExportFormat,
    after: Option<KeysetPosition>,
    ask: u32,
) -> Result<JobPage, ServiceError> {
    Ok(match format {
        ExportFormat::Csv => {
            JobPage::Summaries(store.export_job_summaries(filter, after, ask).await?)
        }
        ExportFormat::Ndjson => JobPage::Records(read_records(store, filter, after, ask).await?),
    })
}

/// Whole records after `after`: one page, or two read at once when the
/// first one's plan says where the second starts. On SQLite each page's
/// statement runs on its own connection's thread, so the two are read on
/// both cores, which a single chain of pages cannot do: each page starts
/// where the one before ended. Two pages at once hold no more payload
/// bytes than one page alone may (each at most half, unless one job alone
/// has more: that page is read alone), so the export's memory stays where
/// it was with one page ahead.
/// A first page that ends short of its plan (jobs inserted into its range
/// meanwhile) drops the second, which is read again from where it ended.
async fn read_records(
    store: &Store,
    filter: &JobFilter,
    after: Option<KeysetPosition>,
    ask: u32,
) -> Result<Vec<ExportPage<StoredJobs>>, ServiceError> {
    let half = max_page_bytes(store.backend()) / 2;
    let pairs_with = |plan: &JobPagePlan| plan.planned_bytes().is_some_and(|bytes| bytes <= half);
    let first = store.plan_job_page(filter, after, ask, half).await?;
    let second_after = match first.planned_next() {
        Some(Some(position)) if pairs_with(&first) => position,
        _ => return Ok(vec![store.read_job_page(filter, &first).await?]),
    };
    let held = first.planned_rows().unwrap_or(0) as usize;
    let second = async {
        let plan = store
            .plan_job_page(filter, Some(second_after), next_ask(ask, held), half)
            .await?;
        if !pairs_with(&plan) {
            // A job over half a page is read on its own, next time.
            return Ok(None);
        }
        store.read_job_page(filter, &plan).await.map(Some)
    };
    let (first, second) = tokio::join!(store.read_job_page(filter, &first), second);
    Ok(in_a_row(first?, second?, second_after))
}

/// The first page, and the second when it starts where the first ended (it
/// was read from `second_after`): a first page that ended short of its plan
/// drops the second, which the next read starts again from where the first
/// ended.
fn in_a_row<T>(
    first: ExportPage<T>,
    second: Option<ExportPage<T>>,
    second_after: KeysetPosition,
) -> Vec<ExportPage<T>> {
    match second {
        Some(second) if first.next == Some(second_after) => vec![first, second],
        _ => vec![first],
    }
}

/// The page's rows into `out` (whole records redacted as they go); how
/// many.
fn write(service: &AdminService, page: JobPage, out: &mut String) -> usize {
    match page {
        JobPage::Summaries(page) => {
            // Room for the page at once, as for records below: a chunk
            // that grows by doubling ends with up to twice the room it
            // needs, and holds both buffers while it moves.
            out.reserve(page.rows.iter().map(summary_room).sum());
            write_job_rows(out, page.rows.iter());
            page.rows.len()
        }
        JobPage::Records(pages) => {
            // Room for the pages at once: a String that grows by doubling
            // holds two copies of a 5 MB payload while it moves.
            let jobs = || pages.iter().flat_map(|page| page.rows.iter());
            out.reserve(jobs().map(line_room).sum());
            for job in jobs() {
                match service.redact_stored_job(job) {
                    Some(redacted) => job_line(out, &redacted.borrowed()),
                    None => job_line(out, &job),
                }
            }
            pages.iter().map(|page| page.rows.len()).sum()
        }
    }
}

/// About the room a job's NDJSON line takes: its payloads, which go in as
/// stored, and the rest of the line.
fn line_room(job: StoredJobRef<'_>) -> usize {
    let payloads = job.instruction_json.len()
        + job.output_ref.map_or(0, str::len)
        + job.error_json.map_or(0, str::len);
    payloads + 512
}

/// About the room a job summary's CSV line takes: its cells, and for each
/// a separator, quotes and a formula guard at most (then the line break).
fn summary_room(cells: [Option<&str>; 6]) -> usize {
    cells
        .iter()
        .map(|cell| cell.map_or(0, str::len) + 4)
        .sum::<usize>()
        + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_asks_for_about_as_many_jobs_as_the_last_one_held() {
        // Cut by its bytes at 300 jobs: the next asks for a little more.
        assert_eq!(next_ask(1000, 300), 383);
        // Every job it asked for fitted: twice as many, up to the limit.
        assert_eq!(next_ask(383, 383), 766);
        assert_eq!(next_ask(766, 766), JOB_PAGE_ROWS);
        assert_eq!(next_ask(JOB_PAGE_ROWS, 1000), JOB_PAGE_ROWS);
        // A page of one 5 MB job, or none (a scan budget that found
        // nothing): a few, never none.
        assert_eq!(next_ask(1000, 1), 9);
        assert_eq!(next_ask(1000, 0), MIN_JOB_PAGE_ROWS);
    }

    #[test]
    fn a_second_page_is_kept_only_when_the_first_ended_where_it_starts() {
        let at = |seconds: i64| KeysetPosition {
            created_at: regen_domain::Timestamp::from_millis(1_790_000_000_000 + seconds * 1000)
                .unwrap(),
            id: regen_domain::JobId::from_uuid(uuid::Uuid::from_u128(seconds as u128)),
        };
        let (planned, pushed_out) = (at(2), at(3));
        let page = |name: &'static str, next| ExportPage { rows: name, next };
        fn rows(pages: Vec<ExportPage<&'static str>>) -> Vec<&'static str> {
            pages.iter().map(|page| page.rows).collect()
        }
        // The first page ended at its plan: both, in order.
        let kept = in_a_row(
            page("first", Some(planned)),
            Some(page("second", None)),
            planned,
        );
        assert_eq!(rows(kept), ["first", "second"]);
        // A job arrived in its range: it ended earlier, the second goes.
        let dropped = in_a_row(
            page("first", Some(pushed_out)),
            Some(page("second", None)),
            planned,
        );
        assert_eq!(rows(dropped), ["first"]);
        // No second page (a job over half a page): the first alone.
        assert_eq!(
            rows(in_a_row(page("first", Some(planned)), None, planned)),
            ["first"]
        );
    }

    #[test]
    fn a_page_of_summaries_asks_for_about_its_bytes_in_rows() {
        // Demo lines of about 100 bytes: 8,000 a page.
        assert_eq!(next_summary_ask(4000, 4000 * 102), 8000);
        // Summaries of three 200-character texts: 1,000 a page.
        assert_eq!(next_summary_ask(4000, 4000 * 650), 1000);
        // Longer still (never): no fewer.
        assert_eq!(next_summary_ask(10, 10 * 5000), SUMMARY_ROWS_STEP);
        // Very short lines: no more than the most.
        assert_eq!(next_summary_ask(4000, 4000 * 20), MAX_SUMMARY_PAGE_ROWS);
        // A page with no rows says nothing about their size.
        assert_eq!(next_summary_ask(0, 0), SUMMARY_PAGE_ROWS);
    }
}
