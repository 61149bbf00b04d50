//! Exports of any filtered slice of jobs or audit events, as CSV (RFC 4180,
//! spreadsheet-safe) or NDJSON, produced a page at a time from keyset
//! queries: memory stays flat whatever the size, and every statement is a
//! short one (no transaction is held across pages).

use std::time::Instant;

use regen_domain::{Caller, JobId, JobSummary, Timestamp};

use crate::audit::AuditQuery;
use crate::cursor::MAX_PAGE_SIZE;
use crate::export_format::{
    csv_line, json_line, write_audit_events, write_job_rows, ExportFormat, JobLine,
    AUDIT_CSV_HEADER, JOB_CSV_HEADER,
};
use crate::jobs::ListQuery;
use crate::{require_admin, AdminService, ServiceError};

/// Full records are read this many at a time for NDJSON: payloads can be
/// megabytes each, and a chunk holds at most this many.
const PAYLOAD_BATCH: usize = 8;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_parts_keep_only_safe_characters() {
        assert_eq!(file_part("a b/c\"d"), "a-b-c-d");
        assert_eq!(file_part(&"x".repeat(100)).len(), 40);
    }
}
