//! `impl BlockStorage for LunaNode`, thin: each method forwards to the
//! client's own operation; and [`CAPABILITIES`].

use async_trait::async_trait;
use volume_core::{
    Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup, CreateSnapshot,
    CreateVolume, Error, Instance, InstanceId, ListBackups, ListSnapshots, ListVolumes, Page,
    PageToken, ResizeMode, RestoreBackup, Result, Size, Snapshot, SnapshotId, UpdateVolume, Volume,
    VolumeId,
};

use crate::error::PROVIDER;
use crate::rules::{MAX_NAME_LEN, MAX_SIZE, MIN_SIZE};
use crate::LunaNode;

/// What LunaNode's volumes can do, as [`LunaNode`] reports it.
///
/// - update: yes, the name only (`volume/rename`); labels: no;
/// - attach: yes, one VM at a time (`target` `auto`);
/// - resize: offline, grow only (`volume/extend` of a detached volume,
///   checked before sending);
/// - clone: no. LunaNode has no clone; one made through a snapshot would
///   leave a snapshot behind whenever deleting it fails, and the source
///   cannot be deleted while the snapshot exists, so it would not be exact:
///   `clone_volume` and `VolumeSource::Volume` are [`Error::Unsupported`];
/// - snapshots: yes; volumes from snapshots: yes, as large or larger, in
///   the snapshot's region;
/// - backups: no;
/// - sizes from 1 GB (the largest is not documented; 10000 GB is what
///   volume-sim's fake allows and is not checked before sending); listings
///   are never paged by LunaNode, so every listing is one page.
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER)
    .with_update(true)
    .with_labels(false)
    .with_attach(true)
    .with_multi_attach(false)
    .with_max_attachments_per_instance(None)
    .with_resize(ResizeMode::Offline)
    .with_clone(false)
    .with_snapshots(true)
    .with_volume_from_snapshot(true, true)
    .with_backups(false, false)
    .with_sizes(MIN_SIZE, MAX_SIZE)
    .with_max_page_size(u32::MAX)
    .with_max_name_len(Some(MAX_NAME_LEN));

/// LunaNode lists without pages: a token can only come from elsewhere.
fn no_token(token: Option<&PageToken>) -> Result<()> {
    match token {
        None => Ok(()),
        Some(t) => Err(Error::invalid_input(
            "page_token",
            format!(
                "{:?} is not a LunaNode page token: LunaNode lists everything at once",
                t.as_str()
            ),
        )),
    }
}

#[async_trait]
impl BlockStorage for LunaNode {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn list_volumes(
        &self,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        no_token(page)?;
        self.list_page(query).await
    }

    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.get(id).await
    }

    async fn create_volume(&self, request: &CreateVolume) -> Result<Volume> {
        self.create(request).await
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

    async fn clone_volume(&self, _id: &VolumeId, _request: &CloneVolume) -> Result<Volume> {
        Err(Error::unsupported("clone_volume", PROVIDER))
    }

    async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        self.snapshot(request).await
    }

    async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.find_snapshot(id).await
    }

    async fn list_snapshots(
        &self,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        no_token(page)?;
        self.snapshot_page(query).await
    }

    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        self.remove_snapshot(id).await
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
        no_token(page)?;
        Ok(Page::last(self.vms().await?))
    }
}
