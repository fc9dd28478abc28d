use std::time::SystemTime;

use super::{BackupId, Labels, RegionId, Size, VolumeId};
use crate::state::BackupState;

/// A backup of a volume: a copy kept apart from it, which outlives the volume
/// and its snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backup {
    /// Its id.
    pub id: BackupId,
    /// Its name.
    pub name: String,
    /// The volume it was taken of.
    pub volume_id: Option<VolumeId>,
    /// The size of the volume when it was taken.
    pub size: Size,
    /// The region it lives in.
    pub region: RegionId,
    /// Its state.
    pub state: BackupState,
    /// The provider's own word for the state.
    pub raw_state: String,
    /// `true` for an incremental backup (it holds only what changed since the
    /// previous backup of the same volume).
    pub incremental: bool,
    /// Its labels.
    pub labels: Labels,
    /// When it was taken.
    pub created_at: Option<SystemTime>,
}

impl Backup {
    /// A backup with the given essentials; everything else empty.
    pub fn new(
        id: BackupId,
        name: impl Into<String>,
        volume_id: Option<VolumeId>,
        size: Size,
        region: RegionId,
        state: BackupState,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            volume_id,
            size,
            region,
            raw_state: state.as_str().to_owned(),
            state,
            incremental: false,
            labels: Labels::new(),
            created_at: None,
        }
    }
}
