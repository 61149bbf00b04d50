//! Exports of any filtered slice of jobs or audit events, as CSV (RFC 4180,
//! spreadsheet-safe) or NDJSON, produced a page at a time from keyset
//! queries: memory stays flat whatever the size, and every statement is a
//! short one (no transaction is held across pages).

use std::time::Instant;

use regen_domain::{AuditRecord, Caller, JobId, JobSummary, JsonText, RegenerationJob, Timestamp};
use serde::Serialize;

use crate::audit::AuditQuery;
use crate::jobs::{ListQuery, MAX_PAGE_SIZE};
use crate::{require_admin, AdminService, ServiceError};

/// Full records are read this many at a time for NDJSON: payloads can be
/// megabytes each, and a chunk holds at most this many.
const PAYLOAD_BATCH: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 2] = [ExportFormat::Csv, ExportFormat::Ndjson];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }
}

/// What an export reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Jobs,
    AuditEvents,
}

impl ExportKind {
    pub const ALL: [ExportKind; 2] = [ExportKind::Jobs, ExportKind::AuditEvents];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Jobs => "jobs",
            ExportKind::AuditEvents => "audit_events",
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            ExportKind::Jobs => "regeneration-jobs",
            ExportKind::AuditEvents => "audit-events",
        }
    }
}

/// How an export ended, as `/metrics` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportOutcome {
    Completed,
    /// The database failed mid-way: the stream ended with an error.
    Failed,
    /// The client went away before the end.
    Abandoned,
}

impl ExportOutcome {
    pub const ALL: [ExportOutcome; 3] = [
        ExportOutcome::Completed,
        ExportOutcome::Failed,
        ExportOutcome::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportOutcome::Completed => "completed",
            ExportOutcome::Failed => "failed",
            ExportOutcome::Abandoned => "abandoned",
        }
    }
}

enum Source {
    Jobs(ListQuery),
    AuditEvents(AuditQuery),
}

/// An export in progress: call [`Export::next_chunk`] until it says `None`.
/// Dropped before the end, it is logged and counted as abandoned.
pub struct Export {
    service: AdminService,
    caller: Caller,
    source: Source,
    format: ExportFormat,
    /// The filters, as a query string: for the log and the file name.
    filter: String,
    header_written: bool,
    /// The last page has been read.
    exhausted: bool,
    /// Jobs of the current page whose full records are still to be written.
    pending_jobs: Vec<JobSummary>,
    finished: bool,
    rows: u64,
    started: Instant,
    started_at: Timestamp,
}

/// A cell as RFC 4180 wants it, and as no spreadsheet will run: text that
/// starts like a formula gets a leading `'`.
pub fn csv_cell(text: &str) -> String {
    let guarded = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn csv_line(out: &mut String, cells: &[&str]) {
    let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

const JOB_CSV_HEADER: [&str; 6] = [
    "id",
    "status",
    "targetType",
    "targetId",
    "createdAt",
    "createdBy",
];
const AUDIT_CSV_HEADER: [&str; 8] = [
    "id",
    "eventType",
    "jobId",
    "actor",
    "actorName",
    "occurredAt",
    "requestId",
    "details",
];

/// A job as one NDJSON line: the detail API's fields, payloads verbatim.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobLine<'a> {
    id: JobId,
    status: regen_domain::JobStatus,
    target_type: &'a str,
    target_id: &'a str,
    instruction_json: &'a JsonText,
    output_ref: &'a Option<JsonText>,
    error_json: &'a Option<JsonText>,
    created_at: Timestamp,
    created_by: &'a str,
}

impl<'a> From<&'a RegenerationJob> for JobLine<'a> {
    fn from(job: &'a RegenerationJob) -> Self {
        JobLine {
            id: job.id,
            status: job.status,
            target_type: &job.target_type,
            target_id: &job.target_id,
            instruction_json: &job.instruction_json,
            output_ref: &job.output_ref,
            error_json: &job.error_json,
            created_at: job.created_at,
            created_by: &job.created_by,
        }
    }
}

