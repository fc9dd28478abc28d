//! `impl BlockStorage for Rancher`, and [`CAPABILITIES`].
//!
//! The trait's operations are composed here from [`Rancher`]'s own (read
//! the resource, check its `actions`, follow its links, convert); what
//! Rancher cannot do returns [`Error::Unsupported`] without a request.

use std::collections::HashMap;

use async_trait::async_trait;
use volume_core::idempotency::{self, IDEMPOTENCY_LABEL};
use volume_core::{
    Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup, CreateSnapshot,
    CreateVolume, Error, Instance, InstanceId, ListBackups, ListSnapshots, ListVolumes, Page,
    PageToken, ResizeMode, ResourceKind, RestoreBackup, Result, Size, Snapshot, SnapshotId,
    UpdateVolume, Volume, VolumeId, VolumeSource,
};

use crate::error::PROVIDER;
use crate::rules::{check_name, size_mb, MAX_NAME_LEN, MAX_PAGE_SIZE, MAX_SIZE, MIN_SIZE};
use crate::wire::{Host, RancherSnapshot, RancherVolume, Resource, StorageDriver};
use crate::{convert, idem, NewVolume, Rancher};

/// What Rancher volumes can do through [`BlockStorage`], before the default
/// driver is read ([`Rancher::read_driver`]):
///
/// - update: no (a Rancher volume cannot be renamed and has no labels;
///   [`Rancher::update`] changes its description, driver options and host);
/// - labels: no (an idempotency key is kept all the same: see the crate
///   docs);
/// - attach and detach: no. Rancher volumes are mounted into containers by
///   the services that use them, not attached by a call; a mounted volume is
///   `in-use`, with one attachment per container;
/// - resize: no (Cattle has no resize);
/// - clone, volumes from snapshots, backups through the trait: no. Cattle
///   reverts a volume to its own snapshot and restores a volume from its own
///   backup ([`Rancher::revert_to_snapshot`], [`Rancher::restore_from_backup`]),
///   and backs up snapshots to a backup target ([`Rancher::backup`]); none of
///   these makes a new volume, which the trait's backups require;
/// - snapshots: only when the default driver has the `snapshot` capability,
///   which [`capabilities()`](BlockStorage::capabilities) reports once
///   [`Rancher::read_driver`] has read it;
/// - sizes 1 GiB to 16 TiB (Cattle documents no limit), sent as `sizeMb`;
///   names up to 255 characters; pages up to 1000.
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER)
    .with_update(false)
    .with_labels(false)
    .with_attach(false)
    .with_resize(ResizeMode::Unsupported)
    .with_clone(false)
    .with_snapshots(false)
    .with_volume_from_snapshot(false, false)
    .with_backups(false, false)
    .with_sizes(MIN_SIZE, MAX_SIZE)
    .with_max_page_size(MAX_PAGE_SIZE)
    .with_max_name_len(Some(MAX_NAME_LEN));

/// The page size of a core query, as Cattle's `limit`.
fn limit(page_size: Option<u32>) -> Option<(String, String)> {
    page_size.map(|n| ("limit".to_owned(), n.clamp(1, MAX_PAGE_SIZE).to_string()))
}

impl Rancher {
    /// The capabilities, with what the default driver's volumes can do.
    fn current_capabilities(&self) -> Capabilities {
        CAPABILITIES.with_snapshots(self.driver_has(StorageDriver::SNAPSHOT))
    }

    /// `Unsupported` for `operation` unless the capabilities include
    /// snapshots (the default driver was read and has them), so that the
    /// trait never does what `capabilities()` says it cannot.
    fn snapshots_supported(&self, operation: &'static str) -> Result<()> {
        if self.current_capabilities().snapshots {
            Ok(())
        } else {
            Err(Error::unsupported(operation, PROVIDER))
        }
    }

    /// A volume that is not removed, as Cattle has it.
    async fn live_volume(&self, id: &VolumeId) -> Result<RancherVolume> {
        let v = self.volume(id).await?;
        if v.is_removed() {
            return Err(Error::not_found(ResourceKind::Volume, id.as_str()));
        }
        Ok(v)
    }

    /// A snapshot that is not removed, as Cattle has it.
    async fn live_snapshot(&self, id: &SnapshotId) -> Result<RancherSnapshot> {
        let s = self.snapshot_by_id(id).await?;
        if s.is_removed() {
            return Err(Error::not_found(ResourceKind::Snapshot, id.as_str()));
        }
        Ok(s)
    }

    /// The storage driver of `volume`: through its `storageDriver` link, its
    /// `storageDriverId`, or its driver's name.
    async fn driver_of(&self, volume: &RancherVolume) -> Result<Option<StorageDriver>> {
        if let Some(link) = volume.links.get("storageDriver") {
            return self
                .client()
                .follow(link, ResourceKind::VolumeType, "")
                .await
                .map(Some);
        }
        if let Some(id) = &volume.storage_driver_id {
            return self.storage_driver(id).await.map(Some);
        }
        let Some(name) = &volume.driver else {
            return Ok(None);
        };
        let query = [("name".to_owned(), name.clone())];
        let (drivers, _) = self.page::<StorageDriver>(&query, None).await?;
        Ok(drivers.into_iter().find(|d| &d.name == name))
    }

