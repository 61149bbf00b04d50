use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant with millisecond precision, always written as
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
///
/// The fixed-width text form is also the storage form on both databases, so
/// text order is time order and keyset pagination needs no conversions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, format = DateTime)
)]
pub struct Timestamp(DateTime<Utc>);

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {0:?}: expected YYYY-MM-DDTHH:MM:SS.mmmZ")]
pub struct TimestampError(pub String);

impl Timestamp {
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(3))
    }

    pub fn from_millis(millis: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(millis).map(Self)
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// A short "how long ago" for humans, e.g. `5m ago`, relative to `now`.
    pub fn age(&self, now: Timestamp) -> String {
        let seconds = (now.0 - self.0).num_seconds();
        if seconds < 0 {
            return "in the future".to_owned();
        }
        let (value, unit) = match seconds {
            0..=59 => (seconds, "s"),
            60..=3_599 => (seconds / 60, "m"),
            3_600..=86_399 => (seconds / 3_600, "h"),
            _ => (seconds / 86_400, "d"),
        };
        format!("{value}{unit} ago")
    }
}

/// A duration for people, in its two largest units: `45 s`, `12 min 5 s`,
/// `3 h 12 min`, `2 d 4 h`.
pub fn waited(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, _) => format!("{minutes} min {secs} s"),
        (0, _, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.format(FORMAT).fmt(f)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 24 {
            return Err(TimestampError(s.to_owned()));
        }
        NaiveDateTime::parse_from_str(s, FORMAT)
            .map(|naive| Self(naive.and_utc()))
            .map_err(|_| TimestampError(s.to_owned()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_their_two_largest_units() {
        assert_eq!(waited(45), "45 s");
        assert_eq!(waited(725), "12 min 5 s");
        assert_eq!(waited(3 * 3600 + 12 * 60 + 7), "3 h 12 min");
        assert_eq!(waited(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(waited(-5), "0 s");
    }

    #[test]
    fn timestamps_are_fixed_width_with_milliseconds() {
        let at = Timestamp::from_millis(1_764_093_047_000).unwrap();
        assert_eq!(at.to_string(), "2025-11-25T17:50:47.000Z");
        assert_eq!(at.to_string().parse::<Timestamp>().unwrap(), at);
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Timestamp::from_millis(1_000).unwrap();
        let b = Timestamp::from_millis(1_001).unwrap();
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn other_spellings_are_refused() {
        assert!("2025-11-25T17:50:47Z".parse::<Timestamp>().is_err());
        assert!("2025-11-25T17:50:47.000+00:00"
            .parse::<Timestamp>()
            .is_err());
    }

    #[test]
    fn age_is_short_and_coarse() {
        let now = Timestamp::from_millis(10_000_000).unwrap();
        let then = Timestamp::from_millis(10_000_000 - 90_000).unwrap();
        assert_eq!(then.age(now), "1m ago");
    }
}
