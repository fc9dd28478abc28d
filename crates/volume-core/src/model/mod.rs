//! The provider-neutral model: ids, sizes, resources and requests.

mod attachment;
mod backup;
mod id;
mod page;
mod requests;
mod size;
mod snapshot;
mod volume;

pub use attachment::{Attachment, Instance, InstanceState};
pub use backup::Backup;
pub use id::{BackupId, InstanceId, RegionId, SnapshotId, VolumeId, MAX_ID_LEN};
pub use page::{Page, PageToken};
pub use requests::{
    CloneVolume, CreateBackup, CreateSnapshot, CreateVolume, ListBackups, ListSnapshots,
    ListVolumes, RestoreBackup, UpdateVolume, VolumeSource,
};
pub use size::{Size, GIB};
pub use snapshot::Snapshot;
pub use volume::Volume;

/// Labels: key-value pairs attached to a resource. Providers with plain tags
/// (Linode) map a tag `t` to the label `t = ""`.
pub type Labels = std::collections::BTreeMap<String, String>;
