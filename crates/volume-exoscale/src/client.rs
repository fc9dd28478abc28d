//! One `async fn` per Exoscale endpoint, over volume-core's [`Transport`].
//!
//! Nothing here decides anything: each function describes one request and
//! decodes the answer into the [wire types](crate::wire). Checks,
//! conversions, operation polling and composed operations live in
//! [`Exoscale`](crate::Exoscale).
//!
//! # `:action` paths
//!
//! Exoscale's actions are colon suffixes of the resource's segment
//! (`/v2/block-storage/<id>:attach`), and the colon must be sent as it is
//! (it is part of the signed path, and `%3A` names another path). They are
//! sent with [`Request::action_suffix`], through the same transport as
//! every other request: the id is encoded as one segment, the suffix is
//! appended literally, and the signer sees that exact path.
//!
//! `GET /zone` is public and sent unsigned ([`Request::without_auth`]),
//! through that same transport.

use volume_core::http::{Request, Transport, Url};
use volume_core::{ResourceKind, Result};

use crate::wire::{
    AttachBody, CreateBody, ExoscaleInstance, ExoscaleSnapshot, ExoscaleVolume, InstanceList,
    Operation, ResizeBody, SnapshotBody, SnapshotList, UpdateBody, VolumeList, Zone, ZoneList,
};

/// The Exoscale API v2 endpoints volume-rs uses, at one zone's endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// Every request, signed unless it says otherwise.
    transport: Transport,
}

impl Client {
    pub(crate) fn new(transport: Transport) -> Self {
        Self { transport }
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The same client (key, pool, settings) at another zone's endpoint.
    pub(crate) fn at(&self, endpoint: Url) -> Result<Self> {
        Ok(Self::new(self.transport.with_base_url(endpoint)?))
    }

    /// `GET /zone`, unsigned.
    pub(crate) async fn list_zones(&self) -> Result<Vec<Zone>> {
        let list: ZoneList = self
            .transport
            .send_json(
                Request::get(["zone"])
                    .without_auth()
                    .about(ResourceKind::Region, ""),
            )
            .await?;
        Ok(list.zones)
    }

    /// `GET /block-storage[?instance-id=..]`.
    pub(crate) async fn list_volumes(&self, instance: Option<&str>) -> Result<Vec<ExoscaleVolume>> {
        let list: VolumeList = self
            .transport
            .send_json(
                Request::get(["block-storage"])
                    .query_opt("instance-id", instance)
                    .about(ResourceKind::Volume, ""),
            )
            .await?;
        Ok(list.volumes)
    }

    /// `GET /block-storage/{id}`.
    pub(crate) async fn get_volume(&self, id: &str) -> Result<ExoscaleVolume> {
        self.transport
            .send_json(Request::get(["block-storage", id]).about(ResourceKind::Volume, id))
            .await
    }

    /// `POST /block-storage`.
    pub(crate) async fn create_volume(&self, body: &CreateBody) -> Result<Operation> {
        self.transport
            .send_json(
                Request::post(["block-storage"])
                    .idempotent(false)
                    .json(body)
                    .about(ResourceKind::Volume, ""),
            )
            .await
    }

    /// `PUT /block-storage/{id}`.
    pub(crate) async fn update_volume(&self, id: &str, body: &UpdateBody) -> Result<Operation> {
        self.transport
            .send_json(
                Request::put(["block-storage", id])
                    .idempotent(false)
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `DELETE /block-storage/{id}`.
    pub(crate) async fn delete_volume(&self, id: &str) -> Result<Operation> {
        self.transport
            .send_json(
                Request::delete(["block-storage", id])
                    .idempotent(false)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `PUT /block-storage/{id}:attach`.
    pub(crate) async fn attach_volume(&self, id: &str, body: &AttachBody) -> Result<Operation> {
        self.transport
            .send_json(
                Request::put(["block-storage", id])
                    .action_suffix(":attach")
                    .idempotent(false)
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `PUT /block-storage/{id}:detach`, without a body.
    pub(crate) async fn detach_volume(&self, id: &str) -> Result<Operation> {
        self.transport
            .send_json(
                Request::put(["block-storage", id])
                    .action_suffix(":detach")
                    .idempotent(false)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `PUT /block-storage/{id}:resize-volume`: answers the volume itself.
    pub(crate) async fn resize_volume(
        &self,
        id: &str,
        body: &ResizeBody,
    ) -> Result<ExoscaleVolume> {
        self.transport
            .send_json(
                Request::put(["block-storage", id])
                    .action_suffix(":resize-volume")
                    .idempotent(false)
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `POST /block-storage/{id}:create-snapshot`.
    pub(crate) async fn create_snapshot(&self, id: &str, body: &SnapshotBody) -> Result<Operation> {
        self.transport
            .send_json(
                Request::post(["block-storage", id])
                    .action_suffix(":create-snapshot")
                    .idempotent(false)
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `GET /block-storage-snapshot`.
    pub(crate) async fn list_snapshots(&self) -> Result<Vec<ExoscaleSnapshot>> {
        let list: SnapshotList = self
            .transport
            .send_json(Request::get(["block-storage-snapshot"]).about(ResourceKind::Snapshot, ""))
            .await?;
        Ok(list.snapshots)
    }

    /// `GET /block-storage-snapshot/{id}`.
    pub(crate) async fn get_snapshot(&self, id: &str) -> Result<ExoscaleSnapshot> {
        self.transport
            .send_json(
                Request::get(["block-storage-snapshot", id]).about(ResourceKind::Snapshot, id),
            )
            .await
    }

    /// `PUT /block-storage-snapshot/{id}`.
    pub(crate) async fn update_snapshot(&self, id: &str, body: &UpdateBody) -> Result<Operation> {
        self.transport
            .send_json(
                Request::put(["block-storage-snapshot", id])
                    .idempotent(false)
                    .json(body)
                    .about(ResourceKind::Snapshot, id),
            )
            .await
    }

    /// `DELETE /block-storage-snapshot/{id}`.
    pub(crate) async fn delete_snapshot(&self, id: &str) -> Result<Operation> {
        self.transport
            .send_json(
                Request::delete(["block-storage-snapshot", id])
                    .idempotent(false)
                    .about(ResourceKind::Snapshot, id),
            )
            .await
    }

    /// `GET /operation/{id}`.
    pub(crate) async fn get_operation(&self, id: &str) -> Result<Operation> {
        self.transport
            .send_json(Request::get(["operation", id]).about(ResourceKind::Operation, id))
            .await
    }

    /// `GET /instance`.
    pub(crate) async fn list_instances(&self) -> Result<Vec<ExoscaleInstance>> {
        let list: InstanceList = self
            .transport
            .send_json(Request::get(["instance"]).about(ResourceKind::Instance, ""))
            .await?;
        Ok(list.instances)
    }

    /// `GET /instance/{id}`.
    pub(crate) async fn get_instance(&self, id: &str) -> Result<ExoscaleInstance> {
        self.transport
            .send_json(Request::get(["instance", id]).about(ResourceKind::Instance, id))
            .await
    }
}
