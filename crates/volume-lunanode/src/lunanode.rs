//! [`LunaNode`], the client: its `Display`, the operations `storage.rs`
//! forwards the trait to (check the rules, call, convert), and
//! LunaNode-only operations (volume details with both status words, VMs,
//! images, snapshot replication, volumes from images, attaching to a chosen
//! device).

use std::fmt;
use std::time::Duration;

use futures::{stream, StreamExt, TryStreamExt};
use volume_core::http::BackoffConfig;
use volume_core::idempotency::{self, IDEMPOTENCY_LABEL};
use volume_core::storage::check_grow;
use volume_core::wait::{self, Until, WaitConfig};
use volume_core::{
    CreateSnapshot, CreateVolume, Error, Instance, InstanceId, ListSnapshots, ListVolumes, Page,
    RegionId, ResourceKind, Result, Size, Snapshot, SnapshotId, SnapshotState, UpdateVolume,
    Volume, VolumeId, VolumeSource, VolumeState,
};

use crate::client::{params, Client};
use crate::error::PROVIDER;
use crate::rules::{self, REGIONS};
use crate::wire::{InfoVolume, ListedVolume};
use crate::{convert, idem};

/// How long and how often the client polls `volume/info` when an operation
/// needs a volume to settle first (creating a volume with `attach_to`
/// attaches it once it is available).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polling {
    /// Between two polls (default 2 s).
    pub interval: Duration,
    /// At most this long in all (default 10 minutes).
    pub max_wait: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            max_wait: Duration::from_secs(600),
        }
    }
}

/// A volume with everything LunaNode says about it: the merged [`Volume`]
/// and both raw status words (`volume/list`'s record state and
/// `volume/info`'s Cinder state), the backing Cinder UUID and the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeDetails {
    /// The volume, with its state merged from both words.
    pub volume: Volume,
    /// `volume/info`'s `status` (`available`, `in-use`, ...).
    pub info_status: String,
    /// `volume/list`'s `status` (`pending`, `active`), when the volume was
    /// in the list.
    pub list_status: Option<String>,
    /// `identification`: the backing Cinder volume's UUID.
    pub identification: String,
    /// `user_id`, when the list said.
    pub user_id: Option<String>,
}

/// A LunaNode image, as `image/list` shows it (the ones
/// [`LunaNode::replicate_snapshot`] makes among them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Image {
    /// `image_id`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its region, when said.
    pub region: Option<RegionId>,
    /// Its size, when said.
    pub size: Option<Size>,
    /// Its status word, as sent.
    pub status: String,
}

/// A client of LunaNode's Dynamic API volumes. Make one with
/// [`LunaNodeBuilder`](crate::LunaNodeBuilder); cheap to clone (clones share
/// the connection pool and the nonce counter).
#[derive(Debug, Clone)]
pub struct LunaNode {
    client: Client,
    region: RegionId,
    polling: Polling,
}

impl fmt::Display for LunaNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.client.transport().base_url();
        let host = url.host_str().unwrap_or("?");
        match url.port() {
            Some(port) => write!(f, "LunaNode({host}:{port})"),
            None => write!(f, "LunaNode({host})"),
        }
    }
}

/// Runs at most this many `volume/info` calls at once when listing.
const INFO_CONCURRENCY: usize = 8;

impl LunaNode {
    pub(crate) fn from_parts(client: Client, region: RegionId, polling: Polling) -> Self {
        Self {
            client,
            region,
            polling,
        }
    }

    /// The region volumes are created in unless a request names one.
    pub fn region(&self) -> &RegionId {
        &self.region
    }

    /// The API's base URL.
    pub fn endpoint(&self) -> &volume_core::http::Url {
        self.client.transport().base_url()
    }

    // ----- volumes ------------------------------------------------------------

    async fn listed(&self, region: Option<&RegionId>) -> Result<Vec<ListedVolume>> {
        Ok(self
            .client
            .list(region.map(RegionId::as_str))
            .await?
            .volumes)
    }

