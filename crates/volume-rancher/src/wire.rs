//! Cattle's JSON, as serde types that mirror `rancher.md` and the captured
//! `GET /v2-beta/schemas` subset field for field.
//!
//! Every Cattle object is a resource envelope: `id`, `type`, `links` (absolute
//! URLs: `self` and related resources), `actions` (absolute URLs of exactly
//! the actions valid in the object's current state) and its fields. Decoding
//! is forgiving where Cattle is known to vary and strict nowhere else: unknown
//! fields are ignored, `null` lists and maps read as empty, and `state` and
//! `transitioning` are kept as the words Cattle sent, so a new word never
//! breaks decoding. Dates are kept as sent (`2017-01-31T22:10:05Z`) next to
//! their epoch-millisecond twins (`createdTS`).
//!
//! Request bodies are crate-private and skip every field not given: Cattle
//! ignores unknown and non-editable fields, so nothing else is ever sent.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize};

use volume_core::time::parse_rfc3339;
use volume_core::ResourceKind;

/// A `null` (or absent) list as an empty one.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A `null` (or absent) map as an empty one.
fn null_as_empty_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

/// A `null` (or absent) string as an empty one.
fn null_as_empty_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A time from its epoch-millisecond twin (`createdTS`), or else from the
/// date text (`2017-01-31T22:10:05Z`).
fn time_of(ts: Option<i64>, text: Option<&str>) -> Option<SystemTime> {
    match ts.and_then(|ms| u64::try_from(ms).ok()) {
        Some(ms) => UNIX_EPOCH.checked_add(Duration::from_millis(ms)),
        None => text.and_then(parse_rfc3339),
    }
}

/// Whether a Cattle resource is in the middle of a process
/// (`transitioning`: `yes`, `no` or `error`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transitioning {
    /// `"yes"`: a process is running; re-read until it is `no`.
    Yes,
    /// `"no"`: at rest (also when Cattle sent nothing).
    No,
    /// `"error"`: the last process failed; `transitioningMessage` says why.
    Error,
    /// A word Cattle has not documented, kept as sent.
    Other(String),
}

