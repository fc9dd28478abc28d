//! The [`BlockStorage`] trait every backend implements, and the conveniences
//! built on it ([`BlockStorageExt`]).

use std::fmt::{Debug, Display};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::capability::Capabilities;
use crate::error::{Error, Result};
use crate::http::paginate;
use crate::model::{
    Backup, BackupId, CloneVolume, CreateBackup, CreateSnapshot, CreateVolume, Instance,
    InstanceId, ListBackups, ListSnapshots, ListVolumes, Page, PageToken, RestoreBackup, Size,
    Snapshot, SnapshotId, UpdateVolume, Volume, VolumeId,
};
use crate::wait::{self, Until, WaitConfig, Waited};

/// A `BlockStorage` behind an `Arc`, for sharing one backend of any kind.
pub type DynBlockStorage = Arc<dyn BlockStorage>;

/// One typed, async API for block-storage volumes.
///
/// Every method is required, like `object_store`'s `ObjectStore`: a backend
/// that lacks an operation returns [`Error::Unsupported`] itself, and says so
/// in advance in [`capabilities`](Self::capabilities). Conveniences (listing
/// every page, waiting for a state) live in [`BlockStorageExt`], which every
/// `BlockStorage` has.
///
/// The trait is object-safe: `Arc<dyn BlockStorage>` ([`DynBlockStorage`])
/// and `Box<dyn BlockStorage>` are backends too.
///
/// Operations that the provider performs in the background return the
/// resource as it is when the request is accepted (often in a transient state
/// such as `creating`); use [`BlockStorageExt`]'s waiters to see them finish.
#[async_trait]
pub trait BlockStorage: Debug + Display + Send + Sync + 'static {
    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// One page of the volumes that match `query`; pass the returned
    /// `next` token back for the following page.
    async fn list_volumes(
        &self,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>>;

    /// One volume.
    async fn get_volume(&self, id: &VolumeId) -> Result<Volume>;

    /// Creates a volume (empty, from a snapshot, a clone of a volume, or from
    /// a backup, as `request.source` says).
    async fn create_volume(&self, request: &CreateVolume) -> Result<Volume>;

    /// Renames or relabels a volume.
    async fn update_volume(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume>;

    /// Deletes a volume. Refused while it is attached.
    async fn delete_volume(&self, id: &VolumeId) -> Result<()>;

    /// Attaches a volume to an instance in its region.
    async fn attach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume>;

    /// Detaches a volume from whatever it is attached to.
    async fn detach_volume(&self, id: &VolumeId) -> Result<Volume>;

    /// Grows a volume to `new_size`. Shrinking is refused with
    /// [`Error::InvalidInput`] before anything is changed.
    async fn resize_volume(&self, id: &VolumeId, new_size: Size) -> Result<Volume>;

    /// Clones a volume into a new, independent one of the same size.
    async fn clone_volume(&self, id: &VolumeId, request: &CloneVolume) -> Result<Volume>;

    /// Takes a snapshot of a volume.
    async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot>;

    /// One snapshot.
    async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot>;

    /// One page of snapshots.
    async fn list_snapshots(
        &self,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>>;

    /// Deletes a snapshot.
    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()>;

    /// Backs up a volume.
    async fn create_backup(&self, request: &CreateBackup) -> Result<Backup>;

    /// One backup.
    async fn get_backup(&self, id: &BackupId) -> Result<Backup>;

    /// One page of backups.
    async fn list_backups(
        &self,
        query: &ListBackups,
        page: Option<&PageToken>,
    ) -> Result<Page<Backup>>;

    /// Deletes a backup.
    async fn delete_backup(&self, id: &BackupId) -> Result<()>;

    /// Restores a backup into a new volume or over an existing one, and
    /// returns that volume.
    async fn restore_backup(&self, id: &BackupId, request: &RestoreBackup) -> Result<Volume>;

    /// One page of the instances volumes can attach to.
    async fn list_instances(&self, page: Option<&PageToken>) -> Result<Page<Instance>>;
}

macro_rules! forward_block_storage {
    ($ptr:ident) => {
        #[async_trait]
        impl<T: BlockStorage + ?Sized> BlockStorage for $ptr<T> {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn list_volumes(
                &self,
                query: &ListVolumes,
                page: Option<&PageToken>,
            ) -> Result<Page<Volume>> {
                (**self).list_volumes(query, page).await
            }
            async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
                (**self).get_volume(id).await
            }
            async fn create_volume(&self, request: &CreateVolume) -> Result<Volume> {
                (**self).create_volume(request).await
            }
            async fn update_volume(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
                (**self).update_volume(id, request).await
            }
            async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
                (**self).delete_volume(id).await
            }
            async fn attach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
                (**self).attach_volume(id, instance).await
            }
            async fn detach_volume(&self, id: &VolumeId) -> Result<Volume> {
                (**self).detach_volume(id).await
            }
            async fn resize_volume(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
                (**self).resize_volume(id, new_size).await
            }
            async fn clone_volume(&self, id: &VolumeId, request: &CloneVolume) -> Result<Volume> {
                (**self).clone_volume(id, request).await
            }
            async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
                (**self).create_snapshot(request).await
            }
            async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
                (**self).get_snapshot(id).await
            }
            async fn list_snapshots(
                &self,
                query: &ListSnapshots,
                page: Option<&PageToken>,
            ) -> Result<Page<Snapshot>> {
                (**self).list_snapshots(query, page).await
            }
            async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
                (**self).delete_snapshot(id).await
            }
            async fn create_backup(&self, request: &CreateBackup) -> Result<Backup> {
                (**self).create_backup(request).await
            }
            async fn get_backup(&self, id: &BackupId) -> Result<Backup> {
                (**self).get_backup(id).await
            }
            async fn list_backups(
                &self,
                query: &ListBackups,
                page: Option<&PageToken>,
            ) -> Result<Page<Backup>> {
                (**self).list_backups(query, page).await
            }
            async fn delete_backup(&self, id: &BackupId) -> Result<()> {
                (**self).delete_backup(id).await
            }
            async fn restore_backup(
                &self,
                id: &BackupId,
                request: &RestoreBackup,
            ) -> Result<Volume> {
                (**self).restore_backup(id, request).await
            }
            async fn list_instances(&self, page: Option<&PageToken>) -> Result<Page<Instance>> {
                (**self).list_instances(page).await
            }
        }
    };
}

