//! `impl BlockStorage for Linode`.

use async_trait::async_trait;
use volume_core::idempotency;
use volume_core::{
    Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup, CreateSnapshot,
    CreateVolume, Error, Instance, InstanceId, ListBackups, ListSnapshots, ListVolumes, Page,
    PageToken, ResizeMode, RestoreBackup, Result, Size, Snapshot, SnapshotId, UpdateVolume, Volume,
    VolumeId,
};

use crate::error::PROVIDER;
use crate::rules::{MAX_PAGE_SIZE, MAX_SIZE, MIN_SIZE};
use crate::{AttachOptions, CreateOptions, Linode};

/// What Linode's block storage can do, as [`Linode`] reports it.
///
/// - update: yes (label and tags);
/// - labels: yes, as tags (`t` is the label `t = ""`, `k=v` the label `k = v`);
/// - attach: yes, one Linode at a time, at most 8 volumes per Linode
///   (the limit of a configuration profile);
/// - resize: online (Linode grows attached volumes too, as recorded on real
///   traffic), grow only;
/// - clone: yes (`POST /volumes/{id}/clone`; also `VolumeSource::Volume`),
///   of the source's size and region, without labels (Linode's clone request
///   takes only a label);
/// - snapshots, volumes from snapshots, backups: no (Linode has none for
///   volumes), so those operations return [`Error::Unsupported`];
/// - sizes 10 to 10240 GiB; pages of at most 500.
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER)
    .with_update(true)
    .with_labels(true)
    .with_attach(true)
    .with_multi_attach(false)
    .with_max_attachments_per_instance(Some(8))
    .with_resize(ResizeMode::Online)
    .with_clone(true)
    .with_snapshots(false)
    .with_volume_from_snapshot(false, false)
    .with_backups(false, false)
    .with_sizes(MIN_SIZE, MAX_SIZE)
    .with_max_page_size(MAX_PAGE_SIZE)
    .with_max_name_len(Some(crate::rules::MAX_LABEL_LEN));

#[async_trait]
impl BlockStorage for Linode {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
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
        let options = CreateOptions::new();
        idempotency::create_volume(self, request, || self.create_volume_with(request, &options))
            .await
    }

    async fn update_volume(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        self.update(id, request).await
    }

    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        self.delete(id).await
    }

    async fn attach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        self.attach_with(id, &AttachOptions::new(instance.clone()))
            .await
    }

    async fn detach_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.detach(id).await
    }

    async fn resize_volume(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        self.resize(id, new_size).await
    }

    async fn clone_volume(&self, id: &VolumeId, request: &CloneVolume) -> Result<Volume> {
        self.clone_named(id, &request.name, &request.labels).await
    }

    async fn create_snapshot(&self, _request: &CreateSnapshot) -> Result<Snapshot> {
        Err(Error::unsupported("create_snapshot", PROVIDER))
    }

    async fn get_snapshot(&self, _id: &SnapshotId) -> Result<Snapshot> {
        Err(Error::unsupported("get_snapshot", PROVIDER))
    }

    async fn list_snapshots(
        &self,
        _query: &ListSnapshots,
        _page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        Err(Error::unsupported("list_snapshots", PROVIDER))
    }

    async fn delete_snapshot(&self, _id: &SnapshotId) -> Result<()> {
        Err(Error::unsupported("delete_snapshot", PROVIDER))
    }

    async fn create_backup(&self, _request: &CreateBackup) -> Result<Backup> {
        Err(Error::unsupported("create_backup", PROVIDER))
    }

    async fn get_backup(&self, _id: &BackupId) -> Result<Backup> {
        Err(Error::unsupported("get_backup", PROVIDER))
    }

    async fn list_backups(
        &self,
        _query: &ListBackups,
        _page: Option<&PageToken>,
    ) -> Result<Page<Backup>> {
        Err(Error::unsupported("list_backups", PROVIDER))
    }

    async fn delete_backup(&self, _id: &BackupId) -> Result<()> {
        Err(Error::unsupported("delete_backup", PROVIDER))
    }

    async fn restore_backup(&self, _id: &BackupId, _request: &RestoreBackup) -> Result<Volume> {
        Err(Error::unsupported("restore_backup", PROVIDER))
    }

    async fn list_instances(&self, page: Option<&PageToken>) -> Result<Page<Instance>> {
        self.list_instance_page(page).await
    }
}
