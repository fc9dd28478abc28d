//! One `async fn` per Linode endpoint, over volume-core's [`Transport`].
//!
//! Nothing here decides anything: each function describes one request
//! (method, path segments, query, `X-Filter`, body, what it is about) and
//! decodes the answer into the [wire types](crate::wire). Ids are always
//! passed as path segments, so the transport sends each as exactly one
//! percent-encoded segment. Checks, conversions and composed operations
//! live in [`Linode`](crate::Linode).

use volume_core::http::{Request, Transport};
use volume_core::{ResourceKind, Result};

use crate::wire::{
    AttachBody, CloneBody, CreateBody, Envelope, LinodeInstance, LinodeVolume, Region, ResizeBody,
    UpdateBody, VolumeType,
};

/// The header Linode reads filters from.
pub(crate) const X_FILTER: &str = "X-Filter";

/// Which page of a collection to ask for, and how it is filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageQuery<'a> {
    /// The page number, from 1.
    pub(crate) page: u32,
    /// Items per page (25..=500); `None` takes Linode's default of 100.
    pub(crate) page_size: Option<u32>,
    /// The `X-Filter` header, as JSON.
    pub(crate) filter: Option<&'a str>,
}

impl PageQuery<'_> {
    /// Page `page`, unfiltered, of the default size.
    pub(crate) const fn page(page: u32) -> PageQuery<'static> {
        PageQuery {
            page,
            page_size: None,
            filter: None,
        }
    }

    fn apply(&self, request: Request) -> Request {
        let request = request
            .query("page", self.page.to_string())
            .query_opt("page_size", self.page_size.map(|s| s.to_string()));
        match self.filter {
            Some(filter) => request.header(X_FILTER, filter),
            None => request,
        }
    }
}

/// The Linode API v4 endpoints volume-rs uses.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    transport: Transport,
}

impl Client {
    pub(crate) fn new(transport: Transport) -> Self {
        Self { transport }
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `GET /volumes`.
    pub(crate) async fn list_volumes(&self, q: PageQuery<'_>) -> Result<Envelope<LinodeVolume>> {
        self.transport
            .send_json(q.apply(Request::get(["volumes"])))
            .await
    }

    /// `GET /linode/instances/{linodeId}/volumes`.
    pub(crate) async fn instance_volumes(
        &self,
        linode_id: &str,
        q: PageQuery<'_>,
    ) -> Result<Envelope<LinodeVolume>> {
        let request = Request::get(["linode", "instances", linode_id, "volumes"])
            .about(ResourceKind::Instance, linode_id);
        self.transport.send_json(q.apply(request)).await
    }

    /// `GET /volumes/{volumeId}`.
    pub(crate) async fn get_volume(&self, id: &str) -> Result<LinodeVolume> {
        self.transport
            .send_json(Request::get(["volumes", id]).about(ResourceKind::Volume, id))
            .await
    }

    /// `POST /volumes`.
    pub(crate) async fn create_volume(&self, body: &CreateBody) -> Result<LinodeVolume> {
        self.transport
            .send_json(
                Request::post(["volumes"])
                    .json(body)
                    .about(ResourceKind::Volume, ""),
            )
            .await
    }

    /// `PUT /volumes/{volumeId}`.
    pub(crate) async fn update_volume(&self, id: &str, body: &UpdateBody) -> Result<LinodeVolume> {
        self.transport
            .send_json(
                Request::put(["volumes", id])
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `DELETE /volumes/{volumeId}` (answers `{}`).
    pub(crate) async fn delete_volume(&self, id: &str) -> Result<()> {
        self.transport
            .send(Request::delete(["volumes", id]).about(ResourceKind::Volume, id))
            .await?;
        Ok(())
    }

    /// `POST /volumes/{volumeId}/attach`.
    pub(crate) async fn attach_volume(&self, id: &str, body: &AttachBody) -> Result<LinodeVolume> {
        self.transport
            .send_json(
                Request::post(["volumes", id, "attach"])
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `POST /volumes/{volumeId}/detach` with `{}`, as linodego sends it
    /// (answers `{}`).
    pub(crate) async fn detach_volume(&self, id: &str) -> Result<()> {
        self.transport
            .send(
                Request::post(["volumes", id, "detach"])
                    .json(&serde_json::json!({}))
                    .about(ResourceKind::Volume, id),
            )
            .await?;
        Ok(())
    }

    /// `POST /volumes/{volumeId}/clone` (answers the new volume).
    pub(crate) async fn clone_volume(&self, id: &str, body: &CloneBody) -> Result<LinodeVolume> {
        self.transport
            .send_json(
                Request::post(["volumes", id, "clone"])
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `POST /volumes/{volumeId}/resize`.
    pub(crate) async fn resize_volume(&self, id: &str, body: &ResizeBody) -> Result<LinodeVolume> {
        self.transport
            .send_json(
                Request::post(["volumes", id, "resize"])
                    .json(body)
                    .about(ResourceKind::Volume, id),
            )
            .await
    }

    /// `GET /volumes/types`.
    pub(crate) async fn volume_types(&self, q: PageQuery<'_>) -> Result<Envelope<VolumeType>> {
        self.transport
            .send_json(
                q.apply(Request::get(["volumes", "types"]).about(ResourceKind::VolumeType, "")),
            )
            .await
    }

    /// `GET /regions`.
    pub(crate) async fn list_regions(&self, q: PageQuery<'_>) -> Result<Envelope<Region>> {
        self.transport
            .send_json(q.apply(Request::get(["regions"]).about(ResourceKind::Region, "")))
            .await
    }

    /// `GET /regions/{regionId}`.
    pub(crate) async fn get_region(&self, id: &str) -> Result<Region> {
        self.transport
            .send_json(Request::get(["regions", id]).about(ResourceKind::Region, id))
            .await
    }

    /// `GET /linode/instances`.
    pub(crate) async fn list_instances(
        &self,
        q: PageQuery<'_>,
    ) -> Result<Envelope<LinodeInstance>> {
        self.transport
            .send_json(
                q.apply(Request::get(["linode", "instances"]).about(ResourceKind::Instance, "")),
            )
            .await
    }

    /// `GET /linode/instances/{linodeId}`.
    pub(crate) async fn get_instance(&self, id: &str) -> Result<LinodeInstance> {
        self.transport
            .send_json(Request::get(["linode", "instances", id]).about(ResourceKind::Instance, id))
            .await
    }
}
