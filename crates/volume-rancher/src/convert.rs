//! Cattle's wire types to volume-core's model.
//!
//! | Cattle | core |
//! |---|---|
//! | `transitioning: "error"`, any state | [`VolumeState::Error`] (a failure: waiters stop on it) |
//! | `requested`, `registering`, `creating` | [`VolumeState::Creating`] |
//! | `inactive`, `detached` | [`VolumeState::Available`] |
//! | `active` with `mounts` | [`VolumeState::InUse`] (one attachment per mounting container) |
//! | `active` without `mounts` (allocated) | [`VolumeState::Available`] |
//! | `activating`, `deactivating` | [`VolumeState::Attaching`], [`VolumeState::Detaching`] |
//! | `reverting-*`, `restoring-*`, `restoring` | [`VolumeState::Restoring`] |
//! | `removing`, `purging` | [`VolumeState::Deleting`] |
//! | `removed`, `purged` | [`VolumeState::Deleted`] |
//! | any other word (`updating-active`, ...) | [`VolumeState::Unknown`] |
//! | `state`, as sent | `raw_state` |
//! | `sizeMb` | `size`, rounded up to whole GiB (0 when the driver takes no size) |
//! | `accountId` (the project) | `region` |
//! | `driver` | `volume_type` |
//! | `createdTS` (or `created`) | `created_at` |
//! | `description` of exactly `vrs-idem=<key>` | the label `vrs-idem` (the idempotency key; no other label) |
//!
//! Snapshots: `requested`/`creating` are creating, `created` available,
//! `removing` deleting, `removed` deleted; a snapshot has the size of its
//! volume; a name ending in ` vrs-idem=<key>` is the core name before it
//! and the label `vrs-idem` (see [`idem`](crate::idem)). Hosts are the core's instances: `active` is running, `inactive`
//! stopped.

use volume_core::idempotency;
use volume_core::{
    Attachment, Error, Instance, InstanceId, InstanceState, RegionId, Result, Size, Snapshot,
    SnapshotId, SnapshotState, Volume, VolumeId, VolumeState,
};

use crate::idem;
use crate::wire::{Host, RancherSnapshot, RancherVolume, Resource, Transitioning};

/// Bytes in a MiB.
const MIB: u64 = 1 << 20;

/// The core state of a volume.
pub(crate) fn volume_state(v: &RancherVolume) -> VolumeState {
    if v.transitioning() == Transitioning::Error {
        return VolumeState::Error;
    }
    match v.state.as_str() {
        "requested" | "registering" | "creating" => VolumeState::Creating,
        "inactive" | "detached" => VolumeState::Available,
        "active" if v.mounts.is_empty() => VolumeState::Available,
        "active" => VolumeState::InUse,
        "activating" => VolumeState::Attaching,
        "deactivating" => VolumeState::Detaching,
        "restoring" | "reverting-active" | "reverting-inactive" | "restoring-active"
        | "restoring-inactive" => VolumeState::Restoring,
        "removing" | "purging" => VolumeState::Deleting,
        "removed" | "purged" => VolumeState::Deleted,
        other => VolumeState::Unknown(other.to_owned()),
    }
}

/// The core state of a snapshot.
pub(crate) fn snapshot_state(s: &RancherSnapshot) -> SnapshotState {
    if s.transitioning() == Transitioning::Error {
        return SnapshotState::Error;
    }
    match s.state.as_str() {
        "requested" | "creating" => SnapshotState::Creating,
        "created" => SnapshotState::Available,
        "removing" => SnapshotState::Deleting,
        "removed" => SnapshotState::Deleted,
        other => SnapshotState::Unknown(other.to_owned()),
    }
}

/// A size in MiB as whole GiB, rounded up; 0 when unknown.
pub(crate) fn size_of(size_mb: Option<i64>) -> Size {
    size_mb
        .and_then(|mb| u64::try_from(mb).ok())
        .and_then(|mb| mb.checked_mul(MIB))
        .map_or(Size::gib(0), Size::from_bytes_ceil)
}

fn bad(what: &str, id: &str, e: &Error) -> Error {
    Error::Decode {
        message: format!("Rancher sent {what} {id:?}, which is not a valid id: {e}"),
        source: None,
    }
}

/// The region of a resource: its project, or `fallback` when it names none.
pub(crate) fn region(account_id: Option<&str>, fallback: &RegionId) -> RegionId {
    account_id
        .and_then(|a| RegionId::new(a).ok())
        .unwrap_or_else(|| fallback.clone())
}

/// A Cattle volume as a core [`Volume`].
///
/// # Errors
/// [`Error::Decode`] when its id (or a mounting container's) is not a valid id.
pub(crate) fn volume(w: &RancherVolume, fallback_region: &RegionId) -> Result<Volume> {
    let id = VolumeId::new(w.id.clone()).map_err(|e| bad("a volume id", &w.id, &e))?;
    let mut v = Volume::new(
        id,
        w.name.clone(),
        size_of(w.size_mb),
        region(w.account_id.as_deref(), fallback_region),
        volume_state(w),
    );
    v.raw_state = w.state.clone();
    if w.state == "active" {
        for m in &w.mounts {
            let Some(container) = m.instance_id.as_deref() else {
                continue;
            };
            let instance =
                InstanceId::new(container).map_err(|e| bad("a container id", container, &e))?;
            let mut attachment = Attachment::new(instance);
            if let Some(path) = m.path.as_deref().filter(|p| !p.is_empty()) {
                attachment = attachment.with_device(path);
            }
            v.attachments.push(attachment);
        }
    }
    v.volume_type = w.driver.clone().filter(|d| !d.is_empty());
    v.labels = idempotency::key_labels(idem::key_in_description(w.description.as_deref()));
    v.created_at = w.created_at();
    Ok(v)
}

