//! LunaNode's wire types to volume-core's model.
//!
//! Sizes arrive as strings of whole GB, times as RFC 3339 strings, ids as
//! strings; a value that does not parse is a [`Error::Decode`] naming the
//! field and the value. The two status vocabularies (lunanode.md §5) are
//! merged into one [`VolumeState`]:
//!
//! | `volume/info` `status` | state |
//! |---|---|
//! | `creating`, `available`, `attaching`, `in-use`, `detaching`, `deleting` | the same core state |
//! | `extending` | `resizing` |
//! | `error`, `error_deleting`, `error_extending` | `error`, `error-deleting`, `error-resizing` |
//!
//! | `volume/list` `status` | state (when `info` is not known) |
//! |---|---|
//! | `pending` | `creating` |
//! | `active` | `available` |
//! | `error` | `error` |
//!
//! Anything else is [`VolumeState::Unknown`] with the word kept; the word
//! `raw_state` keeps is the info one when known (it says more), else the
//! list one. [`VolumeDetails`](crate::VolumeDetails) keeps both.
//!
//! A `name` ending in ` vrs-idem=<key>` is the core name before it and the
//! label `vrs-idem` (the idempotency key, see [`idem`](crate::idem)); no
//! other label exists.

use volume_core::time::parse_rfc3339;
use volume_core::{
    Attachment, Error, Instance, InstanceId, InstanceState, RegionId, Result, Size, Snapshot,
    SnapshotId, SnapshotState, Volume, VolumeId, VolumeState,
};

use crate::idem;
use crate::wire::{InfoVolume, ListedVolume, WireSnapshot, WireVm};

/// A string of whole GB as a size.
pub(crate) fn size(field: &str, text: &str) -> Result<Size> {
    text.trim()
        .parse::<u64>()
        .map(Size::gib)
        .map_err(|e| Error::decode(format!("{field} {text:?} is not a whole number of GB"), e))
}

fn id_error(field: &str, text: &str, e: Error) -> Error {
    Error::decode(format!("{field} {text:?} is not a valid id"), e)
}

fn region(field: &str, text: &str) -> Result<RegionId> {
    RegionId::new(text).map_err(|e| Error::decode(format!("{field} {text:?} is not a region"), e))
}

/// The core state of a `volume/info` status word.
pub(crate) fn info_state(word: &str) -> VolumeState {
    match word {
        "creating" => VolumeState::Creating,
        "available" => VolumeState::Available,
        "attaching" => VolumeState::Attaching,
        "in-use" => VolumeState::InUse,
        "detaching" => VolumeState::Detaching,
        "extending" => VolumeState::Resizing,
        "deleting" => VolumeState::Deleting,
        "error" => VolumeState::Error,
        "error_deleting" => VolumeState::ErrorDeleting,
        "error_extending" => VolumeState::ErrorResizing,
        other => VolumeState::Unknown(other.to_owned()),
    }
}

/// The core state of a `volume/list` status word.
pub(crate) fn list_state(word: &str) -> VolumeState {
    match word {
        "pending" => VolumeState::Creating,
        "active" => VolumeState::Available,
        "error" => VolumeState::Error,
        other => VolumeState::Unknown(other.to_owned()),
    }
}

/// The two words merged: info's when it names a known state; else a
/// `pending` list record is still creating; else info's word, unknown.
pub(crate) fn merged_state(info: &str, list: Option<&str>) -> VolumeState {
    match (info_state(info), list) {
        (VolumeState::Unknown(_), Some("pending")) => VolumeState::Creating,
        (VolumeState::Unknown(_), Some(l)) if info.is_empty() => list_state(l),
        (state, _) => state,
    }
}

fn snapshot_state(word: &str) -> SnapshotState {
    match word {
        "creating" => SnapshotState::Creating,
        "available" => SnapshotState::Available,
        "deleting" => SnapshotState::Deleting,
        "error" => SnapshotState::Error,
        other => SnapshotState::Unknown(other.to_owned()),
    }
}

/// A volume from its list entry alone (state from the list word; no
/// attachment known).
pub(crate) fn volume_from_list(v: &ListedVolume) -> Result<Volume> {
    let id = VolumeId::new(v.id.clone()).map_err(|e| id_error("id", &v.id, e))?;
    let (name, labels) = idem::name_and_labels(&v.name);
    let mut volume = Volume::new(
        id,
        name,
        size("size", &v.size)?,
        region("region", &v.region)?,
        list_state(&v.status),
    );
    volume.raw_state.clone_from(&v.status);
    volume.labels = labels;
    volume.created_at = time(&v.time_created)?;
    Ok(volume)
}

