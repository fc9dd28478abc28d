//! Cinder microversions: what the server offers, what this crate speaks,
//! and the version each feature needs.
//!
//! The server's range comes from its version document (`GET` on the
//! versioned root, `.../v3`): `min_version` and `version` (the highest).
//! The client then speaks `min(server max, NEWEST_KNOWN)` and sends
//! `OpenStack-API-Version: volume X.Y` on every Cinder call. A feature that
//! needs a later version than the one spoken is refused before sending with
//! [`Error::Unsupported`], whose operation names the version needed.

use std::fmt;
use std::str::FromStr;

use volume_core::{Error, Result};

use crate::wire::VersionsDocument;

/// A Cinder API microversion, `3.N`.
///
/// ```
/// use volume_cinder::Microversion;
/// let v: Microversion = "3.42".parse()?;
/// assert_eq!(v, Microversion::new(3, 42));
/// assert!(v >= Microversion::ONLINE_EXTEND);
/// assert_eq!(v.to_string(), "3.42");
/// # Ok::<(), volume_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion {
    major: u16,
    minor: u16,
}

impl Microversion {
    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// The base version, 3.0 (what Cinder assumes without the header).
    pub const BASE: Self = Self::new(3, 0);
    /// User messages (`/messages`).
    pub const MESSAGES: Self = Self::new(3, 3);
    /// The attachments API.
    pub const ATTACHMENTS: Self = Self::new(3, 27);
    /// Extending an `in-use` volume.
    pub const ONLINE_EXTEND: Self = Self::new(3, 42);
    /// Backup metadata.
    pub const BACKUP_METADATA: Self = Self::new(3, 43);
    /// Completing an attachment (`os-complete`).
    pub const ATTACHMENT_COMPLETE: Self = Self::new(3, 44);
    /// Creating a volume from a backup (`backup_id`).
    pub const VOLUME_FROM_BACKUP: Self = Self::new(3, 47);
    /// Snapshots of `in-use` volumes without `force` (and `"force": false` refused).
    pub const SNAPSHOT_IN_USE: Self = Self::new(3, 66);
    /// The newest version this crate knows (Cinder 2023.2).
    pub const NEWEST_KNOWN: Self = Self::new(3, 71);

    /// The major version (3).
    pub const fn major(self) -> u16 {
        self.major
    }

    /// The minor version.
    pub const fn minor(self) -> u16 {
        self.minor
    }

    /// The value of the `OpenStack-API-Version` header: `volume 3.N`.
    pub fn header_value(self) -> String {
        format!("volume {self}")
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Microversion {
    type Err = Error;

    /// `X.Y` with decimal numbers and no leading zeros (Cinder's own rule,
    /// `^([1-9]\d*)\.([1-9]\d*|0)$`).
    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid_input(
                "microversion",
                format!("{text:?} is not a microversion (MAJOR.MINOR, e.g. 3.42)"),
            )
        };
        let (major, minor) = text.trim().split_once('.').ok_or_else(bad)?;
        let number = |s: &str| -> Option<u16> {
            let ok = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0'));
            ok.then(|| s.parse().ok()).flatten()
        };
        let (major, minor) = (
            number(major).ok_or_else(bad)?,
            number(minor).ok_or_else(bad)?,
        );
        if major == 0 {
            return Err(bad());
        }
        Ok(Self::new(major, minor))
    }
}

/// What the server offers: the range of its v3 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerRange {
    pub(crate) min: Microversion,
    pub(crate) max: Microversion,
}

