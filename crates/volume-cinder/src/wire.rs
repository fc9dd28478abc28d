//! Cinder's, Keystone's and Nova's JSON as serde types, field for field from
//! `cinder.md` and the api-ref samples.
//!
//! Unknown fields are ignored and status words are kept as sent, so a new
//! status or a field of a newer microversion never breaks decoding. Fields
//! that appear only from some microversion on are `Option`s (or default to
//! empty). Timestamps are kept as Cinder's text (naive ISO 8601, no zone);
//! [`convert`](crate::convert) parses them for the core model.
//!
//! The types users may want (a volume as Cinder describes it, volume types,
//! quotas, messages, ...) are public and re-exported from the crate root;
//! envelopes and request bodies stay private.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// `"true"`/`"false"` (Cinder's `bootable` is a string) or a JSON boolean.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
        Null(()),
    }
    Ok(match B::deserialize(d)? {
        B::Bool(b) => b,
        B::Text(t) => t.eq_ignore_ascii_case("true"),
        B::Null(()) => false,
    })
}

/// A map whose `null` is empty.
fn null_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

/// A list whose `null` is empty.
fn null_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A size that may be sent as a number or a numeric string.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(u64),
        Text(String),
        Null(()),
    }
    Ok(match N::deserialize(d)? {
        N::Num(n) => Some(n),
        N::Text(t) => t.trim().parse().ok(),
        N::Null(()) => None,
    })
}

// ----- Keystone -------------------------------------------------------------

/// `{"token": {...}}`, the body of Keystone's `201` to `POST /v3/auth/tokens`.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenEnvelope {
    pub(crate) token: KeystoneToken,
}

/// A Keystone v3 token body (the token itself travels in `X-Subject-Token`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct KeystoneToken {
    pub(crate) expires_at: Option<String>,
    pub(crate) issued_at: Option<String>,
    pub(crate) user: Option<NamedRef>,
    pub(crate) project: Option<NamedRef>,
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) catalog: Vec<CatalogEntry>,
}

/// `{"id", "name", "domain"}` of a user or project.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NamedRef {
    pub(crate) id: Option<String>,
    #[allow(dead_code)] // decoded for completeness; read in tests
    pub(crate) name: Option<String>,
}

/// One service of a Keystone catalog.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogEntry {
    #[serde(rename = "type")]
    pub(crate) service_type: String,
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) endpoints: Vec<CatalogEndpoint>,
}

/// One endpoint of a catalog entry.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogEndpoint {
    pub(crate) interface: String,
    pub(crate) region: Option<String>,
    pub(crate) region_id: Option<String>,
    pub(crate) url: String,
}

/// Keystone's error body, `{"error": {"code", "title", "message"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct KeystoneError {
    pub(crate) error: KeystoneErrorBody,
}

/// The inside of [`KeystoneError`].
#[derive(Debug, Deserialize)]
pub(crate) struct KeystoneErrorBody {
    pub(crate) title: Option<String>,
    pub(crate) message: Option<String>,
}

// ----- Cinder: versions, errors ----------------------------------------------

/// `{"versions": [...]}` (`GET /` and `GET /v3/`) or `{"version": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct VersionsDocument {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) versions: Vec<VersionEntry>,
    pub(crate) version: Option<VersionEntry>,
}

/// One API version of the versions document.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VersionEntry {
    pub(crate) id: String,
    pub(crate) status: Option<String>,
    /// The highest microversion (`""` when the API has none).
    pub(crate) version: Option<String>,
    pub(crate) min_version: Option<String>,
}

/// A Cinder (or Nova) fault: `{"<faultName>": {"code", "message"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Fault {
    pub(crate) message: Option<String>,
    #[serde(rename = "retryAfter")]
    pub(crate) retry_after: Option<serde_json::Value>,
}

/// A `rel`/`href` link (`links`, `volumes_links`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) rel: Option<String>,
}

/// The `next` link among `links`.
pub(crate) fn next_link(links: &[Link]) -> Option<&str> {
    links
        .iter()
        .find(|l| l.rel.as_deref() == Some("next"))
        .map(|l| l.href.as_str())
}

// ----- Cinder: volumes --------------------------------------------------------

