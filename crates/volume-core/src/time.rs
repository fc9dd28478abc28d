//! Timestamps on the wire, written once for every provider and fake.
//!
//! Providers send RFC 3339 with a zone (Exoscale, Cinder) or naive UTC
//! without one (Linode). These parse and print both into
//! [`SystemTime`], for 1970 to 9999, without pulling a date library into
//! every crate; anything malformed parses as `None`, never a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses an RFC 3339 date-time with a zone (`Z` or `±hh:mm`) and an
/// optional fraction of a second: `2024-01-01T12:00:00Z`,
/// `2024-05-04T09:42:00+00:00`. Anything else (or a time before 1970) is
/// `None`.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, rest) = text.split_once(['T', 't'])?;
    let (time, offset_secs): (&str, i64) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (t, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m) = off[1..].split_once(':')?;
        let (h, m) = (num(h, 2)?, num(m, 2)?);
        if h > 23 || m > 59 {
            return None;
        }
        (t, sign * i64::try_from(h * 3600 + m * 60).ok()?)
    };
    let (time, fraction) = match time.split_once('.') {
        Some((t, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (t, f),
        Some(_) => return None,
        None => (time, ""),
    };
    let mut d = date.split('-');
    let (year, month, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    let mut t = time.split(':');
    let (hour, minute, second) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > month_days[usize::try_from(month - 1).ok()?]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let secs = u64::try_from(i64::try_from(local).ok()? - offset_secs).ok()?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        let digits = &fraction[..fraction.len().min(9)];
        let value: u32 = digits.parse().ok()?;
        value * 10u32.pow(u32::try_from(9 - digits.len()).ok()?)
    };
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// `s` as a number of exactly `len` ASCII digits.
fn num(s: &str, len: usize) -> Option<u64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Days from 1970-01-01 to a date on or after it (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses naive UTC without a zone, as Linode sends it:
/// `2018-01-02T03:04:05` (a fraction and a trailing `Z` are accepted; an
/// explicit offset is not).
pub fn parse_naive_utc(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (_, time) = text.split_once('T')?;
    if time.contains(['+', '-', 'Z', 'z']) {
        return None;
    }
    parse_rfc3339(&format!("{text}Z"))
}

/// RFC 3339 in UTC with `Z`: `2026-01-01T00:00:00Z`.
pub fn format_rfc3339(t: SystemTime) -> String {
    format!("{}Z", format_naive_utc(t))
}

/// A time as providers without a zone print it: naive UTC
/// `YYYY-MM-DDTHH:MM:SS` (Linode). Clamped to 1970..=9999.
pub fn format_naive_utc(t: SystemTime) -> String {
    naive_utc_ascii(t).as_str().to_owned()
}

/// [`format_naive_utc`] without an allocation: the 19 ASCII characters,
/// for writers that copy them straight into a response.
pub fn naive_utc_ascii(t: SystemTime) -> NaiveUtc {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .min(253_402_300_799); // 9999-12-31T23:59:59
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    // Written digit by digit: fakes print two of these per resource, and
    // `format!` costs ten times as much.
    let mut out = *b"0000-00-00T00:00:00";
    put_digits(&mut out[0..4], u64::try_from(y).unwrap_or(1970));
    put_digits(&mut out[5..7], u64::from(m));
    put_digits(&mut out[8..10], u64::from(d));
    put_digits(&mut out[11..13], rem / 3600);
    put_digits(&mut out[14..16], rem % 3600 / 60);
    put_digits(&mut out[17..19], rem % 60);
    NaiveUtc(out)
}

/// A naive UTC time as text ([`naive_utc_ascii`]), kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NaiveUtc([u8; 19]);

impl NaiveUtc {
    /// The text, `YYYY-MM-DDTHH:MM:SS`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or("1970-01-01T00:00:00")
    }
}

impl std::fmt::Debug for NaiveUtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for NaiveUtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for NaiveUtc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Writes the last `digits.len()` decimal digits of `n` into `digits`.
fn put_digits(digits: &mut [u8], mut n: u64) {
    for slot in digits.iter_mut().rev() {
        // `n % 10` is below 10, so the digit is ASCII.
        *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), at(0));
        assert_eq!(parse_rfc3339("2024-02-20T16:43:32Z"), at(1_708_447_412));
        assert_eq!(
            parse_rfc3339("2024-05-04T09:42:00+00:00"),
            at(1_714_815_720)
        );
        assert_eq!(
            parse_rfc3339("2024-05-04T11:42:00+02:00"),
            at(1_714_815_720)
        );
        assert_eq!(
            parse_rfc3339("2024-05-04T08:42:00-01:00"),
            at(1_714_815_720)
        );
        assert_eq!(
            parse_rfc3339("2024-02-20T16:43:32.5Z"),
            Some(UNIX_EPOCH + Duration::new(1_708_447_412, 500_000_000))
        );
        for bad in [
            "",
            "2024-02-20",
            "2024-02-20T16:43:32",
            "2024-02-20 16:43:32Z",
            "2024-13-20T16:43:32Z",
            "2024-02-20T16:43:32+2:00",
            "2024-02-20T16:43:32.Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn naive_utc_times() {
        assert_eq!(parse_naive_utc("1970-01-01T00:00:00"), at(0));
        // The time in every linodego recording.
        assert_eq!(parse_naive_utc("2018-01-02T03:04:05"), at(1_514_862_245));
        assert_eq!(parse_naive_utc("2018-01-01T00:01:01"), at(1_514_764_861));
        assert_eq!(parse_naive_utc("2000-02-29T00:00:00"), at(951_782_400));
        assert_eq!(parse_naive_utc("2018-01-02T03:04:05Z"), at(1_514_862_245));
        assert_eq!(
            parse_naive_utc("2018-01-02T03:04:05.250"),
            Some(UNIX_EPOCH + Duration::new(1_514_862_245, 250_000_000))
        );
        for bad in [
            "",
            "2018-01-02",
            "2018-01-02 03:04:05",
            "2018-13-02T03:04:05",
            "2019-02-29T00:00:00",
            "2018-01-02T24:00:00",
            "18-01-02T03:04:05",
            "2018-01-02T03:04:05+01:00",
            "2018-01-02T03:04:05.",
            "1969-12-31T23:59:59",
        ] {
            assert_eq!(parse_naive_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn naive_utc_prints_linode_times() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(format_naive_utc(t(0)), "1970-01-01T00:00:00");
        // 2018-01-02T03:04:05Z, the time in every linodego recording.
        assert_eq!(format_naive_utc(t(1_514_862_245)), "2018-01-02T03:04:05");
        // The simulator's manual epoch.
        assert_eq!(format_naive_utc(t(1_767_225_600)), "2026-01-01T00:00:00");
        assert_eq!(format_naive_utc(t(951_782_400)), "2000-02-29T00:00:00");
        assert_eq!(format_naive_utc(t(1 << 40)), "9999-12-31T23:59:59");
    }

    #[test]
    fn printing_and_parsing_agree() {
        for secs in [0, 951_782_400, 1_514_862_245, 1_767_225_600] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
            assert_eq!(parse_naive_utc(&format_naive_utc(t)), Some(t));
        }
    }
}