/// A Cattle snapshot as a core [`Snapshot`], with the size of its volume.
///
/// # Errors
/// [`Error::Decode`] when an id is not a valid id.
pub(crate) fn snapshot(w: &RancherSnapshot, size: Size, fallback: &RegionId) -> Result<Snapshot> {
    let id = SnapshotId::new(w.id.clone()).map_err(|e| bad("a snapshot id", &w.id, &e))?;
    let volume_id = match w.volume_id.as_deref() {
        Some(v) => Some(VolumeId::new(v).map_err(|e| bad("a volume id", v, &e))?),
        None => None,
    };
    let (name, key) = idempotency::split_keyed_name(&w.name);
    let mut s = Snapshot::new(
        id,
        name.to_owned(),
        volume_id,
        size,
        region(w.account_id.as_deref(), fallback),
        snapshot_state(w),
    );
    s.raw_state = w.state.clone();
    s.labels = idempotency::key_labels(key);
    s.created_at = w.created_at();
    Ok(s)
}

/// A host as a core [`Instance`].
///
/// # Errors
/// [`Error::Decode`] when its id is not a valid id.
pub(crate) fn instance(w: &Host, fallback: &RegionId) -> Result<Instance> {
    let id = InstanceId::new(w.id.clone()).map_err(|e| bad("a host id", &w.id, &e))?;
    let name = w
        .name
        .clone()
        .or_else(|| w.hostname.clone())
        .unwrap_or_else(|| w.id.clone());
    let state = match w.state.as_str() {
        "active" => InstanceState::Running,
        "inactive" => InstanceState::Stopped,
        other => InstanceState::Unknown(other.to_owned()),
    };
    let mut i = Instance::new(id, name, region(w.account_id.as_deref(), fallback), state);
    i.raw_state = w.state.clone();
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(json: serde_json::Value) -> RancherVolume {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn states_follow_the_table() {
        let cases = [
            ("requested", "yes", VolumeState::Creating),
            ("registering", "yes", VolumeState::Creating),
            ("inactive", "no", VolumeState::Available),
            ("detached", "no", VolumeState::Available),
            ("active", "no", VolumeState::Available),
            ("activating", "yes", VolumeState::Attaching),
            ("deactivating", "yes", VolumeState::Detaching),
            ("reverting-inactive", "yes", VolumeState::Restoring),
            ("restoring-active", "yes", VolumeState::Restoring),
            ("removing", "yes", VolumeState::Deleting),
            ("removed", "no", VolumeState::Deleted),
            ("purged", "no", VolumeState::Deleted),
            ("inactive", "error", VolumeState::Error),
            (
                "updating-active",
                "yes",
                VolumeState::Unknown("updating-active".into()),
            ),
        ];
        for (state, t, want) in cases {
            let v = vol(serde_json::json!({"id": "1v1", "state": state, "transitioning": t}));
            assert_eq!(volume_state(&v), want, "{state} {t}");
        }
        let v = vol(
            serde_json::json!({"id": "1v1", "state": "active", "transitioning": "no",
            "mounts": [{"instanceId": "1i9", "path": "/data", "volumeId": "1v1"}]}),
        );
        assert_eq!(volume_state(&v), VolumeState::InUse);
        let core = volume(&v, &RegionId::new("x").unwrap()).unwrap();
        assert_eq!(core.attached_to().map(InstanceId::as_str), Some("1i9"));
        assert_eq!(core.attachments[0].device.as_deref(), Some("/data"));
        assert_eq!(core.region.as_str(), "x");
    }

    #[test]
    fn a_volume_converts() {
        let v = vol(
            serde_json::json!({"id": "1v67", "name": "data", "state": "inactive",
            "transitioning": "no", "sizeMb": 1536, "driver": "rancher-nfs",
            "accountId": "1a5", "createdTS": 1_485_900_605_000_i64}),
        );
        let core = volume(&v, &RegionId::new("fallback").unwrap()).unwrap();
        assert_eq!(core.id.as_str(), "1v67");
        assert_eq!(core.size, Size::gib(2), "1536 MiB rounds up");
        assert_eq!(core.region.as_str(), "1a5");
        assert_eq!(core.raw_state, "inactive");
        assert_eq!(core.volume_type.as_deref(), Some("rancher-nfs"));
        assert!(core.created_at.is_some());
        assert_eq!(size_of(None), Size::gib(0));
        assert_eq!(size_of(Some(-5)), Size::gib(0));
        assert_eq!(size_of(Some(1024)), Size::gib(1));
    }
}