    fn details(
        info: &InfoVolume,
        listed: Option<&ListedVolume>,
        region: &RegionId,
    ) -> Result<VolumeDetails> {
        Ok(VolumeDetails {
            volume: convert::volume_from_info(info, listed, region)?,
            info_status: info.status.clone(),
            list_status: listed.map(|l| l.status.clone()),
            identification: match listed {
                Some(l) if info.identification.is_empty() => l.identification.clone(),
                _ => info.identification.clone(),
            },
            user_id: listed.map(|l| l.user_id.clone()).filter(|u| !u.is_empty()),
        })
    }

    /// A volume with both of LunaNode's views of it: `volume/info` (state,
    /// attachment) and its `volume/list` entry (region, owner).
    ///
    /// # Errors
    /// [`Error::NotFound`] when LunaNode does not know `id`; any error of
    /// the two calls.
    pub async fn volume_details(&self, id: &VolumeId) -> Result<VolumeDetails> {
        let info = self.client.info(id.as_str()).await?.volume;
        let listed = self.listed(None).await?;
        let entry = listed.iter().find(|l| l.id == info.id);
        Self::details(&info, entry, &self.region)
    }

    /// Every volume as `volume/list` alone shows it (one call): states
    /// from the list's words (`pending` is creating, `active` available,
    /// whether attached or not) and no attachments. [`BlockStorage::list_volumes`](volume_core::BlockStorage::list_volumes)
    /// adds each volume's `volume/info` for exact states.
    ///
    /// # Errors
    /// LunaNode's refusal, or an entry that does not decode.
    pub async fn listed_volumes(&self, region: Option<&RegionId>) -> Result<Vec<Volume>> {
        self.listed(region)
            .await?
            .iter()
            .map(convert::volume_from_list)
            .collect()
    }

    pub(crate) async fn get(&self, id: &VolumeId) -> Result<Volume> {
        Ok(self.volume_details(id).await?.volume)
    }

    /// Every volume (LunaNode has no pages), each with its `volume/info`
    /// (so states and attachments are exact), filtered by `query` here:
    /// LunaNode filters only by region.
    pub(crate) async fn list_page(&self, query: &ListVolumes) -> Result<Page<Volume>> {
        if idempotency::has_other_labels(&query.labels) {
            // LunaNode volumes have no labels but the key: none matches.
            return Ok(Page::last(Vec::new()));
        }
        let mut listed = self.listed(query.region.as_ref()).await?;
        if let Some(key) = query.labels.get(IDEMPOTENCY_LABEL) {
            // The key is in the list's names: only the volumes that carry
            // it are read with `volume/info` (an idempotency lookup costs
            // one `volume/list` and one `info`, however many volumes).
            listed.retain(|l| idempotency::split_keyed_name(&l.name).1 == Some(key.as_str()));
        }
        let region = self.region.clone();
        let keyed = query.labels.contains_key(IDEMPOTENCY_LABEL);
        let volumes: Vec<Option<Volume>> = stream::iter(listed)
            .map(|l| {
                let region = region.clone();
                async move {
                    match self.client.info(&l.id).await {
                        Ok(info) => {
                            Self::details(&info.volume, Some(&l), &region).map(|d| Some(d.volume))
                        }
                        // Listed under the key: the list proves it exists
                        // even when `info` lags a fresh create, and
                        // dropping it would make a lookup create again.
                        Err(e) if e.is_not_found() && keyed => {
                            convert::volume_from_list(&l).map(Some)
                        }
                        // Deleted since it was listed.
                        Err(e) if e.is_not_found() => Ok(None),
                        Err(e) => Err(e),
                    }
                }
            })
            .buffered(INFO_CONCURRENCY)
            .try_collect()
            .await?;
        let items = volumes
            .into_iter()
            .flatten()
            .filter(|v| query.matches(v))
            .collect();
        Ok(Page::last(items))
    }

