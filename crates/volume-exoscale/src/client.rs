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
//! (it is part of the signed path, and `%3A` names another path).
//! volume-core's [`Request`] percent-encodes every segment it is given,
//! colons included, and has no literal suffix; so an action request is sent
//! through a transport whose base URL is the whole action URL (the id
//! encoded as one segment, then `:action`), sharing this client's
//! connection pool, signer, retry and time-out settings.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use volume_core::http::{Request, RetryConfig, Signer, Transport, Url};
use volume_core::{Error, ResourceKind, Result};

use crate::error::{map_error, PROVIDER};
use crate::wire::{
    AttachBody, CreateBody, ExoscaleInstance, ExoscaleSnapshot, ExoscaleVolume, InstanceList,
    Operation, ResizeBody, SnapshotBody, SnapshotList, UpdateBody, VolumeList, Zone, ZoneList,
};

/// What volume-core encodes in a path segment: all but RFC 3986's
/// unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How every transport of a client is configured.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) http: reqwest::Client,
    pub(crate) signer: Signer,
    pub(crate) retry: RetryConfig,
    pub(crate) timeout: Option<Duration>,
    pub(crate) user_agent_suffix: Option<String>,
    pub(crate) paused_clock: bool,
}

impl Settings {
    /// A transport at `base`, signed or not.
    pub(crate) fn transport(&self, base: Url, signed: bool) -> Result<Transport> {
        let mut b = Transport::builder(PROVIDER, base)
            .client(self.http.clone())
            .retry(self.retry)
            .error_mapper(map_error);
        if signed {
            b = b.auth(self.signer.clone());
        }
        if self.paused_clock {
            b = b.for_paused_clock();
        }
        if let Some(t) = self.timeout {
            b = b.timeout(t);
        }
        if let Some(s) = &self.user_agent_suffix {
            b = b.user_agent_suffix(s.clone());
        }
        b.build()
    }
}

/// The Exoscale API v2 endpoints volume-rs uses, at one zone's endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    settings: Settings,
    /// Signed requests.
    transport: Transport,
    /// `GET /zone`, which is sent unsigned.
    public: Transport,
}

impl Client {
    pub(crate) fn new(settings: Settings, base: Url) -> Result<Self> {
        Ok(Self {
            transport: settings.transport(base.clone(), true)?,
            public: settings.transport(base, false)?,
            settings,
        })
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A transport whose base URL is `<base>/<segments..>:<action>`.
    fn action(&self, segments: &[&str], action: &str) -> Result<Transport> {
        let mut url = self.transport.base_url().clone();
        let mut path = url.path().trim_end_matches('/').to_owned();
        for segment in segments {
            if segment.is_empty() || *segment == "." || *segment == ".." {
                return Err(Error::invalid_input(
                    "path segment",
                    format!("{segment:?} cannot be sent as a path segment"),
                ));
            }
            path.push('/');
            path.extend(utf8_percent_encode(segment, SEGMENT));
        }
        path.push(':');
        path.push_str(action);
        url.set_path(&path);
        if url.path() != path {
            return Err(Error::invalid_input(
                "path",
                "the URL library would change the path; refusing to send it",
            ));
        }
        self.settings.transport(url, true)
    }

    /// `PUT|POST <segments>:<action>`, answered with `T`.
    async fn send_action<T: serde::de::DeserializeOwned>(
        &self,
        request: Request,
        segments: &[&str],
        action: &str,
    ) -> Result<T> {
        self.action(segments, action)?.send_json(request).await
    }

    /// `GET /zone`, unsigned.
    pub(crate) async fn list_zones(&self) -> Result<Vec<Zone>> {
        let list: ZoneList = self
            .public
            .send_json(Request::get(["zone"]).about(ResourceKind::Region, ""))
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
        let request = Request::put(Vec::<String>::new())
            .idempotent(false)
            .json(body)
            .about(ResourceKind::Volume, id);
        self.send_action(request, &["block-storage", id], "attach")
            .await
    }

    /// `PUT /block-storage/{id}:detach`, without a body.
    pub(crate) async fn detach_volume(&self, id: &str) -> Result<Operation> {
        let request = Request::put(Vec::<String>::new())
            .idempotent(false)
            .about(ResourceKind::Volume, id);
        self.send_action(request, &["block-storage", id], "detach")
            .await
    }

    /// `PUT /block-storage/{id}:resize-volume`: answers the volume itself.
    pub(crate) async fn resize_volume(
        &self,
        id: &str,
        body: &ResizeBody,
    ) -> Result<ExoscaleVolume> {
        let request = Request::put(Vec::<String>::new())
            .idempotent(false)
            .json(body)
            .about(ResourceKind::Volume, id);
        self.send_action(request, &["block-storage", id], "resize-volume")
            .await
    }

    /// `POST /block-storage/{id}:create-snapshot`.
    pub(crate) async fn create_snapshot(&self, id: &str, body: &SnapshotBody) -> Result<Operation> {
        let request = Request::post(Vec::<String>::new())
            .idempotent(false)
            .json(body)
            .about(ResourceKind::Volume, id);
        self.send_action(request, &["block-storage", id], "create-snapshot")
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