    /// The size of each snapshot's volume, each volume read once (through
    /// the snapshot's `volume` link when it has one); 0 when it is gone.
    async fn snapshot_sizes(&self, snapshots: &[RancherSnapshot]) -> Result<HashMap<String, Size>> {
        let mut sizes = HashMap::new();
        for s in snapshots {
            let Some(volume_id) = s.volume_id.as_deref() else {
                continue;
            };
            if sizes.contains_key(volume_id) {
                continue;
            }
            let read = match s.links.get("volume") {
                Some(link) => {
                    self.client()
                        .follow::<RancherVolume>(link, ResourceKind::Volume, volume_id)
                        .await
                }
                None => self.get_by_id::<RancherVolume>(volume_id).await,
            };
            let size = match read {
                Ok(v) => convert::size_of(v.size_mb),
                Err(e) if e.is_not_found() => Size::gib(0),
                Err(e) => return Err(e),
            };
            sizes.insert(volume_id.to_owned(), size);
        }
        Ok(sizes)
    }

    async fn core_snapshots(&self, snapshots: Vec<RancherSnapshot>) -> Result<Vec<Snapshot>> {
        let sizes = self.snapshot_sizes(&snapshots).await?;
        snapshots
            .iter()
            .filter(|s| !s.is_removed())
            .map(|s| {
                let size = s
                    .volume_id
                    .as_deref()
                    .and_then(|v| sizes.get(v).copied())
                    .unwrap_or(Size::gib(0));
                convert::snapshot(s, size, self.fallback_region())
            })
            .collect()
    }

    async fn core_list_volumes(
        &self,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        if idempotency::has_other_labels(&query.labels) {
            // A Rancher volume shows no label but the key: none matches,
            // so no page is worth reading.
            return Ok(Page::last(Vec::new()));
        }
        let mut pairs = Vec::new();
        if let Some(name) = &query.name {
            pairs.push(("name".to_owned(), name.clone()));
        }
        if let Some(region) = &query.region {
            pairs.push(("accountId".to_owned(), region.as_str().to_owned()));
        }
        if let Some(key) = query.labels.get(IDEMPOTENCY_LABEL) {
            // The one label a Rancher volume shows is its description.
            pairs.push(("description".to_owned(), idem::description_of(key)));
        }
        pairs.extend(limit(query.page_size));
        let (items, next) = self
            .page::<RancherVolume>(&pairs, page.map(PageToken::as_str))
            .await?;
        let mut volumes = Vec::with_capacity(items.len());
        for w in items.iter().filter(|w| !w.is_removed()) {
            let v = convert::volume(w, self.fallback_region())?;
            // State, instance and labels: Cattle cannot filter on the core's
            // words, so each page is filtered as it arrives.
            if query.matches(&v) {
                volumes.push(v);
            }
        }
        Ok(Page::new(volumes, next.map(PageToken::new)))
    }

    async fn core_create_volume(&self, request: &CreateVolume) -> Result<Volume> {
        match &request.source {
            VolumeSource::Empty => {}
            VolumeSource::Volume(_) => return Err(Error::unsupported("clone_volume", PROVIDER)),
            VolumeSource::Snapshot(_) => {
                return Err(Error::unsupported(
                    "create_volume from a snapshot",
                    PROVIDER,
                ))
            }
            VolumeSource::Backup(_) => {
                return Err(Error::unsupported("create_volume from a backup", PROVIDER))
            }
            _ => {
                return Err(Error::unsupported(
                    "create_volume from this source",
                    PROVIDER,
                ))
            }
        }
        if request.attach_to.is_some() {
            return Err(Error::unsupported("attach_volume", PROVIDER));
        }
        check_name("name", &request.name)?;
        if idempotency::has_other_labels(&request.labels) {
            return Err(Error::invalid_input(
                "labels",
                "Rancher volumes have no labels (only an idempotency key, kept as the description)",
            ));
        }
        if let (Some(region), Some(project)) = (&request.region, self.project()) {
            if region.as_str() != project {
                return Err(Error::invalid_input(
                    "region",
                    format!(
                        "{region} is not this client's project {project} (a Rancher volume's region is its project)"
                    ),
                ));
            }
        }
        let size = request.size.map(size_mb).transpose()?;
        let driver = request
            .volume_type
            .clone()
            .unwrap_or_else(|| self.default_driver().to_owned());
        if size.is_some() && driver == self.default_driver() {
            if let Some(info) = self.driver_info() {
                if !info.has_capability(StorageDriver::SCHEDULE_SIZE) {
                    return Err(Error::invalid_input(
                        "size",
                        format!(
                            "storage driver {driver} does not take a size (no schedule.size capability); create without one"
                        ),
                    ));
                }
            }
        }
        let mut new = NewVolume::new(&request.name).with_driver(driver);
        new.size_mb = size;
        new.description = request.idempotency_key().map(idem::description_of);
        idempotency::create_volume(self, request, || async {
            let created = self.create(&new).await?;
            convert::volume(&created, self.fallback_region())
        })
        .await
    }

