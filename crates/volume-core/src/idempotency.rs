//! Creating exactly once.
//!
//! A create whose answer is lost (a dropped connection, a time-out after
//! sending, a 5xx after the provider made the change) leaves the caller
//! unable to tell whether the resource exists. Repeating the create may
//! make a second one; giving up may leave an orphan nobody knows about.
//!
//! An [`IdempotencyKey`] set on a request (`with_idempotency_key`) is stored
//! with the resource as the label [`IDEMPOTENCY_LABEL`], each provider
//! keeping it where it can, and showing it back as that label:
//!
//! | provider | where the key is kept | how it is looked up |
//! |---|---|---|
//! | Linode | the tag `vrs-idem=<key>` | the volume listing |
//! | Exoscale | the label `vrs-idem` | the volume or snapshot listing |
//! | Cinder | the metadata entry `vrs-idem` (backups: microversion 3.43 and later) | volumes: Cinder's `metadata` filter; snapshots and backups: those of the volume |
//! | Rancher | a volume's description, exactly `vrs-idem=<key>`; a snapshot's name suffix ` vrs-idem=<key>` | volumes: Cattle's `description` filter; snapshots: those of the volume |
//! | LunaNode | the label given at creation (LunaNode's name), suffix ` vrs-idem=<key>` | `volume/list`, or the snapshot lists |
//!
//! Rancher and LunaNode, which keep no labels, accept this one label and
//! refuse any other.
//!
//! After an outcome-unknown failure, [`create_volume`], [`create_snapshot`]
//! and [`create_backup`] look the key up: a resource that carries it is
//! adopted and returned as if the create had answered; when none does, a
//! failure that is worth repeating is repeated (at most
//! [`MAX_CREATE_ATTEMPTS`] creates in all), and any other is returned.
//!
//! Provider crates call these from their `BlockStorage` creates, so every
//! client behaves the same way; a request without a key is sent once, as
//! before.
//!
//! ```
//! use volume_core::idempotency::IdempotencyKey;
//! use volume_core::{CreateVolume, Size};
//!
//! let key = IdempotencyKey::random();
//! let request = CreateVolume::new("data", Size::gib(10)).with_idempotency_key(&key);
//! assert_eq!(request.idempotency_key(), Some(key.as_str()));
//! assert!(IdempotencyKey::new("has spaces").is_err());
//! ```

use std::fmt;
use std::future::Future;

use futures::TryStreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::http::backoff::{Backoff, BackoffConfig};
use crate::model::{
    Backup, CreateBackup, CreateSnapshot, CreateVolume, Labels, ListBackups, ListSnapshots,
    ListVolumes, Snapshot, Volume,
};
use crate::storage::{BlockStorage, BlockStorageExt};

/// The label that carries a resource's idempotency key. Short, so that it
/// fits providers that keep labels as short tags (Linode: 50 characters for
/// `vrs-idem=<key>`).
pub const IDEMPOTENCY_LABEL: &str = "vrs-idem";

/// The longest key, in characters.
pub const MAX_KEY_LEN: usize = 32;

/// How many creates one call sends at most.
pub const MAX_CREATE_ATTEMPTS: u32 = 3;

