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

use volume_core::idempotency::{self, key_labels, split_keyed_name};
use volume_core::{Labels, Result};

use crate::rules::MAX_NAME_LEN;

/// The label to send for `name`: with `key` at its end when there is one,
/// at most [`MAX_NAME_LEN`] characters ([`idempotency::keyed_name`]).
///
/// # Errors
/// As [`idempotency::keyed_name`].
pub(crate) fn keyed_label(name: &str, key: Option<&str>) -> Result<String> {
    idempotency::keyed_name(name, key, MAX_NAME_LEN)
}

/// A name as the core shows it, and its labels: the key's, when it
/// carries one.
pub(crate) fn name_and_labels(name: &str) -> (String, Labels) {
    let (base, key) = split_keyed_name(name);
    (base.to_owned(), key_labels(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_show_without_their_key() {
        let (base, labels) = name_and_labels("data vrs-idem=abc_1");
        assert_eq!(base, "data");
        assert_eq!(labels[volume_core::idempotency::IDEMPOTENCY_LABEL], "abc_1");
        assert_eq!(name_and_labels("data"), ("data".to_owned(), Labels::new()));
        assert!(keyed_label(&"n".repeat(MAX_NAME_LEN), Some("k")).is_err());
        assert_eq!(keyed_label("n", None).unwrap(), "n");
    }
}