impl ServerRange {
    /// The range of the v3 entry of a version document. A v3 API without
    /// microversions (an empty `version`) offers 3.0 only.
    pub(crate) fn from_document(doc: &VersionsDocument) -> Result<Self> {
        let entries = doc.versions.iter().chain(doc.version.iter());
        let v3 = entries
            .filter(|e| e.id == "v3.0" || e.id == "v3" || e.id.starts_with("v3."))
            .find(|e| {
                !e.status
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("DELETED"))
            })
            .ok_or_else(|| Error::Unsupported {
                operation: "Cinder API v3 (the version document lists no v3)",
                provider: crate::error::PROVIDER,
            })?;
        let parse = |text: Option<&str>| match text.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.parse::<Microversion>().map_err(|_| {
                Error::decode(
                    format!("the version document's microversion {t:?} is not MAJOR.MINOR"),
                    "bad microversion",
                )
            }),
            None => Ok(Microversion::BASE),
        };
        let min = parse(v3.min_version.as_deref())?;
        let max = parse(v3.version.as_deref())?;
        Ok(Self {
            min,
            max: max.max(min),
        })
    }

    /// The version to speak: the newest both sides know.
    pub(crate) fn negotiate(self) -> Result<Microversion> {
        let chosen = self.max.min(Microversion::NEWEST_KNOWN);
        if chosen < self.min {
            return Err(Error::Unsupported {
                operation: "this server's microversions (its minimum is newer than 3.71)",
                provider: crate::error::PROVIDER,
            });
        }
        Ok(chosen)
    }
}

/// `Ok` when `spoken` is at least `needed`, else `Unsupported` naming
/// `operation` (which says the version it needs).
pub(crate) fn require(
    spoken: Microversion,
    needed: Microversion,
    operation: &'static str,
) -> Result<()> {
    if spoken >= needed {
        Ok(())
    } else {
        Err(Error::unsupported(operation, crate::error::PROVIDER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        assert_eq!("3.0".parse::<Microversion>().unwrap(), Microversion::BASE);
        assert_eq!(
            "3.71".parse::<Microversion>().unwrap(),
            Microversion::NEWEST_KNOWN
        );
        for bad in ["3", "3.01", "03.1", "3.x", "", "3.", ".3", "0.1", "3.99999"] {
            assert!(bad.parse::<Microversion>().is_err(), "{bad}");
        }
        assert!(Microversion::new(3, 9) < Microversion::new(3, 10));
        assert_eq!(Microversion::new(3, 9).header_value(), "volume 3.9");
    }

    #[test]
    fn negotiation_takes_the_newest_both_know() {
        let doc = |json: &str| serde_json::from_str::<VersionsDocument>(json).unwrap();
        let r = ServerRange::from_document(&doc(
            r#"{"versions":[{"id":"v3.0","status":"CURRENT","version":"3.99","min_version":"3.0"}]}"#,
        ))
        .unwrap();
        assert_eq!(r.negotiate().unwrap(), Microversion::NEWEST_KNOWN);
        let r = ServerRange::from_document(&doc(
            r#"{"version":{"id":"v3.0","status":"CURRENT","version":"3.40","min_version":"3.0"}}"#,
        ))
        .unwrap();
        assert_eq!(r.negotiate().unwrap(), Microversion::new(3, 40));
        let r = ServerRange::from_document(&doc(
            r#"{"versions":[{"id":"v2.0","status":"DEPRECATED","version":"","min_version":""},
                {"id":"v3.0","status":"CURRENT","version":"","min_version":""}]}"#,
        ))
        .unwrap();
        assert_eq!(r.negotiate().unwrap(), Microversion::BASE);
        assert!(ServerRange::from_document(&doc(r#"{"versions":[{"id":"v2.0"}]}"#)).is_err());
        let r = ServerRange::from_document(&doc(
            r#"{"versions":[{"id":"v3.0","version":"3.90","min_version":"3.80"}]}"#,
        ))
        .unwrap();
        assert!(matches!(r.negotiate(), Err(Error::Unsupported { .. })));
        let e = require(
            Microversion::new(3, 20),
            Microversion::ATTACHMENTS,
            "x (3.27)",
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Unsupported {
                operation: "x (3.27)",
                ..
            }
        ));
    }
}
