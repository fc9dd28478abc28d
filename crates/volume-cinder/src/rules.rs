//! What Cinder refuses, checked before anything is sent, with the reason
//! Cinder would give.
//!
//! - Names and descriptions: at most 255 characters (`cinder/api/schemas`).
//! - Sizes: at least 1 GiB; an empty volume needs one.
//! - Metadata keys: `^[a-zA-Z0-9-_:. /]{1,255}$`, values at most 255.
//! - Extend: a larger size only; the volume `available`, or `in-use` from
//!   microversion 3.42 (below it Cinder refuses an attached volume).
//! - Snapshots: from 3.66 `force` is not sent (`"force": false` is a 400
//!   there); below it `"force": true` is, so an `in-use` volume can be
//!   snapshotted as the core contract expects.
//! - Listing: `limit` at most 1000 (`osapi_max_limit`).

use std::collections::BTreeMap;

use volume_core::{check_grow, Error, ResourceKind, Result, Size};

use crate::microversion::Microversion;

/// The longest name or description Cinder takes.
pub const MAX_NAME_LEN: usize = 255;

/// The largest page Cinder returns (its default `osapi_max_limit`).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The smallest volume.
pub const MIN_SIZE: Size = Size::gib(1);

/// Checks a name (or description) for Cinder's length limit.
pub(crate) fn check_name(field: &str, name: &str) -> Result<()> {
    let chars = name.chars().count();
    if chars > MAX_NAME_LEN {
        return Err(Error::invalid_input(
            field,
            format!("is {chars} characters; Cinder takes at most {MAX_NAME_LEN}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            field,
            "must not hold control characters",
        ));
    }
    Ok(())
}

/// Checks a volume size.
pub(crate) fn check_size(size: Size) -> Result<()> {
    if size < MIN_SIZE {
        return Err(Error::invalid_input(
            "size",
            format!("{size} is below Cinder's minimum of {MIN_SIZE}"),
        ));
    }
    Ok(())
}

/// Checks metadata keys and values against Cinder's schema.
pub(crate) fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<()> {
    for (key, value) in metadata {
        let ok_key = !key.is_empty()
            && key.chars().count() <= 255
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:. /".contains(c));
        if !ok_key {
            return Err(Error::invalid_input(
                "labels",
                format!(
                    "key {key:?}: Cinder metadata keys are 1 to 255 of letters, digits and -_:. /"
                ),
            ));
        }
        if value.chars().count() > 255 {
            return Err(Error::invalid_input(
                "labels",
                format!("the value of {key:?} is longer than 255 characters"),
            ));
        }
    }
    Ok(())
}

/// Checks an extend of a volume in `status` from `current` to `new_size`,
/// speaking `spoken`.
pub(crate) fn check_extend(
    id: &str,
    status: &str,
    current: Size,
    new_size: Size,
    spoken: Microversion,
) -> Result<()> {
    check_grow(current, new_size)?;
    match status {
        "available" => Ok(()),
        "in-use" if spoken >= Microversion::ONLINE_EXTEND => Ok(()),
        other => Err(Error::invalid_state(
            ResourceKind::Volume,
            id,
            other,
            if other == "in-use" {
                "resize_volume (an in-use volume needs microversion 3.42)"
            } else {
                "resize_volume"
            },
        )),
    }
}

/// The `force` to send with a snapshot: none from 3.66, `true` below.
pub(crate) fn snapshot_force(spoken: Microversion, asked: Option<bool>) -> Option<bool> {
    if spoken >= Microversion::SNAPSHOT_IN_USE {
        // `false` is a 400 from 3.66 and `true` is ignored: send neither.
        None
    } else {
        Some(asked.unwrap_or(true))
    }
}

/// `page_size` within 1..=1000.
pub(crate) fn clamp_page_size(page_size: Option<u32>) -> Option<u32> {
    page_size.map(|n| n.clamp(1, MAX_PAGE_SIZE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_rules_follow_the_microversion() {
        let old = Microversion::new(3, 41);
        let new = Microversion::ONLINE_EXTEND;
        assert!(check_extend("v", "available", Size::gib(1), Size::gib(2), old).is_ok());
        assert!(check_extend("v", "in-use", Size::gib(1), Size::gib(2), new).is_ok());
        let e = check_extend("v", "in-use", Size::gib(1), Size::gib(2), old).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidState { state, .. } if state == "in-use"),
            "{e:?}"
        );
        assert!(e.to_string().contains("3.42"), "{e}");
        let e = check_extend("v", "available", Size::gib(2), Size::gib(2), new).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }));
        let e = check_extend("v", "creating", Size::gib(1), Size::gib(2), new).unwrap_err();
        assert!(matches!(e, Error::InvalidState { .. }));
    }

    #[test]
    fn names_sizes_metadata_force() {
        assert!(check_name("name", &"x".repeat(255)).is_ok());
        assert!(check_name("name", &"x".repeat(256)).is_err());
        assert!(check_size(Size::gib(0)).is_err());
        assert!(check_size(Size::gib(1)).is_ok());
        let mut m = BTreeMap::new();
        m.insert("team:a b".to_owned(), "v".to_owned());
        assert!(check_metadata(&m).is_ok());
        m.insert("bad=key".to_owned(), "v".to_owned());
        assert!(check_metadata(&m).is_err());
        assert_eq!(snapshot_force(Microversion::new(3, 65), None), Some(true));
        assert_eq!(
            snapshot_force(Microversion::new(3, 65), Some(false)),
            Some(false)
        );
        assert_eq!(
            snapshot_force(Microversion::SNAPSHOT_IN_USE, Some(false)),
            None
        );
        assert_eq!(clamp_page_size(Some(5000)), Some(1000));
        assert_eq!(clamp_page_size(Some(0)), Some(1));
    }
}
