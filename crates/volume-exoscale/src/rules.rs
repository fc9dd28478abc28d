//! The rules Exoscale documents, checked before a request is sent.

use volume_core::{Error, ResourceKind, Result, Size};

/// The smallest volume Exoscale creates: 1 GiB (the spec's `minimum`; it
/// was 10 GiB before January 2025).
pub const MIN_SIZE: Size = Size::gib(1);

/// The largest volume this client creates or grows to: 10000 GiB. Exoscale
/// documents no maximum; this is the limit its own CSI driver applies
/// (`MaximumVolumeSizeGiB`).
pub const MAX_SIZE: Size = Size::gib(10_000);

/// The longest volume or snapshot name, in characters.
pub const MAX_NAME_LEN: usize = 255;

/// Checks a volume or snapshot name: 1 to 255 characters.
///
/// ```
/// use volume_exoscale::check_name;
/// assert!(check_name("data-1").is_ok());
/// assert!(check_name("").is_err());
/// assert!(check_name(&"x".repeat(256)).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] on field `name`.
pub fn check_name(name: &str) -> Result<()> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN {
        return Err(Error::invalid_input(
            "name",
            format!("has {len} characters; an Exoscale name has 1 to {MAX_NAME_LEN}"),
        ));
    }
    Ok(())
}

/// Checks a size against [`MIN_SIZE`] and [`MAX_SIZE`].
pub(crate) fn check_size(size: Size) -> Result<()> {
    if size < MIN_SIZE || size > MAX_SIZE {
        return Err(Error::invalid_input(
            "size",
            format!("{size} is outside Exoscale's limits of {MIN_SIZE} to {MAX_SIZE}"),
        ));
    }
    Ok(())
}

/// Whether `id` has the shape of a UUID (`8-4-4-4-12` hex digits).
pub(crate) fn is_uuid(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Every Exoscale id is a UUID: any other id names nothing, so it is
/// [`Error::NotFound`] at once, without a request.
pub(crate) fn uuid(kind: ResourceKind, id: &str) -> Result<()> {
    if is_uuid(id) {
        Ok(())
    } else {
        Err(Error::not_found(kind, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_names() {
        assert!(check_size(Size::gib(1)).is_ok());
        assert!(check_size(Size::gib(10_000)).is_ok());
        assert!(check_size(Size::gib(0)).is_err());
        assert!(check_size(Size::gib(10_001)).is_err());
        assert!(check_name("a").is_ok());
        assert!(check_name(&"é".repeat(255)).is_ok());
        assert!(
            matches!(check_name(""), Err(Error::InvalidInput { field, .. }) if field == "name")
        );
    }

    #[test]
    fn only_uuids_are_ids() {
        assert!(is_uuid("8a2d37e0-2c2d-4c3e-9e2f-1d0b5f4e9a11"));
        assert!(is_uuid("8A2D37E0-2C2D-4C3E-9E2F-1D0B5F4E9A11"));
        for bad in [
            "",
            "..",
            "8a2d37e0-2c2d-4c3e-9e2f-1d0b5f4e9a1",
            "8a2d37e0-2c2d-4c3e-9e2f-1d0b5f4e9a11/",
            "8a2d37e0x2c2d-4c3e-9e2f-1d0b5f4e9a11",
            "8a2d37e0-2c2d-4c3e-9e2f-1d0b5f4e9a1g",
        ] {
            assert!(!is_uuid(bad), "{bad}");
            assert!(uuid(ResourceKind::Volume, bad).unwrap_err().is_not_found());
        }
    }
}