/// A key that makes a create happen at most once: 1 to 32 ASCII letters,
/// digits, `-` or `_`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// `key`, checked.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty key, one longer than
    /// [`MAX_KEY_LEN`], or one with other characters.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        let fine = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(fine) {
            return Err(Error::invalid_input(
                "idempotency_key",
                format!("must be 1 to {MAX_KEY_LEN} ASCII letters, digits, '-' or '_'"),
            ));
        }
        Ok(Self(key))
    }

    /// A new random key (128 bits, as 32 hexadecimal digits).
    pub fn random() -> Self {
        let bits: u128 = StdRng::from_os_rng().random();
        Self(format!("{bits:032x}"))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn key_of(labels: &Labels) -> Option<&str> {
    labels.get(IDEMPOTENCY_LABEL).map(String::as_str)
}

impl CreateVolume {
    /// Makes the create happen at most once, however often its answer is
    /// lost (see the [module docs](crate::idempotency)).
    pub fn with_idempotency_key(self, key: &IdempotencyKey) -> Self {
        self.with_label(IDEMPOTENCY_LABEL, key.as_str())
    }

    /// The idempotency key, when one is set.
    pub fn idempotency_key(&self) -> Option<&str> {
        key_of(&self.labels)
    }
}

impl CreateSnapshot {
    /// Makes the create happen at most once (see the
    /// [module docs](crate::idempotency)).
    pub fn with_idempotency_key(self, key: &IdempotencyKey) -> Self {
        self.with_label(IDEMPOTENCY_LABEL, key.as_str())
    }

    /// The idempotency key, when one is set.
    pub fn idempotency_key(&self) -> Option<&str> {
        key_of(&self.labels)
    }
}

impl CreateBackup {
    /// Makes the create happen at most once (see the
    /// [module docs](crate::idempotency)).
    pub fn with_idempotency_key(self, key: &IdempotencyKey) -> Self {
        self.with_label(IDEMPOTENCY_LABEL, key.as_str())
    }

    /// The idempotency key, when one is set.
    pub fn idempotency_key(&self) -> Option<&str> {
        key_of(&self.labels)
    }
}

/// Sends `create` for a volume `request` describes; with an idempotency
/// key, at most once in effect (see the [module docs](crate::idempotency)).
/// `storage` is the client `create` belongs to: the key is looked up with
/// its `list_volumes`.
///
/// # Errors
/// What `create` returns when no volume carries the key afterwards, or
/// the original error when the lookup itself fails (nothing is created
/// blindly).
pub async fn create_volume<S, F, Fut>(
    storage: &S,
    request: &CreateVolume,
    create: F,
) -> Result<Volume>
where
    S: BlockStorage + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Volume>>,
{
    let Some(key) = request.idempotency_key() else {
        return create().await;
    };
    let find = || async {
        let query = ListVolumes::new().with_label(IDEMPOTENCY_LABEL, key);
        let mut found = storage.list_all_volumes(query);
        while let Some(v) = found.try_next().await? {
            if key_of(&v.labels) == Some(key) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    once(create, find).await
}

/// [`create_volume`] for a snapshot: the key is looked up among the
/// snapshots of the request's volume.
///
/// # Errors
/// As [`create_volume`].
pub async fn create_snapshot<S, F, Fut>(
    storage: &S,
    request: &CreateSnapshot,
    create: F,
) -> Result<Snapshot>
where
    S: BlockStorage + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Snapshot>>,
{
    let Some(key) = request.idempotency_key() else {
        return create().await;
    };
    let find = || async {
        let query = ListSnapshots::new().with_volume(request.volume_id.clone());
        let mut found = storage.list_all_snapshots(query);
        while let Some(s) = found.try_next().await? {
            if key_of(&s.labels) == Some(key) {
                return Ok(Some(s));
            }
        }
        Ok(None)
    };
    once(create, find).await
}

/// [`create_volume`] for a backup: the key is looked up among the backups
/// of the request's volume.
///
/// # Errors
/// As [`create_volume`].
pub async fn create_backup<S, F, Fut>(
    storage: &S,
    request: &CreateBackup,
    create: F,
) -> Result<Backup>
where
    S: BlockStorage + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Backup>>,
{
    let Some(key) = request.idempotency_key() else {
        return create().await;
    };
    let find = || async {
        let query = ListBackups::new().with_volume(request.volume_id.clone());
        let mut found = storage.list_all_backups(query);
        while let Some(b) = found.try_next().await? {
            if key_of(&b.labels) == Some(key) {
                return Ok(Some(b));
            }
        }
        Ok(None)
    };
    once(create, find).await
}

/// The one loop: create; after a failure whose outcome is unknown (the
/// transport has already retried every failure it knew changed nothing),
/// look for what carries the key and adopt it; create again, after a
/// backoff delay (or the answer's `Retry-After`), only when nothing does
/// and the failure is worth repeating.
async fn once<T, F, Fut, G, GFut>(create: F, find: G) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
    G: Fn() -> GFut,
    GFut: Future<Output = Result<Option<T>>>,
{
    let mut backoff = Backoff::new(BackoffConfig::default());
    let mut attempt = 1;
    loop {
        let error = match create().await {
            Ok(created) => return Ok(created),
            Err(e) if e.outcome_unknown() => e,
            Err(e) => return Err(e),
        };
        match find().await {
            Ok(Some(found)) => {
                tracing::info!(error = %error, "create failed but took effect; adopted what it made");
                return Ok(found);
            }
            Ok(None) if error.is_retryable() && attempt < MAX_CREATE_ATTEMPTS => {
                tracing::info!(attempt, error = %error, "create did not take effect; creating again");
                let delay = error.retry_after().unwrap_or_else(|| backoff.next_delay());
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            // Nothing found, or no way to look: the caller decides.
            Ok(None) | Err(_) => return Err(error),
        }
    }
}

// ----- providers that keep no labels -----------------------------------------

/// What separates a name from the key it carries: ` vrs-idem=`.
fn name_marker() -> String {
    format!(" {IDEMPOTENCY_LABEL}=")
}

/// The name that carries `key` at its end, for a resource whose provider
/// keeps no labels (LunaNode's volumes and snapshots, Rancher's
/// snapshots): `<name> vrs-idem=<key>`. The suffix takes at most
/// [`MAX_NAME_SUFFIX_LEN`] characters.
pub fn name_with_key(name: &str, key: &str) -> String {
    format!("{name}{}{key}", name_marker())
}

/// The most characters [`name_with_key`] adds to a name.
pub const MAX_NAME_SUFFIX_LEN: usize = 1 + IDEMPOTENCY_LABEL.len() + 1 + MAX_KEY_LEN;

/// A name that may carry a key at its end ([`name_with_key`]), split into
/// the name and the key. Only a valid key after the last marker counts.
pub fn split_keyed_name(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(&name_marker()) {
        Some((base, key)) if IdempotencyKey::new(key).is_ok() => (base, Some(key)),
        _ => (name, None),
    }
}

/// The name to send for a resource whose provider keeps no labels:
/// `name`, with `key` at its end when there is one ([`name_with_key`]).
///
/// # Errors
/// [`Error::InvalidInput`] on `name` when it already ends like a key (it
/// would be read back as another name carrying that key, and a lookup
/// could adopt it), or when the key does not fit after it in `max_chars`
/// characters.
pub fn keyed_name(name: &str, key: Option<&str>, max_chars: usize) -> Result<String> {
    if split_keyed_name(name).1.is_some() {
        return Err(Error::invalid_input(
            "name",
            format!("must not end in \" {IDEMPOTENCY_LABEL}=<key>\": that is where an idempotency key is kept"),
        ));
    }
    let Some(key) = key else {
        return Ok(name.to_owned());
    };
    let keyed = name_with_key(name, key);
    let len = keyed.chars().count();
    if len > max_chars {
        return Err(Error::invalid_input(
            "name",
            format!(
                "is too long to carry an idempotency key: the key takes {} characters at the \
                 end of the name, and names are at most {max_chars}",
                len.saturating_sub(name.chars().count())
            ),
        ));
    }
    Ok(keyed)
}

/// The labels a resource whose provider keeps no labels shows: the key's,
/// when it carries one.
pub fn key_labels(key: Option<&str>) -> Labels {
    key.map(|k| Labels::from([(IDEMPOTENCY_LABEL.to_owned(), k.to_owned())]))
        .unwrap_or_default()
}

/// Whether `labels` holds any label but the key: what a provider that can
/// carry only the key cannot keep.
pub fn has_other_labels(labels: &Labels) -> bool {
    labels.keys().any(|k| k != IDEMPOTENCY_LABEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(IdempotencyKey::new("abc-DEF_123").is_ok());
        for bad in ["", "a b", "é", "x/y", &"k".repeat(33)] {
            assert!(IdempotencyKey::new(bad).is_err(), "{bad:?}");
        }
        let k = IdempotencyKey::random();
        assert_eq!(k.as_str().len(), 32);
        assert!(IdempotencyKey::new(k.as_str()).is_ok());
        assert_ne!(k, IdempotencyKey::random());
    }

    #[test]
    fn a_name_carries_a_key_at_its_end() {
        let name = name_with_key("data", "abc_1");
        assert_eq!(name, "data vrs-idem=abc_1");
        assert_eq!(split_keyed_name(&name), ("data", Some("abc_1")));
        assert_eq!(split_keyed_name("data"), ("data", None));
        for plain in [
            "vrs-idem=k",
            "a vrs-idem=",
            "a vrs-idem=b c",
            "a vrs-idem=é",
        ] {
            assert_eq!(split_keyed_name(plain), (plain, None), "{plain:?}");
        }
        // Only the last marker is the key.
        assert_eq!(
            split_keyed_name("a vrs-idem=x vrs-idem=y"),
            ("a vrs-idem=x", Some("y"))
        );
        let k = "k".repeat(MAX_KEY_LEN);
        let longest = name_with_key("", &k);
        assert_eq!(longest.chars().count(), MAX_NAME_SUFFIX_LEN);
        assert_eq!(split_keyed_name(&longest), ("", Some(k.as_str())));
        assert_eq!(key_labels(Some("k"))[IDEMPOTENCY_LABEL], "k");
        assert!(key_labels(None).is_empty());
        assert!(!has_other_labels(&key_labels(Some("k"))));
        assert!(has_other_labels(&Labels::from([(
            "team".to_owned(),
            "x".to_owned()
        )])));
    }
}
