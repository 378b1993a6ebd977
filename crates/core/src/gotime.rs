//! Go-compatible encodings of time values.
//!
//! Go writes `time.Time` as RFC 3339 with up to nine fractional digits (trailing zeros dropped) and
//! `time.Duration` as an integer number of nanoseconds. The serde helpers here read and write those
//! forms, so that a Go producer and this manager can share one queue and one database. Any UTC
//! offset is accepted on input; UTC is always written.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Go's zero time, `0001-01-01T00:00:00Z`: the value of a timestamp that was never set.
pub fn zero_time() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whether `t` is Go's zero time (a timestamp that was never set).
pub fn is_zero_time(t: &DateTime<Utc>) -> bool {
    *t == zero_time()
}

/// Formats `t` as Go's `time.RFC3339Nano` in UTC: fractional seconds with trailing zeros dropped.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2024, 2, 23, 18, 38, 39).unwrap()
///     + chrono::Duration::nanoseconds(120_000_000);
/// assert_eq!(sm_core::format_go_time(&t), "2024-02-23T18:38:39.12Z");
/// ```
pub fn format_go_time(t: &DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos == 0 {
        return format!("{base}Z");
    }
    let digits = format!("{nanos:09}");
    format!("{base}.{}Z", digits.trim_end_matches('0'))
}

/// Parses an RFC 3339 timestamp with any offset (Go's `time.Time` JSON form) into UTC.
pub fn parse_go_time(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

/// Serde helpers for `DateTime<Utc>` in Go's `time.Time` JSON form. Use with `#[serde(with = "sm_core::go_time")]`.
pub mod go_time {
    use super::*;

    /// Writes the timestamp in UTC with Go's RFC 3339 nano form.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_go_time(t))
    }

    /// Reads an RFC 3339 timestamp with any offset; `null` reads as Go's zero time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        match raw {
            None => Ok(zero_time()),
            Some(s) => parse_go_time(&s).map_err(|e| {
                serde::de::Error::custom(format!("invalid RFC 3339 timestamp {s:?}: {e}"))
            }),
        }
    }
}

/// Serde helpers for `Duration` as Go's integer nanoseconds. Use with `#[serde(with = "sm_core::go_duration")]`.
///
/// Negative Go durations read as zero: nothing in the models gives a negative period a meaning.
pub mod go_duration {
    use super::*;

    /// Writes the duration as integer nanoseconds (saturating at `i64::MAX`).
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Reads integer nanoseconds; negative values and `null` read as zero.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let raw: Option<i64> = Option::deserialize(d)?;
        Ok(Duration::from_nanos(
            u64::try_from(raw.unwrap_or(0)).unwrap_or(0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_like_go() {
        let t = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_go_time(&t), "2024-01-02T03:04:05Z");
        let t = t + chrono::Duration::nanoseconds(1);
        assert_eq!(format_go_time(&t), "2024-01-02T03:04:05.000000001Z");
        assert_eq!(format_go_time(&zero_time()), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn parses_any_offset_to_utc() {
        let t = parse_go_time("2024-01-02T05:04:05.5+02:00").unwrap();
        assert_eq!(format_go_time(&t), "2024-01-02T03:04:05.5Z");
    }
}
