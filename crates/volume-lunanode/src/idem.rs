//! Where a LunaNode volume or snapshot keeps its idempotency key.
//!
//! LunaNode keeps no labels and no description: the only free text is the
//! `label` given at creation, shown as `name` (and changed by
//! `volume/rename`). A create with an idempotency key sends the label
//! `<name> vrs-idem=<key>`; a name ending in ` vrs-idem=<key>` (with a
//! valid key) is shown as the core name `<name>` and the label `vrs-idem`.
//! The key is looked up in `volume/list` (or each region's
//! `volume/snapshot-list`), as LunaNode's own lobster finds a volume it
//! made by its random label (lunanode.md §5).
//!
//! The suffix takes at most 42 characters (a key is at most 32). LunaNode
//! documents no label limit; this crate sends at most
//! [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) characters (volume-sim's fake
//! allows as many), so a name with a 32-character key is at most 213.

use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};
use volume_core::{Error, Labels, Result};

use crate::rules::MAX_NAME_LEN;

/// What separates the name from its key: ` vrs-idem=`.
fn marker() -> String {
    format!(" {IDEMPOTENCY_LABEL}=")
}

/// The label that carries `key` after `name`: `<name> vrs-idem=<key>`.
pub(crate) fn name_with(name: &str, key: &str) -> String {
    format!("{name}{}{key}", marker())
}

/// A name that may carry a key at its end, split into the name and the key.
pub(crate) fn split_name(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(&marker()) {
        Some((base, key)) if IdempotencyKey::new(key).is_ok() => (base, Some(key)),
        _ => (name, None),
    }
}

/// The label to send for `name`: with `key` at its end when there is one.
///
/// # Errors
/// [`Error::InvalidInput`] on `name` when the key does not fit after it
/// in [`MAX_NAME_LEN`] characters.
pub(crate) fn keyed_label(name: &str, key: Option<&str>) -> Result<String> {
    let Some(key) = key else {
        return Ok(name.to_owned());
    };
    let label = name_with(name, key);
    let len = label.chars().count();
    if len > MAX_NAME_LEN {
        return Err(Error::invalid_input(
            "name",
            format!(
                "is too long to carry an idempotency key: the key takes {} characters at the \
                 end of the name, and LunaNode labels are at most {MAX_NAME_LEN} here",
                len.saturating_sub(name.chars().count())
            ),
        ));
    }
    Ok(label)
}

/// A name as the core shows it, and its labels: the key's, when it
/// carries one.
pub(crate) fn name_and_labels(name: &str) -> (String, Labels) {
    let (base, key) = split_name(name);
    let labels = key
        .map(|k| Labels::from([(IDEMPOTENCY_LABEL.to_owned(), k.to_owned())]))
        .unwrap_or_default();
    (base.to_owned(), labels)
}

/// Whether `labels` holds one LunaNode cannot keep (any but the key).
pub(crate) fn has_other_labels(labels: &Labels) -> bool {
    labels.keys().any(|k| k != IDEMPOTENCY_LABEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_carries_a_key_at_its_end() {
        let name = name_with("data", "abc_1");
        assert_eq!(name, "data vrs-idem=abc_1");
        assert_eq!(split_name(&name), ("data", Some("abc_1")));
        let (base, labels) = name_and_labels(&name);
        assert_eq!(base, "data");
        assert_eq!(labels[IDEMPOTENCY_LABEL], "abc_1");
        assert_eq!(name_and_labels("data"), ("data".to_owned(), Labels::new()));
        for plain in [
            "vrs-idem=k",
            "a vrs-idem=",
            "a vrs-idem=b c",
            "a vrs-idem=é",
        ] {
            assert_eq!(split_name(plain), (plain, None), "{plain:?}");
        }
        assert_eq!(
            split_name("a vrs-idem=x vrs-idem=y"),
            ("a vrs-idem=x", Some("y"))
        );
        let longest = name_with("n", &"k".repeat(32));
        assert_eq!(longest.chars().count() - 1, 42);
    }
}
