//! Cinder's wire types to volume-core's model.
//!
//! - Status words map to the core states (table below) and the word itself
//!   is always kept in `raw_state`.
//! - `size` is GiB already; `metadata` is the core labels; the availability
//!   zone is the core region (`nova`, Cinder's default zone, when a volume
//!   names none); `attachments[].server_id` are the core attachments;
//!   `snapshot_id`/`source_volid` are the volume's source.
//!
//! | Cinder volume status | core state |
//! | --- | --- |
//! | `creating`, `downloading` (from an image) | `Creating` |
//! | `available` | `Available` |
//! | `reserved`, `attaching` | `Attaching` |
//! | `in-use` | `InUse` |
//! | `detaching` | `Detaching` |
//! | `extending` | `Resizing` |
//! | `backing-up` | `BackingUp` |
//! | `restoring-backup` | `Restoring` |
//! | `deleting` | `Deleting` |
//! | `error`, `error_backing-up` | `Error` |
//! | `error_deleting` | `ErrorDeleting` |
//! | `error_extending` | `ErrorResizing` |
//! | `error_restoring` | `ErrorRestoring` |
//! | `maintenance`, `awaiting-transfer`, `uploading`, `retyping`, any other | `Unknown(word)` |

use std::time::SystemTime;

use volume_core::{
    Attachment, Backup, BackupId, BackupState, Error, Instance, InstanceId, InstanceState,
    RegionId, Result, Size, Snapshot, SnapshotId, SnapshotState, Volume, VolumeId, VolumeSource,
    VolumeState,
};

use crate::wire::{CinderBackup, CinderSnapshot, CinderVolume, Server};

/// Cinder's default availability zone, for a resource that names none.
pub(crate) const DEFAULT_ZONE: &str = "nova";

/// A Cinder volume status as a core state.
pub fn volume_state(word: &str) -> VolumeState {
    match word {
        "creating" | "downloading" => VolumeState::Creating,
        "available" => VolumeState::Available,
        "reserved" | "attaching" => VolumeState::Attaching,
        "in-use" => VolumeState::InUse,
        "detaching" => VolumeState::Detaching,
        "extending" => VolumeState::Resizing,
        "backing-up" => VolumeState::BackingUp,
        "restoring-backup" => VolumeState::Restoring,
        "deleting" => VolumeState::Deleting,
        "error" | "error_backing-up" => VolumeState::Error,
        "error_deleting" => VolumeState::ErrorDeleting,
        "error_extending" => VolumeState::ErrorResizing,
        "error_restoring" => VolumeState::ErrorRestoring,
        other => VolumeState::Unknown(other.to_owned()),
    }
}

/// The one Cinder status word for a core state, where there is exactly one
/// (for the server-side `status` filter).
pub(crate) fn volume_status_word(state: &VolumeState) -> Option<&'static str> {
    Some(match state {
        VolumeState::Available => "available",
        VolumeState::InUse => "in-use",
        VolumeState::Detaching => "detaching",
        VolumeState::Resizing => "extending",
        VolumeState::BackingUp => "backing-up",
        VolumeState::Restoring => "restoring-backup",
        VolumeState::Deleting => "deleting",
        VolumeState::ErrorDeleting => "error_deleting",
        VolumeState::ErrorResizing => "error_extending",
        VolumeState::ErrorRestoring => "error_restoring",
        _ => return None,
    })
}

/// A Cinder snapshot status as a core state.
pub fn snapshot_state(word: &str) -> SnapshotState {
    match word {
        "creating" => SnapshotState::Creating,
        "available" => SnapshotState::Available,
        "deleting" => SnapshotState::Deleting,
        "deleted" => SnapshotState::Deleted,
        "error" | "error_deleting" => SnapshotState::Error,
        other => SnapshotState::Unknown(other.to_owned()),
    }
}

/// A Cinder backup status as a core state.
pub fn backup_state(word: &str) -> BackupState {
    match word {
        "creating" => BackupState::Creating,
        "available" => BackupState::Available,
        "restoring" => BackupState::Restoring,
        "deleting" => BackupState::Deleting,
        "deleted" => BackupState::Deleted,
        "error" | "error_deleting" | "error_restoring" => BackupState::Error,
        other => BackupState::Unknown(other.to_owned()),
    }
}

/// Cinder's naive UTC timestamps (`2018-11-28T06:21:12.715987`), or RFC 3339.
pub(crate) fn timestamp(text: Option<&str>) -> Option<SystemTime> {
    let text = text?.trim();
    volume_core::time::parse_naive_utc(text).or_else(|| volume_core::time::parse_rfc3339(text))
}

fn zone(az: Option<&str>) -> Result<RegionId> {
    RegionId::new(az.filter(|z| !z.trim().is_empty()).unwrap_or(DEFAULT_ZONE))
}

fn size(gib: Option<u64>) -> Size {
    Size::gib(gib.unwrap_or(0))
}

fn bad(what: &str, e: Error) -> Error {
    Error::decode(format!("Cinder sent an unusable {what}: {e}"), e)
}

