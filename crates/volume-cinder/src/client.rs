//! The endpoint calls of the Cinder client: one `async fn` per endpoint.
//!
//! Each describes one request (method, path segments, query, body) and
//! decodes the answer into the wire types; nothing here decides anything.
//! Every Cinder call carries `OpenStack-API-Version: volume X.Y`, the
//! version negotiated once per client ([`Client::microversion`]); Nova calls
//! go through their own transport (the compute endpoint of the same token).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use volume_core::http::{
    AuthRequest, Authenticate, Method, RefreshingToken, Request, Response, Transport,
};
use volume_core::{ResourceKind, Result};

use crate::auth::{read_session, Session, SharedSession};
use crate::microversion::{Microversion, ServerRange};
use crate::wire::{
    AttachmentEnvelope, AttachmentList, BackupEnvelope, BackupList, CinderAttachment, CinderBackup,
    CinderSnapshot, CinderVolume, ExtraSpecs, LimitsEnvelope, Message, MessageEnvelope,
    MessageList, Metadata, QosEnvelope, QosList, QosSpecs, QuotaEnvelope, QuotaSet,
    RestoreEnvelope, Server, ServerAttachmentEnvelope, ServerAttachmentList, ServerEnvelope,
    ServerList, ServerVolumeAttachment, SnapshotEnvelope, SnapshotList, Summary, VersionsDocument,
    VolumeEnvelope, VolumeList, VolumeType, VolumeTypeEnvelope, VolumeTypeList, ZoneList,
};
use crate::{AbsoluteLimits, AvailabilityZone};

/// The header that carries the microversion.
pub(crate) const VERSION_HEADER: &str = "OpenStack-API-Version";

/// Everything a [`Cinder`](crate::Cinder) talks through.
#[derive(Clone)]
pub(crate) struct Client {
    /// Cinder's v3 endpoint (from the catalog, renewed with the token).
    pub(crate) cinder: Transport,
    /// Nova's endpoint (the catalog's `compute`).
    pub(crate) nova: Transport,
    /// Cinder's versioned root, for the version document.
    pub(crate) versions: Transport,
    /// The shared token (to look at, and to renew).
    pub(crate) token: Arc<RefreshingToken>,
    pub(crate) session: SharedSession,
    /// The version to speak, when the caller chose one.
    pub(crate) pinned: Option<Microversion>,
    /// The version negotiated with the server, once known.
    pub(crate) negotiated: Arc<OnceCell<Microversion>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("cinder", &self.cinder)
            .field("pinned", &self.pinned)
            .field("negotiated", &self.negotiated.get())
            .finish_non_exhaustive()
    }
}

/// `{"<action>": <args>}`, the body of `POST .../action`.
pub(crate) fn action(name: &str, args: Value) -> Value {
    let mut body = serde_json::Map::new();
    body.insert(name.to_owned(), args);
    Value::Object(body)
}

/// `.` and `..` cannot be sent as a path segment (URL normalisation would
/// remove them), and no Cinder or Nova id is one: such an id names nothing.
fn no_dot_segments(request: &Request) -> Result<()> {
    if request.segments().iter().any(|s| s == "." || s == "..") {
        let (kind, id) = request.subject();
        return Err(volume_core::Error::not_found(kind, id));
    }
    Ok(())
}

impl Client {
    /// What the last login said.
    pub(crate) fn session(&self) -> Session {
        read_session(&self.session)
    }

    /// The version this client speaks: the pinned one, or
    /// `min(server max, NEWEST_KNOWN)` from the version document, fetched
    /// once and shared by every clone.
    pub(crate) async fn microversion(&self) -> Result<Microversion> {
        if let Some(pinned) = self.pinned {
            return Ok(pinned);
        }
        self.negotiated
            .get_or_try_init(|| async {
                let answer = self
                    .versions
                    .send_json::<VersionsDocument>(
                        Request::get(Vec::<String>::new()).about(ResourceKind::Other, ""),
                    )
                    .await;
                let doc = match answer {
                    Ok(doc) => doc,
                    // No version document where Cinder keeps it: speak the
                    // base version, and let every later feature say which
                    // version it needs.
                    Err(e) if e.is_not_found() => {
                        tracing::warn!(error = %e, "no version document; speaking microversion 3.0");
                        return Ok(Microversion::BASE);
                    }
                    Err(e) => return Err(e),
                };
                let range = ServerRange::from_document(&doc)?;
                let chosen = range.negotiate()?;
                tracing::debug!(server_max = %range.max, %chosen, "negotiated the microversion");
                Ok(chosen)
            })
            .await
            .copied()
    }

