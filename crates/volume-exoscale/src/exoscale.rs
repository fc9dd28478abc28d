//! [`Exoscale`], the client: the operations volume-core's trait needs,
//! built from the endpoints in [`client`](crate::client) with Exoscale's
//! rules checked first and its asynchronous operations waited for, and the
//! operations only Exoscale has.

use std::fmt;

use tokio::time::Instant;
use volume_core::http::{redact_url, Url};
use volume_core::{
    CreateSnapshot, CreateVolume, Error, Instance, InstanceId, Labels, ListSnapshots, ListVolumes,
    Page, RegionId, ResourceKind, Result, Size, Snapshot, SnapshotId, UpdateVolume, Volume,
    VolumeId, VolumeSource,
};

use crate::client::Client;
use crate::convert;
use crate::error::PROVIDER;
use crate::rules::{check_name, check_size, uuid, MAX_SIZE};
use crate::wire::{
    AttachBody, CreateBody, ExoscaleSnapshot, ExoscaleVolume, Operation, Ref, ResizeBody,
    SnapshotBody, UpdateBody, Zone,
};
use crate::OperationPolling;

/// A client of the Exoscale API v2 block storage, in one zone.
///
/// Made by [`ExoscaleBuilder`](crate::ExoscaleBuilder). It implements
/// volume-core's [`BlockStorage`](volume_core::BlockStorage) (see the
/// [crate docs](crate) for what maps to what) and has what only Exoscale
/// offers as methods of its own.
///
/// Every mutation but a resize is an asynchronous operation on Exoscale's
/// side: the client waits for it ([`OperationPolling`]) and returns the
/// resource as it is once the operation succeeded.
///
/// Cheap to clone: clones share one connection pool and configuration.
/// `Debug` and `Display` never show the API secret or a signature;
/// `Display` is `Exoscale(<zone>)`, for logs.
#[derive(Clone)]
pub struct Exoscale {
    client: Client,
    zone: RegionId,
    polling: OperationPolling,
}

impl fmt::Debug for Exoscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = self.client.transport();
        f.debug_struct("Exoscale")
            .field("zone", &self.zone)
            .field("endpoint", &redact_url(transport.base_url()))
            .field("retry", transport.retry_config())
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Exoscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Exoscale({})", self.zone)
    }
}

/// The `Unsupported` answer to a source Exoscale cannot create from.
fn unsupported_source(source: &VolumeSource) -> Option<Error> {
    match source {
        VolumeSource::Empty | VolumeSource::Snapshot(_) => None,
        VolumeSource::Volume(_) => {
            Some(Error::unsupported("create_volume from a volume", PROVIDER))
        }
        VolumeSource::Backup(_) => {
            Some(Error::unsupported("create_volume from a backup", PROVIDER))
        }
        _ => Some(Error::unsupported(
            "create_volume from this source",
            PROVIDER,
        )),
    }
}

/// The error of an operation that ended in `failure` or `timeout`.
fn failed(op: &Operation, kind: ResourceKind, id: &str) -> Error {
    let reason = op.reason.as_deref().unwrap_or("unknown");
    let reason = match op.message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => format!("{reason}: {m}"),
        _ => reason.to_owned(),
    };
    let id = op
        .reference_id()
        .or(Some(id).filter(|i| !i.is_empty()))
        .unwrap_or(&op.id);
    Error::Failed {
        kind,
        id: id.to_owned(),
        state: format!("operation {} {}", op.id, op.state),
        reason: Some(reason),
    }
}

impl Exoscale {
    pub(crate) fn from_parts(client: Client, zone: RegionId, polling: OperationPolling) -> Self {
        Self {
            client,
            zone,
            polling,
        }
    }

    /// The zone this client works in; volumes, snapshots and instances
    /// carry it as their region.
    pub fn zone(&self) -> &RegionId {
        &self.zone
    }

    /// The API endpoint, e.g. `https://api-ch-gva-2.exoscale.com/v2`.
    pub fn endpoint(&self) -> &Url {
        self.client.transport().base_url()
    }

    /// How operations are waited for.
    pub fn operation_polling(&self) -> &OperationPolling {
        &self.polling
    }