    /// Volume `id` once it is out of its transient states, polled every
    /// [`Polling::interval`] for at most [`Polling::max_wait`] by the
    /// core's waiter (an error state ends the wait with [`Error::Failed`]).
    async fn settled(&self, id: &VolumeId) -> Result<Volume> {
        let every = BackoffConfig::new(self.polling.interval, self.polling.interval);
        let config = WaitConfig::new(every, self.polling.max_wait);
        let until = Until::matches(|v: &Volume| !v.state.is_transient());
        // `volume/info` alone: the state is all the wait needs, and the
        // region (which only `volume/list` has, for every volume) is not.
        let info = || async {
            let info = self.client.info(id.as_str()).await?.volume;
            convert::volume_from_info(&info, None, &self.region)
        };
        let waited = wait::poll(id.as_str(), until, &config, info).await?;
        waited
            .resource
            .ok_or_else(|| Error::not_found(ResourceKind::Volume, id.as_str()))
    }

    pub(crate) async fn create(&self, req: &CreateVolume) -> Result<Volume> {
        rules::check_name("name", &req.name)?;
        if idempotency::has_other_labels(&req.labels) {
            return Err(Error::invalid_input(
                "labels",
                "LunaNode volumes have no labels (only an idempotency key, kept in the name)",
            ));
        }
        let label = idem::keyed_label(&req.name, req.idempotency_key())?;
        if let Some(t) = &req.volume_type {
            return Err(Error::invalid_input(
                "volume_type",
                format!("LunaNode volumes have no types ({t:?} given)"),
            ));
        }
        let (region, size, snapshot) = match &req.source {
            VolumeSource::Empty => {
                let size = req
                    .size
                    .ok_or_else(|| Error::invalid_input("size", "is required"))?;
                let region = req.region.clone().unwrap_or_else(|| self.region.clone());
                (region, size, None)
            }
            VolumeSource::Snapshot(sid) => {
                let s = self.find_snapshot(sid).await?;
                let size = req.size.unwrap_or(s.size);
                if size < s.size {
                    return Err(Error::invalid_input(
                        "size",
                        format!("must be at least the snapshot's {}, got {size}", s.size),
                    ));
                }
                if let Some(r) = req.region.as_ref().filter(|r| **r != s.region) {
                    return Err(Error::invalid_input(
                        "region",
                        format!("the snapshot is in {}, not {r}", s.region),
                    ));
                }
                (s.region, size, Some(sid.clone()))
            }
            VolumeSource::Volume(_) => return Err(Error::unsupported("clone_volume", PROVIDER)),
            VolumeSource::Backup(_) => return Err(Error::unsupported("restore_backup", PROVIDER)),
            other => {
                return Err(Error::invalid_input(
                    "source",
                    format!("{other:?} is not a source LunaNode knows"),
                ))
            }
        };
        rules::check_size(size)?;
        let size_text = size.as_gib().to_string();
        let p = params([
            ("region", Some(region.as_str())),
            ("label", Some(label.as_str())),
            ("size", Some(size_text.as_str())),
            ("snapshot_id", snapshot.as_ref().map(SnapshotId::as_str)),
        ]);
        // Only the create is made idempotent: the attach that may follow
        // is sent to the volume found or made, once.
        let created = idempotency::create_volume(self, req, || async {
            let created = self.client.create(&p).await?;
            let id = VolumeId::new(created.volume_id.clone()).map_err(|e| {
                Error::decode(format!("volume_id {:?} is not an id", created.volume_id), e)
            })?;
            // Made: a read that fails now (`info` lagging the create) must
            // not turn it into a failed create; what is known of it stands.
            Ok(self.get(&id).await.unwrap_or_else(|_| {
                let mut v = Volume::new(
                    id,
                    req.name.clone(),
                    size,
                    region.clone(),
                    VolumeState::Creating,
                );
                v.labels = idempotency::key_labels(req.idempotency_key());
                v
            }))
        })
        .await?;
        match &req.attach_to {
            Some(instance) => {
                if created.state.is_transient() {
                    self.settled(&created.id).await?;
                }
                self.attach(&created.id, instance).await
            }
            None => Ok(created),
        }
    }

