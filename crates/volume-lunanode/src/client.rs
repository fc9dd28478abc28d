//! One `async fn` per LunaNode action over the shared transport: each
//! describes one `POST /api/{category}/{action}/` with its parameters (as
//! strings) and decodes the answer into the wire types. The signer
//! (`auth.rs`) turns the parameters into the signed form on every attempt;
//! the classifier (`error.rs`) turns a `"success": "no"` into an error.
//! Nothing here decides anything.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use volume_core::http::{Request, Transport};
use volume_core::{ResourceKind, Result};

use crate::wire::{
    Created, ImageList, Replicated, SnapshotCreated, SnapshotList, VmList, VolumeInfo, VolumeList,
};

/// The parameters of one action, in the order they are signed (sorted).
pub(crate) type Params = BTreeMap<String, String>;

/// Builds a parameter map from `(name, value)` pairs, leaving out `None`s.
pub(crate) fn params<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Params {
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
        .collect()
}

/// The calls, over one transport.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    transport: Transport,
}

/// Whether an action only reads (and may be sent again after a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Reads,
    Changes,
}

impl Client {
    pub(crate) fn new(transport: Transport) -> Self {
        Self { transport }
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    async fn call<T: DeserializeOwned>(
        &self,
        category: &str,
        action: &str,
        params: &Params,
        effect: Effect,
        about: (ResourceKind, &str),
    ) -> Result<T> {
        // A map of strings always serialises.
        let body = serde_json::to_vec(params).unwrap_or_default();
        let request = Request::post([category, action])
            .trailing_slash()
            .body(body, "application/x-www-form-urlencoded")
            .idempotent(effect == Effect::Reads)
            .about(about.0, about.1);
        self.transport.send_json(request).await
    }

    async fn ack(&self, action: &str, params: &Params, about: (ResourceKind, &str)) -> Result<()> {
        let _: serde_json::Value = self
            .call("volume", action, params, Effect::Changes, about)
            .await?;
        Ok(())
    }

    /// `volume/create`.
    pub(crate) async fn create(&self, p: &Params) -> Result<Created> {
        self.call(
            "volume",
            "create",
            p,
            Effect::Changes,
            (ResourceKind::Volume, ""),
        )
        .await
    }

    /// `volume/list` (`region` optional).
    pub(crate) async fn list(&self, region: Option<&str>) -> Result<VolumeList> {
        let p = params([("region", region)]);
        self.call(
            "volume",
            "list",
            &p,
            Effect::Reads,
            (ResourceKind::Volume, ""),
        )
        .await
    }

    /// `volume/info`.
    pub(crate) async fn info(&self, volume_id: &str) -> Result<VolumeInfo> {
        let p = params([("volume_id", Some(volume_id))]);
        self.call(
            "volume",
            "info",
            &p,
            Effect::Reads,
            (ResourceKind::Volume, volume_id),
        )
        .await
    }

    /// `volume/attach`.
    pub(crate) async fn attach(&self, volume_id: &str, vm_id: &str, target: &str) -> Result<()> {
        let p = params([
            ("volume_id", Some(volume_id)),
            ("vm_id", Some(vm_id)),
            ("target", Some(target)),
        ]);
        self.ack("attach", &p, (ResourceKind::Volume, volume_id))
            .await
    }

    /// `volume/detach`.
    pub(crate) async fn detach(&self, volume_id: &str) -> Result<()> {
        let p = params([("volume_id", Some(volume_id))]);
        self.ack("detach", &p, (ResourceKind::Volume, volume_id))
            .await
    }

    /// `volume/extend` (`size` is the new total in GB).
    pub(crate) async fn extend(&self, volume_id: &str, size: u64) -> Result<()> {
        let size = size.to_string();
        let p = params([("volume_id", Some(volume_id)), ("size", Some(&size))]);
        self.ack("extend", &p, (ResourceKind::Volume, volume_id))
            .await
    }

    /// `volume/rename`.
    pub(crate) async fn rename(&self, volume_id: &str, name: &str) -> Result<()> {
        let p = params([("volume_id", Some(volume_id)), ("name", Some(name))]);
        self.ack("rename", &p, (ResourceKind::Volume, volume_id))
            .await
    }

    /// `volume/delete`.
    pub(crate) async fn delete(&self, volume_id: &str) -> Result<()> {
        let p = params([("volume_id", Some(volume_id))]);
        self.ack("delete", &p, (ResourceKind::Volume, volume_id))
            .await
    }

    /// `volume/snapshot-create`.
    pub(crate) async fn snapshot_create(
        &self,
        volume_id: &str,
        label: &str,
    ) -> Result<SnapshotCreated> {
        let p = params([("volume_id", Some(volume_id)), ("label", Some(label))]);
        self.call(
            "volume",
            "snapshot-create",
            &p,
            Effect::Changes,
            (ResourceKind::Volume, volume_id),
        )
        .await
    }

    /// `volume/snapshot-list` (`region` is required by LunaNode).
    pub(crate) async fn snapshot_list(&self, region: &str) -> Result<SnapshotList> {
        let p = params([("region", Some(region))]);
        self.call(
            "volume",
            "snapshot-list",
            &p,
            Effect::Reads,
            (ResourceKind::Snapshot, ""),
        )
        .await
    }

    /// `volume/snapshot-replicate`.
    pub(crate) async fn snapshot_replicate(
        &self,
        region: &str,
        snapshot_id: &str,
        image_name: &str,
        dst_region: &str,
    ) -> Result<Replicated> {
        let p = params([
            ("region", Some(region)),
            ("snapshot_id", Some(snapshot_id)),
            ("image_name", Some(image_name)),
            ("dst_region", Some(dst_region)),
        ]);
        self.call(
            "volume",
            "snapshot-replicate",
            &p,
            Effect::Changes,
            (ResourceKind::Snapshot, snapshot_id),
        )
        .await
    }

    /// `volume/snapshot-delete`.
    pub(crate) async fn snapshot_delete(&self, region: &str, snapshot_id: &str) -> Result<()> {
        let p = params([("region", Some(region)), ("snapshot_id", Some(snapshot_id))]);
        self.ack("snapshot-delete", &p, (ResourceKind::Snapshot, snapshot_id))
            .await
    }

    /// `vm/list`.
    pub(crate) async fn vm_list(&self) -> Result<VmList> {
        self.call(
            "vm",
            "list",
            &Params::new(),
            Effect::Reads,
            (ResourceKind::Instance, ""),
        )
        .await
    }

    /// `image/list` (`region` optional).
    pub(crate) async fn image_list(&self, region: Option<&str>) -> Result<ImageList> {
        let p = params([("region", region)]);
        self.call(
            "image",
            "list",
            &p,
            Effect::Reads,
            (ResourceKind::Other, ""),
        )
        .await
    }
}