    /// Every zone (`GET /v2/zone`, sent unsigned as Exoscale's clients do:
    /// the endpoint is public, and restricted keys are refused on a signed
    /// call).
    ///
    /// # Errors
    /// As for every request.
    pub async fn zones(&self) -> Result<Vec<Zone>> {
        self.client.list_zones().await
    }

    /// A client of `zone`, with this client's key and settings, at the
    /// endpoint [`zones`](Self::zones) gives for it. Exoscale's zones are
    /// independent: a volume is only known to its own zone's endpoint.
    ///
    /// # Errors
    /// [`Error::NotFound`] (for a region) when Exoscale has no such zone;
    /// [`Error::InvalidInput`] when its endpoint is not a URL.
    pub async fn for_zone(&self, zone: &str) -> Result<Self> {
        let zones = self.zones().await?;
        let found = zones
            .into_iter()
            .find(|z| z.name == zone)
            .ok_or_else(|| Error::not_found(ResourceKind::Region, zone))?;
        let endpoint = match found.api_endpoint.filter(|e| !e.trim().is_empty()) {
            Some(e) => e,
            None => crate::builder::endpoint_of(zone),
        };
        let url = Url::parse(endpoint.trim()).map_err(|e| {
            Error::invalid_input(
                "endpoint",
                format!("Exoscale's {endpoint:?} is not a URL ({e})"),
            )
        })?;
        Ok(Self {
            client: self.client.at(url)?,
            zone: RegionId::new(zone)?,
            polling: self.polling,
        })
    }

    // ----- operations -------------------------------------------------------

    /// One operation (`GET /v2/operation/{id}`).
    ///
    /// # Errors
    /// [`Error::NotFound`] (for an operation) when there is none.
    pub async fn operation(&self, id: &str) -> Result<Operation> {
        self.client.get_operation(id).await
    }

    /// Polls `op` until it is no longer `pending`, as
    /// [`OperationPolling`] says, and returns it once it succeeded.
    ///
    /// # Errors
    /// - [`Error::Failed`] when it ended in `failure` or `timeout`: `kind`
    ///   and `id` are the resource it is about (its `reference.id`), `state`
    ///   is `"operation <id> <state>"`, and `reason` is
    ///   `"<reason>: <message>"` as Exoscale said them (`reason` is one of
    ///   the spec's words, `unknown` when absent);
    /// - [`Error::Timeout`] after [`OperationPolling::max_wait`] (the
    ///   operation may still finish);
    /// - the last poll's error after [`OperationPolling::max_poll_errors`]
    ///   failed polls in a row, or at once for an error that is not
    ///   retryable.
    pub async fn wait_for_operation(&self, op: Operation) -> Result<Operation> {
        self.finish(op, ResourceKind::Operation, "").await
    }