/// A volume as Cinder describes it (the detail view of `GET /volumes/{id}`),
/// with everything the provider-neutral [`Volume`](volume_core::Volume)
/// leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CinderVolume {
    /// The volume's UUID.
    pub id: String,
    /// Cinder's status word, as sent (`available`, `in-use`, ...).
    pub status: String,
    /// Size in GiB.
    #[serde(deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Name (may be `null`).
    pub name: Option<String>,
    /// Description (may be `null`).
    pub description: Option<String>,
    /// The volume type's name (its id below 3.63 when the type row was not loaded).
    pub volume_type: Option<String>,
    /// The volume type's id (3.63+).
    pub volume_type_id: Option<String>,
    /// The snapshot it was created from.
    pub snapshot_id: Option<String>,
    /// The volume it was cloned from.
    pub source_volid: Option<String>,
    /// Metadata (key-value strings).
    #[serde(default, deserialize_with = "null_map")]
    pub metadata: BTreeMap<String, String>,
    /// Whether it is bootable (Cinder sends the string `"true"`/`"false"`).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub bootable: bool,
    /// Whether it is encrypted.
    #[serde(default)]
    pub encrypted: Option<bool>,
    /// Whether it may be attached to several servers.
    #[serde(default)]
    pub multiattach: Option<bool>,
    /// Its attachments (only those `attached`).
    #[serde(default, deserialize_with = "null_vec")]
    pub attachments: Vec<VolumeAttachmentInfo>,
    /// The user who created it.
    pub user_id: Option<String>,
    /// The owning project (`os-vol-tenant-attr:tenant_id`).
    #[serde(rename = "os-vol-tenant-attr:tenant_id")]
    pub project_id: Option<String>,
    /// Replication status.
    pub replication_status: Option<String>,
    /// Migration status (admins).
    pub migration_status: Option<String>,
    /// The group it belongs to (3.13+).
    pub group_id: Option<String>,
    /// Whether it counts against the quota (3.65+).
    pub consumes_quota: Option<bool>,
    /// When it was created (Cinder's naive UTC text).
    pub created_at: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
}

/// One entry of a volume's `attachments`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct VolumeAttachmentInfo {
    /// The attachment's id (the attachments API's id).
    pub attachment_id: Option<String>,
    /// The server it is attached to.
    pub server_id: Option<String>,
    /// The device path on the server, e.g. `/dev/vdb`.
    pub device: Option<String>,
    /// The host name (admins only).
    pub host_name: Option<String>,
    /// When it was attached.
    pub attached_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VolumeEnvelope {
    pub(crate) volume: CinderVolume,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VolumeList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) volumes: Vec<CinderVolume>,
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) volumes_links: Vec<Link>,
}

/// `{id, name}` of a summary list item or a create answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Summary {
    pub(crate) id: String,
    #[allow(dead_code)] // kept for completeness of the summary view
    pub(crate) name: Option<String>,
}

/// `{"metadata": {..}}`.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Metadata {
    #[serde(default, deserialize_with = "null_map")]
    pub(crate) metadata: BTreeMap<String, String>,
}

// ----- Cinder: snapshots ------------------------------------------------------

/// A snapshot as Cinder describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CinderSnapshot {
    /// The snapshot's UUID.
    pub id: String,
    /// Cinder's status word, as sent.
    pub status: String,
    /// Size in GiB (the volume's size when taken).
    #[serde(deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    /// The volume it is of.
    pub volume_id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Metadata.
    #[serde(default, deserialize_with = "null_map")]
    pub metadata: BTreeMap<String, String>,
    /// Progress, e.g. `"100%"` (detail view).
    #[serde(rename = "os-extended-snapshot-attributes:progress")]
    pub progress: Option<String>,
    /// The owning project (detail view).
    #[serde(rename = "os-extended-snapshot-attributes:project_id")]
    pub project_id: Option<String>,
    /// The user who took it (3.41+).
    pub user_id: Option<String>,
    /// When it was taken.
    pub created_at: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SnapshotEnvelope {
    pub(crate) snapshot: CinderSnapshot,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SnapshotList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) snapshots: Vec<CinderSnapshot>,
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) snapshots_links: Vec<Link>,
}

// ----- Cinder: backups --------------------------------------------------------

/// A backup as Cinder describes it (detail view).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CinderBackup {
    /// The backup's UUID.
    pub id: String,
    /// Cinder's status word, as sent.
    pub status: Option<String>,
    /// Size in GiB.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The volume it is of.
    pub volume_id: Option<String>,
    /// The snapshot it was taken from, if any.
    pub snapshot_id: Option<String>,
    /// Whether it is incremental.
    #[serde(default)]
    pub is_incremental: bool,
    /// Whether incremental backups depend on it.
    #[serde(default)]
    pub has_dependent_backups: bool,
    /// The backup container.
    pub container: Option<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Why it failed, when it did.
    pub fail_reason: Option<String>,
    /// Objects stored.
    pub object_count: Option<u64>,
    /// Metadata (3.43+).
    #[serde(default, deserialize_with = "null_map")]
    pub metadata: BTreeMap<String, String>,
    /// The owning project (3.18+).
    #[serde(rename = "os-backup-project-attr:project_id")]
    pub project_id: Option<String>,
    /// The user who made it (3.56+).
    pub user_id: Option<String>,
    /// When it was made.
    pub created_at: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
    /// The time of the data it holds.
    pub data_timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BackupEnvelope {
    pub(crate) backup: CinderBackup,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BackupList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) backups: Vec<CinderBackup>,
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) backups_links: Vec<Link>,
}

