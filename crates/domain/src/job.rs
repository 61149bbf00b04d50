use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{JsonText, Timestamp};

/// A job id: a UUIDv7 in its canonical lowercase hyphenated form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, format = Uuid)
)]
#[serde(transparent)]
pub struct JobId(Uuid);

impl JobId {
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl FromStr for JobId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Only the canonical hyphenated form: one job, one spelling of its id.
        if s.len() != 36 {
            return Err(Uuid::try_parse("").unwrap_err());
        }
        Uuid::try_parse(s).map(Self)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

pub const ALL_STATUSES: [JobStatus; 4] = [
    JobStatus::Pending,
    JobStatus::Running,
    JobStatus::Completed,
    JobStatus::Failed,
];

/// A status change that the rules forbid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} job cannot become {to}")]
pub struct TransitionError {
    pub from: JobStatus,
    pub to: JobStatus,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
        }
    }

    /// The one transition rule of this product. Every other (from, to) pair,
    /// including "no change", is refused; the database triggers enforce the
    /// same rule independently.
    pub fn transition_to(self, to: JobStatus) -> Result<JobStatus, TransitionError> {
        match (self, to) {
            (JobStatus::Pending, JobStatus::Running) => Ok(to),
            (from, to) => Err(TransitionError { from, to }),
        }
    }

    /// What a trigger does to a job in this status.
    pub fn trigger(self) -> Result<JobStatus, TransitionError> {
        self.transition_to(JobStatus::Running)
    }

    pub fn is_triggerable(self) -> bool {
        self.trigger().is_ok()
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}: expected PENDING, RUNNING, COMPLETED or FAILED")]
pub struct UnknownStatus(pub String);

impl FromStr for JobStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_STATUSES
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A stored regeneration job. Insert-only: after creation only `status`
/// changes, and only through [`JobStatus::trigger`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegenerationJob {
    pub id: JobId,
    pub status: JobStatus,
    pub target_type: String,
    pub target_id: String,
    pub instruction_json: JsonText,
    pub output_ref: Option<JsonText>,
    pub error_json: Option<JsonText>,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// What an upstream producer supplies to create a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub status: JobStatus,
    pub target_type: String,
    pub target_id: String,
    pub instruction_json: JsonText,
    pub output_ref: Option<JsonText>,
    pub error_json: Option<JsonText>,
    pub created_by: String,
}

/// One row of a job listing: never the JSON payloads, so a page costs the
/// same whatever the jobs carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobSummary {
    pub id: JobId,
    pub status: JobStatus,
    pub target_type: String,
    pub target_id: String,
    pub created_at: Timestamp,
    pub created_by: String,
}

impl From<&RegenerationJob> for JobSummary {
    fn from(job: &RegenerationJob) -> Self {
        Self {
            id: job.id,
            status: job.status,
            target_type: job.target_type.clone(),
            target_id: job.target_id.clone(),
            created_at: job.created_at,
            created_by: job.created_by.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pending_to_running_is_allowed_for_every_status_pair() {
        for from in ALL_STATUSES {
            for to in ALL_STATUSES {
                let allowed = from.transition_to(to).is_ok();
                let expected = from == JobStatus::Pending && to == JobStatus::Running;
                assert_eq!(allowed, expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn only_pending_jobs_are_triggerable() {
        let triggerable: Vec<_> = ALL_STATUSES
            .into_iter()
            .filter(|s| s.is_triggerable())
            .collect();
        assert_eq!(triggerable, vec![JobStatus::Pending]);
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in ALL_STATUSES {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        assert!("pending".parse::<JobStatus>().is_err());
    }

    #[test]
    fn job_ids_accept_only_the_canonical_form() {
        let id = "0192f0c1-7a3b-7c4d-8e5f-0123456789ab";
        assert_eq!(id.parse::<JobId>().unwrap().to_string(), id);
        assert!("0192f0c17a3b7c4d8e5f0123456789ab".parse::<JobId>().is_err());
        assert!("not-a-uuid".parse::<JobId>().is_err());
        assert!("{0192f0c1-7a3b-7c4d-8e5f-0123456789ab}"
            .parse::<JobId>()
            .is_err());
    }
}
