//! The activity chart's figures: jobs created per hour or day, by their
//! status now, and triggers per bucket. Read from kept hourly counters, so
//! the cost depends on the number of buckets, never on the number of jobs.

use std::time::Duration;

use regen_domain::{ActivityBucket, Caller, StatusCounts, Timestamp, MAX_LABEL_LEN};

use crate::jobs::parse_instant;
use crate::{require_admin, AdminService, ServiceError};

/// At most this many buckets per request.
pub const MAX_BUCKETS: i64 = 1000;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How often a server folds the activity shards of past hours (PostgreSQL).
pub const ACTIVITY_FOLD_EVERY: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketSize {
    Hour,
    Day,
}

impl BucketSize {
    pub fn as_str(self) -> &'static str {
        match self {
            BucketSize::Hour => "hour",
            BucketSize::Day => "day",
        }
    }

    pub fn millis(self) -> i64 {
        match self {
            BucketSize::Hour => HOUR_MS,
            BucketSize::Day => DAY_MS,
        }
    }

    /// The start of the bucket holding `at` (UTC edges).
    pub fn floor(self, at: Timestamp) -> Timestamp {
        let ms = at.millis();
        Timestamp::from_millis(ms - ms.rem_euclid(self.millis())).unwrap_or(at)
    }
}

/// An activity request: buckets of one size over a half-open range, for
/// one target type or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    pub bucket: BucketSize,
    /// The first bucket's start (`from`, floored to its bucket).
    pub from: Timestamp,
    /// The end of the last bucket (`to`, rounded up to a bucket edge).
    pub to: Timestamp,
    pub target_type: Option<String>,
    /// The range asked for had this many buckets, more than
    /// [`MAX_BUCKETS`]: `from` was moved forward to answer its newest ones.
    pub truncated_from: Option<i64>,
}

impl ActivityQuery {
    /// The last `buckets` buckets of `size` up to and including the one
    /// holding `now`.
    pub fn recent(
        size: BucketSize,
        buckets: i64,
        now: Timestamp,
        target_type: Option<String>,
    ) -> ActivityQuery {
        let to = Timestamp::from_millis(size.floor(now).millis() + size.millis()).unwrap_or(now);
        let from = Timestamp::from_millis(to.millis() - buckets * size.millis()).unwrap_or(now);
        ActivityQuery {
            bucket: size,
            from,
            to,
            target_type,
            truncated_from: None,
        }
    }

    /// Checks a request's values (`from` and `to` as RFC 3339 text, empty
    /// meaning unset). Without `from`/`to`: the last 24 hours, or the last
    /// 30 days. A range with `from` not before `to` has no buckets; one of
    /// more than [`MAX_BUCKETS`] buckets is cut to its newest ones, so every
    /// range the parameters allow one by one has an answer.
    pub fn new(
        size: BucketSize,
        from: Option<&str>,
        to: Option<&str>,
        target_type: Option<String>,
        now: Timestamp,
    ) -> Result<ActivityQuery, ServiceError> {
        let bad = |parameter: &'static str, message: String| ServiceError::InvalidParameter {
            parameter,
            message,
        };
        let target_type = target_type.filter(|t| !t.is_empty());
        if let Some(t) = &target_type {
            if t.chars().count() > MAX_LABEL_LEN || t.contains('\0') {
                return Err(bad(
                    "targetType",
                    format!("targetType must be at most {MAX_LABEL_LEN} characters, without NUL"),
                ));
            }
        }
        let instant = |name: &'static str, value: Option<&str>| {
            match value.filter(|v| !v.is_empty())
        {
            None => Ok(None),
            Some(text) => parse_instant(text).map(Some).ok_or_else(|| {
                bad(
                    name,
                    format!("{name} must be an RFC 3339 time such as 2026-11-24T00:00:00Z, not {text:?}"),
                )
            }),
        }
        };
        let (from, to) = (instant("from", from)?, instant("to", to)?);
        let default_buckets = match size {
            BucketSize::Hour => 24,
            BucketSize::Day => 30,
        };
        let recent = ActivityQuery::recent(size, default_buckets, now, target_type.clone());
        let to = match to {
            // Rounded up to the end of the bucket holding the last instant.
            Some(to) => Timestamp::from_millis(
                size.floor(Timestamp::from_millis(to.millis() - 1).unwrap_or(to))
                    .millis()
                    + size.millis(),
            )
            .ok_or_else(|| bad("to", "to is out of range".into()))?,
            None => recent.to,
        };
        let from = match from {
            Some(from) => size.floor(from).min(to),
            None => Timestamp::from_millis(to.millis() - default_buckets * size.millis())
                .unwrap_or(recent.from),
        };
        let buckets = (to.millis() - from.millis()) / size.millis();
        let (from, truncated_from) = if buckets > MAX_BUCKETS {
            let newest = Timestamp::from_millis(to.millis() - MAX_BUCKETS * size.millis())
                .ok_or_else(|| bad("to", "to is out of range".into()))?;
            (newest, Some(buckets))
        } else {
            (from, None)
        };
        Ok(ActivityQuery {
            bucket: size,
            from,
            to,
            target_type,
            truncated_from,
        })
    }
}

