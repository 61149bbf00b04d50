//! How many jobs there are, by status and target type, as the stats API
//! and the list page show them.

use serde::{Deserialize, Serialize};

use crate::{JobId, JobStatus, Timestamp};

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One count per status; all four are always present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    #[serde(rename = "PENDING")]
    pub pending: u64,
    #[serde(rename = "RUNNING")]
    pub running: u64,
    #[serde(rename = "COMPLETED")]
    pub completed: u64,
    #[serde(rename = "FAILED")]
    pub failed: u64,
}

impl StatusCounts {
    pub fn get(&self, status: JobStatus) -> u64 {
        match status {
            JobStatus::Pending => self.pending,
            JobStatus::Running => self.running,
            JobStatus::Completed => self.completed,
            JobStatus::Failed => self.failed,
        }
    }

    pub fn add(&mut self, status: JobStatus, jobs: u64) {
        let slot = match status {
            JobStatus::Pending => &mut self.pending,
            JobStatus::Running => &mut self.running,
            JobStatus::Completed => &mut self.completed,
            JobStatus::Failed => &mut self.failed,
        };
        *slot += jobs;
    }

    pub fn total(&self) -> u64 {
        self.pending + self.running + self.completed + self.failed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TargetTypeStats {
    pub target_type: String,
    pub total: u64,
    pub by_status: StatusCounts,
}

/// The PENDING job that has waited longest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OldestPending {
    pub id: JobId,
    pub created_at: Timestamp,
}

/// Exact counts of every job (or of one target type's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobStats {
    pub total: u64,
    pub by_status: StatusCounts,
    /// Largest first, then by name.
    pub by_target_type: Vec<TargetTypeStats>,
    /// Null when nothing is PENDING.
    pub oldest_pending: Option<OldestPending>,
}

impl JobStats {
    /// Builds the figures from (target type, status, jobs) counts.
    pub fn from_counts(
        counts: impl IntoIterator<Item = (String, JobStatus, u64)>,
        oldest_pending: Option<OldestPending>,
    ) -> JobStats {
        let mut by_status = StatusCounts::default();
        let mut by_target_type: Vec<TargetTypeStats> = Vec::new();
        for (target_type, status, jobs) in counts {
            by_status.add(status, jobs);
            let index = match by_target_type
                .iter()
                .position(|t| t.target_type == target_type)
            {
                Some(index) => index,
                None => {
                    by_target_type.push(TargetTypeStats {
                        target_type,
                        total: 0,
                        by_status: StatusCounts::default(),
                    });
                    by_target_type.len() - 1
                }
            };
            let entry = &mut by_target_type[index];
            entry.by_status.add(status, jobs);
            entry.total += jobs;
        }
        by_target_type.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then_with(|| a.target_type.cmp(&b.target_type))
        });
        JobStats {
            total: by_status.total(),
            by_status,
            by_target_type,
            oldest_pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_types_come_largest_first_then_by_name() {
        let stats = JobStats::from_counts(
            [
                ("b".into(), JobStatus::Pending, 2),
                ("a".into(), JobStatus::Failed, 2),
                ("c".into(), JobStatus::Running, 5),
                ("a".into(), JobStatus::Pending, 0),
            ],
            None,
        );
        let order: Vec<&str> = stats
            .by_target_type
            .iter()
            .map(|t| t.target_type.as_str())
            .collect();
        assert_eq!(order, ["c", "a", "b"]);
        assert_eq!(stats.total, 9);
        assert_eq!(stats.by_status.get(JobStatus::Pending), 2);
    }

    #[test]
    fn every_status_is_always_present() {
        let json = serde_json::to_value(JobStats::from_counts([], None)).unwrap();
        for status in crate::ALL_STATUSES {
            assert_eq!(json["byStatus"][status.as_str()], 0, "{status}");
        }
        assert!(json["oldestPending"].is_null());
    }
}

/// One bucket of the activity chart: jobs created in it, by their status
/// now, and the triggers that happened in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActivityBucket {
    /// The bucket's first instant (UTC); it lasts one hour or one day.
    pub start: Timestamp,
    pub created: StatusCounts,
    pub triggered: u64,
}