    /// [`wait_for_operation`](Self::wait_for_operation), with what the
    /// operation is about for its errors.
    pub(crate) async fn finish(
        &self,
        mut op: Operation,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Operation> {
        if op.id.is_empty() && op.is_pending() {
            return Err(Error::Decode {
                message: "Exoscale answered a pending operation without an id".to_owned(),
                source: None,
            });
        }
        let start = Instant::now();
        let mut errors = 0u32;
        while op.is_pending() {
            let elapsed = start.elapsed();
            let max_wait = self.polling.max_wait;
            if elapsed >= max_wait {
                return Err(Error::Timeout {
                    what: format!("Exoscale operation {} on {kind} {id:?}", op.id),
                    waited: elapsed,
                    last_seen: Some(op.state.clone()),
                });
            }
            let delay = self
                .polling
                .interval_at(elapsed)
                .min(max_wait.saturating_sub(elapsed));
            tokio::time::sleep(delay).await;
            match self.client.get_operation(&op.id).await {
                Ok(polled) => {
                    errors = 0;
                    op = polled;
                }
                Err(e) if e.is_retryable() => {
                    errors += 1;
                    tracing::debug!(error = %e, operation = %op.id, "operation poll failed");
                    if errors >= self.polling.max_poll_errors.max(1) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if op.state == "success" {
            Ok(op)
        } else {
            Err(failed(&op, kind, id))
        }
    }

    /// The id of what a finished operation made (`reference.id`, or the one
    /// the accepted operation named).
    fn made(op: &Operation, accepted: Option<String>, kind: ResourceKind) -> Result<String> {
        op.reference_id()
            .map(str::to_owned)
            .or(accepted)
            .ok_or_else(|| Error::Decode {
                message: format!(
                    "Exoscale's operation {} succeeded without naming the new {kind}",
                    op.id
                ),
                source: None,
            })
    }

    // ----- what only Exoscale has ----------------------------------------------

    /// A volume as Exoscale describes it, with what the core [`Volume`]
    /// leaves out (`blocksize`, `encrypted`, its snapshots).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such volume (an id that is not a
    /// UUID names none, and is refused without a request).
    pub async fn volume_details(&self, id: &VolumeId) -> Result<ExoscaleVolume> {
        uuid(ResourceKind::Volume, id.as_str())?;
        self.client.get_volume(id.as_str()).await
    }

    /// A snapshot as Exoscale describes it (`size` and `volume-size`).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such snapshot.
    pub async fn snapshot_details(&self, id: &SnapshotId) -> Result<ExoscaleSnapshot> {
        uuid(ResourceKind::Snapshot, id.as_str())?;
        self.client.get_snapshot(id.as_str()).await
    }

    /// Renames or relabels a snapshot (`PUT /v2/block-storage-snapshot/{id}`;
    /// `labels` replaces the whole map), waits for the operation and returns
    /// the snapshot.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name of more than 255 characters;
    /// [`Error::NotFound`] when there is no such snapshot.
    pub async fn update_snapshot(
        &self,
        id: &SnapshotId,
        name: Option<&str>,
        labels: Option<&Labels>,
    ) -> Result<Snapshot> {
        uuid(ResourceKind::Snapshot, id.as_str())?;
        if let Some(name) = name {
            check_name(name)?;
        }
        if name.is_some() || labels.is_some() {
            let body = UpdateBody {
                name: name.map(str::to_owned),
                labels: labels.cloned(),
            };
            let op = self.client.update_snapshot(id.as_str(), &body).await?;
            self.finish(op, ResourceKind::Snapshot, id.as_str()).await?;
        }
        self.get_snapshot_checked(id).await
    }

    /// One instance, as a core [`Instance`] (`running` and `stopped` are
    /// themselves, other words `Unknown`).
    ///
    /// # Errors
    /// [`Error::NotFound`] (for the instance) when there is none.
    pub async fn instance(&self, id: &InstanceId) -> Result<Instance> {
        uuid(ResourceKind::Instance, id.as_str())?;
        convert::instance(self.client.get_instance(id.as_str()).await?, &self.zone)
    }

    // ----- what the trait needs -----------------------------------------------

    /// Refuses a region other than this client's zone.
    fn check_region(&self, region: Option<&RegionId>) -> Result<()> {
        match region {
            Some(r) if *r != self.zone => Err(Error::invalid_input(
                "region",
                format!(
                    "this client works in zone {}, not {r}; make one for that zone \
                     (Exoscale::for_zone or ExoscaleBuilder::with_zone)",
                    self.zone
                ),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) async fn list_volume_page(&self, query: &ListVolumes) -> Result<Page<Volume>> {
        if query.region.as_ref().is_some_and(|r| *r != self.zone) {
            return Ok(Page::last(Vec::new()));
        }
        let instance = query.attached_to.as_ref().map(InstanceId::as_str);
        if instance.is_some_and(|i| uuid(ResourceKind::Instance, i).is_err()) {
            return Ok(Page::last(Vec::new()));
        }
        let listed = match self.client.list_volumes(instance).await {
            Err(e) if e.is_not_found() && instance.is_some() => return Ok(Page::last(Vec::new())),
            other => other?,
        };
        let mut items = Vec::with_capacity(listed.len());
        for w in listed {
            let v = convert::volume(w, &self.zone)?;
            if query.matches(&v) {
                items.push(v);
            }
        }
        Ok(Page::last(items))
    }

    pub(crate) async fn get(&self, id: &VolumeId) -> Result<Volume> {
        uuid(ResourceKind::Volume, id.as_str())?;
        convert::volume(self.client.get_volume(id.as_str()).await?, &self.zone)
    }

    pub(crate) async fn create(&self, request: &CreateVolume) -> Result<Volume> {
        if let Some(e) = unsupported_source(&request.source) {
            return Err(e);
        }
        check_name(&request.name)?;
        if let Some(t) = &request.volume_type {
            return Err(Error::invalid_input(
                "volume_type",
                format!("Exoscale has no volume types to choose from (asked for {t:?})"),
            ));
        }
        self.check_region(request.region.as_ref())?;
        if let Some(instance) = &request.attach_to {
            // Exoscale creates volumes detached: look the instance up now,
            // attach once the volume is there.
            uuid(ResourceKind::Instance, instance.as_str())?;
            self.client.get_instance(instance.as_str()).await?;
        }
        let body = match &request.source {
            VolumeSource::Snapshot(snapshot) => {
                uuid(ResourceKind::Snapshot, snapshot.as_str())?;
                let snap = self.client.get_snapshot(snapshot.as_str()).await?;
                if let Some(size) = request.size {
                    check_size(size)?;
                    if let Some(base) = snap.volume_size_gib().filter(|b| size.as_gib() < *b) {
                        return Err(Error::invalid_input(
                            "size",
                            format!("{size} is smaller than the snapshot's {}", Size::gib(base)),
                        ));
                    }
                }
                if snap.state != "created" {
                    return Err(Error::invalid_state(
                        ResourceKind::Snapshot,
                        snapshot.as_str(),
                        snap.state,
                        "create_volume",
                    ));
                }
                CreateBody {
                    name: request.name.clone(),
                    size: request.size.map(Size::as_gib),
                    labels: request.labels.clone(),
                    snapshot: Some(Ref::to(snapshot.as_str())),
                }
            }
            _ => {
                let size = request.size.ok_or_else(|| {
                    Error::invalid_input("size", "Exoscale needs a size for an empty volume")
                })?;
                check_size(size)?;
                CreateBody {
                    name: request.name.clone(),
                    size: Some(size.as_gib()),
                    labels: request.labels.clone(),
                    snapshot: None,
                }
            }
        };
        let accepted = self.client.create_volume(&body).await?;
        let named = accepted.reference_id().map(str::to_owned);
        let done = self.finish(accepted, ResourceKind::Volume, "").await?;
        let id = VolumeId::new(Self::made(&done, named, ResourceKind::Volume)?)?;
        match &request.attach_to {
            Some(instance) => self.attach(&id, instance).await,
            None => self.get(&id).await,
        }
    }

    pub(crate) async fn update(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        uuid(ResourceKind::Volume, id.as_str())?;
        if let Some(name) = &request.name {
            check_name(name)?;
        }
        if request.name.is_some() || request.labels.is_some() {
            let body = UpdateBody {
                name: request.name.clone(),
                labels: request.labels.clone(),
            };
            let op = self.client.update_volume(id.as_str(), &body).await?;
            self.finish(op, ResourceKind::Volume, id.as_str()).await?;
        }
        self.get(id).await
    }

    /// Looks the volume up, refuses to delete it while it is attached (the
    /// trait's contract, and Exoscale's rule), deletes it and waits for the
    /// operation.
    pub(crate) async fn delete(&self, id: &VolumeId) -> Result<()> {
        let v = self.get(id).await?;
        if !v.attachments.is_empty() {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.raw_state,
                "delete_volume",
            ));
        }
        let op = self.client.delete_volume(id.as_str()).await?;
        self.finish(op, ResourceKind::Volume, id.as_str()).await?;
        Ok(())
    }

    /// Looks the volume up (it must be `detached`) and the instance, then
    /// attaches and waits.
    pub(crate) async fn attach(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        uuid(ResourceKind::Volume, id.as_str())?;
        uuid(ResourceKind::Instance, instance.as_str())?;
        let v = self.client.get_volume(id.as_str()).await?;
        if v.instance_id().is_some() || v.state != "detached" {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.state,
                "attach_volume",
            ));
        }
        self.client.get_instance(instance.as_str()).await?;
        let body = AttachBody {
            instance: Ref::to(instance.as_str()),
        };
        let op = self.client.attach_volume(id.as_str(), &body).await?;
        self.finish(op, ResourceKind::Volume, id.as_str()).await?;
        self.get(id).await
    }

    /// Looks the volume up (it must be attached), detaches and waits.
    pub(crate) async fn detach(&self, id: &VolumeId) -> Result<Volume> {
        let v = self.get(id).await?;
        if v.attachments.is_empty() {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.raw_state,
                "detach_volume",
            ));
        }
        let op = self.client.detach_volume(id.as_str()).await?;
        self.finish(op, ResourceKind::Volume, id.as_str()).await?;
        self.get(id).await
    }

    /// Checks the new size, looks the volume up, checks that it grows and
    /// that it is detached or attached to a stopped instance (Exoscale's
    /// rule), then resizes: Exoscale answers the volume at once.
    pub(crate) async fn resize(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        uuid(ResourceKind::Volume, id.as_str())?;
        if new_size > MAX_SIZE {
            return Err(Error::invalid_input(
                "size",
                format!("{new_size} is larger than the largest volume, {MAX_SIZE}"),
            ));
        }
        let v = self.get(id).await?;
        volume_core::check_grow(v.size, new_size)?;
        match (v.raw_state.as_str(), v.attached_to()) {
            ("detached", None) => {}
            ("attached", Some(instance)) => {
                let i = self.client.get_instance(instance.as_str()).await?;
                if i.state != "stopped" {
                    return Err(Error::invalid_state(
                        ResourceKind::Volume,
                        id.as_str(),
                        format!("attached to instance {instance}, which is {}", i.state),
                        "resize_volume",
                    ));
                }
            }
            _ => {
                return Err(Error::invalid_state(
                    ResourceKind::Volume,
                    id.as_str(),
                    v.raw_state,
                    "resize_volume",
                ))
            }
        }
        let body = ResizeBody {
            size: new_size.as_gib(),
        };
        convert::volume(
            self.client.resize_volume(id.as_str(), &body).await?,
            &self.zone,
        )
    }

    pub(crate) async fn snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        let volume = request.volume_id.as_str();
        uuid(ResourceKind::Volume, volume)?;
        check_name(&request.name)?;
        let body = SnapshotBody {
            name: request.name.clone(),
            labels: request.labels.clone(),
        };
        let accepted = self.client.create_snapshot(volume, &body).await?;
        let named = accepted.reference_id().map(str::to_owned);
        let done = self.finish(accepted, ResourceKind::Snapshot, "").await?;
        let id = SnapshotId::new(Self::made(&done, named, ResourceKind::Snapshot)?)?;
        self.get_snapshot_checked(&id).await
    }