impl AdminService {
    /// Upkeep of the kept activity (PostgreSQL): folds the shards of the
    /// hours before this one, so a chart reads one row per hour and target
    /// type. Changes no job and no figure's sum, so it needs no caller; the
    /// server runs it at start-up and every [`ACTIVITY_FOLD_EVERY`].
    pub async fn fold_activity_shards(&self) -> Result<u64, ServiceError> {
        let now = crate::now().millis();
        let this_hour =
            Timestamp::from_millis(now - now.rem_euclid(HOUR_MS)).unwrap_or(crate::now());
        Ok(self.store().fold_activity_shards(this_hour).await?)
    }

    /// Every bucket of the range, oldest first, empty ones included.
    pub async fn job_activity(
        &self,
        caller: Option<&Caller>,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityBucket>, ServiceError> {
        require_admin(caller)?;
        let size = query.bucket.millis();
        let count = ((query.to.millis() - query.from.millis()) / size).max(0) as usize;
        let mut buckets: Vec<ActivityBucket> = (0..count)
            .filter_map(|i| {
                Timestamp::from_millis(query.from.millis() + i as i64 * size).map(|start| {
                    ActivityBucket {
                        start,
                        created: StatusCounts::default(),
                        triggered: 0,
                    }
                })
            })
            .collect();
        // The database sums the hours of each bucket; a bucket comes back
        // named by its prefix (`2026-12-01T10` or `2026-12-01`).
        let (prefix, suffix) = match query.bucket {
            BucketSize::Hour => (13, ":00:00.000Z"),
            BucketSize::Day => (10, "T00:00:00.000Z"),
        };
        let rows = self
            .store()
            .job_activity(query.from, query.to, prefix, query.target_type.as_deref())
            .await?;
        for row in rows {
            let Ok(start) = format!("{}{suffix}", row.bucket).parse::<Timestamp>() else {
                continue;
            };
            let index = ((start.millis() - query.from.millis()) / size) as usize;
            if let Some(bucket) = buckets.get_mut(index) {
                bucket.created = row.created;
                bucket.triggered = row.triggered;
            }
        }
        Ok(buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn query(
        size: BucketSize,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<ActivityQuery, ServiceError> {
        ActivityQuery::new(size, from, to, None, at("2026-12-01T10:30:00.000Z"))
    }

    #[test]
    fn buckets_have_utc_edges() {
        let day = query(
            BucketSize::Day,
            Some("2026-11-29T23:59:00+02:00"),
            Some("2026-12-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            day.from,
            at("2026-11-29T00:00:00.000Z"),
            "21:59 UTC is in the 29th"
        );
        assert_eq!(day.to, at("2026-12-01T00:00:00.000Z"));
        let hours = query(BucketSize::Hour, None, None).unwrap();
        assert_eq!(
            hours.to,
            at("2026-12-01T11:00:00.000Z"),
            "the current hour is included"
        );
        assert_eq!(hours.from, at("2026-11-30T11:00:00.000Z"));
        let days = query(BucketSize::Day, None, Some("")).unwrap();
        assert_eq!(days.to, at("2026-12-02T00:00:00.000Z"));
        assert_eq!(days.from, at("2026-11-02T00:00:00.000Z"));
    }

    #[test]
    fn malformed_instants_are_refused() {
        for (from, to) in [
            (Some("yesterday"), None),
            (None, Some("2026-13-01T00:00:00Z")),
        ] {
            assert!(
                query(BucketSize::Hour, from, to).is_err(),
                "{from:?} {to:?}"
            );
        }
    }

    #[test]
    fn a_range_that_ends_before_it_starts_has_no_buckets() {
        for from in ["2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"] {
            let empty = query(BucketSize::Hour, Some(from), Some("2026-12-01T00:00:00Z")).unwrap();
            assert_eq!(empty.from, empty.to, "{from}");
            assert_eq!(empty.truncated_from, None);
        }
    }

    #[test]
    fn a_range_over_the_limit_keeps_its_newest_buckets() {
        let exactly = query(
            BucketSize::Day,
            Some("2024-03-06T00:00:00Z"),
            Some("2026-12-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(exactly.truncated_from, None);

        let longer = query(
            BucketSize::Day,
            Some("2024-03-05T00:00:00Z"),
            Some("2026-12-01T00:00:00Z"),
        )
        .unwrap();

        assert_eq!(longer.truncated_from, Some(MAX_BUCKETS + 1));
        assert_eq!(longer.from, exactly.from);
        assert_eq!(longer.to, exactly.to);
    }
}