impl Transitioning {
    /// The word as Cattle spells it.
    pub fn from_word(word: &str) -> Self {
        match word {
            "yes" => Self::Yes,
            "no" | "" => Self::No,
            "error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// What every Cattle resource carries besides its own fields.
///
/// Implemented by the resource types of this crate; the client follows
/// [`links`](Self::links) and [`actions`](Self::actions) instead of building
/// URLs, and waits on [`transitioning`](Self::transitioning).
pub trait Resource {
    /// What it is, in errors.
    const KIND: ResourceKind;
    /// Its collection's path segment, e.g. `volumes`: where it is looked up
    /// by id when no link is at hand.
    const COLLECTION: &'static str;

    /// Its id, e.g. `1v67`.
    fn id(&self) -> &str;
    /// Its `state` word, as sent.
    fn state(&self) -> &str;
    /// Its `transitioning` word, as sent (`yes`, `no`, `error`).
    fn transitioning_word(&self) -> &str;
    /// Its `transitioningMessage`.
    fn transitioning_message(&self) -> Option<&str>;
    /// Its `links` (absolute URLs).
    fn links(&self) -> &BTreeMap<String, String>;
    /// Its `actions`: exactly the actions valid in its current state.
    fn actions(&self) -> &BTreeMap<String, String>;

    /// [`transitioning_word`](Self::transitioning_word) as a [`Transitioning`].
    fn transitioning(&self) -> Transitioning {
        Transitioning::from_word(self.transitioning_word())
    }

    /// Its `links.self`, when it has one.
    fn self_link(&self) -> Option<&str> {
        self.links().get("self").map(String::as_str)
    }

    /// The URL of action `name`, when the action is valid in its current state.
    fn action(&self, name: &str) -> Option<&str> {
        self.actions().get(name).map(String::as_str)
    }
}

macro_rules! resource {
    ($ty:ty, $kind:ident, $collection:literal) => {
        impl Resource for $ty {
            const KIND: ResourceKind = ResourceKind::$kind;
            const COLLECTION: &'static str = $collection;

            fn id(&self) -> &str {
                &self.id
            }
            fn state(&self) -> &str {
                &self.state
            }
            fn transitioning_word(&self) -> &str {
                &self.transitioning
            }
            fn transitioning_message(&self) -> Option<&str> {
                self.transitioning_message.as_deref()
            }
            fn links(&self) -> &BTreeMap<String, String> {
                &self.links
            }
            fn actions(&self) -> &BTreeMap<String, String> {
                &self.actions
            }
        }
    };
}

/// A Rancher volume (`type: "volume"`), as Cattle sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RancherVolume {
    /// Its id, e.g. `1v67`.
    pub id: String,
    /// Its name (required at creation, at most 255 characters).
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub name: String,
    /// `requested`, `registering`, `inactive`, `active`, `detached`,
    /// `updating-*`, `reverting-*`, `restoring-*`, `removing`, `removed`,
    /// `purging`, `purged`, ...: kept as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub state: String,
    /// `yes`, `no` or `error`, as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub transitioning: String,
    /// What the running (or failed) process says.
    #[serde(default)]
    pub transitioning_message: Option<String>,
    /// How far the running process is, 0 to 100.
    #[serde(default)]
    pub transitioning_progress: Option<i64>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its storage driver's name, e.g. `local`, `rancher-nfs`.
    #[serde(default)]
    pub driver: Option<String>,
    /// The driver's options, e.g. `{"size": "1G"}`.
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub driver_opts: BTreeMap<String, String>,
    /// Its size in MiB, for drivers with the `schedule.size` capability.
    #[serde(default)]
    pub size_mb: Option<i64>,
    /// The host it is pinned to.
    #[serde(default)]
    pub host_id: Option<String>,
    /// The stack it belongs to.
    #[serde(default)]
    pub stack_id: Option<String>,
    /// Its storage driver.
    #[serde(default)]
    pub storage_driver_id: Option<String>,
    /// The volume template it was made from.
    #[serde(default)]
    pub volume_template_id: Option<String>,
    /// `multiHostRW`, `singleHostRW` or `singleInstanceRW`.
    #[serde(default)]
    pub access_mode: Option<String>,
    /// Its id outside Rancher.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The image it holds.
    #[serde(default)]
    pub image_id: Option<String>,
    /// The container it belongs to.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Whether it is a host path.
    #[serde(default)]
    pub is_host_path: bool,
    /// The containers it is mounted in.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub mounts: Vec<MountEntry>,
    /// `<driver>:///<name>`.
    #[serde(default)]
    pub uri: Option<String>,
    /// Its UUID.
    #[serde(default)]
    pub uuid: Option<String>,
    /// The project (environment) it belongs to, e.g. `1a5`.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Its kind, `volume`.
    #[serde(default)]
    pub kind: Option<String>,
    /// When it was created, as sent.
    #[serde(default)]
    pub created: Option<String>,
    /// [`created`](Self::created) in epoch milliseconds.
    #[serde(default, rename = "createdTS")]
    pub created_ts: Option<i64>,
    /// When it was removed, as sent (`null` until then).
    #[serde(default)]
    pub removed: Option<String>,
    /// [`removed`](Self::removed) in epoch milliseconds.
    #[serde(default, rename = "removedTS")]
    pub removed_ts: Option<i64>,
    /// When it will be purged, as sent.
    #[serde(default)]
    pub remove_time: Option<String>,
    /// Related resources, as absolute URLs (`self`, `storageDriver`, ...).
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Exactly the actions valid in its current state, as absolute URLs.
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
}

resource!(RancherVolume, Volume, "volumes");

impl RancherVolume {
    /// When it was created, when Cattle says.
    pub fn created_at(&self) -> Option<SystemTime> {
        time_of(self.created_ts, self.created.as_deref())
    }

    /// Whether it is removed (or being purged): hidden from listings, still
    /// readable by id.
    pub fn is_removed(&self) -> bool {
        self.removed.is_some()
            || self.removed_ts.is_some()
            || matches!(self.state.as_str(), "removed" | "purging" | "purged")
    }
}

/// Where a volume is mounted (`mountEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MountEntry {
    /// The container.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// The container's name.
    #[serde(default)]
    pub instance_name: Option<String>,
    /// The path in the container.
    #[serde(default)]
    pub path: Option<String>,
    /// The volume.
    #[serde(default)]
    pub volume_id: Option<String>,
    /// The volume's name.
    #[serde(default)]
    pub volume_name: Option<String>,
}

/// A snapshot of a volume (`type: "snapshot"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RancherSnapshot {
    /// Its id, e.g. `1s3`.
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub name: String,
    /// `requested`, `creating`, `created`, `removing`, `removed`: as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub state: String,
    /// `yes`, `no` or `error`, as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub transitioning: String,
    /// What the running (or failed) process says.
    #[serde(default)]
    pub transitioning_message: Option<String>,
    /// How far the running process is, 0 to 100.
    #[serde(default)]
    pub transitioning_progress: Option<i64>,
    /// The volume it was taken of.
    #[serde(default)]
    pub volume_id: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The project it belongs to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Its kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Its UUID.
    #[serde(default)]
    pub uuid: Option<String>,
    /// When it was taken, as sent.
    #[serde(default)]
    pub created: Option<String>,
    /// [`created`](Self::created) in epoch milliseconds.
    #[serde(default, rename = "createdTS")]
    pub created_ts: Option<i64>,
    /// When it was removed, as sent.
    #[serde(default)]
    pub removed: Option<String>,
    /// [`removed`](Self::removed) in epoch milliseconds.
    #[serde(default, rename = "removedTS")]
    pub removed_ts: Option<i64>,
    /// Related resources, as absolute URLs.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Exactly the actions valid in its current state (`backup`, `remove`).
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
}