    pub(crate) async fn get_snapshot_checked(&self, id: &SnapshotId) -> Result<Snapshot> {
        uuid(ResourceKind::Snapshot, id.as_str())?;
        convert::snapshot(self.client.get_snapshot(id.as_str()).await?, &self.zone)
    }

    pub(crate) async fn snapshot_page(&self, query: &ListSnapshots) -> Result<Page<Snapshot>> {
        let mut items = Vec::new();
        for w in self.client.list_snapshots().await? {
            let s = convert::snapshot(w, &self.zone)?;
            if query
                .volume_id
                .as_ref()
                .is_none_or(|v| s.volume_id.as_ref() == Some(v))
            {
                items.push(s);
            }
        }
        Ok(Page::last(items))
    }

    pub(crate) async fn remove_snapshot(&self, id: &SnapshotId) -> Result<()> {
        uuid(ResourceKind::Snapshot, id.as_str())?;
        let op = self.client.delete_snapshot(id.as_str()).await?;
        self.finish(op, ResourceKind::Snapshot, id.as_str()).await?;
        Ok(())
    }

    pub(crate) async fn instance_page(&self) -> Result<Page<Instance>> {
        let items = self
            .client
            .list_instances()
            .await?
            .into_iter()
            .map(|i| convert::instance(i, &self.zone))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::last(items))
    }
}
