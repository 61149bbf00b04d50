//! Exports of any filtered slice of jobs or audit events, as CSV (RFC 4180,
//! spreadsheet-safe) or NDJSON, produced a page at a time from keyset
//! queries: memory stays flat whatever the size, and every statement is a
//! short one (no transaction is held across pages). The credential an
//! export started with is checked again before every chunk, so taking
//! access away stops the exports already running too.

use std::time::Instant;

use regen_domain::{Caller, Timestamp};

use crate::audit::AuditQuery;
use crate::cursor::MAX_PAGE_SIZE;
use crate::export_format::{
    csv_line, write_audit_events, ExportFormat, AUDIT_CSV_HEADER, JOB_CSV_HEADER,
};
use crate::export_pages::JobPages;
use crate::jobs::ListQuery;
use crate::secrets::CredentialHash;
use crate::{require_admin, AdminService, SecurityEvent, ServiceError};

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
    /// Its credential stopped giving access mid-way (revoked, expired,
    /// ended, owner disabled or demoted): the stream ended with an error.
    Revoked,
    /// It ran past its maximum duration: the stream ended with an error.
    TimedOut,
    /// The client stopped reading for longer than allowed: the stream ended
    /// with an error.
    Idle,
}

impl ExportOutcome {
    pub const ALL: [ExportOutcome; 6] = [
        ExportOutcome::Completed,
        ExportOutcome::Failed,
        ExportOutcome::Abandoned,
        ExportOutcome::Revoked,
        ExportOutcome::TimedOut,
        ExportOutcome::Idle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportOutcome::Completed => "completed",
            ExportOutcome::Failed => "failed",
            ExportOutcome::Abandoned => "abandoned",
            ExportOutcome::Revoked => "revoked",
            ExportOutcome::TimedOut => "timed_out",
            ExportOutcome::Idle => "idle",
        }
    }
}

/// A limit whoever streams an export enforces, since only it sees the
/// clock and the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportLimit {
    /// The longest an export may run.
    Duration,
    /// The longest a client may go without taking the next chunk.
    Idle,
}

enum Source {
    Jobs(JobPages),
    AuditEvents(AuditQuery),
}

/// An export in progress: call [`Export::next_chunk`] until it says `None`.
/// Dropped before the end, it is logged and counted as abandoned.
pub struct Export {
    service: AdminService,
    caller: Caller,
    /// What the caller authenticated with, checked again for each chunk.
    credential: CredentialHash,
    request_id: Option<String>,
    format: ExportFormat,
    /// The filters, as a query string: for the log and the file name.
    filter: String,
    reading: Reading,
    finished: bool,
    started: Instant,
    started_at: Timestamp,
}

/// Where the reading of an export's rows stands.
struct Reading {
    source: Source,
    header_written: bool,
    /// The last page has been read.
    exhausted: bool,
    /// Rows handed out so far.
    rows: u64,
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
    ///
    /// `credential` is what the caller authenticated with: the export
    /// re-authenticates it as it goes.
    pub async fn export_jobs(
        &self,
        caller: Option<&Caller>,
        credential: Option<&CredentialHash>,
        request_id: Option<&str>,
        query: ListQuery,
        format: ExportFormat,
    ) -> Result<Export, ServiceError> {
        let access = ExportAccess::of(caller, credential, request_id)?;
        refuse_paging(query.limit.is_some(), query.cursor.is_some())?;
        let filter = crate::jobs::validate(&query)?.filter;
        let source = Source::Jobs(JobPages::new(filter, format));
        let filter = query.to_query_string(None);
        Ok(self.start_export(access, source, format, filter))
    }

    /// Starts an export of the audit events the audit listing shows.
    pub async fn export_audit_events(
        &self,
        caller: Option<&Caller>,
        credential: Option<&CredentialHash>,
        request_id: Option<&str>,
        query: AuditQuery,
        format: ExportFormat,
    ) -> Result<Export, ServiceError> {
        let access = ExportAccess::of(caller, credential, request_id)?;
        refuse_paging(query.limit.is_some(), query.cursor.is_some())?;
        self.validate_audit_query(&query).await?;
        let filter = query.to_query_string(None);
        Ok(self.start_export(access, Source::AuditEvents(query), format, filter))
    }

    fn start_export(
        &self,
        access: ExportAccess,
        source: Source,
        format: ExportFormat,
        filter: String,
    ) -> Export {
        let export = Export {
            service: self.clone(),
            caller: access.caller,
            credential: access.credential,
            request_id: access.request_id,
            format,
            filter,
            reading: Reading {
                source,
                header_written: false,
                exhausted: false,
                rows: 0,
            },
            finished: false,
            started: Instant::now(),
            started_at: regen_storage::now(),
        };
        tracing::info!(
            kind = export.kind().as_str(),
            format = format.as_str(),
            user = %export.caller.username,
            filter = %export.filter,
            request_id = export.request_id.as_deref().unwrap_or(""),
            "export started"
        );
        export
    }
}

/// Who starts an export, checked once before it starts.
struct ExportAccess {
    caller: Caller,
    credential: CredentialHash,
    request_id: Option<String>,
}

