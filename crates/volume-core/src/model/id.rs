//! Validated identifiers.
//!
//! Every id is a newtype over a string, checked on construction (non-empty,
//! at most 255 bytes, no control characters). The HTTP layer always sends an
//! id as exactly one percent-encoded path segment, so no id can change the
//! path it is sent to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 255;

fn check_id(kind: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(kind, "must not be empty"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid_input(
            kind,
            format!("must be at most {MAX_ID_LEN} bytes, got {}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            kind,
            "must not contain control characters",
        ));
    }
    Ok(())
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            ///
            /// # Errors
            /// [`Error::InvalidInput`] when it is empty, longer than
            #[doc = concat!("[`MAX_ID_LEN`] bytes or holds a control character.")]
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                check_id($field, &value)?;
                Ok(Self(value))
            }

            /// The id as sent to the provider (not percent-encoded).
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// The id of a volume.
    VolumeId,
    "volume_id"
);
define_id!(
    /// The id of a snapshot.
    SnapshotId,
    "snapshot_id"
);
define_id!(
    /// The id of a backup.
    BackupId,
    "backup_id"
);
define_id!(
    /// The id of a compute instance.
    InstanceId,
    "instance_id"
);
define_id!(
    /// The id of a region (or zone, for providers that speak of zones).
    RegionId,
    "region"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(VolumeId::new("").is_err());
        assert!(VolumeId::new("a\nb").is_err());
        assert!(VolumeId::new("x".repeat(MAX_ID_LEN + 1)).is_err());
        let id = VolumeId::new("../x?y#z").unwrap();
        assert_eq!(id.as_str(), "../x?y#z");
        assert_eq!(id.to_string(), "../x?y#z");
        assert_eq!(format!("{id:?}"), "VolumeId(\"../x?y#z\")");
    }

    #[test]
    fn ids_round_trip_through_serde_and_refuse_bad_values() {
        let id: SnapshotId = serde_json::from_str("\"snap-1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"snap-1\"");
        assert!(serde_json::from_str::<SnapshotId>("\"\"").is_err());
    }
}
