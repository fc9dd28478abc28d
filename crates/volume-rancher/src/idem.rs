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
use volume_core::Labels;

/// What precedes the key in a description or a name: `vrs-idem=`.
fn prefix() -> String {
    format!("{IDEMPOTENCY_LABEL}=")
}

/// `text` as a key, when it is one.
fn valid(text: &str) -> Option<&str> {
    IdempotencyKey::new(text).is_ok().then_some(text)
}

/// The description that carries `key`: `vrs-idem=<key>`.
pub(crate) fn description_of(key: &str) -> String {
    format!("{}{key}", prefix())
}

/// The key a description carries: one of exactly the form
/// `vrs-idem=<key>`, with a valid key.
pub(crate) fn key_in_description(description: Option<&str>) -> Option<&str> {
    valid(description?.strip_prefix(&prefix())?)
}

/// The name that carries `key` after `name`: `<name> vrs-idem=<key>`.
pub(crate) fn name_with(name: &str, key: &str) -> String {
    format!("{name} {}{key}", prefix())
}

/// A name that may carry a key at its end, split into the name and the key.
pub(crate) fn split_name(name: &str) -> (&str, Option<&str>) {
    let marker = format!(" {}", prefix());
    match name.rsplit_once(&marker) {
        Some((base, key)) if valid(key).is_some() => (base, Some(key)),
        _ => (name, None),
    }
}

/// The labels a resource shows: the key's, when it carries one.
pub(crate) fn labels(key: Option<&str>) -> Labels {
    key.map(|k| Labels::from([(IDEMPOTENCY_LABEL.to_owned(), k.to_owned())]))
        .unwrap_or_default()
}

/// The labels of a request other than the key's: what Rancher cannot keep.
pub(crate) fn has_other_labels(labels: &Labels) -> bool {
    labels.keys().any(|k| k != IDEMPOTENCY_LABEL)
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

    #[test]
    fn a_name_carries_a_key_at_its_end() {
        let name = name_with("nightly", "abc_1");
        assert_eq!(name, "nightly vrs-idem=abc_1");
        assert_eq!(split_name(&name), ("nightly", Some("abc_1")));
        assert_eq!(split_name("nightly"), ("nightly", None));
        assert_eq!(
            split_name("a vrs-idem=not valid"),
            ("a vrs-idem=not valid", None)
        );
        // Only the last marker is the key.
        assert_eq!(
            split_name("a vrs-idem=x vrs-idem=y"),
            ("a vrs-idem=x", Some("y"))
        );
        let k = "k".repeat(32);
        assert_eq!(split_name(&name_with("", &k)), ("", Some(k.as_str())));
    }
}