    async fn core_delete_volume(&self, id: &VolumeId) -> Result<()> {
        let v = self.live_volume(id).await?;
        self.remove(&v).await?;
        Ok(())
    }

    async fn core_create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        self.snapshots_supported("create_snapshot")?;
        check_name("name", &request.name)?;
        if idempotency::has_other_labels(&request.labels) {
            return Err(Error::invalid_input(
                "labels",
                "Rancher snapshots have no labels (only an idempotency key, kept in the name)",
            ));
        }
        let name = idempotency::keyed_name(&request.name, request.idempotency_key(), MAX_NAME_LEN)?;
        let volume = self.live_volume(&request.volume_id).await?;
        if volume.action("snapshot").is_none() {
            // Absent either because the driver cannot, or because of the
            // state: say which.
            let can = self
                .driver_of(&volume)
                .await?
                .is_some_and(|d| d.has_capability(StorageDriver::SNAPSHOT));
            if !can {
                return Err(Error::unsupported("create_snapshot", PROVIDER));
            }
        }
        let size = convert::size_of(volume.size_mb);
        idempotency::create_snapshot(self, request, || async {
            let snapshot = self.snapshot(&volume, Some(&name)).await?;
            convert::snapshot(&snapshot, size, self.fallback_region())
        })
        .await
    }

    async fn core_get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.snapshots_supported("get_snapshot")?;
        let s = self.live_snapshot(id).await?;
        self.core_snapshots(vec![s])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(ResourceKind::Snapshot, id.as_str()))
    }

    async fn core_list_snapshots(
        &self,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        self.snapshots_supported("list_snapshots")?;
        let mut pairs = Vec::new();
        if let Some(volume) = &query.volume_id {
            pairs.push(("volumeId".to_owned(), volume.as_str().to_owned()));
        }
        pairs.extend(limit(query.page_size));
        let (items, next) = self
            .page::<RancherSnapshot>(&pairs, page.map(PageToken::as_str))
            .await?;
        let items = self.core_snapshots(items).await?;
        Ok(Page::new(items, next.map(PageToken::new)))
    }

    async fn core_delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        self.snapshots_supported("delete_snapshot")?;
        let s = self.live_snapshot(id).await?;
        self.remove_snapshot(&s).await?;
        Ok(())
    }

    async fn core_list_instances(&self, page: Option<&PageToken>) -> Result<Page<Instance>> {
        let (items, next) = self.page::<Host>(&[], page.map(PageToken::as_str)).await?;
        let instances = items
            .iter()
            .map(|h| convert::instance(h, self.fallback_region()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::new(instances, next.map(PageToken::new)))
    }
}

#[async_trait]
impl BlockStorage for Rancher {
    fn capabilities(&self) -> Capabilities {
        self.current_capabilities()
    }

    async fn list_volumes(
        &self,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        self.core_list_volumes(query, page).await
    }

    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        convert::volume(&self.live_volume(id).await?, self.fallback_region())
    }

    async fn create_volume(&self, request: &CreateVolume) -> Result<Volume> {
        self.core_create_volume(request).await
    }

    async fn update_volume(&self, _id: &VolumeId, _request: &UpdateVolume) -> Result<Volume> {
        Err(Error::unsupported("update_volume", PROVIDER))
    }

    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        self.core_delete_volume(id).await
    }

    async fn attach_volume(&self, _id: &VolumeId, _instance: &InstanceId) -> Result<Volume> {
        Err(Error::unsupported("attach_volume", PROVIDER))
    }

    async fn detach_volume(&self, _id: &VolumeId) -> Result<Volume> {
        Err(Error::unsupported("detach_volume", PROVIDER))
    }

    async fn resize_volume(&self, _id: &VolumeId, _new_size: Size) -> Result<Volume> {
        Err(Error::unsupported("resize_volume", PROVIDER))
    }

    async fn clone_volume(&self, _id: &VolumeId, _request: &CloneVolume) -> Result<Volume> {
        Err(Error::unsupported("clone_volume", PROVIDER))
    }

    async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        self.core_create_snapshot(request).await
    }

    async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.core_get_snapshot(id).await
    }

    async fn list_snapshots(
        &self,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        self.core_list_snapshots(query, page).await
    }

    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        self.core_delete_snapshot(id).await
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
        self.core_list_instances(page).await
    }
}