forward_block_storage!(Arc);
forward_block_storage!(Box);

/// Refuses a resize that would not grow the volume: the check every backend
/// makes before it sends anything.
///
/// # Errors
/// [`Error::InvalidInput`] on field `size` when `new_size <= current`.
pub fn check_grow(current: Size, new_size: Size) -> Result<()> {
    if new_size < current {
        return Err(Error::invalid_input(
            "size",
            format!("volumes only grow: {new_size} is smaller than the current {current}"),
        ));
    }
    if new_size == current {
        return Err(Error::invalid_input(
            "size",
            format!("the volume is {current} already"),
        ));
    }
    Ok(())
}

/// Conveniences over any [`BlockStorage`]: listing every page and waiting for
/// states. Implemented for every `BlockStorage`, including `dyn` ones.
///
/// ```
/// # use volume_core::{BlockStorage, BlockStorageExt, ListVolumes};
/// # use futures::TryStreamExt;
/// async fn names(storage: &dyn BlockStorage) -> volume_core::Result<Vec<String>> {
///     storage
///         .list_all_volumes(ListVolumes::new())
///         .map_ok(|v| v.name)
///         .try_collect()
///         .await
/// }
/// ```
#[async_trait]
pub trait BlockStorageExt: BlockStorage {
    /// Every volume that matches `query`, fetched a page at a time as the
    /// stream is consumed.
    fn list_all_volumes(&self, query: ListVolumes) -> BoxStream<'_, Result<Volume>> {
        paginate(move |token| {
            let query = query.clone();
            async move { self.list_volumes(&query, token.as_ref()).await }
        })
    }

    /// Every snapshot that matches `query`.
    fn list_all_snapshots(&self, query: ListSnapshots) -> BoxStream<'_, Result<Snapshot>> {
        paginate(move |token| {
            let query = query.clone();
            async move { self.list_snapshots(&query, token.as_ref()).await }
        })
    }

    /// Every backup that matches `query`.
    fn list_all_backups(&self, query: ListBackups) -> BoxStream<'_, Result<Backup>> {
        paginate(move |token| {
            let query = query.clone();
            async move { self.list_backups(&query, token.as_ref()).await }
        })
    }

    /// Every instance.
    fn list_all_instances(&self) -> BoxStream<'_, Result<Instance>> {
        paginate(move |token| async move { self.list_instances(token.as_ref()).await })
    }

    /// Polls a volume until `until` holds. See [`crate::wait`] for the rules.
    async fn wait_for_volume(
        &self,
        id: &VolumeId,
        until: Until<Volume>,
        config: &WaitConfig,
    ) -> Result<Waited<Volume>> {
        wait::poll(id.as_str(), until, config, || self.get_volume(id)).await
    }

    /// Polls a snapshot until `until` holds.
    async fn wait_for_snapshot(
        &self,
        id: &SnapshotId,
        until: Until<Snapshot>,
        config: &WaitConfig,
    ) -> Result<Waited<Snapshot>> {
        wait::poll(id.as_str(), until, config, || self.get_snapshot(id)).await
    }

    /// Polls a backup until `until` holds.
    async fn wait_for_backup(
        &self,
        id: &BackupId,
        until: Until<Backup>,
        config: &WaitConfig,
    ) -> Result<Waited<Backup>> {
        wait::poll(id.as_str(), until, config, || self.get_backup(id)).await
    }

    /// Creates a volume and waits until it is available (or, when the
    /// request attaches it, in use).
    async fn create_volume_and_wait(
        &self,
        request: &CreateVolume,
        config: &WaitConfig,
    ) -> Result<Volume> {
        let created = self.create_volume(request).await?;
        let target = if request.attach_to.is_some() {
            crate::VolumeState::InUse
        } else {
            crate::VolumeState::Available
        };
        let waited = self
            .wait_for_volume(&created.id, Until::State(target), config)
            .await?;
        waited
            .resource
            .ok_or_else(|| Error::not_found(crate::ResourceKind::Volume, created.id.as_str()))
    }

    /// Deletes a volume and waits until it is gone. A volume that is gone
    /// already counts as deleted.
    async fn delete_volume_and_wait(&self, id: &VolumeId, config: &WaitConfig) -> Result<()> {
        match self.delete_volume(id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        }
        self.wait_for_volume(id, Until::Deleted, config).await?;
        Ok(())
    }
}

impl<T: BlockStorage + ?Sized> BlockStorageExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizes_only_grow() {
        assert!(check_grow(Size::gib(10), Size::gib(11)).is_ok());
        for new in [9, 10] {
            match check_grow(Size::gib(10), Size::gib(new)) {
                Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "size"),
                other => panic!("{other:?}"),
            }
        }
    }

    fn _object_safe(_: &dyn BlockStorage, _: DynBlockStorage, _: Box<dyn BlockStorage>) {}
}
