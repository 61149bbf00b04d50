//! What a bulk trigger answers: one outcome per distinct id it was asked
//! about, under the id of the bulk that every audit row it wrote carries.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{JobId, JobStatus};

/// The answer of one bulk trigger, as the API sends it and the result page
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BulkTriggerResult {
    /// Carried by the `details` of every REGEN_JOB_TRIGGERED audit row this
    /// bulk wrote.
    pub bulk_id: Uuid,
    /// Jobs this request moved from PENDING to RUNNING.
    pub triggered: Vec<JobId>,
    /// Jobs that were no longer PENDING (already running or finished).
    pub conflicts: Vec<BulkConflict>,
    /// Ids no job has (as they were sent).
    pub not_found: Vec<String>,
}

/// A job a bulk trigger found in another status than PENDING.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BulkConflict {
    pub id: JobId,
    pub current_status: JobStatus,
}