/// `{"restore": {"backup_id", "volume_id", "volume_name"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct RestoreEnvelope {
    pub(crate) restore: RestoreAnswer,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestoreAnswer {
    pub(crate) volume_id: String,
}

// ----- Cinder: attachments API --------------------------------------------------

/// An attachment of the attachments API (3.27+). `Debug` shows only the
/// keys of `connection_info`: its values can be credentials (iSCSI CHAP
/// `auth_password`, an RBD keyring).
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CinderAttachment {
    /// The attachment's id.
    pub id: String,
    /// `reserved`, `attaching`, `attached`, `detached`, ...
    pub status: String,
    /// The server (instance) it is for.
    pub instance: Option<String>,
    /// The volume.
    pub volume_id: String,
    /// `rw` or `ro` (detail view).
    pub attach_mode: Option<String>,
    /// When it was attached (`""` when not).
    pub attached_at: Option<String>,
    /// When it was detached (`""` when not).
    pub detached_at: Option<String>,
    /// The connection information, once a connector was given.
    pub connection_info: Option<serde_json::Value>,
}

impl std::fmt::Debug for CinderAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Option<Vec<&str>> = self.connection_info.as_ref().map(|c| {
            c.as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default()
        });
        f.debug_struct("CinderAttachment")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("instance", &self.instance)
            .field("volume_id", &self.volume_id)
            .field("attach_mode", &self.attach_mode)
            .field("attached_at", &self.attached_at)
            .field("detached_at", &self.detached_at)
            .field("connection_info_keys", &keys)
            .finish()
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct AttachmentEnvelope {
    pub(crate) attachment: CinderAttachment,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AttachmentList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) attachments: Vec<CinderAttachment>,
}

// ----- Nova -------------------------------------------------------------------

/// A Nova volume attachment (`os-volume_attachments`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ServerVolumeAttachment {
    /// The attachment id (the volume id in the base microversion).
    pub id: Option<String>,
    /// The server.
    #[serde(rename = "serverId")]
    pub server_id: String,
    /// The volume.
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    /// The device path, e.g. `/dev/vdb`.
    pub device: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServerAttachmentEnvelope {
    #[serde(rename = "volumeAttachment")]
    pub(crate) attachment: ServerVolumeAttachment,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServerAttachmentList {
    #[serde(rename = "volumeAttachments", default, deserialize_with = "null_vec")]
    pub(crate) attachments: Vec<ServerVolumeAttachment>,
}

/// A Nova server, as far as volumes care.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Server {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) status: Option<String>,
    #[serde(rename = "OS-EXT-AZ:availability_zone")]
    pub(crate) availability_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServerEnvelope {
    pub(crate) server: Server,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServerList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) servers: Vec<Server>,
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) servers_links: Vec<Link>,
}

// ----- Cinder: types, QoS, limits, quotas, zones, messages -----------------------

/// A volume type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct VolumeType {
    /// Its id.
    pub id: String,
    /// Its name (`__DEFAULT__` for the built-in one).
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Whether every project may use it.
    #[serde(default)]
    pub is_public: Option<bool>,
    /// Its extra specs (backend capabilities and settings).
    #[serde(default, deserialize_with = "null_map")]
    pub extra_specs: BTreeMap<String, String>,
    /// The QoS specs associated with it.
    pub qos_specs_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VolumeTypeEnvelope {
    pub(crate) volume_type: VolumeType,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VolumeTypeList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) volume_types: Vec<VolumeType>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExtraSpecs {
    #[serde(default, deserialize_with = "null_map")]
    pub(crate) extra_specs: BTreeMap<String, String>,
}

/// A set of QoS specs (admins).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct QosSpecs {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `front-end`, `back-end` or `both`.
    pub consumer: Option<String>,
    /// The specs, e.g. `read_iops_sec`.
    #[serde(default, deserialize_with = "null_map")]
    pub specs: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct QosEnvelope {
    pub(crate) qos_specs: QosSpecs,
}

#[derive(Debug, Deserialize)]
pub(crate) struct QosList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) qos_specs: Vec<QosSpecs>,
}