resource!(RancherSnapshot, Snapshot, "snapshots");

impl RancherSnapshot {
    /// When it was taken, when Cattle says.
    pub fn created_at(&self) -> Option<SystemTime> {
        time_of(self.created_ts, self.created.as_deref())
    }

    /// Whether it is removed.
    pub fn is_removed(&self) -> bool {
        self.removed.is_some() || matches!(self.state.as_str(), "removed")
    }
}

/// A backup of a snapshot (`type: "backup"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RancherBackup {
    /// Its id, e.g. `1b2`.
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub name: String,
    /// `requested`, `creating`, `created`, `removing`, `removed`: as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub state: String,
    /// `yes`, `no` or `error`, as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub transitioning: String,
    /// What the running (or failed) process says.
    #[serde(default)]
    pub transitioning_message: Option<String>,
    /// How far the running process is, 0 to 100.
    #[serde(default)]
    pub transitioning_progress: Option<i64>,
    /// The snapshot it was made from.
    #[serde(default)]
    pub snapshot_id: Option<String>,
    /// The volume that snapshot was taken of.
    #[serde(default)]
    pub volume_id: Option<String>,
    /// Where it is kept.
    #[serde(default)]
    pub backup_target_id: Option<String>,
    /// Its location in the target.
    #[serde(default)]
    pub uri: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The project it belongs to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Its kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Its UUID.
    #[serde(default)]
    pub uuid: Option<String>,
    /// When it was made, as sent.
    #[serde(default)]
    pub created: Option<String>,
    /// [`created`](Self::created) in epoch milliseconds.
    #[serde(default, rename = "createdTS")]
    pub created_ts: Option<i64>,
    /// When it was removed, as sent.
    #[serde(default)]
    pub removed: Option<String>,
    /// Related resources, as absolute URLs.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Exactly the actions valid in its current state.
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
}

resource!(RancherBackup, Backup, "backups");

impl RancherBackup {
    /// When it was made, when Cattle says.
    pub fn created_at(&self) -> Option<SystemTime> {
        time_of(self.created_ts, self.created.as_deref())
    }

    /// Whether it is removed.
    pub fn is_removed(&self) -> bool {
        self.removed.is_some() || matches!(self.state.as_str(), "removed")
    }
}

/// A storage driver (`type: "storageDriver"`): what volumes it can make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StorageDriver {
    /// Its id, e.g. `1sd2`.
    pub id: String,
    /// Its name, the `driver` of its volumes, e.g. `rancher-nfs`.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub name: String,
    /// Its state, as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub state: String,
    /// `yes`, `no` or `error`, as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub transitioning: String,
    /// What the running (or failed) process says.
    #[serde(default)]
    pub transitioning_message: Option<String>,
    /// What its volumes can do: `snapshot` (snapshots and backups),
    /// `schedule.size` (a size at creation), ...
    #[serde(default, deserialize_with = "null_as_empty")]
    pub volume_capabilities: Vec<String>,
    /// `singleHostRW`, `singleInstanceRW` or `multiHostRW`.
    #[serde(default)]
    pub volume_access_mode: Option<String>,
    /// `local`, `environment` or `custom`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The block device path of its volumes.
    #[serde(default)]
    pub block_device_path: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The service that runs it.
    #[serde(default)]
    pub service_id: Option<String>,
    /// The project it belongs to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Related resources, as absolute URLs.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Exactly the actions valid in its current state.
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
}

resource!(StorageDriver, VolumeType, "storagedrivers");

impl StorageDriver {
    /// The capability that gives a driver's volumes snapshots and backups.
    pub const SNAPSHOT: &'static str = "snapshot";
    /// The capability that lets a volume be created with `sizeMb`.
    pub const SCHEDULE_SIZE: &'static str = "schedule.size";

    /// Whether its volumes have `capability`.
    pub fn has_capability(&self, capability: &str) -> bool {
        self.volume_capabilities.iter().any(|c| c == capability)
    }
}

