//! Every way a job's payloads (and audit details) leave the service, each
//! through [`AdminService::redact`]: the detail (page, API, CLI), one
//! document (the download), the export's records and audit events. Redaction
//! is a view: stored rows are never changed.

use regen_domain::{
    AuditEventView, AuditRecord, Caller, HiddenValues, JobDetail, JobId, JsonText, Redacted,
    RegenerationJob,
};

use regen_storage::{StoredJob, StoredJobRef};

use crate::{require_admin, AdminService, Operator, ServiceError};

impl AdminService {
    /// `doc` as it may leave the server, its hidden values counted in
    /// `regen_redacted_values_total`.
    pub(crate) fn redact(&self, doc: JsonText) -> Redacted {
        let shown = self.inner.redaction.apply(doc);
        self.metrics().count_redacted_values(shown.hidden.len());
        shown
    }

    /// A job with its three payloads redacted, and where.
    pub(crate) fn redact_job(&self, job: RegenerationJob) -> (RegenerationJob, HiddenValues) {
        let mut hidden = HiddenValues::default();
        let instruction = self.redact(job.instruction_json);
        hidden.instruction_json = instruction.hidden;
        let optional = |doc: Option<JsonText>, spans: &mut Vec<_>| {
            doc.map(|doc| {
                let shown = self.redact(doc);
                *spans = shown.hidden;
                shown.doc
            })
        };
        let output_ref = optional(job.output_ref, &mut hidden.output_ref);
        let error_json = optional(job.error_json, &mut hidden.error_json);
        let job = RegenerationJob {
            instruction_json: instruction.doc,
            output_ref,
            error_json,
            ..job
        };
        (job, hidden)
    }

    /// A job as an export reads it (stored text), with its payloads
    /// redacted; `None` when there is nothing to redact, and the job goes
    /// out as it is. Without configuration nothing is read, let alone
    /// parsed.
    pub(crate) fn redact_stored_job(&self, job: StoredJobRef<'_>) -> Option<StoredJob> {
        if self.inner.redaction.is_off() {
            return None;
        }
        let redact = |payload: &str| {
            // The table admits only valid JSON; text that still does not
            // parse is hidden whole, as the scan hides what it cannot follow.
            match JsonText::parse(payload.to_owned()) {
                Ok(doc) => self.redact(doc).doc.into_string(),
                Err(_) => {
                    self.metrics().count_redacted_values(1);
                    regen_domain::REDACTED.to_owned()
                }
            }
        };
        let without_payloads = StoredJobRef {
            instruction_json: "",
            output_ref: None,
            error_json: None,
            ..job
        };
        Some(StoredJob {
            instruction_json: redact(job.instruction_json),
            output_ref: job.output_ref.map(redact),
            error_json: job.error_json.map(redact),
            ..without_payloads.to_stored_job()
        })
    }

    /// Audit events with their details redacted: details hold whatever the
    /// writer of an event put there, so they are treated as payloads.
    pub(crate) fn redact_audit_details(&self, events: &mut [AuditRecord]) {
        for event in events {
            event.details = event.details.take().map(|doc| self.redact(doc).doc);
        }
    }

    /// One job with its audit trail, payloads redacted (`hidden` says
    /// where). A malformed id is simply not found.
    pub async fn get_job(
        &self,
        caller: Option<&Caller>,
        id: &str,
    ) -> Result<JobDetail, ServiceError> {
        require_admin(caller)?;
        self.job_detail(id).await
    }

    /// The same detail for the operator's `job show`.
    pub async fn show_job(
        &self,
        _operator: &Operator,
        id: &str,
    ) -> Result<JobDetail, ServiceError> {
        self.job_detail(id).await
    }

    async fn job_detail(&self, id: &str) -> Result<JobDetail, ServiceError> {
        let id: JobId = id.parse().map_err(|_| ServiceError::NotFound)?;
        let job = self.read_job(id).await?;
        let events = self.store().audit_events(id).await?;
        let (job, hidden) = self.redact_job(job);
        Ok(JobDetail::new(
            job,
            events.into_iter().map(AuditEventView::from).collect(),
            hidden,
        ))
    }

    /// One payload of a job (`instructionJson`, `outputRef` or
    /// `errorJson`), redacted: `None` when the job has no such document.
    pub async fn job_document(
        &self,
        caller: Option<&Caller>,
        id: &str,
        field: &str,
    ) -> Result<Option<Redacted>, ServiceError> {
        require_admin(caller)?;
        let id: JobId = id.parse().map_err(|_| ServiceError::NotFound)?;
        let job = self.read_job(id).await?;
        let document = match field {
            "instructionJson" => Some(job.instruction_json),
            "outputRef" => job.output_ref,
            "errorJson" => job.error_json,
            _ => None,
        };
        Ok(document.map(|doc| self.redact(doc)))
    }

    async fn read_job(&self, id: JobId) -> Result<RegenerationJob, ServiceError> {
        self.store()
            .get_job(id)
            .await?
            .ok_or(ServiceError::NotFound)
    }
}
