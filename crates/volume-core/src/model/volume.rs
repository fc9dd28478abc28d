use std::time::SystemTime;

use super::{Attachment, InstanceId, Labels, RegionId, Size, VolumeId, VolumeSource};
use crate::state::VolumeState;

/// A block-storage volume.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Volume {
    /// Its id.
    pub id: VolumeId,
    /// Its name (Linode: label).
    pub name: String,
    /// Its size.
    pub size: Size,
    /// The region or zone it lives in.
    pub region: RegionId,
    /// Its state, in neutral words.
    pub state: VolumeState,
    /// The provider's own word for the state, e.g. `"active"`.
    pub raw_state: String,
    /// The instances it is attached to (at most one on most providers).
    pub attachments: Vec<Attachment>,
    /// Its labels.
    pub labels: Labels,
    /// What it was created from, when the provider says.
    pub source: VolumeSource,
    /// Its volume type, when the provider has types.
    pub volume_type: Option<String>,
    /// When it was created, when the provider says.
    pub created_at: Option<SystemTime>,
}

impl Volume {
    /// A volume with the given essentials; everything else empty.
    pub fn new(
        id: VolumeId,
        name: impl Into<String>,
        size: Size,
        region: RegionId,
        state: VolumeState,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            size,
            region,
            raw_state: state.as_str().to_owned(),
            state,
            attachments: Vec::new(),
            labels: Labels::new(),
            source: VolumeSource::Empty,
            volume_type: None,
            created_at: None,
        }
    }

    /// The instance it is attached to, if any (the first, on multi-attach).
    pub fn attached_to(&self) -> Option<&InstanceId> {
        self.attachments.first().map(|a| &a.instance)
    }
}