    /// Creates a volume named `label` of `size` from image `image` (see
    /// [`replicate_snapshot`](Self::replicate_snapshot), `image/list`), in
    /// `region` (the client's when `None`). LunaNode's answer gives the new
    /// volume's id; the volume is returned as it is then.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad label or size (before sending);
    /// LunaNode's refusal otherwise.
    pub async fn create_volume_from_image(
        &self,
        label: &str,
        size: Size,
        image: &str,
        region: Option<&RegionId>,
    ) -> Result<Volume> {
        rules::check_name("label", label)?;
        rules::check_size(size)?;
        let region = region.unwrap_or(&self.region);
        let size_text = size.as_gib().to_string();
        let p = params([
            ("region", Some(region.as_str())),
            ("label", Some(label)),
            ("size", Some(size_text.as_str())),
            ("image", Some(image)),
        ]);
        let created = self.client.create(&p).await?;
        let id = VolumeId::new(created.volume_id.clone()).map_err(|e| {
            Error::decode(format!("volume_id {:?} is not an id", created.volume_id), e)
        })?;
        self.get(&id).await
    }

    pub(crate) async fn update(&self, id: &VolumeId, req: &UpdateVolume) -> Result<Volume> {
        if req.labels.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(Error::invalid_input(
                "labels",
                "LunaNode volumes have no labels",
            ));
        }
        if let Some(name) = &req.name {
            rules::check_name("name", name)?;
            // A rename keeps the idempotency key the name carries, so the
            // volume keeps its `vrs-idem` label (`volume/info` has the name).
            let info = self.client.info(id.as_str()).await?;
            let key = idempotency::split_keyed_name(&info.volume.name).1;
            let label = idem::keyed_label(name, key)?;
            self.client.rename(id.as_str(), &label).await?;
        }
        self.get(id).await
    }

    pub(crate) async fn delete(&self, id: &VolumeId) -> Result<()> {
        self.client.delete(id.as_str()).await
    }

    pub(crate) async fn attach(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        self.attach_to_device(id, instance, "auto").await
    }

    /// Attaches volume `id` to VM `vm` at `target`: `auto` (what
    /// [`BlockStorage::attach_volume`](volume_core::BlockStorage::attach_volume)
    /// sends) or a device path such as `/dev/vdb`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for another target (before sending);
    /// LunaNode's refusal otherwise.
    pub async fn attach_to_device(
        &self,
        id: &VolumeId,
        vm: &InstanceId,
        target: &str,
    ) -> Result<Volume> {
        rules::check_target(target)?;
        self.client.attach(id.as_str(), vm.as_str(), target).await?;
        self.get(id).await
    }

    pub(crate) async fn detach(&self, id: &VolumeId) -> Result<Volume> {
        self.client.detach(id.as_str()).await?;
        self.get(id).await
    }

    /// Extends a detached volume: the state is read first, so an attached
    /// volume is refused before anything is sent.
    pub(crate) async fn resize(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        rules::check_size(new_size)?;
        let v = self.get(id).await?;
        if v.attached_to().is_some()
            || matches!(v.state, VolumeState::InUse | VolumeState::Attaching)
        {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.raw_state.clone(),
                "resize_volume",
            ));
        }
        check_grow(v.size, new_size)?;
        self.client.extend(id.as_str(), new_size.as_gib()).await?;
        self.get(id).await
    }

    // ----- snapshots ------------------------------------------------------------

    /// The regions to look in, the client's first.
    fn regions(&self) -> Vec<RegionId> {
        let mut out = vec![self.region.clone()];
        out.extend(
            REGIONS
                .iter()
                .filter_map(|r| RegionId::new(*r).ok())
                .filter(|r| *r != self.region),
        );
        out
    }

    /// Snapshots in `region`.
    pub(crate) async fn snapshots_in(&self, region: &RegionId) -> Result<Vec<Snapshot>> {
        self.client
            .snapshot_list(region.as_str())
            .await?
            .snapshots
            .iter()
            .map(|s| convert::snapshot(s, region))
            .collect()
    }

    /// Snapshot `id`, looked for in every region.
    pub(crate) async fn find_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        for region in self.regions() {
            if let Some(s) = self
                .snapshots_in(&region)
                .await?
                .into_iter()
                .find(|s| s.id == *id)
            {
                return Ok(s);
            }
        }
        Err(Error::not_found(ResourceKind::Snapshot, id.as_str()))
    }

    pub(crate) async fn snapshot(&self, req: &CreateSnapshot) -> Result<Snapshot> {
        rules::check_name("name", &req.name)?;
        if idempotency::has_other_labels(&req.labels) {
            return Err(Error::invalid_input(
                "labels",
                "LunaNode snapshots have no labels (only an idempotency key, kept in the name)",
            ));
        }
        let label = idem::keyed_label(&req.name, req.idempotency_key())?;
        let volume = self.get(&req.volume_id).await?;
        idempotency::create_snapshot(self, req, || async {
            let created = self
                .client
                .snapshot_create(req.volume_id.as_str(), &label)
                .await?;
            let id = SnapshotId::new(created.snapshot_id.clone()).map_err(|e| {
                Error::decode(
                    format!("snapshot_id {:?} is not an id", created.snapshot_id),
                    e,
                )
            })?;
            let listed = self.snapshots_in(&volume.region).await?;
            Ok(listed.into_iter().find(|s| s.id == id).unwrap_or_else(|| {
                // Not listed yet: what is known of it.
                let mut s = Snapshot::new(
                    id,
                    req.name.clone(),
                    Some(req.volume_id.clone()),
                    volume.size,
                    volume.region.clone(),
                    SnapshotState::Creating,
                );
                s.raw_state = "creating".to_owned();
                s.labels = req.labels.clone();
                s
            }))
        })
        .await
    }

    /// Every snapshot in LunaNode's regions (one `snapshot-list` each),
    /// filtered by volume here.
    pub(crate) async fn snapshot_page(&self, query: &ListSnapshots) -> Result<Page<Snapshot>> {
        let mut items = Vec::new();
        for region in self.regions() {
            items.extend(self.snapshots_in(&region).await?.into_iter().filter(|s| {
                query
                    .volume_id
                    .as_ref()
                    .is_none_or(|v| s.volume_id.as_ref() == Some(v))
            }));
        }
        Ok(Page::last(items))
    }

    pub(crate) async fn remove_snapshot(&self, id: &SnapshotId) -> Result<()> {
        let s = self.find_snapshot(id).await?;
        self.client
            .snapshot_delete(s.region.as_str(), id.as_str())
            .await
    }

    /// Makes an image named `image_name` from snapshot `id`, in
    /// `dst_region` (the snapshot's own or another), and returns the new
    /// image's id, usable with
    /// [`create_volume_from_image`](Self::create_volume_from_image).
    ///
    /// # Errors
    /// [`Error::NotFound`] when no region has the snapshot;
    /// [`Error::InvalidInput`] for an empty name; LunaNode's refusal.
    pub async fn replicate_snapshot(
        &self,
        id: &SnapshotId,
        image_name: &str,
        dst_region: &RegionId,
    ) -> Result<String> {
        rules::check_name("image_name", image_name)?;
        let s = self.find_snapshot(id).await?;
        Ok(self
            .client
            .snapshot_replicate(
                s.region.as_str(),
                id.as_str(),
                image_name,
                dst_region.as_str(),
            )
            .await?
            .image_id)
    }

    // ----- VMs and images ------------------------------------------------------------

    /// Every VM of the account (`vm/list`), as instances volumes can attach
    /// to.
    ///
    /// # Errors
    /// LunaNode's refusal, or a VM that does not decode.
    pub async fn vms(&self) -> Result<Vec<Instance>> {
        self.client
            .vm_list()
            .await?
            .vms
            .iter()
            .map(|vm| convert::instance(vm, &self.region))
            .collect()
    }

    /// The images of the account (`image/list`), of one region or all.
    ///
    /// # Errors
    /// LunaNode's refusal, or an image that does not decode.
    pub async fn images(&self, region: Option<&RegionId>) -> Result<Vec<Image>> {
        self.client
            .image_list(region.map(RegionId::as_str))
            .await?
            .images
            .into_iter()
            .map(|i| {
                Ok(Image {
                    region: if i.region.is_empty() {
                        None
                    } else {
                        Some(RegionId::new(i.region.clone()).map_err(|e| {
                            Error::decode(format!("image region {:?} is not a region", i.region), e)
                        })?)
                    },
                    size: if i.size.is_empty() {
                        None
                    } else {
                        Some(convert::size("size", &i.size)?)
                    },
                    id: i.image_id,
                    name: i.name,
                    status: i.status,
                })
            })
            .collect()
    }
}
