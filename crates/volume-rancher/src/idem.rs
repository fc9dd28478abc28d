//! Where a Rancher resource keeps its idempotency key.
//!
//! Cattle's volumes and snapshots have no labels. A volume has a writable,
//! filterable `description` (at most 1024 characters): a create with an
//! idempotency key sends the description `vrs-idem=<key>`, a volume whose
//! description has exactly that form shows the label `vrs-idem`, and the
//! key is looked up with the server-side filter `description=vrs-idem=<key>`.
//!
//! A snapshot's description cannot be set (the `snapshot` action's input,
//! `volumeSnapshotInput`, has only `name`, and snapshots take no `PUT`), so
//! a snapshot carries its key at the end of its name instead:
//! `<name> vrs-idem=<key>` (at most 255 characters in all), shown as the
//! core name `<name>` and the label `vrs-idem`, and looked up among the
//! snapshots of its volume.

use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};

/// `text` as a key, when it is one.
fn valid(text: &str) -> Option<&str> {
    IdempotencyKey::new(text).is_ok().then_some(text)
}

/// The description that carries `key`: `vrs-idem=<key>`.
pub(crate) fn description_of(key: &str) -> String {
    format!("{IDEMPOTENCY_LABEL}={key}")
}

/// The key a description carries: one of exactly the form
/// `vrs-idem=<key>`, with a valid key.
pub(crate) fn key_in_description(description: Option<&str>) -> Option<&str> {
    valid(
        description?
            .strip_prefix(IDEMPOTENCY_LABEL)?
            .strip_prefix('=')?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_carries_a_key_only_in_its_exact_form() {
        assert_eq!(description_of("k-1"), "vrs-idem=k-1");
        assert_eq!(key_in_description(Some("vrs-idem=k-1")), Some("k-1"));
        for other in [
            None,
            Some(""),
            Some("vrs-idem="),
            Some("vrs-idem=has space"),
            Some(" vrs-idem=k"),
            Some("the database"),
            Some("vrs-idem=k=v"),
        ] {
            assert_eq!(key_in_description(other), None, "{other:?}");
        }
    }
}
