//! Cinder microversions: `OpenStack-API-Version: volume 3.N` read, checked
//! against the served range, and echoed.

use std::fmt;

use super::super::Rejection;
use super::error;

/// A Cinder microversion `3.N` (the major is always 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion(pub u16);

impl Microversion {
    /// 3.0: what a request without the header gets.
    pub const MIN: Self = Self(0);
    /// 3.71: the newest the reference describes.
    pub const MAX_KNOWN: Self = Self(71);

    /// `3.N`, or `None` when `text` is not of the form `MajorNum.MinorNum`
    /// with major 3 (`3.01` is not: no leading zero).
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.trim().split_once('.')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if major != "3" || !digits(minor) || (minor.len() > 1 && minor.starts_with('0')) {
            return None;
        }
        minor.parse().ok().map(Self)
    }

    /// At least `3.minor`.
    pub fn at_least(self, minor: u16) -> bool {
        self.0 >= minor
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "3.{}", self.0)
    }
}

/// The microversion a request asks for, within `3.0..=max`: 3.0 without a
/// header, `max` for `latest`; a malformed version is Cinder's 400, one out
/// of range its 406.
pub(super) fn requested(
    header: Option<&str>,
    max: Microversion,
) -> Result<Microversion, Rejection> {
    let Some(header) = header else {
        return Ok(Microversion::MIN);
    };
    // Several services may be named, comma-separated; Cinder takes the
    // entry naming `volume`.
    let Some(entry) = header
        .split(',')
        .map(str::trim)
        .find_map(|e| e.strip_prefix("volume "))
    else {
        return Ok(Microversion::MIN);
    };
    let entry = entry.trim();
    if entry.eq_ignore_ascii_case("latest") {
        return Ok(max);
    }
    let out_of_range = || {
        error::fault(
            406,
            format!(
                "Version {entry} is not supported by the API. Minimum is 3.0 and maximum is {max}."
            ),
        )
    };
    match Microversion::parse(entry) {
        Some(v) if v <= max => Ok(v),
        Some(_) => Err(out_of_range()),
        None => {
            // Another major (`2.0`, `4.1`) is well-formed but out of range.
            let well_formed = entry.split_once('.').is_some_and(|(a, b)| {
                let ok = |s: &str| {
                    !s.is_empty()
                        && s.bytes().all(|c| c.is_ascii_digit())
                        && (s.len() == 1 || !s.starts_with('0'))
                };
                ok(a) && ok(b) && a != "0"
            });
            if well_formed {
                Err(out_of_range())
            } else {
                Err(error::bad_request(format!(
                    "API Version String {entry} is of invalid format. Must be of format MajorNum.MinorNum."
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_cinder() {
        assert_eq!(Microversion::parse("3.0"), Some(Microversion(0)));
        assert_eq!(Microversion::parse("3.71"), Some(Microversion(71)));
        assert_eq!(Microversion::parse("3.01"), None);
        assert_eq!(Microversion::parse("3."), None);
        assert_eq!(Microversion::parse("2.1"), None);
        assert_eq!(Microversion(42).to_string(), "3.42");
    }
}
