//! Provider-neutral requests: `#[non_exhaustive]` structs with a `new(..)`
//! for what is required and `with_*` setters for the rest.

use super::{BackupId, InstanceId, Labels, RegionId, Size, SnapshotId, VolumeId};
use crate::state::VolumeState;

/// What a new volume starts from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VolumeSource {
    /// Nothing: it reads as zeros.
    #[default]
    Empty,
    /// The contents of a snapshot.
    Snapshot(SnapshotId),
    /// A clone of another volume's current contents.
    Volume(VolumeId),
    /// The contents of a backup.
    Backup(BackupId),
}

/// Create a volume.
///
/// ```
/// use volume_core::{CreateVolume, Size, RegionId};
/// let req = CreateVolume::new("data", Size::gib(20))
///     .with_region(RegionId::new("us-east").unwrap())
///     .with_label("team", "storage");
/// assert_eq!(req.size, Some(Size::gib(20)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateVolume {
    /// Its name.
    pub name: String,
    /// Its size; `None` takes the source's size (required for an empty volume).
    pub size: Option<Size>,
    /// Its region; `None` takes the provider's default (or the instance's).
    pub region: Option<RegionId>,
    /// What it starts from.
    pub source: VolumeSource,
    /// Its labels.
    pub labels: Labels,
    /// An instance to attach it to once created.
    pub attach_to: Option<InstanceId>,
    /// A volume type, on providers that have them.
    pub volume_type: Option<String>,
}

impl CreateVolume {
    /// An empty volume named `name` of `size`.
    pub fn new(name: impl Into<String>, size: Size) -> Self {
        Self {
            name: name.into(),
            size: Some(size),
            region: None,
            source: VolumeSource::Empty,
            labels: Labels::new(),
            attach_to: None,
            volume_type: None,
        }
    }

    /// A volume named `name` with the contents of `snapshot`, of the
    /// snapshot's size unless [`with_size`](Self::with_size) asks for more.
    pub fn from_snapshot(name: impl Into<String>, snapshot: SnapshotId) -> Self {
        Self {
            size: None,
            source: VolumeSource::Snapshot(snapshot),
            ..Self::new(name, Size::gib(0))
        }
    }

    /// A volume named `name` with the contents of `backup`.
    pub fn from_backup(name: impl Into<String>, backup: BackupId) -> Self {
        Self {
            size: None,
            source: VolumeSource::Backup(backup),
            ..Self::new(name, Size::gib(0))
        }
    }

    /// Sets the size.
    pub fn with_size(mut self, size: Size) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets the region.
    pub fn with_region(mut self, region: RegionId) -> Self {
        self.region = Some(region);
        self
    }

    /// Sets the source.
    pub fn with_source(mut self, source: VolumeSource) -> Self {
        self.source = source;
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Replaces all labels.
    pub fn with_labels(mut self, labels: Labels) -> Self {
        self.labels = labels;
        self
    }

    /// Attaches it to `instance` once created.
    pub fn with_attach_to(mut self, instance: InstanceId) -> Self {
        self.attach_to = Some(instance);
        self
    }

    /// Sets the volume type.
    pub fn with_volume_type(mut self, volume_type: impl Into<String>) -> Self {
        self.volume_type = Some(volume_type.into());
        self
    }
}

/// Change a volume's name or labels; fields left `None` stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UpdateVolume {
    /// A new name.
    pub name: Option<String>,
    /// New labels, replacing all the old ones.
    pub labels: Option<Labels>,
}

impl UpdateVolume {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the volume.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Replaces the labels.
    pub fn with_labels(mut self, labels: Labels) -> Self {
        self.labels = Some(labels);
        self
    }
}

/// Clone a volume into a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloneVolume {
    /// The new volume's name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
}

impl CloneVolume {
    /// A clone named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            labels: Labels::new(),
        }
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// Take a snapshot of a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateSnapshot {
    /// The volume.
    pub volume_id: VolumeId,
    /// The snapshot's name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
}