/// Appends one NDJSON line, serialised straight into the chunk (a payload
/// of megabytes is not copied once more on the way).
fn json_line(out: &mut String, value: &impl Serialize) -> Result<(), ServiceError> {
    let mut bytes = std::mem::take(out).into_bytes();
    let written = serde_json::to_writer(&mut bytes, value);
    bytes.push(b'\n');
    // serde_json writes UTF-8 only; the check cannot fail and copies nothing.
    *out = String::from_utf8(bytes).map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
    written.map_err(|e| ServiceError::InvalidInput(format!("cannot serialise a row: {e}")))
}

/// A file name part: letters, digits, `.`, `_` and `-` only.
fn file_part(text: &str) -> String {
    text.chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

impl AdminService {
    /// Starts an export of the jobs a listing with these filters shows.
    /// Validates everything first, so a bad filter is a 400, not a broken
    /// stream.
    pub async fn export_jobs(
        &self,
        caller: Option<&Caller>,
        query: ListQuery,
        format: ExportFormat,
    ) -> Result<Export, ServiceError> {
        let caller = require_admin(caller)?.clone();
        refuse_paging(query.limit.is_some(), query.cursor.is_some())?;
        crate::jobs::validate(&query)?;
        let filter = query.to_query_string(None);
        Ok(self.start_export(caller, Source::Jobs(query), format, filter))
    }

    /// Starts an export of the audit events the audit listing shows.
    pub async fn export_audit_events(
        &self,
        caller: Option<&Caller>,
        query: AuditQuery,
        format: ExportFormat,
    ) -> Result<Export, ServiceError> {
        let caller = require_admin(caller)?.clone();
        refuse_paging(query.limit.is_some(), query.cursor.is_some())?;
        self.validate_audit_query(&query).await?;
        let filter = query.to_query_string(None);
        Ok(self.start_export(caller, Source::AuditEvents(query), format, filter))
    }

    fn start_export(
        &self,
        caller: Caller,
        source: Source,
        format: ExportFormat,
        filter: String,
    ) -> Export {
        let export = Export {
            service: self.clone(),
            caller,
            source,
            format,
            filter,
            header_written: false,
            exhausted: false,
            pending_jobs: Vec::new(),
            finished: false,
            rows: 0,
            started: Instant::now(),
            started_at: regen_storage::now(),
        };
        tracing::info!(
            kind = export.kind().as_str(),
            format = format.as_str(),
            user = %export.caller.username,
            filter = %export.filter,
            "export started"
        );
        export
    }
}

fn refuse_paging(limit: bool, cursor: bool) -> Result<(), ServiceError> {
    if limit || cursor {
        return Err(ServiceError::InvalidInput(
            "an export takes the filters only (no limit or cursor): it always has every row".into(),
        ));
    }
    Ok(())
}

impl Export {
    pub fn kind(&self) -> ExportKind {
        match self.source {
            Source::Jobs(_) => ExportKind::Jobs,
            Source::AuditEvents(_) => ExportKind::AuditEvents,
        }
    }

    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// `regeneration-jobs_status-FAILED_20261201T120000Z.csv`: what, which
    /// filter, when.
    pub fn file_name(&self) -> String {
        let pairs: Vec<String> = form_urlencoded::parse(self.filter.as_bytes())
            .map(|(k, v)| format!("{}-{}", file_part(&k), file_part(&v)))
            .collect();
        let filter = if pairs.is_empty() {
            "all".to_owned()
        } else {
            pairs.join("_")
        };
        let at = self.started_at.as_datetime().format("%Y%m%dT%H%M%SZ");
        format!(
            "{}_{filter}_{at}.{}",
            self.kind().file_stem(),
            self.format.as_str()
        )
    }

    /// The next part of the file, or `None` after the last. An error ends
    /// the export: the caller must end its stream with an error too, so the
    /// client cannot mistake a short file for a complete one.
    pub async fn next_chunk(&mut self) -> Result<Option<String>, ServiceError> {
        if self.finished {
            return Ok(None);
        }
        match self.read_page().await {
            Ok(Some(chunk)) => Ok(Some(chunk)),
            Ok(None) => {
                self.finish(ExportOutcome::Completed);
                Ok(None)
            }
            Err(error) => {
                tracing::error!(error = ?error, rows = self.rows, "export failed mid-stream");
                self.finish(ExportOutcome::Failed);
                Err(error)
            }
        }
    }

    fn finish(&mut self, outcome: ExportOutcome) {
        self.finished = true;
        self.service
            .metrics()
            .count_export(self.kind(), self.format, outcome, self.rows);
        tracing::info!(
            kind = self.kind().as_str(),
            format = self.format.as_str(),
            user = %self.caller.username,
            filter = %self.filter,
            rows = self.rows,
            seconds = self.started.elapsed().as_secs_f64(),
            outcome = outcome.as_str(),
            "export finished"
        );
    }

    async fn read_page(&mut self) -> Result<Option<String>, ServiceError> {
        let mut out = String::new();
        if !self.header_written {
            self.header_written = true;
            if self.format == ExportFormat::Csv {
                match self.source {
                    Source::Jobs(_) => csv_line(&mut out, &JOB_CSV_HEADER),
                    Source::AuditEvents(_) => csv_line(&mut out, &AUDIT_CSV_HEADER),
                }
            }
        }
        // Full job records go out a few at a time: each chunk stays small
        // however big the payloads, and is freed before the next is made.
        if self.format == ExportFormat::Ndjson && !self.pending_jobs.is_empty() {
            let take = self.pending_jobs.len().min(PAYLOAD_BATCH);
            let ids: Vec<JobId> = self.pending_jobs.drain(..take).map(|j| j.id).collect();
            for job in self.service.store().get_jobs(&ids).await? {
                json_line(&mut out, &JobLine::from(&job))?;
            }
            self.rows += take as u64;
            return Ok(Some(out));
        }
        if self.exhausted {
            return Ok((!out.is_empty()).then_some(out));
        }
        let limit = Some(MAX_PAGE_SIZE.to_string());
        let next = match &mut self.source {
            Source::Jobs(query) => {
                let page_query = ListQuery {
                    limit,
                    ..query.clone()
                };
                let page = self
                    .service
                    .list_jobs(Some(&self.caller), &page_query)
                    .await?;
                query.cursor = page.next_cursor.clone();
                match self.format {
                    ExportFormat::Csv => {
                        write_job_rows(&mut out, &page.jobs);
                        self.rows += page.jobs.len() as u64;
                    }
                    ExportFormat::Ndjson => self.pending_jobs = page.jobs,
                }
                page.next_cursor
            }
            Source::AuditEvents(query) => {
                let page_query = AuditQuery {
                    limit,
                    ..query.clone()
                };
                let page = self
                    .service
                    .list_audit_events(Some(&self.caller), &page_query)
                    .await?;
                write_audit_events(&mut out, &page.events, self.format)?;
                query.cursor = page.next_cursor.clone();
                self.rows += page.events.len() as u64;
                page.next_cursor
            }
        };
        // After the last page, what it left pending is written; then the
        // next call ends the file.
        self.exhausted = next.is_none();
        Ok(Some(out))
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(ExportOutcome::Abandoned);
        }
    }
}