    /// Makes sure there is a token (logging in when there is none, or it
    /// is about to expire), so the session knows project and endpoints.
    pub(crate) async fn login(&self) -> Result<()> {
        let base = self.cinder.base_url().clone();
        let headers = volume_core::http::HeaderMap::new();
        self.token
            .authenticate(&AuthRequest::new(&Method::GET, &base, &headers, b""))
            .await
            .map(drop)
    }

    /// The version when it is known without asking (pinned or negotiated).
    pub(crate) fn known_microversion(&self) -> Option<Microversion> {
        self.pinned.or_else(|| self.negotiated.get().copied())
    }

    async fn versioned(&self, request: Request) -> Result<Request> {
        no_dot_segments(&request)?;
        let v = self.microversion().await?;
        Ok(request.header(VERSION_HEADER, v.header_value()))
    }

    async fn send(&self, request: Request) -> Result<Response> {
        let request = self.versioned(request).await?;
        self.cinder.send(request).await
    }

    async fn json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let request = self.versioned(request).await?;
        self.cinder.send_json(request).await
    }

    // ----- volumes -------------------------------------------------------------

    pub(crate) async fn create_volume(&self, body: &Value) -> Result<CinderVolume> {
        let answer: VolumeEnvelope = self
            .json(
                Request::post(["volumes"])
                    .json(body)
                    .about(ResourceKind::Volume, ""),
            )
            .await?;
        Ok(answer.volume)
    }

    pub(crate) async fn get_volume(&self, id: &str) -> Result<CinderVolume> {
        let answer: VolumeEnvelope = self
            .json(Request::get(["volumes", id]).about(ResourceKind::Volume, id))
            .await?;
        Ok(answer.volume)
    }

    /// `GET /volumes/detail` with `query`, or a `volumes_links` link.
    pub(crate) async fn list_volumes(
        &self,
        query: &[(String, String)],
        link: Option<&str>,
    ) -> Result<VolumeList> {
        let request = match link {
            Some(link) => Request::follow(link),
            None => query
                .iter()
                .fold(Request::get(["volumes", "detail"]), |r, (k, v)| {
                    r.query(k.as_str(), v.as_str())
                }),
        };
        self.json(request.about(ResourceKind::Volume, "")).await
    }

    pub(crate) async fn update_volume(&self, id: &str, fields: &Value) -> Result<CinderVolume> {
        let answer: VolumeEnvelope = self
            .json(
                Request::put(["volumes", id])
                    .json(&json!({ "volume": fields }))
                    .about(ResourceKind::Volume, id),
            )
            .await?;
        Ok(answer.volume)
    }

    pub(crate) async fn delete_volume(&self, id: &str, cascade: bool, force: bool) -> Result<()> {
        let mut request = Request::delete(["volumes", id]).about(ResourceKind::Volume, id);
        if cascade {
            request = request.query("cascade", "true");
        }
        if force {
            request = request.query("force", "true");
        }
        self.send(request).await.map(drop)
    }

    /// `GET /volumes/{id}/metadata` (or `/snapshots/{id}/metadata`).
    pub(crate) async fn get_metadata(
        &self,
        collection: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<BTreeMap<String, String>> {
        let answer: Metadata = self
            .json(Request::get([collection, id, "metadata"]).about(kind, id))
            .await?;
        Ok(answer.metadata)
    }

    /// `PUT .../metadata` (replace all) or `POST .../metadata` (merge).
    pub(crate) async fn set_metadata(
        &self,
        collection: &str,
        kind: ResourceKind,
        id: &str,
        metadata: &BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        let segments = [collection, id, "metadata"];
        let request = if replace {
            Request::put(segments)
        } else {
            Request::post(segments).idempotent(true)
        };
        let answer: Metadata = self
            .json(
                request
                    .json(&json!({ "metadata": metadata }))
                    .about(kind, id),
            )
            .await?;
        Ok(answer.metadata)
    }

    /// `DELETE .../metadata/{key}`.
    pub(crate) async fn delete_metadata_key(
        &self,
        collection: &str,
        kind: ResourceKind,
        id: &str,
        key: &str,
    ) -> Result<()> {
        self.send(Request::delete([collection, id, "metadata", key]).about(kind, id))
            .await
            .map(drop)
    }

    /// `POST /volumes/{id}/action` with `{"<name>": args}`.
    pub(crate) async fn volume_action(&self, id: &str, name: &str, args: Value) -> Result<()> {
        self.send(
            Request::post(["volumes", id, "action"])
                .json(&action(name, args))
                .about(ResourceKind::Volume, id),
        )
        .await
        .map(drop)
    }

    // ----- snapshots -----------------------------------------------------------

    pub(crate) async fn create_snapshot(&self, body: &Value) -> Result<CinderSnapshot> {
        let answer: SnapshotEnvelope = self
            .json(
                Request::post(["snapshots"])
                    .json(body)
                    .about(ResourceKind::Snapshot, ""),
            )
            .await?;
        Ok(answer.snapshot)
    }

    pub(crate) async fn get_snapshot(&self, id: &str) -> Result<CinderSnapshot> {
        let answer: SnapshotEnvelope = self
            .json(Request::get(["snapshots", id]).about(ResourceKind::Snapshot, id))
            .await?;
        Ok(answer.snapshot)
    }

    pub(crate) async fn list_snapshots(&self, query: &[(String, String)]) -> Result<SnapshotList> {
        let request = query
            .iter()
            .fold(Request::get(["snapshots", "detail"]), |r, (k, v)| {
                r.query(k.as_str(), v.as_str())
            });
        self.json(request.about(ResourceKind::Snapshot, "")).await
    }

    pub(crate) async fn update_snapshot(&self, id: &str, fields: &Value) -> Result<CinderSnapshot> {
        let answer: SnapshotEnvelope = self
            .json(
                Request::put(["snapshots", id])
                    .json(&json!({ "snapshot": fields }))
                    .about(ResourceKind::Snapshot, id),
            )
            .await?;
        Ok(answer.snapshot)
    }

    pub(crate) async fn delete_snapshot(&self, id: &str) -> Result<()> {
        self.send(Request::delete(["snapshots", id]).about(ResourceKind::Snapshot, id))
            .await
            .map(drop)
    }

    // ----- backups -------------------------------------------------------------

    /// `POST /backups`: Cinder answers the summary view (`id`, `name`, `links`).
    pub(crate) async fn create_backup(&self, body: &Value) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct Created {
            backup: Summary,
        }
        let answer: Created = self
            .json(
                Request::post(["backups"])
                    .json(body)
                    .about(ResourceKind::Backup, ""),
            )
            .await?;
        Ok(answer.backup.id)
    }

    pub(crate) async fn get_backup(&self, id: &str) -> Result<CinderBackup> {
        let answer: BackupEnvelope = self
            .json(Request::get(["backups", id]).about(ResourceKind::Backup, id))
            .await?;
        Ok(answer.backup)
    }

    pub(crate) async fn list_backups(&self, query: &[(String, String)]) -> Result<BackupList> {
        let request = query
            .iter()
            .fold(Request::get(["backups", "detail"]), |r, (k, v)| {
                r.query(k.as_str(), v.as_str())
            });
        self.json(request.about(ResourceKind::Backup, "")).await
    }

    pub(crate) async fn delete_backup(&self, id: &str) -> Result<()> {
        self.send(Request::delete(["backups", id]).about(ResourceKind::Backup, id))
            .await
            .map(drop)
    }

    /// `POST /backups/{id}/restore`; the id of the volume restored into.
    pub(crate) async fn restore_backup(&self, id: &str, body: &Value) -> Result<String> {
        let answer: RestoreEnvelope = self
            .json(
                Request::post(["backups", id, "restore"])
                    .json(body)
                    .about(ResourceKind::Backup, id),
            )
            .await?;
        Ok(answer.restore.volume_id)
    }

    // ----- attachments API -----------------------------------------------------

    pub(crate) async fn create_attachment(&self, body: &Value) -> Result<CinderAttachment> {
        let answer: AttachmentEnvelope = self
            .json(
                Request::post(["attachments"])
                    .json(body)
                    .about(ResourceKind::Volume, ""),
            )
            .await?;
        Ok(answer.attachment)
    }

    pub(crate) async fn get_attachment(&self, id: &str) -> Result<CinderAttachment> {
        let answer: AttachmentEnvelope = self
            .json(Request::get(["attachments", id]).about(ResourceKind::Other, id))
            .await?;
        Ok(answer.attachment)
    }

    pub(crate) async fn list_attachments(
        &self,
        query: &[(String, String)],
    ) -> Result<Vec<CinderAttachment>> {
        let request = query
            .iter()
            .fold(Request::get(["attachments", "detail"]), |r, (k, v)| {
                r.query(k.as_str(), v.as_str())
            });
        let answer: AttachmentList = self.json(request.about(ResourceKind::Other, "")).await?;
        Ok(answer.attachments)
    }

    pub(crate) async fn update_attachment(
        &self,
        id: &str,
        connector: &Value,
    ) -> Result<CinderAttachment> {
        let answer: AttachmentEnvelope = self
            .json(
                Request::put(["attachments", id])
                    .json(&json!({ "attachment": { "connector": connector } }))
                    .about(ResourceKind::Other, id),
            )
            .await?;
        Ok(answer.attachment)
    }

    pub(crate) async fn complete_attachment(&self, id: &str) -> Result<()> {
        self.send(
            Request::post(["attachments", id, "action"])
                .json(&json!({ "os-complete": {} }))
                .idempotent(true)
                .about(ResourceKind::Other, id),
        )
        .await
        .map(drop)
    }

    pub(crate) async fn delete_attachment(&self, id: &str) -> Result<()> {
        self.send(Request::delete(["attachments", id]).about(ResourceKind::Other, id))
            .await
            .map(drop)
    }

    // ----- Nova ----------------------------------------------------------------

    /// `POST /servers/{server}/os-volume_attachments`.
    pub(crate) async fn nova_attach(
        &self,
        server: &str,
        volume: &str,
        device: Option<&str>,
    ) -> Result<ServerVolumeAttachment> {
        let mut attachment = json!({ "volumeId": volume });
        if let Some(device) = device {
            attachment["device"] = json!(device);
        }
        let request = Request::post(["servers", server, "os-volume_attachments"])
            .json(&json!({ "volumeAttachment": attachment }))
            .about(ResourceKind::Instance, server);
        no_dot_segments(&request)?;
        let answer: ServerAttachmentEnvelope = self.nova.send_json(request).await?;
        Ok(answer.attachment)
    }

    /// `DELETE /servers/{server}/os-volume_attachments/{volume}`.
    pub(crate) async fn nova_detach(&self, server: &str, volume: &str) -> Result<()> {
        let request = Request::delete(["servers", server, "os-volume_attachments", volume])
            .about(ResourceKind::Volume, volume);
        no_dot_segments(&request)?;
        self.nova.send(request).await.map(drop)
    }

    /// `GET /servers/{server}/os-volume_attachments`.
    pub(crate) async fn nova_attachments(
        &self,
        server: &str,
    ) -> Result<Vec<ServerVolumeAttachment>> {
        let request = Request::get(["servers", server, "os-volume_attachments"])
            .about(ResourceKind::Instance, server);
        no_dot_segments(&request)?;
        let answer: ServerAttachmentList = self.nova.send_json(request).await?;
        Ok(answer.attachments)
    }

    /// `GET /servers/{server}`.
    pub(crate) async fn nova_server(&self, server: &str) -> Result<Server> {
        let request = Request::get(["servers", server]).about(ResourceKind::Instance, server);
        no_dot_segments(&request)?;
        let answer: ServerEnvelope = self.nova.send_json(request).await?;
        Ok(answer.server)
    }

    /// `GET /servers/detail` with `limit`/`marker`.
    pub(crate) async fn nova_servers(&self, query: &[(String, String)]) -> Result<ServerList> {
        let request = query
            .iter()
            .fold(Request::get(["servers", "detail"]), |r, (k, v)| {
                r.query(k.as_str(), v.as_str())
            });
        self.nova
            .send_json(request.about(ResourceKind::Instance, ""))
            .await
    }

    // ----- types, QoS, limits, quotas, zones, messages ---------------------------

    pub(crate) async fn volume_types(&self) -> Result<Vec<VolumeType>> {
        let answer: VolumeTypeList = self
            .json(Request::get(["types"]).about(ResourceKind::VolumeType, ""))
            .await?;
        Ok(answer.volume_types)
    }

    pub(crate) async fn volume_type(&self, id: &str) -> Result<VolumeType> {
        let answer: VolumeTypeEnvelope = self
            .json(Request::get(["types", id]).about(ResourceKind::VolumeType, id))
            .await?;
        Ok(answer.volume_type)
    }

    pub(crate) async fn extra_specs(&self, id: &str) -> Result<BTreeMap<String, String>> {
        let answer: ExtraSpecs = self
            .json(Request::get(["types", id, "extra_specs"]).about(ResourceKind::VolumeType, id))
            .await?;
        Ok(answer.extra_specs)
    }

    pub(crate) async fn qos_specs_list(&self) -> Result<Vec<QosSpecs>> {
        let answer: QosList = self
            .json(Request::get(["qos-specs"]).about(ResourceKind::Other, ""))
            .await?;
        Ok(answer.qos_specs)
    }

    pub(crate) async fn qos_specs(&self, id: &str) -> Result<QosSpecs> {
        let answer: QosEnvelope = self
            .json(Request::get(["qos-specs", id]).about(ResourceKind::Other, id))
            .await?;
        Ok(answer.qos_specs)
    }

    pub(crate) async fn limits(&self) -> Result<AbsoluteLimits> {
        let answer: LimitsEnvelope = self
            .json(Request::get(["limits"]).about(ResourceKind::Other, ""))
            .await?;
        Ok(answer.limits.absolute)
    }

    pub(crate) async fn quota_set(&self, project: &str, usage: bool) -> Result<QuotaSet> {
        let mut request =
            Request::get(["os-quota-sets", project]).about(ResourceKind::Other, project);
        if usage {
            request = request.query("usage", "true");
        }
        let answer: QuotaEnvelope = self.json(request).await?;
        Ok(answer.quota_set)
    }

    pub(crate) async fn availability_zones(&self) -> Result<Vec<AvailabilityZone>> {
        let answer: ZoneList = self
            .json(Request::get(["os-availability-zone"]).about(ResourceKind::Region, ""))
            .await?;
        Ok(answer
            .zones
            .into_iter()
            .map(|z| AvailabilityZone {
                name: z.name,
                available: z.state.is_some_and(|s| s.available),
            })
            .collect())
    }

    pub(crate) async fn messages(&self, query: &[(String, String)]) -> Result<Vec<Message>> {
        let request = query.iter().fold(Request::get(["messages"]), |r, (k, v)| {
            r.query(k.as_str(), v.as_str())
        });
        let answer: MessageList = self.json(request.about(ResourceKind::Other, "")).await?;
        Ok(answer.messages)
    }

    pub(crate) async fn message(&self, id: &str) -> Result<Message> {
        let answer: MessageEnvelope = self
            .json(Request::get(["messages", id]).about(ResourceKind::Other, id))
            .await?;
        Ok(answer.message)
    }
}
