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

/// An activity request from a query string: `bucket` (hour or day),
/// `from` and `to` (RFC 3339, half-open), `targetType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    pub bucket: BucketSize,
    /// The first bucket's start (`from`, floored to its bucket).
    pub from: Timestamp,
    /// The end of the last bucket (`to`, rounded up to a bucket edge).
    pub to: Timestamp,
    pub target_type: Option<String>,
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
        }
    }

    /// Parses and checks a query string. Without `from`/`to`: the last 24
    /// hours, or the last 30 days.
    pub fn from_query_string(query: &str, now: Timestamp) -> Result<ActivityQuery, ServiceError> {
        let bad = |parameter: &'static str, message: String| ServiceError::InvalidParameter {
            parameter,
            message,
        };
        let (mut bucket, mut from, mut to, mut target_type) = (None, None, None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "bucket" => &mut bucket,
                "from" => &mut from,
                "to" => &mut to,
                "targetType" => &mut target_type,
                other => {
                    return Err(ServiceError::InvalidInput(format!(
                        "unknown query parameter {other:?}"
                    )))
                }
            };
            if slot.is_some() {
                return Err(ServiceError::InvalidInput(format!(
                    "query parameter {key:?} given twice"
                )));
            }
            *slot = Some(value.into_owned());
        }
        let size = match bucket.as_deref() {
            None | Some("hour") => BucketSize::Hour,
            Some("day") => BucketSize::Day,
            Some(other) => {
                return Err(bad(
                    "bucket",
                    format!("bucket must be hour or day, not {other:?}"),
                ))
            }
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
        let instant = |name: &'static str, value: Option<String>| {
            match value.filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => parse_instant(&text).map(Some).ok_or_else(|| {
                bad(name, format!("{name} must be an RFC 3339 time such as 2026-11-24T00:00:00Z, not {text:?}"))
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
            Some(from) => size.floor(from),
            None => Timestamp::from_millis(to.millis() - default_buckets * size.millis())
                .unwrap_or(recent.from),
        };
        if from >= to {
            return Err(bad("from", "from must be before to".into()));
        }
        let buckets = (to.millis() - from.millis()) / size.millis();
        if buckets > MAX_BUCKETS {
            return Err(bad(
                "to",
                format!("at most {MAX_BUCKETS} buckets per request; this range has {buckets}"),
            ));
        }
        Ok(ActivityQuery {
            bucket: size,
            from,
            to,
            target_type,
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

    #[test]
    fn buckets_have_utc_edges() {
        let now = at("2026-12-01T10:30:00.000Z");
        let day = ActivityQuery::from_query_string(
            "bucket=day&from=2026-11-29T23:59:00%2B02:00&to=2026-12-01T00:00:00Z",
            now,
        )
        .unwrap();
        assert_eq!(
            day.from,
            at("2026-11-29T00:00:00.000Z"),
            "21:59 UTC is in the 29th"
        );
        assert_eq!(day.to, at("2026-12-01T00:00:00.000Z"));
        let hours = ActivityQuery::from_query_string("", now).unwrap();
        assert_eq!(
            hours.to,
            at("2026-12-01T11:00:00.000Z"),
            "the current hour is included"
        );
        assert_eq!(hours.from, at("2026-11-30T11:00:00.000Z"));
        let days = ActivityQuery::from_query_string("bucket=day", now).unwrap();
        assert_eq!(days.to, at("2026-12-02T00:00:00.000Z"));
        assert_eq!(days.from, at("2026-11-02T00:00:00.000Z"));
    }

    #[test]
    fn bad_ranges_are_refused() {
        let now = at("2026-12-01T10:30:00.000Z");
        for query in [
            "bucket=week",
            "from=yesterday",
            "from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            "from=2026-12-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            "bucket=hour&from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            "unknown=1",
            "bucket=day&bucket=hour",
        ] {
            assert!(
                ActivityQuery::from_query_string(query, now).is_err(),
                "{query}"
            );
        }
        assert!(ActivityQuery::from_query_string(
            "bucket=day&from=2024-03-07T00:00:00Z&to=2026-12-01T00:00:00Z",
            now
        )
        .is_ok());
    }
}