impl ExportAccess {
    fn of(
        caller: Option<&Caller>,
        credential: Option<&CredentialHash>,
        request_id: Option<&str>,
    ) -> Result<ExportAccess, ServiceError> {
        let caller = require_admin(caller)?.clone();
        // Without its credential an export could not be stopped when access
        // is taken back, so it does not start.
        let credential = credential.ok_or(ServiceError::Unauthenticated)?.clone();
        Ok(ExportAccess {
            caller,
            credential,
            request_id: request_id.map(str::to_owned),
        })
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
        match self.reading.source {
            Source::Jobs(_) => ExportKind::Jobs,
            Source::AuditEvents(_) => ExportKind::AuditEvents,
        }
    }

    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.reading.rows
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
    ///
    /// Each chunk is handed out only once the credential was checked again
    /// for it ([`Export::check_access`]), and its rows count only then.
    pub async fn next_chunk(&mut self) -> Result<Option<String>, ServiceError> {
        if self.finished {
            return Ok(None);
        }
        // The credential is checked while the page is read (two round trips
        // at once, not one after the other); the page is dropped unwritten
        // if access was taken back.
        let (current, page) = tokio::join!(
            self.service.caller_for(&self.credential),
            self.reading
                .read_page(&self.service, &self.caller, self.format)
        );
        self.judge_access(current)?;
        match page {
            Ok(Some((chunk, rows))) => {
                self.reading.rows += rows;
                Ok(Some(chunk))
            }
            Ok(None) => {
                self.finish(ExportOutcome::Completed);
                Ok(None)
            }
            Err(error) => Err(self.fail(error)),
        }
    }

    /// Re-authenticates the credential the export started with, as a new
    /// request would (token or session live, owner not disabled and still
    /// an admin). A refusal ends the export: counted as revoked, logged as
    /// a security event, and returned, so the stream ends with an error.
    /// Whoever streams the export calls this while it waits for a slow
    /// client too. A session's last-seen time moves as on any request.
    pub async fn check_access(&mut self) -> Result<(), ServiceError> {
        if self.finished {
            return Ok(());
        }
        let current = self.service.caller_for(&self.credential).await;
        self.judge_access(current)
    }

    /// What [`Export::check_access`] does with the caller the credential
    /// stands for now (read as `authenticate_token` and
    /// `authenticate_session` read it).
    fn judge_access(
        &mut self,
        current: Result<Option<Caller>, ServiceError>,
    ) -> Result<(), ServiceError> {
        let current = match current {
            Ok(current) => current,
            Err(error) => return Err(self.fail(error)),
        };
        let refusal = match require_admin(current.as_ref()) {
            Ok(_) => return Ok(()),
            Err(refusal) => refusal,
        };
        self.service.security_event(
            SecurityEvent::ExportRevoked,
            &self.caller.username,
            self.kind().as_str(),
            self.request_id.as_deref(),
            "stopped",
        );
        tracing::warn!(
            user = %self.caller.username,
            rows = self.reading.rows,
            reason = %refusal,
            "export stopped: its credential no longer gives access"
        );
        self.finish(ExportOutcome::Revoked);
        Err(refusal)
    }

    /// Ends the export because it passed one of its limits; the caller ends
    /// the stream with an error.
    pub fn exceeded(&mut self, limit: ExportLimit) {
        if self.finished {
            return;
        }
        let (outcome, why) = match limit {
            ExportLimit::Duration => (ExportOutcome::TimedOut, "it ran past its maximum duration"),
            ExportLimit::Idle => (ExportOutcome::Idle, "the client stopped reading"),
        };
        tracing::warn!(user = %self.caller.username, rows = self.reading.rows, "export stopped: {why}");
        self.finish(outcome);
    }

    fn fail(&mut self, error: ServiceError) -> ServiceError {
        tracing::error!(error = ?error, rows = self.reading.rows, "export failed mid-stream");
        self.finish(ExportOutcome::Failed);
        error
    }

    fn finish(&mut self, outcome: ExportOutcome) {
        self.finished = true;
        self.service
            .metrics()
            .count_export(self.kind(), self.format, outcome, self.reading.rows);
        tracing::info!(
            kind = self.kind().as_str(),
            format = self.format.as_str(),
            user = %self.caller.username,
            filter = %self.filter,
            request_id = self.request_id.as_deref().unwrap_or(""),
            rows = self.reading.rows,
            seconds = self.started.elapsed().as_secs_f64(),
            outcome = outcome.as_str(),
            "export finished"
        );
    }
}

impl Reading {
    async fn read_page(
        &mut self,
        service: &AdminService,
        caller: &Caller,
        format: ExportFormat,
    ) -> Result<Option<(String, u64)>, ServiceError> {
        let mut out = String::new();
        let mut rows = 0;
        if !self.header_written {
            self.header_written = true;
            if format == ExportFormat::Csv {
                match self.source {
                    Source::Jobs(_) => csv_line(&mut out, &JOB_CSV_HEADER),
                    Source::AuditEvents(_) => csv_line(&mut out, &AUDIT_CSV_HEADER),
                }
            }
        }
        // A page can be empty (a scan budget that found nothing): read on,
        // so that no chunk is empty.
        loop {
            if self.exhausted {
                return Ok((!out.is_empty()).then_some((out, rows)));
            }
            rows += self
                .read_next_page(service, caller, format, &mut out)
                .await?;
            if !out.is_empty() {
                return Ok(Some((out, rows)));
            }
        }
    }

    /// Appends the next page's rows to `out`; how many.
    async fn read_next_page(
        &mut self,
        service: &AdminService,
        caller: &Caller,
        format: ExportFormat,
        out: &mut String,
    ) -> Result<u64, ServiceError> {
        let (rows, next) = match &mut self.source {
            Source::Jobs(pages) => {
                let (rows, more) = pages.write_next(service, out).await?;
                (rows as u64, more)
            }
            Source::AuditEvents(query) => {
                let page_query = AuditQuery {
                    limit: Some(MAX_PAGE_SIZE.to_string()),
                    ..query.clone()
                };
                let page = service.list_audit_events(Some(caller), &page_query).await?;
                write_audit_events(out, &page.events, format)?;
                query.cursor = page.next_cursor.clone();
                (page.events.len() as u64, page.next_cursor.is_some())
            }
        };
        self.exhausted = !next;
        Ok(rows)
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