/// The absolute limits of `GET /limits` (`-1` is unlimited).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AbsoluteLimits {
    /// Most volumes.
    pub max_total_volumes: Option<i64>,
    /// Volumes in use.
    pub total_volumes_used: Option<i64>,
    /// Most GiB of volumes and snapshots.
    pub max_total_volume_gigabytes: Option<i64>,
    /// GiB in use.
    pub total_gigabytes_used: Option<i64>,
    /// Most snapshots.
    pub max_total_snapshots: Option<i64>,
    /// Snapshots in use.
    pub total_snapshots_used: Option<i64>,
    /// Most backups.
    pub max_total_backups: Option<i64>,
    /// Backups in use.
    pub total_backups_used: Option<i64>,
    /// Most GiB of backups.
    pub max_total_backup_gigabytes: Option<i64>,
    /// GiB of backups in use.
    pub total_backup_gigabytes_used: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LimitsEnvelope {
    pub(crate) limits: LimitsBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LimitsBody {
    #[serde(default)]
    pub(crate) absolute: AbsoluteLimits,
}

/// One quota of a quota set: its limit (`-1` is unlimited), and with
/// `usage=true` what is in use and reserved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Quota {
    /// The limit; `-1` means unlimited.
    pub limit: i64,
    /// In use (only when asked for usage).
    pub in_use: Option<i64>,
    /// Reserved (only when asked for usage).
    pub reserved: Option<i64>,
}

/// A project's quota set (`os-quota-sets`): `volumes`, `gigabytes`,
/// `snapshots`, `backups`, `backup_gigabytes`, `per_volume_gigabytes`,
/// `groups`, and per-type keys such as `gigabytes___DEFAULT__`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaSet {
    /// The project.
    pub project_id: String,
    /// Each quota by its key.
    pub quotas: BTreeMap<String, Quota>,
}

impl QuotaSet {
    /// The quota `key` (`"volumes"`, `"gigabytes"`, ...), when the set has it.
    pub fn get(&self, key: &str) -> Option<&Quota> {
        self.quotas.get(key)
    }
}

impl<'de> Deserialize<'de> for QuotaSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Value {
            Limit(i64),
            Usage(Quota),
            Other(serde_json::Value),
        }
        let raw = BTreeMap::<String, Value>::deserialize(d)?;
        let mut set = Self::default();
        for (key, value) in raw {
            match value {
                Value::Limit(limit) => {
                    set.quotas.insert(
                        key,
                        Quota {
                            limit,
                            ..Quota::default()
                        },
                    );
                }
                Value::Usage(quota) => {
                    set.quotas.insert(key, quota);
                }
                Value::Other(serde_json::Value::String(id)) if key == "id" => set.project_id = id,
                Value::Other(_) => {}
            }
        }
        Ok(set)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct QuotaEnvelope {
    pub(crate) quota_set: QuotaSet,
}

/// An availability zone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AvailabilityZone {
    /// Its name.
    pub name: String,
    /// Whether it takes new volumes.
    pub available: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ZoneList {
    #[serde(
        rename = "availabilityZoneInfo",
        default,
        deserialize_with = "null_vec"
    )]
    pub(crate) zones: Vec<ZoneInfo>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ZoneInfo {
    #[serde(rename = "zoneName")]
    pub(crate) name: String,
    #[serde(rename = "zoneState")]
    pub(crate) state: Option<ZoneState>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ZoneState {
    #[serde(default)]
    pub(crate) available: bool,
}

/// A user message (`/messages`, 3.3+): why an asynchronous operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Message {
    /// Its id.
    pub id: String,
    /// The event, e.g. `VOLUME_000002`.
    pub event_id: Option<String>,
    /// What went wrong, for people.
    pub user_message: Option<String>,
    /// `ERROR`, ...
    pub message_level: Option<String>,
    /// `VOLUME`, `SNAPSHOT`, ...
    pub resource_type: Option<String>,
    /// The resource it is about.
    pub resource_uuid: Option<String>,
    /// The request that led to it.
    pub request_id: Option<String>,
    /// When it was recorded.
    pub created_at: Option<String>,
    /// Until when it is kept.
    pub guaranteed_until: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageEnvelope {
    pub(crate) message: Message,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageList {
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) messages: Vec<Message>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attachment_never_shows_its_connection_secrets() {
        let a: CinderAttachment = serde_json::from_value(serde_json::json!({
            "id": "a", "status": "attached", "instance": "i", "volume_id": "v",
            "connection_info": {"driver_volume_type": "iscsi", "data": {"auth_password": "chap-s3cret"}}
        }))
        .unwrap();
        let shown = format!("{a:?}");
        assert!(!shown.contains("chap-s3cret"), "{shown}");
        assert!(shown.contains("driver_volume_type"), "{shown}");
    }
}
