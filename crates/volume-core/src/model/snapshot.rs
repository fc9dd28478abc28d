use std::time::SystemTime;

use super::{Labels, RegionId, Size, SnapshotId, VolumeId};
use crate::state::SnapshotState;

/// A point-in-time, read-only copy of a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Its id.
    pub id: SnapshotId,
    /// Its name.
    pub name: String,
    /// The volume it was taken of (`None` once that is gone, on providers that forget).
    pub volume_id: Option<VolumeId>,
    /// The size of the volume when it was taken.
    pub size: Size,
    /// The region it lives in.
    pub region: RegionId,
    /// Its state.
    pub state: SnapshotState,
    /// The provider's own word for the state.
    pub raw_state: String,
    /// Its labels.
    pub labels: Labels,
    /// When it was taken.
    pub created_at: Option<SystemTime>,
}

impl Snapshot {
    /// A snapshot with the given essentials; everything else empty.
    pub fn new(
        id: SnapshotId,
        name: impl Into<String>,
        volume_id: Option<VolumeId>,
        size: Size,
        region: RegionId,
        state: SnapshotState,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            volume_id,
            size,
            region,
            raw_state: state.as_str().to_owned(),
            state,
            labels: Labels::new(),
            created_at: None,
        }
    }
}
