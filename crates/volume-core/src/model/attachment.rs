use std::fmt;

use super::{InstanceId, RegionId};

/// A volume's attachment to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attachment {
    /// The instance.
    pub instance: InstanceId,
    /// The device path on the instance, when the provider says
    /// (e.g. `/dev/disk/by-id/scsi-0Linode_Volume_data`).
    pub device: Option<String>,
}

impl Attachment {
    /// An attachment to `instance` with no known device.
    pub fn new(instance: InstanceId) -> Self {
        Self {
            instance,
            device: None,
        }
    }

    /// Sets the device path.
    pub fn with_device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(device.into());
        self
    }
}

/// Whether an instance is running.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstanceState {
    /// Running.
    Running,
    /// Stopped (or offline).
    Stopped,
    /// A word this version does not know (booting, migrating, ...).
    Unknown(String),
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Running => f.write_str("running"),
            Self::Stopped => f.write_str("stopped"),
            Self::Unknown(w) => f.write_str(w),
        }
    }
}

/// A compute instance volumes can attach to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Instance {
    /// Its id.
    pub id: InstanceId,
    /// Its name.
    pub name: String,
    /// Its region.
    pub region: RegionId,
    /// Running or stopped.
    pub state: InstanceState,
    /// The provider's own word for the state.
    pub raw_state: String,
}

impl Instance {
    /// An instance with the given fields.
    pub fn new(
        id: InstanceId,
        name: impl Into<String>,
        region: RegionId,
        state: InstanceState,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            region,
            raw_state: state.to_string(),
            state,
        }
    }
}
