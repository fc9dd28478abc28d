//! `impl BlockStorage for Cinder`, thin: each method calls the client
//! type's own operation.

use async_trait::async_trait;
use volume_core::{
    Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup, CreateSnapshot,
    CreateVolume, Instance, InstanceId, ListBackups, ListSnapshots, ListVolumes, Page, PageToken,
    ResizeMode, RestoreBackup, Result, Size, Snapshot, SnapshotId, UpdateVolume, Volume, VolumeId,
    VolumeSource,
};

use crate::error::PROVIDER;
use crate::rules::{MAX_NAME_LEN, MAX_PAGE_SIZE, MIN_SIZE};
use crate::{BackupOptions, Cinder, Microversion, SnapshotOptions, VolumeOptions};

/// What Cinder can do, as [`Cinder`] reports it before it knows the
/// server's microversion (resize of an attached volume is then assumed
/// refused; see [`Cinder::capabilities`](volume_core::BlockStorage::capabilities)).
///
/// - update: yes (name, and labels as metadata);
/// - attach: yes, through Nova's `os-volume_attachments`, one server at a
///   time (multi-attach depends on the volume type: not claimed);
/// - resize: grow only; online from microversion 3.42, offline below;
/// - clone, snapshots, volumes from snapshots (of the same size or larger),
///   backups with incremental ones: yes;
/// - sizes from 1 GiB (Cinder's upper limit is the project's quota, not a
///   fixed size); pages of at most 1000; names of at most 255 characters.
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER)
    .with_update(true)
    .with_labels(true)
    .with_attach(true)
    .with_multi_attach(false)
    .with_max_attachments_per_instance(None)
    .with_resize(ResizeMode::Offline)
    .with_clone(true)
    .with_snapshots(true)
    .with_volume_from_snapshot(true, true)
    .with_backups(true, true)
    .with_sizes(MIN_SIZE, Size::gib(u64::MAX))
    .with_max_page_size(MAX_PAGE_SIZE)
    .with_max_name_len(Some(MAX_NAME_LEN));

#[async_trait]
impl BlockStorage for Cinder {
    /// [`CAPABILITIES`], with online resize once the microversion spoken is
    /// known to be 3.42 or later (pinned, or after [`Cinder::connect`] or
    /// any call).
    fn capabilities(&self) -> Capabilities {
        match self.known_microversion() {
            Some(v) if v >= Microversion::ONLINE_EXTEND => {
                CAPABILITIES.with_resize(ResizeMode::Online)
            }
            _ => CAPABILITIES,
        }
    }

    async fn list_volumes(
        &self,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        self.list_volume_page(query, page).await
    }

    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.get(id).await
    }

    async fn create_volume(&self, request: &CreateVolume) -> Result<Volume> {
        self.create_volume_with(request, &VolumeOptions::new())
            .await
    }

    async fn update_volume(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        self.update(id, request).await
    }

    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        self.delete(id).await
    }

    async fn attach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        self.attach(id, instance).await
    }

    async fn detach_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.detach(id).await
    }

    async fn resize_volume(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        self.resize(id, new_size).await
    }

    async fn clone_volume(&self, id: &VolumeId, request: &CloneVolume) -> Result<Volume> {
        let mut create = CreateVolume::new(request.name.clone(), Size::gib(1))
            .with_source(VolumeSource::Volume(id.clone()))
            .with_labels(request.labels.clone());
        create.size = None;
        self.create_volume_with(&create, &VolumeOptions::new())
            .await
    }

    async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        self.create_snapshot_with(request, &SnapshotOptions::default())
            .await
    }

    async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.get_snapshot_core(id).await
    }

    async fn list_snapshots(
        &self,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        self.list_snapshot_page(query, page).await
    }

    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        self.delete_snapshot_core(id).await
    }

    async fn create_backup(&self, request: &CreateBackup) -> Result<Backup> {
        self.create_backup_with(request, &BackupOptions::new())
            .await
    }

    async fn get_backup(&self, id: &BackupId) -> Result<Backup> {
        self.get_backup_core(id).await
    }

    async fn list_backups(
        &self,
        query: &ListBackups,
        page: Option<&PageToken>,
    ) -> Result<Page<Backup>> {
        self.list_backup_page(query, page).await
    }

    async fn delete_backup(&self, id: &BackupId) -> Result<()> {
        self.delete_backup_core(id).await
    }

    async fn restore_backup(&self, id: &BackupId, request: &RestoreBackup) -> Result<Volume> {
        self.restore(id, request).await
    }

    async fn list_instances(&self, page: Option<&PageToken>) -> Result<Page<Instance>> {
        self.list_instance_page(page).await
    }
}
