//! What the detail page and API show of one job: the job and its audit
//! trail together, so that neither `job` nor `audit` needs the other's
//! shapes beyond the job's id.

use serde::{Deserialize, Serialize};

use crate::{AuditEventView, HiddenValues, JobId, JobStatus, JsonText, RegenerationJob, Timestamp};

/// The full record with its audit trail, as the detail API returns it. The
/// JSON fields are the stored text, embedded verbatim, except for the values
/// redaction hid (see `hidden`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobDetail {
    pub id: JobId,
    pub status: JobStatus,
    pub target_type: String,
    pub target_id: String,
    pub instruction_json: JsonText,
    /// Any JSON value, or null when the job has none.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub output_ref: Option<JsonText>,
    /// Any JSON value, or null when the job has none.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub error_json: Option<JsonText>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub audit_events: Vec<AuditEventView>,
    /// Where the payloads above had values hidden by redaction. Not part of
    /// the body: the viewer marks these values, and the API sends their
    /// count as the `Regen-Redacted` header.
    #[serde(skip)]
    pub hidden: HiddenValues,
}

impl JobDetail {
    /// `job` as it may be shown: its payloads already redacted, with
    /// `hidden` saying where.
    pub fn new(
        job: RegenerationJob,
        audit_events: Vec<AuditEventView>,
        hidden: HiddenValues,
    ) -> Self {
        Self {
            id: job.id,
            status: job.status,
            target_type: job.target_type,
            target_id: job.target_id,
            instruction_json: job.instruction_json,
            output_ref: job.output_ref,
            error_json: job.error_json,
            created_at: job.created_at,
            created_by: job.created_by,
            audit_events,
            hidden,
        }
    }
}