fn write_job_rows(out: &mut String, jobs: &[JobSummary]) {
    for job in jobs {
        let id = job.id.to_string();
        let created_at = job.created_at.to_string();
        csv_line(
            out,
            &[
                &id,
                job.status.as_str(),
                &job.target_type,
                &job.target_id,
                &created_at,
                &job.created_by,
            ],
        );
    }
}

fn write_audit_events(
    out: &mut String,
    events: &[AuditRecord],
    format: ExportFormat,
) -> Result<(), ServiceError> {
    for event in events {
        match format {
            ExportFormat::Csv => {
                let id = event.id.to_string();
                let job_id = event.job_id.to_string();
                let occurred_at = event.occurred_at.to_string();
                csv_line(
                    out,
                    &[
                        &id,
                        event.event_type.as_str(),
                        &job_id,
                        &event.actor,
                        &event.actor_name,
                        &occurred_at,
                        event.request_id.as_deref().unwrap_or(""),
                        event.details.as_ref().map_or("", JsonText::as_str),
                    ],
                );
            }
            ExportFormat::Ndjson => json_line(out, event)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn cells_that_look_like_formulas_are_defused() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        for text in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                csv_cell(text).trim_start_matches('"').starts_with('\''),
                "{text:?}"
            );
        }
        assert_eq!(csv_cell("a=b"), "a=b");
    }

    #[test]
    fn file_parts_keep_only_safe_characters() {
        assert_eq!(file_part("a b/c\"d"), "a-b-c-d");
        assert_eq!(file_part(&"x".repeat(100)).len(), 40);
    }
}