/// A volume from `info`, with the region (and creation time, when info
/// lacks it) of its list entry; `default_region` when there is none.
pub(crate) fn volume_from_info(
    info: &InfoVolume,
    listed: Option<&ListedVolume>,
    default_region: &RegionId,
) -> Result<Volume> {
    let id = VolumeId::new(info.id.clone()).map_err(|e| id_error("id", &info.id, e))?;
    let region = match listed {
        Some(l) if !l.region.is_empty() => region("region", &l.region)?,
        _ => default_region.clone(),
    };
    let state = merged_state(&info.status, listed.map(|l| l.status.as_str()));
    let (name, labels) = idem::name_and_labels(&info.name);
    let mut volume = Volume::new(id, name, size("size", &info.size)?, region, state);
    volume.raw_state.clone_from(&info.status);
    volume.labels = labels;
    volume.created_at = match time(&info.created)? {
        Some(t) => Some(t),
        None => listed.map(|l| time(&l.time_created)).transpose()?.flatten(),
    };
    if !info.attached.trim().is_empty() {
        let vm = InstanceId::new(info.attached.trim())
            .map_err(|e| id_error("attached", &info.attached, e))?;
        volume.attachments.push(Attachment::new(vm));
    }
    Ok(volume)
}

fn time(text: &str) -> Result<Option<std::time::SystemTime>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_rfc3339(text.trim())
        .map(Some)
        .ok_or_else(|| Error::decode(format!("time {text:?} is not an RFC 3339 time"), "bad time"))
}

/// A snapshot; its region is the snapshot-list's `region` (or the region
/// asked for, when it is missing).
pub(crate) fn snapshot(s: &WireSnapshot, asked: &RegionId) -> Result<Snapshot> {
    let id = SnapshotId::new(s.id.clone()).map_err(|e| id_error("id", &s.id, e))?;
    let volume_id = match &s.volume {
        Some(v) => Some(VolumeId::new(v.id.clone()).map_err(|e| id_error("volume.id", &v.id, e))?),
        None => None,
    };
    let region = if s.region.is_empty() {
        asked.clone()
    } else {
        region("region", &s.region)?
    };
    let (name, labels) = idem::name_and_labels(&s.name);
    let mut snap = Snapshot::new(
        id,
        name,
        volume_id,
        size("size", &s.size)?,
        region,
        snapshot_state(&s.status),
    );
    snap.raw_state.clone_from(&s.status);
    snap.labels = labels;
    // LunaNode shows no snapshot time: `created_at` stays unknown.
    Ok(snap)
}

/// A VM as an instance volumes attach to. LunaNode's VM status words are
/// not documented: `active`/`running`/empty are running, `stopped`/`shutoff`
/// stopped, anything else kept as it is.
pub(crate) fn instance(vm: &WireVm, default_region: &RegionId) -> Result<Instance> {
    let id = InstanceId::new(vm.vm_id.clone()).map_err(|e| id_error("vm_id", &vm.vm_id, e))?;
    let region = if vm.region.is_empty() {
        default_region.clone()
    } else {
        region("region", &vm.region)?
    };
    let state = match vm.status.to_ascii_lowercase().as_str() {
        "" | "active" | "running" | "online" => InstanceState::Running,
        "stopped" | "shutoff" | "offline" => InstanceState::Stopped,
        other => InstanceState::Unknown(other.to_owned()),
    };
    let mut i = Instance::new(id, vm.name.clone(), region, state);
    if !vm.status.is_empty() {
        i.raw_state.clone_from(&vm.status);
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_vocabularies_merge() {
        assert_eq!(
            merged_state("available", Some("active")),
            VolumeState::Available
        );
        assert_eq!(merged_state("in-use", Some("active")), VolumeState::InUse);
        assert_eq!(merged_state("", Some("pending")), VolumeState::Creating);
        assert_eq!(
            merged_state("weird", Some("pending")),
            VolumeState::Creating
        );
        assert_eq!(
            merged_state("weird", Some("active")),
            VolumeState::Unknown("weird".into())
        );
        assert_eq!(list_state("pending"), VolumeState::Creating);
        assert_eq!(info_state("extending"), VolumeState::Resizing);
    }

    #[test]
    fn bad_sizes_are_decode_errors() {
        let e = size("size", "ten").unwrap_err();
        assert!(matches!(e, Error::Decode { .. }));
        assert!(e.to_string().contains("ten"));
        assert_eq!(size("size", "100").unwrap(), Size::gib(100));
    }
}