/// A Cinder volume as a core [`Volume`].
pub(crate) fn volume(v: CinderVolume) -> Result<Volume> {
    let id = VolumeId::new(v.id.as_str()).map_err(|e| bad("volume id", e))?;
    let state = volume_state(&v.status);
    let mut out = Volume::new(
        id,
        v.name.unwrap_or_default(),
        size(v.size),
        zone(v.availability_zone.as_deref()).map_err(|e| bad("availability zone", e))?,
        state,
    );
    out.raw_state = v.status;
    out.labels = v.metadata;
    out.volume_type = v.volume_type;
    out.created_at = timestamp(v.created_at.as_deref());
    out.source = if let Some(snapshot) = v.snapshot_id.filter(|s| !s.is_empty()) {
        VolumeSource::Snapshot(SnapshotId::new(snapshot).map_err(|e| bad("snapshot id", e))?)
    } else if let Some(source) = v.source_volid.filter(|s| !s.is_empty()) {
        VolumeSource::Volume(VolumeId::new(source).map_err(|e| bad("volume id", e))?)
    } else {
        VolumeSource::Empty
    };
    for a in v.attachments {
        let Some(server) = a.server_id.filter(|s| !s.is_empty()) else {
            continue;
        };
        let mut attachment =
            Attachment::new(InstanceId::new(server).map_err(|e| bad("server id", e))?);
        if let Some(device) = a.device.filter(|d| !d.is_empty()) {
            attachment = attachment.with_device(device);
        }
        out.attachments.push(attachment);
    }
    Ok(out)
}

/// A Cinder snapshot as a core [`Snapshot`].
pub(crate) fn snapshot(s: CinderSnapshot) -> Result<Snapshot> {
    let id = SnapshotId::new(s.id.as_str()).map_err(|e| bad("snapshot id", e))?;
    let volume_id = s
        .volume_id
        .filter(|v| !v.is_empty())
        .map(VolumeId::new)
        .transpose()
        .map_err(|e| bad("volume id", e))?;
    let mut out = Snapshot::new(
        id,
        s.name.unwrap_or_default(),
        volume_id,
        size(s.size),
        zone(None).map_err(|e| bad("zone", e))?,
        snapshot_state(&s.status),
    );
    out.raw_state = s.status;
    out.labels = s.metadata;
    out.created_at = timestamp(s.created_at.as_deref());
    Ok(out)
}

/// A Cinder backup as a core [`Backup`].
pub(crate) fn backup(b: CinderBackup) -> Result<Backup> {
    let id = BackupId::new(b.id.as_str()).map_err(|e| bad("backup id", e))?;
    let volume_id = b
        .volume_id
        .filter(|v| !v.is_empty())
        .map(VolumeId::new)
        .transpose()
        .map_err(|e| bad("volume id", e))?;
    let raw = b.status.unwrap_or_default();
    let mut out = Backup::new(
        id,
        b.name.unwrap_or_default(),
        volume_id,
        size(b.size),
        zone(b.availability_zone.as_deref()).map_err(|e| bad("availability zone", e))?,
        backup_state(&raw),
    );
    out.raw_state = raw;
    out.incremental = b.is_incremental;
    out.labels = b.metadata;
    out.created_at = timestamp(b.created_at.as_deref());
    Ok(out)
}

/// A Nova server as a core [`Instance`].
pub(crate) fn instance(s: Server) -> Result<Instance> {
    let raw = s.status.unwrap_or_default();
    let state = match raw.as_str() {
        "ACTIVE" => InstanceState::Running,
        "SHUTOFF" | "STOPPED" | "PAUSED" | "SUSPENDED" => InstanceState::Stopped,
        other => InstanceState::Unknown(other.to_owned()),
    };
    let mut out = Instance::new(
        InstanceId::new(s.id.as_str()).map_err(|e| bad("server id", e))?,
        s.name.unwrap_or_default(),
        zone(s.availability_zone.as_deref()).map_err(|e| bad("availability zone", e))?,
        state,
    );
    out.raw_state = raw;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps_and_keeps_its_word() {
        for word in [
            "creating",
            "available",
            "reserved",
            "attaching",
            "detaching",
            "in-use",
            "maintenance",
            "deleting",
            "awaiting-transfer",
            "error",
            "error_deleting",
            "backing-up",
            "restoring-backup",
            "error_backing-up",
            "error_restoring",
            "error_extending",
            "downloading",
            "uploading",
            "retyping",
            "extending",
        ] {
            let state = volume_state(word);
            if let VolumeState::Unknown(w) = &state {
                assert_eq!(w, word);
            }
            if let Some(back) = volume_status_word(&state) {
                assert_eq!(back, word, "{word} round trip");
            }
        }
        assert!(volume_state("error_backing-up").is_failure());
        assert!(volume_state("error_extending").is_failure());
        assert_eq!(volume_state("reserved"), VolumeState::Attaching);
        assert_eq!(
            volume_state("something-new"),
            VolumeState::Unknown("something-new".into())
        );
    }

    #[test]
    fn timestamps_with_and_without_zone() {
        assert!(timestamp(Some("2018-11-28T06:21:12.715987")).is_some());
        assert!(timestamp(Some("2014-10-28T00:00:00-00:00")).is_some());
        assert!(timestamp(Some("2015-11-07T02:58:43.578887Z")).is_some());
        assert!(timestamp(Some("yesterday")).is_none());
        assert!(timestamp(None).is_none());
    }
}
