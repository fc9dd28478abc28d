//! Exoscale's wire types to volume-core's model.
//!
//! | Exoscale volume | core |
//! |---|---|
//! | `id` (UUID) | [`VolumeId`] |
//! | `name`, `labels` | `name`, `labels` |
//! | `size` (GiB; bytes before GA) | `size` |
//! | the client's zone | `region` |
//! | `creating`, `attaching`, `detaching`, `snapshotting`, `deleting`, `deleted`, `error` | the state of that name |
//! | `detached` | [`VolumeState::Available`] |
//! | `attached` | [`VolumeState::InUse`] |
//! | any other word | [`VolumeState::Unknown`] |
//! | `state`, as sent | `raw_state` |
//! | `instance.id` | one [`Attachment`] |
//! | `created-at` (RFC 3339) | `created_at` |
//!
//! | Exoscale snapshot | core |
//! |---|---|
//! | `allocated`, `creating`, `promoting` | [`SnapshotState::Creating`] |
//! | `created` | [`SnapshotState::Available`] |
//! | `destroying` | [`SnapshotState::Deleting`] |
//! | `destroyed` | [`SnapshotState::Deleted`] |
//! | `partially-destroyed`, `error` | [`SnapshotState::Error`] (a failed deletion can be deleted again) |
//! | `volume-size` (else `size`) | `size` (the size of a volume made from it) |
//! | `block-storage-volume.id` | `volume_id` |

use volume_core::{
    Attachment, Error, Instance, InstanceId, InstanceState, RegionId, Result, Size, Snapshot,
    SnapshotId, SnapshotState, Volume, VolumeId, VolumeState,
};

use crate::wire::{ExoscaleInstance, ExoscaleSnapshot, ExoscaleVolume};

/// The core state of a volume in Exoscale `state`.
pub(crate) fn volume_state(state: &str) -> VolumeState {
    match state {
        "creating" => VolumeState::Creating,
        "detached" => VolumeState::Available,
        "attaching" => VolumeState::Attaching,
        "attached" => VolumeState::InUse,
        "detaching" => VolumeState::Detaching,
        "snapshotting" => VolumeState::Snapshotting,
        "deleting" => VolumeState::Deleting,
        "deleted" => VolumeState::Deleted,
        "error" => VolumeState::Error,
        other => VolumeState::Unknown(other.to_owned()),
    }
}

/// The core state of a snapshot in Exoscale `state`.
pub(crate) fn snapshot_state(state: &str) -> SnapshotState {
    match state {
        "allocated" | "creating" | "promoting" => SnapshotState::Creating,
        "created" => SnapshotState::Available,
        "destroying" => SnapshotState::Deleting,
        "destroyed" => SnapshotState::Deleted,
        "partially-destroyed" | "error" => SnapshotState::Error,
        other => SnapshotState::Unknown(other.to_owned()),
    }
}

/// The core state of an instance in Exoscale `state`.
pub(crate) fn instance_state(state: &str) -> InstanceState {
    match state {
        "running" => InstanceState::Running,
        "stopped" => InstanceState::Stopped,
        other => InstanceState::Unknown(other.to_owned()),
    }
}

fn bad(what: &str, id: &str, e: &Error) -> Error {
    Error::Decode {
        message: format!("Exoscale sent {what} id {id:?}, which is not a valid id: {e}"),
        source: None,
    }
}

/// An Exoscale volume as a core [`Volume`] in `zone`.
///
/// # Errors
/// [`Error::Decode`] for an id that cannot be one.
pub(crate) fn volume(w: ExoscaleVolume, zone: &RegionId) -> Result<Volume> {
    let id = VolumeId::new(w.id.clone()).map_err(|e| bad("a volume", &w.id, &e))?;
    let size = Size::gib(w.size_gib().unwrap_or(0));
    let created_at = w.created();
    let mut v = Volume::new(id, w.name, size, zone.clone(), volume_state(&w.state));
    if let Some(instance) = w.instance.as_ref().and_then(|r| r.id()) {
        let instance = InstanceId::new(instance).map_err(|e| bad("an instance", instance, &e))?;
        v.attachments.push(Attachment::new(instance));
    }
    v.raw_state = w.state;
    v.labels = w.labels;
    v.created_at = created_at;
    Ok(v)
}