/// A host (`type: "host"`): a machine volumes can live on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Host {
    /// Its id, e.g. `1h3`.
    pub id: String,
    /// Its name (often `null`: then see [`hostname`](Self::hostname)).
    #[serde(default)]
    pub name: Option<String>,
    /// Its hostname.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Its state, as sent (`active`, `inactive`, ...).
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub state: String,
    /// `yes`, `no` or `error`, as sent.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub transitioning: String,
    /// What the running (or failed) process says.
    #[serde(default)]
    pub transitioning_message: Option<String>,
    /// The state of its agent.
    #[serde(default)]
    pub agent_state: Option<String>,
    /// Its agent's IP address.
    #[serde(default)]
    pub agent_ip_address: Option<String>,
    /// Its labels.
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub labels: BTreeMap<String, String>,
    /// Local storage in MiB.
    #[serde(default)]
    pub local_storage_mb: Option<i64>,
    /// The project it belongs to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Related resources, as absolute URLs.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Exactly the actions valid in its current state.
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
}

resource!(Host, Instance, "hosts");

/// A collection (`type: "collection"`): one page of resources.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Collection<T> {
    /// The resources, always an array.
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub(crate) data: Vec<T>,
    /// `null` in some answers.
    #[serde(default)]
    pub(crate) pagination: Option<Pagination>,
}

impl<T> Collection<T> {
    /// The `pagination.next` link, when there is a next page.
    pub(crate) fn next(&self) -> Option<String> {
        self.pagination
            .as_ref()
            .and_then(|p| p.next.clone())
            .filter(|n| !n.is_empty())
    }
}

/// A collection's `pagination`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pagination {
    /// The next page, as a link to follow (never a marker to build).
    #[serde(default)]
    pub(crate) next: Option<String>,
}

/// Cattle's error resource (`type: "error"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    /// Always `error`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// `NotUnique`, `MissingRequired`, `Not Found`, `Method not allowed`, ...
    #[serde(default)]
    pub(crate) code: Option<String>,
    /// The message (`null` for schema validation errors).
    #[serde(default)]
    pub(crate) message: Option<String>,
    /// More detail, when Cattle has it.
    #[serde(default)]
    pub(crate) detail: Option<String>,
    /// The field a validation error is about.
    #[serde(default)]
    pub(crate) field_name: Option<String>,
}

/// `POST .../volumes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateBody<'a> {
    pub(crate) name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) driver: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) storage_driver_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) driver_opts: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) host_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size_mb: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stack_id: Option<&'a str>,
}

/// `PUT <links.self>`: the updatable fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) driver_opts: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) host_id: Option<&'a str>,
}

/// The `snapshot` action's input (`volumeSnapshotInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SnapshotInput<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<&'a str>,
}

/// The `reverttosnapshot` action's input (`revertToSnapshotInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevertInput<'a> {
    pub(crate) snapshot_id: &'a str,
}

/// The `restorefrombackup` action's input (`restoreFromBackupInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RestoreInput<'a> {
    pub(crate) backup_id: &'a str,
}

/// The snapshot's `backup` action input (`snapshotBackupInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackupInput<'a> {
    pub(crate) backup_target_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_decodes_with_nulls_and_unknown_words() {
        let v: RancherVolume = serde_json::from_str(
            r#"{"id": "1v67", "type": "volume", "baseType": "volume", "name": "data",
            "state": "some-new-state", "transitioning": "error",
            "transitioningMessage": "driver failed", "transitioningProgress": null,
            "driver": "rancher-nfs", "driverOpts": null, "sizeMb": 2048, "mounts": null,
            "isHostPath": false, "accountId": "1a5", "created": "2017-01-31T22:10:05Z",
            "createdTS": 1485900605000, "removed": null, "unknownField": [1, 2],
            "links": {"self": "http://h:8080/v2-beta/projects/1a5/volumes/1v67"},
            "actions": {"remove": "http://h:8080/v2-beta/projects/1a5/volumes/1v67?action=remove"}}"#,
        )
        .unwrap();
        assert_eq!(v.state, "some-new-state");
        assert_eq!(v.transitioning(), Transitioning::Error);
        assert_eq!(v.transitioning_message(), Some("driver failed"));
        assert!(v.driver_opts.is_empty() && v.mounts.is_empty());
        assert_eq!(v.size_mb, Some(2048));
        assert!(v.action("remove").is_some() && v.action("purge").is_none());
        assert_eq!(
            v.created_at(),
            Some(UNIX_EPOCH + Duration::from_secs(1_485_900_605))
        );
        assert!(!v.is_removed());
        let no_ts: RancherVolume =
            serde_json::from_str(r#"{"id": "1v1", "created": "2017-01-31T22:10:05Z"}"#).unwrap();
        assert_eq!(no_ts.created_at(), v.created_at());
        assert_eq!(no_ts.transitioning(), Transitioning::No);
    }

    #[test]
    fn bodies_send_only_what_is_given() {
        let body = CreateBody {
            name: "a",
            driver: Some("local"),
            ..CreateBody::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "a", "driver": "local"})
        );
        let body = UpdateBody::default();
        assert_eq!(serde_json::to_string(&body).unwrap(), "{}");
    }
}
