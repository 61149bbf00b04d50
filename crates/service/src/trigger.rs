//! The trigger use case: PENDING → RUNNING for one job, audited, and what
//! happens to an audit event the database refused (shared with the bulk
//! trigger, `bulk.rs`).

use regen_domain::{AuditEvent, Caller, JobId, JobSummary, RegenerationJob, TriggerOutcome};
use regen_storage::{AnswerUnder, StorageError, StoredAnswer, TriggerResult};

use crate::idempotency::KeyedRequest;
use crate::{require_acting, AdminService, ServiceError};

/// How a trigger attempt reads to a person, for the paths that report it
/// as a page (the trigger button and the no-JS form). `None` when the
/// caller was refused or the failure is internal: those are not outcomes
/// of a trigger but errors of the request.
pub fn trigger_outcome(result: &Result<Triggered, ServiceError>) -> Option<TriggerOutcome> {
    match result {
        Ok(_) => Some(TriggerOutcome::Triggered),
        Err(ServiceError::Conflict { .. }) => Some(TriggerOutcome::Conflict),
        Err(ServiceError::NotFound) => Some(TriggerOutcome::NotFound),
        Err(ServiceError::Unavailable(_)) => Some(TriggerOutcome::Unavailable),
        Err(_) => None,
    }
}

/// A successful trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triggered {
    pub job: JobSummary,
    /// False when the audit row could not be written to the database; the
    /// event then went to the fallback journal.
    pub audit_recorded: bool,
}

/// The answer a successful trigger keeps under its idempotency key: what
/// the API sends, 200 with the job as it now is.
fn triggered_answer(job: &RegenerationJob) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        body: serde_json::to_string(&JobSummary::from(job)).expect("a job summary serialises"),
    }
}

impl AdminService {
    /// Moves a PENDING job to RUNNING and records who did it. Changes nothing
    /// else and starts nothing: running the job is the executor's business.
    pub async fn trigger_job(
        &self,
        caller: Option<&Caller>,
        id: &str,
        request_id: Option<&str>,
    ) -> Result<Triggered, ServiceError> {
        self.trigger_job_keyed(caller, id, request_id, None).await
    }

    /// [`AdminService::trigger_job`] under an idempotency key: a success's
    /// answer is kept under the key in the transaction of the transition.
    pub async fn trigger_job_keyed(
        &self,
        caller: Option<&Caller>,
        id: &str,
        request_id: Option<&str>,
        key: Option<&KeyedRequest>,
    ) -> Result<Triggered, ServiceError> {
        let result = self.trigger_authorised(caller, id, request_id, key).await;
        self.metrics().count_trigger(&result);
        result
    }

    async fn trigger_authorised(
        &self,
        caller: Option<&Caller>,
        id: &str,
        request_id: Option<&str>,
        key: Option<&KeyedRequest>,
    ) -> Result<Triggered, ServiceError> {
        let caller = require_acting(caller)?;
        let id: JobId = id.parse().map_err(|_| ServiceError::NotFound)?;
        let answer = key.map(|key| AnswerUnder {
            claim: key.claim(),
            answer: &triggered_answer,
        });
        match self
            .store()
            .trigger_job_answering(id, &caller.user_id, request_id, answer)
            .await?
        {
            TriggerResult::NotFound => Err(ServiceError::NotFound),
            TriggerResult::Conflict { current } => Err(ServiceError::Conflict { current }),
            TriggerResult::ClaimLost => Err(ServiceError::KeyInProgress),
            TriggerResult::Triggered { job, audit } => {
                let audit_recorded = match audit {
                    Ok(_) => true,
                    Err(failure) => {
                        self.keep_failed_audit_events(
                            std::slice::from_ref(&failure.event),
                            &failure.error,
                        )
                        .await;
                        false
                    }
                };
                Ok(Triggered {
                    job: JobSummary::from(&job),
                    audit_recorded,
                })
            }
        }
    }

    /// The transitions committed but their audit rows did not: log and
    /// count each, and append them to the durable journal (one fsync) for
    /// `regen-admin audit replay`.
    pub(crate) async fn keep_failed_audit_events(
        &self,
        events: &[AuditEvent],
        error: &StorageError,
    ) {
        for event in events {
            self.metrics().count_audit_write_failure();
            tracing::error!(
                job_id = %event.job_id,
                actor = ?event.actor,
                request_id = event.request_id.as_deref().unwrap_or(""),
                event_id = %event.id,
                event_type = %event.event_type,
                error = %error,
                "audit insert failed; the transition is committed and the event goes to the fallback journal"
            );
        }
        // The append fsyncs: keep it off the async workers.
        let journal = self.journal().clone();
        let lines = events.to_vec();
        let appended = tokio::task::spawn_blocking(move || journal.append_all(&lines))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(error) = appended {
            for event in events {
                self.metrics().count_audit_journal_failure();
                tracing::error!(
                    job_id = %event.job_id,
                    actor = ?event.actor,
                    event = %serde_json::to_string(event).unwrap_or_default(),
                    error = %error,
                    "audit fallback journal write failed; this log line is the only record of the event"
                );
            }
        }
    }
}
