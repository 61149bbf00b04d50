//! The other jobs of a job's target, as the detail page lists them.

use regen_domain::{Caller, JobDetail, JobSummary};

use crate::{require_admin, AdminService, ServiceError};

/// How many of a target's other jobs the detail page lists.
pub const OTHER_JOBS_SHOWN: usize = 10;

/// Up to [`OTHER_JOBS_SHOWN`] other jobs of one target, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherJobs {
    pub jobs: Vec<JobSummary>,
    /// The target has more than these: the list filtered to it shows all.
    pub more: bool,
}

impl AdminService {
    /// The jobs with the same target type and target id as `job`, without
    /// it. One more than is shown is read, so that "more" needs no count.
    pub async fn other_jobs_of_target(
        &self,
        caller: Option<&Caller>,
        job: &JobDetail,
    ) -> Result<OtherJobs, ServiceError> {
        require_admin(caller)?;
        let mut jobs = self
            .store()
            .other_jobs_of_target(
                &job.target_type,
                &job.target_id,
                job.id,
                OTHER_JOBS_SHOWN as u32 + 1,
            )
            .await?;
        let more = jobs.len() > OTHER_JOBS_SHOWN;
        jobs.truncate(OTHER_JOBS_SHOWN);
        Ok(OtherJobs { jobs, more })
    }
}
