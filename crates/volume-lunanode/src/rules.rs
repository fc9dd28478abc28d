//! What LunaNode refuses, checked before anything is sent, with the reason
//! it would give.

use volume_core::{Error, Result, Size};

/// The smallest volume: LunaNode sizes are whole GB, at least one.
pub const MIN_SIZE: Size = Size::gib(1);

/// The largest volume this crate reports in its capabilities. LunaNode
/// documents no maximum; this is the bound volume-sim's fake enforces, and
/// it is not checked before sending (the API decides).
pub const MAX_SIZE: Size = Size::gib(10_000);

/// LunaNode's regions (lunanode.md §4).
pub const REGIONS: [&str; 3] = ["toronto", "montreal", "roubaix"];

/// The region of a client built without one (LunaNode's own default).
pub const DEFAULT_REGION: &str = "toronto";

/// The longest label this crate sends (LunaNode documents none; the fake
/// allows 255).
pub const MAX_NAME_LEN: usize = 255;

/// A size LunaNode can take: at least 1 GB.
pub(crate) fn check_size(size: Size) -> Result<()> {
    if size < MIN_SIZE {
        return Err(Error::invalid_input(
            "size",
            format!("must be at least {MIN_SIZE} (LunaNode sizes are whole GB), got {size}"),
        ));
    }
    Ok(())
}

/// A label LunaNode can take: not empty, no control characters, at most
/// [`MAX_NAME_LEN`] characters.
pub(crate) fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(Error::invalid_input(
            field,
            format!("must be at most {MAX_NAME_LEN} characters"),
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

/// A target LunaNode documents: `auto`, or a device path such as
/// `/dev/vdb`.
pub(crate) fn check_target(target: &str) -> Result<()> {
    let device = target
        .strip_prefix("/dev/")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_lowercase()));
    if target == "auto" || device {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "target",
            format!("{target:?} is neither \"auto\" nor a device path such as /dev/vdb"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check_size(Size::gib(0)).is_err());
        assert!(check_size(Size::gib(1)).is_ok());
        assert!(check_name("name", "").is_err());
        assert!(check_name("name", "a\nb").is_err());
        assert!(check_name("name", &"x".repeat(256)).is_err());
        assert!(check_target("auto").is_ok());
        assert!(check_target("/dev/vdb").is_ok());
        assert!(check_target("/dev/../x").is_err());
    }
}
