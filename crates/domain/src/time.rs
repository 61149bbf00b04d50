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

// Every listed job, audit row and keyset link writes and reads these, so
// both directions have a fixed-width fast path: chrono's `format` and
// `parse_from_str` interpret the format string on every call (4 % of an
// API list request's CPU in a profile). Anything the fast path does not
// take (a year past 9999, a leap second) goes the general way, so the
// accepted texts and the output are exactly chrono's.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match fixed_width(&self.0) {
            Some(text) => f.pad(std::str::from_utf8(&text).map_err(|_| fmt::Error)?),
            None => self.0.format(FORMAT).fmt(f),
        }
    }
}

fn fixed_width(at: &DateTime<Utc>) -> Option<[u8; 24]> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let millis = at.timestamp_subsec_millis();
    if millis > 999 {
        return None; // a leap second
    }
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, at.month());
    put(8, 2, at.day());
    put(11, 2, at.hour());
    put(14, 2, at.minute());
    put(17, 2, at.second());
    put(20, 3, millis);
    Some(text)
}

fn parse_fixed_width(s: &str) -> Option<Timestamp> {
    let bytes = s.as_bytes();
    if bytes.len() != 24
        || [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ]
        .iter()
        .any(|(at, c)| bytes[*at] != *c)
    {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        bytes[from..to].iter().try_fold(0u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 7)?,
        number(8, 10)?,
    )?;
    let time = date.and_hms_milli_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        number(20, 23)?,
    )?;
    Some(Timestamp(time.and_utc()))
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 24 {
            return Err(TimestampError(s.to_owned()));
        }
        if let Some(at) = parse_fixed_width(s) {
            return Ok(at);
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
    fn the_fast_text_forms_are_exactly_chronos() {
        // Instants across the years 1 to 9999, with every field's edges.
        let mut millis: i64 = -62_135_596_800_000; // 0001-01-01
        let last: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999
        let mut step: i64 = 1;
        while millis <= last {
            let at = Timestamp::from_millis(millis).unwrap();
            let general = at.0.format(FORMAT).to_string();
            assert_eq!(at.to_string(), general);
            let parsed: Timestamp = general.parse().unwrap();
            assert_eq!(parsed, at);
            assert_eq!(
                NaiveDateTime::parse_from_str(&general, FORMAT)
                    .unwrap()
                    .and_utc(),
                parsed.0
            );
            millis += step;
            step = step * 3 + 7; // every magnitude, odd offsets
            if step > 400_000_000_000 {
                step = 1_234_567;
            }
        }
        for edge in [
            "2024-02-29T23:59:59.999Z",
            "2000-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            assert_eq!(edge.parse::<Timestamp>().unwrap().to_string(), edge);
        }
    }

    #[test]
    fn texts_the_fast_path_refuses_are_judged_by_chrono() {
        for text in [
            "2023-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-12-01T24:00:00.000Z",
            "2026-12-01 10:00:00.000Z",
            "2026-12-01T10:00:00.000+",
            "2026-12-0xT10:00:00.000Z",
            "+026-12-01T10:00:00.000Z",
        ] {
            assert_eq!(
                text.parse::<Timestamp>().is_ok(),
                NaiveDateTime::parse_from_str(text, FORMAT).is_ok(),
                "{text}"
            );
        }
        assert!("2026-12-01T10:00:00.000Z".parse::<Timestamp>().is_ok());
        assert!("2026-12-01T10:00:00Z".parse::<Timestamp>().is_err());
    }

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