impl CreateSnapshot {
    /// A snapshot of `volume_id` named `name`.
    pub fn new(volume_id: VolumeId, name: impl Into<String>) -> Self {
        Self {
            volume_id,
            name: name.into(),
            labels: Labels::new(),
        }
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// Back up a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateBackup {
    /// The volume.
    pub volume_id: VolumeId,
    /// The backup's name.
    pub name: String,
    /// Incremental: keep only what changed since the volume's last backup
    /// (the provider refuses when there is none).
    pub incremental: bool,
    /// Its labels.
    pub labels: Labels,
}

impl CreateBackup {
    /// A full backup of `volume_id` named `name`.
    pub fn new(volume_id: VolumeId, name: impl Into<String>) -> Self {
        Self {
            volume_id,
            name: name.into(),
            incremental: false,
            labels: Labels::new(),
        }
    }

    /// Makes it incremental.
    pub fn incremental(mut self, incremental: bool) -> Self {
        self.incremental = incremental;
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// Restore a backup: into a new volume (the default) or over an existing one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RestoreBackup {
    /// The name of the new volume (ignored when restoring over `volume_id`).
    pub name: Option<String>,
    /// An existing, available volume to overwrite; it must be at least as
    /// large as the backup.
    pub volume_id: Option<VolumeId>,
}

impl RestoreBackup {
    /// Restore into a new volume named `name`.
    pub fn to_new_volume(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            volume_id: None,
        }
    }

    /// Restore over the existing volume `volume_id`.
    pub fn over_volume(volume_id: VolumeId) -> Self {
        Self {
            name: None,
            volume_id: Some(volume_id),
        }
    }
}

/// Which volumes to list. Every field set must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListVolumes {
    /// Exactly this name.
    pub name: Option<String>,
    /// In this region.
    pub region: Option<RegionId>,
    /// In this state.
    pub state: Option<VolumeState>,
    /// Attached to this instance.
    pub attached_to: Option<InstanceId>,
    /// Carrying every one of these labels with these values.
    pub labels: Labels,
    /// How many per page; `None` takes the provider's default. Providers
    /// clamp it to what they allow.
    pub page_size: Option<u32>,
}

impl ListVolumes {
    /// Every volume.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only volumes named `name`.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only volumes in `region`.
    pub fn with_region(mut self, region: RegionId) -> Self {
        self.region = Some(region);
        self
    }

    /// Only volumes in `state`.
    pub fn with_state(mut self, state: VolumeState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only volumes attached to `instance`.
    pub fn with_attached_to(mut self, instance: InstanceId) -> Self {
        self.attached_to = Some(instance);
        self
    }

    /// Only volumes with this label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// Whether `volume` matches every condition set (for backends that
    /// filter on their side of the wire, like the simulator).
    pub fn matches(&self, volume: &super::Volume) -> bool {
        self.name.as_ref().is_none_or(|n| *n == volume.name)
            && self.region.as_ref().is_none_or(|r| *r == volume.region)
            && self.state.as_ref().is_none_or(|s| *s == volume.state)
            && self
                .attached_to
                .as_ref()
                .is_none_or(|i| volume.attachments.iter().any(|a| a.instance == *i))
            && self
                .labels
                .iter()
                .all(|(k, v)| volume.labels.get(k) == Some(v))
    }
}

/// Which snapshots to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListSnapshots {
    /// Only snapshots of this volume.
    pub volume_id: Option<VolumeId>,
    /// How many per page.
    pub page_size: Option<u32>,
}

impl ListSnapshots {
    /// Every snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only snapshots of `volume_id`.
    pub fn with_volume(mut self, volume_id: VolumeId) -> Self {
        self.volume_id = Some(volume_id);
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }
}

/// Which backups to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListBackups {
    /// Only backups of this volume.
    pub volume_id: Option<VolumeId>,
    /// How many per page.
    pub page_size: Option<u32>,
}

impl ListBackups {
    /// Every backup.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only backups of `volume_id`.
    pub fn with_volume(mut self, volume_id: VolumeId) -> Self {
        self.volume_id = Some(volume_id);
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }
}
