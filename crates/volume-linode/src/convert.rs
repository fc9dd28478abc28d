//! Linode's wire types to volume-core's model.
//!
//! | Linode | core |
//! |---|---|
//! | `id` (integer) | [`VolumeId`] (its decimal digits) |
//! | `label` | `name` |
//! | `status` `active` with a `linode_id` | [`VolumeState::InUse`] |
//! | `status` `active` without | [`VolumeState::Available`] |
//! | `creating`, `resizing` | [`VolumeState::Creating`], [`VolumeState::Resizing`] |
//! | `contact_support` | [`VolumeState::Error`] (the volume failed; only support helps) |
//! | any other word (`key_rotating`, ...) | [`VolumeState::Unknown`] |
//! | `status`, as sent | `raw_state` |
//! | `linode_id`, `filesystem_path` | one [`Attachment`] with that device |
//! | `tags` | `labels`: tag `t` is label `t = ""`, tag `k=v` is label `k = v` |
//! | `hardware_type` | `volume_type` |
//! | `created` (naive UTC) | `created_at` |

use volume_core::{
    Attachment, Error, Instance, InstanceId, InstanceState, RegionId, Result, Size, Volume,
    VolumeId, VolumeState,
};

use crate::rules::tags_to_labels;
use crate::wire::{LinodeInstance, LinodeVolume};

/// The core state of a volume with Linode `status` and `linode_id`.
pub(crate) fn volume_state(status: &str, attached: bool) -> VolumeState {
    match status {
        "active" if attached => VolumeState::InUse,
        "active" => VolumeState::Available,
        "creating" => VolumeState::Creating,
        "resizing" => VolumeState::Resizing,
        "contact_support" => VolumeState::Error,
        other => VolumeState::Unknown(other.to_owned()),
    }
}

/// The core state of a Linode with `status`.
pub(crate) fn instance_state(status: &str) -> InstanceState {
    match status {
        "running" => InstanceState::Running,
        "offline" | "stopped" => InstanceState::Stopped,
        other => InstanceState::Unknown(other.to_owned()),
    }
}

fn bad_id(what: &str, id: u64, e: &Error) -> Error {
    Error::Decode {
        message: format!("Linode sent {what} id {id}, which is not a valid id: {e}"),
        source: None,
    }
}

/// A Linode volume as a core [`Volume`].
///
/// # Errors
/// [`Error::Decode`] when the volume has no region (every real answer has
/// one; only hand-written mocks lack it).
pub(crate) fn volume(w: LinodeVolume) -> Result<Volume> {
    let id = VolumeId::new(w.id.to_string()).map_err(|e| bad_id("a volume", w.id, &e))?;
    let region = match w.region.as_deref().map(RegionId::new) {
        Some(Ok(region)) => region,
        Some(Err(_)) | None => {
            return Err(Error::Decode {
                message: format!("Linode sent volume {} without a region", w.id),
                source: None,
            })
        }
    };
    let state = volume_state(&w.status, w.linode_id.is_some());
    let created_at = w.created_at();
    let mut v = Volume::new(id, w.label, Size::gib(w.size), region, state);
    v.raw_state = w.status;
    if let Some(linode) = w.linode_id {
        let instance =
            InstanceId::new(linode.to_string()).map_err(|e| bad_id("a Linode", linode, &e))?;
        let mut attachment = Attachment::new(instance);
        if let Some(path) = w.filesystem_path.filter(|p| !p.is_empty()) {
            attachment = attachment.with_device(path);
        }
        v.attachments.push(attachment);
    }
    v.labels = tags_to_labels(&w.tags);
    v.volume_type = w.hardware_type.filter(|t| !t.is_empty());
    v.created_at = created_at;
    Ok(v)
}

/// A Linode as a core [`Instance`].
///
/// # Errors
/// [`Error::Decode`] when it has no region.
pub(crate) fn instance(w: LinodeInstance) -> Result<Instance> {
    let id = InstanceId::new(w.id.to_string()).map_err(|e| bad_id("a Linode", w.id, &e))?;
    let region = RegionId::new(w.region).map_err(|_| Error::Decode {
        message: format!("Linode sent Linode {} without a region", w.id),
        source: None,
    })?;
    let mut i = Instance::new(id, w.label, region, instance_state(&w.status));
    i.raw_state = w.status;
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(volume_state("active", true), VolumeState::InUse);
        assert_eq!(volume_state("active", false), VolumeState::Available);
        assert_eq!(volume_state("creating", true), VolumeState::Creating);
        assert_eq!(volume_state("resizing", false), VolumeState::Resizing);
        assert_eq!(volume_state("contact_support", false), VolumeState::Error);
        assert_eq!(
            volume_state("key_rotating", false),
            VolumeState::Unknown("key_rotating".into())
        );
        assert_eq!(instance_state("running"), InstanceState::Running);
        assert_eq!(instance_state("offline"), InstanceState::Stopped);
        assert_eq!(
            instance_state("booting"),
            InstanceState::Unknown("booting".into())
        );
    }

    #[test]
    fn a_volume_converts() {
        let w: LinodeVolume = serde_json::from_str(
            r#"{"id": 12345, "label": "my-volume", "status": "active", "size": 30,
            "region": "us-east", "linode_id": 12346, "linode_label": "linode123",
            "filesystem_path": "/dev/disk/by-id/scsi-0Linode_Volume_my-volume",
            "tags": ["example tag", "team=storage"], "hardware_type": "nvme",
            "created": "2018-01-01T00:01:01", "updated": "2018-01-01T00:01:01"}"#,
        )
        .unwrap();
        let v = volume(w).unwrap();
        assert_eq!(v.id.as_str(), "12345");
        assert_eq!(v.name, "my-volume");
        assert_eq!(v.size, Size::gib(30));
        assert_eq!(v.region.as_str(), "us-east");
        assert_eq!(v.state, VolumeState::InUse);
        assert_eq!(v.raw_state, "active");
        assert_eq!(v.attached_to().map(InstanceId::as_str), Some("12346"));
        assert_eq!(
            v.attachments[0].device.as_deref(),
            Some("/dev/disk/by-id/scsi-0Linode_Volume_my-volume")
        );
        assert_eq!(v.labels.get("example tag").map(String::as_str), Some(""));
        assert_eq!(v.labels.get("team").map(String::as_str), Some("storage"));
        assert_eq!(v.volume_type.as_deref(), Some("nvme"));
        assert_eq!(
            v.created_at,
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_514_764_861))
        );

        let w: LinodeVolume =
            serde_json::from_str(r#"{"id": 1, "label": "a", "status": "active", "size": 10}"#)
                .unwrap();
        assert!(matches!(volume(w), Err(Error::Decode { .. })));
    }
}
