//! What Cattle refuses, checked before anything is sent, with the reason
//! it would give: names and descriptions (schema `maxLength`), sizes, filter
//! fields, the fields API v1 does not have, and the actions a resource
//! offers in its state (an action missing from its `actions` map is not
//! available there, and Cattle would answer `ActionNotAvailable`).

use volume_core::{Error, Result, Size};

use crate::wire::Resource;
use crate::ApiVersion;

/// The longest volume, snapshot or backup name (schema `maxLength`).
pub const MAX_NAME_LEN: usize = 255;

/// The longest description (schema `maxLength`).
pub const MAX_DESCRIPTION_LEN: usize = 1024;

/// The smallest size `create_volume` asks for. Cattle documents no limit;
/// sizes are whole GiB in volume-core, so 1 GiB (`sizeMb` 1024).
pub const MIN_SIZE: Size = Size::gib(1);

/// The largest size `create_volume` asks for: Cattle documents no limit,
/// so this is volume-core's default bound (16 TiB); a driver may refuse
/// less.
pub const MAX_SIZE: Size = Size::gib(16 * 1024);

/// The largest page asked for: Cattle's documented maximum `limit` (some
/// Cattle builds allow 3000; larger values are clamped, not refused).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Checks a name against Cattle's schema: required, at most
/// [`MAX_NAME_LEN`] characters.
///
/// # Errors
/// [`Error::InvalidInput`] on `field`.
pub fn check_name(field: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_input(
            field,
            "is required and cannot be empty",
        ));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(Error::invalid_input(
            field,
            format!("is {len} characters long; Cattle allows at most {MAX_NAME_LEN} (MaxLengthExceeded)"),
        ));
    }
    Ok(())
}

/// Checks a description: at most [`MAX_DESCRIPTION_LEN`] characters.
pub(crate) fn check_description(description: Option<&str>) -> Result<()> {
    match description.map(|d| d.chars().count()) {
        Some(len) if len > MAX_DESCRIPTION_LEN => Err(Error::invalid_input(
            "description",
            format!("is {len} characters long; Cattle allows at most {MAX_DESCRIPTION_LEN}"),
        )),
        _ => Ok(()),
    }
}

/// Checks a size for `create_volume` and gives it in MiB.
pub(crate) fn size_mb(size: Size) -> Result<u64> {
    if size < MIN_SIZE || size > MAX_SIZE {
        return Err(Error::invalid_input(
            "size",
            format!("{size} is outside {MIN_SIZE} to {MAX_SIZE}"),
        ));
    }
    size.as_gib()
        .checked_mul(1024)
        .ok_or_else(|| Error::invalid_input("size", "is too large"))
}

/// Checks a collection filter's field name: a schema field is ASCII letters
/// and digits (`storageDriverId`), so a name cannot smuggle in a modifier
/// or another parameter.
pub(crate) fn check_filter_field(field: &str) -> Result<()> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid_input(
            "filter",
            format!("{field:?} is not a field name (ASCII letters and digits)"),
        ));
    }
    Ok(())
}

/// The fields of a create body that API v1 does not have.
pub(crate) fn check_v1_create(
    version: ApiVersion,
    driver: Option<&str>,
    extra: &[(&'static str, bool)],
) -> Result<()> {
    if version != ApiVersion::V1 {
        return Ok(());
    }
    if driver.is_none() {
        return Err(Error::invalid_input(
            "driver",
            "is required by Rancher API v1 (a storage driver id is v2-beta only)",
        ));
    }
    for (field, given) in extra {
        if *given {
            return Err(Error::invalid_input(
                *field,
                "is not a volume field of Rancher API v1 (use v2-beta)",
            ));
        }
    }
    Ok(())
}

/// The URL of action `action` of `resource`, or [`Error::InvalidState`]
/// naming its state when its `actions` map does not offer it (Cattle lists
/// exactly the actions valid in the current state).
pub(crate) fn offered<'r, R: Resource>(
    resource: &'r R,
    action: &str,
    operation: &'static str,
) -> Result<&'r str> {
    resource
        .action(action)
        .ok_or_else(|| Error::invalid_state(R::KIND, resource.id(), resource.state(), operation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sizes() {
        assert!(check_name("name", "a").is_ok());
        assert!(check_name("name", &"é".repeat(255)).is_ok());
        assert!(check_name("name", &"a".repeat(256)).is_err());
        assert!(check_name("name", "").is_err());
        assert!(check_description(Some(&"d".repeat(1025))).is_err());
        assert_eq!(size_mb(Size::gib(2)).unwrap(), 2048);
        assert!(size_mb(Size::gib(0)).is_err());
        assert!(size_mb(Size::gib(16 * 1024 + 1)).is_err());
        assert!(check_filter_field("storageDriverId").is_ok());
        for bad in ["", "name_ne", "a&b=c", "na me"] {
            assert!(check_filter_field(bad).is_err(), "{bad}");
        }
        assert!(check_v1_create(ApiVersion::V1, None, &[]).is_err());
        assert!(check_v1_create(ApiVersion::V1, Some("local"), &[("sizeMb", true)]).is_err());
        assert!(check_v1_create(ApiVersion::V1, Some("local"), &[("sizeMb", false)]).is_ok());
        assert!(check_v1_create(ApiVersion::V2Beta, None, &[("sizeMb", true)]).is_ok());
    }
}
