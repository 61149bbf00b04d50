//! Exact job counts: for admins (the stats API, the list page), for
//! `/metrics`, and for the operator who checks or rebuilds the counters.

use regen_domain::{Caller, JobStats, OldestPending, MAX_LABEL_LEN};
use std::collections::BTreeMap;

use regen_storage::{ActivityRow, CountRow, KeptCounts};

use crate::{require_admin, AdminService, Operator, ServiceError};

/// A kept figure that disagrees with a recount: a job count
/// (`insight PENDING`) or an hourly activity figure
/// (`activity 2026-12-01T10:00:00.000Z insight TRIGGERED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountMismatch {
    pub key: String,
    pub kept: i64,
    pub counted: i64,
}

impl AdminService {
    /// Counts by status and target type (all jobs, or one target type's)
    /// and the oldest PENDING job. Constant cost: kept counters and one
    /// index probe.
    pub async fn job_stats(
        &self,
        caller: Option<&Caller>,
        target_type: Option<&str>,
    ) -> Result<JobStats, ServiceError> {
        require_admin(caller)?;
        if let Some(target_type) = target_type {
            if target_type.chars().count() > MAX_LABEL_LEN || target_type.contains('\0') {
                return Err(ServiceError::InvalidInput(format!(
                    "targetType must be at most {MAX_LABEL_LEN} characters, without NUL"
                )));
            }
        }
        self.stats_for(target_type).await
    }

    /// The same figures for `/metrics`, whose endpoint has its own access
    /// rule (an admin, or the private metrics address). Counts only.
    pub async fn metrics_job_stats(&self) -> Result<JobStats, ServiceError> {
        self.stats_for(None).await
    }

    async fn stats_for(&self, target_type: Option<&str>) -> Result<JobStats, ServiceError> {
        let kept = self.store().job_counts(target_type).await?;
        Ok(stats_from(kept, target_type))
    }

    /// Recounts every job with `COUNT(*)` (and the hourly activity from the
    /// jobs and the audit trail) and lists where the kept figures differ.
    /// Reads every job.
    pub async fn check_job_counts(
        &self,
        _operator: &Operator,
    ) -> Result<Vec<CountMismatch>, ServiceError> {
        let (kept, counted) = self.store().kept_and_recounted().await?;
        let mut found = mismatches(count_keys(kept), count_keys(counted));
        let (kept, counted) = self.store().kept_activity_and_recounted().await?;
        found.extend(mismatches(activity_keys(kept), activity_keys(counted)));
        Ok(found)
    }

    /// Replaces the kept counts and hourly activity with a recount; returns
    /// the jobs counted.
    pub async fn rebuild_job_counts(&self, _operator: &Operator) -> Result<i64, ServiceError> {
        Ok(self.store().rebuild_job_counts().await?)
    }
}

/// The stats of one target type's jobs (every job's, without one), from the
/// kept counts and the oldest PENDING job read for it.
pub(crate) fn stats_from(kept: KeptCounts, target_type: Option<&str>) -> JobStats {
    let counts = kept
        .rows
        .into_iter()
        .filter(|row| target_type.is_none_or(|t| t == row.target_type))
        .map(|row| (row.target_type, row.status, row.jobs.max(0) as u64));
    JobStats::from_counts(
        counts,
        kept.oldest_pending
            .map(|(id, created_at)| OldestPending { id, created_at }),
    )
}

/// Where two sets of (key, figure) differ; a missing key counts 0.
fn mismatches(kept: Vec<(String, i64)>, counted: Vec<(String, i64)>) -> Vec<CountMismatch> {
    let mut figures: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (key, jobs) in kept {
        figures.entry(key).or_default().0 += jobs;
    }
    for (key, jobs) in counted {
        figures.entry(key).or_default().1 += jobs;
    }
    figures
        .into_iter()
        .filter(|(_, (kept, counted))| kept != counted)
        .map(|(key, (kept, counted))| CountMismatch { key, kept, counted })
        .collect()
}

fn count_keys(rows: Vec<CountRow>) -> Vec<(String, i64)> {
    rows.into_iter()
        .map(|r| (format!("{} {}", r.target_type, r.status), r.jobs))
        .collect()
}

fn activity_keys(rows: Vec<ActivityRow>) -> Vec<(String, i64)> {
    rows.into_iter()
        .map(|r| {
            (
                format!("activity {} {} {}", r.hour, r.target_type, r.series),
                r.jobs,
            )
        })
        .collect()
}