/// An Exoscale snapshot as a core [`Snapshot`] in `zone`.
///
/// # Errors
/// [`Error::Decode`] for an id that cannot be one.
pub(crate) fn snapshot(w: ExoscaleSnapshot, zone: &RegionId) -> Result<Snapshot> {
    let id = SnapshotId::new(w.id.clone()).map_err(|e| bad("a snapshot", &w.id, &e))?;
    let volume_id = match w.block_storage_volume.as_ref().and_then(|r| r.id()) {
        Some(v) => Some(VolumeId::new(v).map_err(|e| bad("a volume", v, &e))?),
        None => None,
    };
    let size = Size::gib(w.volume_size_gib().unwrap_or(0));
    let created_at = w.created();
    let mut s = Snapshot::new(
        id,
        w.name,
        volume_id,
        size,
        zone.clone(),
        snapshot_state(&w.state),
    );
    s.raw_state = w.state;
    s.labels = w.labels;
    s.created_at = created_at;
    Ok(s)
}

/// An Exoscale instance as a core [`Instance`] in `zone`.
pub(crate) fn instance(w: ExoscaleInstance, zone: &RegionId) -> Result<Instance> {
    let id = InstanceId::new(w.id.clone()).map_err(|e| bad("an instance", &w.id, &e))?;
    let mut i = Instance::new(id, w.name, zone.clone(), instance_state(&w.state));
    i.raw_state = w.state;
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        for (word, state) in [
            ("creating", VolumeState::Creating),
            ("detached", VolumeState::Available),
            ("attaching", VolumeState::Attaching),
            ("attached", VolumeState::InUse),
            ("detaching", VolumeState::Detaching),
            ("snapshotting", VolumeState::Snapshotting),
            ("deleting", VolumeState::Deleting),
            ("deleted", VolumeState::Deleted),
            ("error", VolumeState::Error),
            ("frobbing", VolumeState::Unknown("frobbing".into())),
        ] {
            assert_eq!(volume_state(word), state, "{word}");
        }
        for (word, state) in [
            ("allocated", SnapshotState::Creating),
            ("creating", SnapshotState::Creating),
            ("promoting", SnapshotState::Creating),
            ("created", SnapshotState::Available),
            ("destroying", SnapshotState::Deleting),
            ("destroyed", SnapshotState::Deleted),
            ("partially-destroyed", SnapshotState::Error),
            ("error", SnapshotState::Error),
            ("new", SnapshotState::Unknown("new".into())),
        ] {
            assert_eq!(snapshot_state(word), state, "{word}");
        }
        assert_eq!(instance_state("running"), InstanceState::Running);
        assert_eq!(instance_state("stopped"), InstanceState::Stopped);
        assert_eq!(
            instance_state("starting"),
            InstanceState::Unknown("starting".into())
        );
    }

    #[test]
    fn a_volume_and_a_snapshot_convert() {
        let zone = RegionId::new("ch-gva-2").unwrap();
        let w: ExoscaleVolume = serde_json::from_str(
            r#"{"id":"e429973e-c499-4f66-a64e-a22aa673c32b","name":"v","size":100,
            "state":"attached","instance":{"id":"22222222-2222-2222-2222-222222222222"},
            "labels":{"env":"prod"},"created-at":"2024-02-20T16:43:32Z"}"#,
        )
        .unwrap();
        let v = volume(w, &zone).unwrap();
        assert_eq!(v.size, Size::gib(100));
        assert_eq!(v.state, VolumeState::InUse);
        assert_eq!(v.raw_state, "attached");
        assert_eq!(v.region, zone);
        assert_eq!(
            v.attached_to().map(InstanceId::as_str),
            Some("22222222-2222-2222-2222-222222222222")
        );
        assert_eq!(v.labels["env"], "prod");
        assert_eq!(
            v.created_at,
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_708_447_412))
        );

        let w: ExoscaleSnapshot = serde_json::from_str(
            r#"{"id":"s","name":"n","size":3,"volume-size":42,"state":"created",
            "block-storage-volume":{"id":"v"},"labels":{}}"#,
        )
        .unwrap();
        let s = snapshot(w, &zone).unwrap();
        assert_eq!(s.size, Size::gib(42));
        assert_eq!(s.state, SnapshotState::Available);
        assert_eq!(s.volume_id.as_ref().map(VolumeId::as_str), Some("v"));
    }
}
