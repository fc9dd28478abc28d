//! [`Cinder`], the client: the operations volume-core's trait needs, built
//! from the endpoints in [`client`](crate::client) with Cinder's rules
//! checked first, and the operations only Cinder has.

use std::collections::BTreeMap;
use std::fmt;

use futures::stream::BoxStream;
use serde_json::{json, Value};
use volume_core::http::{paginate_links, redact_url, Url};
use volume_core::idempotency;
use volume_core::{
    Backup, BackupId, BlockStorageExt, CreateBackup, CreateSnapshot, CreateVolume, Error, Instance,
    InstanceId, ListBackups, ListSnapshots, ListVolumes, Page, PageToken, RegionId, ResourceKind,
    RestoreBackup, Result, Size, Snapshot, SnapshotId, Until, UpdateVolume, Volume, VolumeId,
    VolumeSource, VolumeState, WaitConfig,
};

use crate::client::Client;
use crate::convert;
use crate::microversion::{require, Microversion};
use crate::rules::{
    check_extend, check_metadata, check_name, check_size, clamp_page_size, snapshot_force,
};
use crate::wire::{
    next_link, AbsoluteLimits, AvailabilityZone, CinderAttachment, CinderBackup, CinderSnapshot,
    CinderVolume, Message, QosSpecs, QuotaSet, ServerVolumeAttachment, VolumeType,
};

/// A client of OpenStack Cinder v3 (with Keystone v3, and Nova for attaching).
///
/// Made by [`CinderBuilder`](crate::CinderBuilder). It implements
/// volume-core's [`BlockStorage`](volume_core::BlockStorage) (see the
/// [crate docs](crate) for what maps to what) and has Cinder's own
/// operations as methods.
///
/// Cheap to clone: clones share one token, one negotiated microversion and
/// one connection pool. `Debug` and `Display` never show a credential;
/// `Display` is `Cinder(<endpoint host>)`.
#[derive(Clone)]
pub struct Cinder {
    client: Client,
}

impl fmt::Debug for Cinder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let session = self.client.session();
        f.debug_struct("Cinder")
            .field("endpoint", &session.volume.as_ref().map(redact_url))
            .field("microversion", &self.client.known_microversion())
            .field("transport", &self.client.cinder)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Cinder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self
            .client
            .session()
            .volume
            .unwrap_or_else(|| self.client.cinder.base_url().clone());
        let host = url.host_str().unwrap_or("?");
        match url.port() {
            Some(port) => write!(f, "Cinder({host}:{port})"),
            None => write!(f, "Cinder({host})"),
        }
    }
}

/// What a Cinder volume can be created with beyond [`CreateVolume`]: see
/// [`Cinder::create_volume_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeOptions {
    /// A description.
    pub description: Option<String>,
    /// An image (Glance id) to create the volume from (`imageRef`).
    pub image_id: Option<String>,
}

impl VolumeOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`description`](Self::description).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets [`image_id`](Self::image_id).
    pub fn with_image(mut self, image_id: impl Into<String>) -> Self {
        self.image_id = Some(image_id.into());
        self
    }
}

/// How to delete a volume: see [`Cinder::delete_volume_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Delete its snapshots too (`cascade=true`).
    pub cascade: bool,
    /// Delete whatever its state (`force=true`, 3.23+, admins).
    pub force: bool,
}

impl DeleteOptions {
    /// Neither cascade nor force.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`cascade`](Self::cascade).
    pub fn with_cascade(mut self, cascade: bool) -> Self {
        self.cascade = cascade;
        self
    }

    /// Sets [`force`](Self::force).
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}

/// When a retype may migrate the volume to another backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationPolicy {
    /// Never migrate (Cinder's default): the retype fails if the backend
    /// cannot take the new type.
    #[default]
    Never,
    /// Migrate when needed.
    OnDemand,
}

impl MigrationPolicy {
    /// Cinder's word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::OnDemand => "on-demand",
        }
    }
}

/// The statuses an admin can set with [`Cinder::reset_status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResetStatus {
    /// The volume `status`.
    pub status: Option<String>,
    /// The `attach_status` (`attached`, `detached`, ...).
    pub attach_status: Option<String>,
    /// The `migration_status`.
    pub migration_status: Option<String>,
}

impl ResetStatus {
    /// Sets the volume status only.
    pub fn status(status: impl Into<String>) -> Self {
        Self {
            status: Some(status.into()),
            ..Self::default()
        }
    }
}

/// What a snapshot can be taken with beyond [`CreateSnapshot`]: see
/// [`Cinder::create_snapshot_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotOptions {
    /// A description.
    pub description: Option<String>,
    /// `force` below microversion 3.66 (default `true`, so an `in-use`
    /// volume can be snapshotted); never sent from 3.66, where Cinder
    /// snapshots `in-use` volumes anyway and refuses `"force": false`.
    pub force: Option<bool>,
}

/// What a backup can be made with beyond [`CreateBackup`]: see
/// [`Cinder::create_backup_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupOptions {
    /// A description.
    pub description: Option<String>,
    /// The backup container (e.g. `volume-backups`).
    pub container: Option<String>,
    /// Back up an `in-use` volume.
    pub force: bool,
    /// Back up this snapshot of the volume instead of the volume.
    pub snapshot_id: Option<SnapshotId>,
}

impl BackupOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`force`](Self::force).
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets [`container`](Self::container).
    pub fn with_container(mut self, container: impl Into<String>) -> Self {
        self.container = Some(container.into());
        self
    }
}

/// A not-found answer to a request naming `source` is about the source.
fn source_not_found(error: Error, source: &VolumeSource) -> Error {
    let (kind, id) = match source {
        VolumeSource::Snapshot(id) => (ResourceKind::Snapshot, id.as_str()),
        VolumeSource::Volume(id) => (ResourceKind::Volume, id.as_str()),
        VolumeSource::Backup(id) => (ResourceKind::Backup, id.as_str()),
        _ => return error,
    };
    match error {
        Error::NotFound { api, .. } => Error::NotFound {
            kind,
            id: id.to_owned(),
            api,
        },
        other => other,
    }
}

/// A not-found answer to a request naming `volume` in its body is about
/// that volume.
fn volume_not_found(error: Error, volume: &VolumeId) -> Error {
    match error {
        Error::NotFound { api, .. } => Error::NotFound {
            kind: ResourceKind::Volume,
            id: volume.as_str().to_owned(),
            api,
        },
        other => other,
    }
}

/// How to list volumes beyond [`ListVolumes`]: see [`Cinder::volumes_with`].
///
/// ```
/// use volume_cinder::ListOptions;
/// let options = ListOptions::new().with_sort("size:desc,name")?;
/// assert_eq!(options.sort.as_deref(), Some("size:desc,name"));
/// assert!(ListOptions::new().with_sort("size:sideways").is_err());
/// # Ok::<(), volume_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// `sort=key[:asc|desc][,key2...]` (Cinder's default is `created_at:desc`).
    pub sort: Option<String>,
    /// Every project's volumes (`all_tenants=1`; admins only, others get
    /// their own).
    pub all_tenants: bool,
}

impl ListOptions {
    /// Cinder's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`sort`](Self::sort), checked: keys of letters, digits and `_`,
    /// each with an optional `:asc` or `:desc`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] on `sort` for anything else.
    pub fn with_sort(mut self, sort: impl Into<String>) -> Result<Self> {
        let sort = sort.into();
        let ok = !sort.is_empty()
            && sort.split(',').all(|part| {
                let (key, dir) = part.split_once(':').unwrap_or((part, "asc"));
                !key.is_empty()
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && matches!(dir, "asc" | "desc")
            });
        if !ok {
            return Err(Error::invalid_input(
                "sort",
                format!("{sort:?} is not key[:asc|desc][,key...]"),
            ));
        }
        self.sort = Some(sort);
        Ok(self)
    }

    /// Sets [`all_tenants`](Self::all_tenants).
    pub fn with_all_tenants(mut self, all: bool) -> Self {
        self.all_tenants = all;
        self
    }

    fn apply(&self, query: &mut Vec<(String, String)>) {
        if let Some(sort) = &self.sort {
            query.push(("sort".into(), sort.clone()));
        }
        if self.all_tenants {
            query.push(("all_tenants".into(), "1".into()));
        }
    }
}

/// `(key, value)` pairs of a query.
type Query = Vec<(String, String)>;

fn page_query(page_size: Option<u32>, token: Option<&PageToken>) -> Query {
    let mut query = Query::new();
    if let Some(limit) = clamp_page_size(page_size) {
        query.push(("limit".into(), limit.to_string()));
    }
    if let Some(token) = token {
        query.push(("marker".into(), token.as_str().to_owned()));
    }
    query
}

/// The next page's token: the last item's id, when Cinder said there is a
/// next page.
fn next_token(has_next: bool, last: Option<&str>) -> Option<PageToken> {
    has_next.then(|| last.map(PageToken::new)).flatten()
}

impl Cinder {
    pub(crate) fn from_client(client: Client) -> Self {
        Self { client }
    }

    // ----- session ---------------------------------------------------------------

    /// Logs in and negotiates the microversion now (instead of on the first
    /// call), and returns the version spoken.
    ///
    /// # Errors
    /// As any call: [`Error::Unauthenticated`] for credentials Keystone
    /// refuses, [`Error::InvalidInput`] on `catalog` when the catalog has
    /// no Cinder v3 endpoint for the interface and region asked for.
    pub async fn connect(&self) -> Result<Microversion> {
        self.client.login().await?;
        self.client.microversion().await
    }

    /// The microversion spoken: the pinned one, or the newest both the
    /// server and this crate know (negotiated on first use).
    pub async fn microversion(&self) -> Result<Microversion> {
        self.client.microversion().await
    }

    /// Cinder's endpoint in use (from the catalog), once logged in.
    pub fn endpoint(&self) -> Option<Url> {
        self.client.session().volume
    }

    /// The project the token is scoped to, once logged in.
    pub fn project_id(&self) -> Option<String> {
        self.client.session().project_id
    }

    /// The user the token is for, once logged in with Keystone.
    pub fn user_id(&self) -> Option<String> {
        self.client.session().user_id
    }

    /// Forgets the token, so the next call logs in again.
    pub async fn invalidate_token(&self) {
        self.client.token.invalidate().await;
    }

    async fn need(&self, needed: Microversion, operation: &'static str) -> Result<Microversion> {
        let spoken = self.client.microversion().await?;
        require(spoken, needed, operation)?;
        Ok(spoken)
    }

    // ----- volumes -----------------------------------------------------------------

    /// A volume as Cinder describes it, with what [`Volume`] leaves out.
    pub async fn volume_details(&self, id: &VolumeId) -> Result<CinderVolume> {
        self.client.get_volume(id.as_str()).await
    }

    /// Every volume that matches `query`, fetched a page at a time by
    /// following `volumes_links` as the stream is read.
    pub fn volumes(&self, query: &ListVolumes) -> BoxStream<'static, Result<Volume>> {
        self.volumes_with(query, &ListOptions::new())
    }

    /// [`volumes`](Self::volumes), sorted or across projects as `options` say.
    pub fn volumes_with(
        &self,
        query: &ListVolumes,
        options: &ListOptions,
    ) -> BoxStream<'static, Result<Volume>> {
        let this = self.clone();
        let query = query.clone();
        let mut first = Self::volume_query(&query, None);
        options.apply(&mut first);
        let stream = paginate_links(move |link: Option<String>| {
            let this = this.clone();
            let first = first.clone();
            let query = query.clone();
            async move {
                let page = this.client.list_volumes(&first, link.as_deref()).await?;
                let next = next_link(&page.volumes_links).map(str::to_owned);
                let mut items = Vec::with_capacity(page.volumes.len());
                for v in page.volumes {
                    let v = convert::volume(v)?;
                    if query.matches(&v) {
                        items.push(v);
                    }
                }
                Ok((items, next))
            }
        });
        Box::pin(stream)
    }

    fn volume_query(query: &ListVolumes, token: Option<&PageToken>) -> Query {
        let mut pairs = page_query(query.page_size, token);
        if let Some(name) = &query.name {
            pairs.push(("name".into(), name.clone()));
        }
        if let Some(word) = query.state.as_ref().and_then(convert::volume_status_word) {
            pairs.push(("status".into(), word.to_owned()));
        }
        if let Some(region) = &query.region {
            pairs.push(("availability_zone".into(), region.as_str().to_owned()));
        }
        if !query.labels.is_empty() {
            // Cinder's `metadata` filter (every microversion, and allowed to
            // non-admins by the default `resource_filters.json`) takes a
            // dictionary; a JSON object of strings is one Cinder's
            // `literal_eval` reads too. Cinder keeps a volume when each pair
            // is in its metadata, as `ListVolumes` means.
            let metadata: serde_json::Map<String, Value> = query
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            pairs.push(("metadata".into(), Value::Object(metadata).to_string()));
        }
        pairs
    }

    pub(crate) async fn list_volume_page(
        &self,
        query: &ListVolumes,
        token: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        let pairs = Self::volume_query(query, token);
        let page = self.client.list_volumes(&pairs, None).await?;
        let has_next = next_link(&page.volumes_links).is_some();
        let last = page.volumes.last().map(|v| v.id.clone());
        let mut items = Vec::with_capacity(page.volumes.len());
        for v in page.volumes {
            let v = convert::volume(v)?;
            // Labels, instance and the states with several Cinder words are
            // filtered here; the rest Cinder filtered already.
            if query.matches(&v) {
                items.push(v);
            }
        }
        Ok(Page::new(items, next_token(has_next, last.as_deref())))
    }

    pub(crate) async fn get(&self, id: &VolumeId) -> Result<Volume> {
        convert::volume(self.client.get_volume(id.as_str()).await?)
    }

    /// Creates a volume with Cinder's own options too (description, image).
    ///
    /// With [`CreateVolume::attach_to`] the volume is created in the
    /// server's availability zone, waited for until `available`, and then
    /// attached through Nova; the volume is returned as it is after the
    /// attach call.
    ///
    /// With an idempotency key the create is made at most once, however
    /// often its answer is lost (see [`volume_core::idempotency`]); the
    /// attach is not repeated.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name over 255 characters, no size for
    /// an empty volume, a size below 1 GiB, bad metadata keys, or a region
    /// other than the server's with `attach_to`; [`Error::Unsupported`] for
    /// a volume from a backup below microversion 3.47.
    pub async fn create_volume_with(
        &self,
        request: &CreateVolume,
        options: &VolumeOptions,
    ) -> Result<Volume> {
        check_name("name", &request.name)?;
        if let Some(d) = &options.description {
            check_name("description", d)?;
        }
        check_metadata(&request.labels)?;
        match (&request.source, request.size) {
            (_, Some(size)) => check_size(size)?,
            (VolumeSource::Empty, None) if options.image_id.is_none() => {
                return Err(Error::invalid_input("size", "an empty volume needs a size"))
            }
            _ => {}
        }
        let mut region = request.region.clone();
        if let Some(instance) = &request.attach_to {
            let server = self.client.nova_server(instance.as_str()).await?;
            let server_region = convert::instance(server)?.region;
            match &region {
                Some(r) if *r != server_region => {
                    return Err(Error::invalid_input(
                        "region",
                        format!(
                            "instance {instance} is in {server_region}; a volume attached at \
                             creation must be created there, not in {r}"
                        ),
                    ))
                }
                _ => region = Some(server_region),
            }
        }
        let mut volume = json!({ "name": request.name });
        if let Some(size) = request.size {
            volume["size"] = json!(size.as_gib());
        }
        if let Some(region) = &region {
            volume["availability_zone"] = json!(region.as_str());
        }
        if let Some(t) = &request.volume_type {
            volume["volume_type"] = json!(t);
        }
        if !request.labels.is_empty() {
            volume["metadata"] = json!(request.labels);
        }
        if let Some(d) = &options.description {
            volume["description"] = json!(d);
        }
        if let Some(image) = &options.image_id {
            volume["imageRef"] = json!(image);
        }
        match &request.source {
            VolumeSource::Empty => {}
            VolumeSource::Snapshot(id) => volume["snapshot_id"] = json!(id.as_str()),
            VolumeSource::Volume(id) => volume["source_volid"] = json!(id.as_str()),
            VolumeSource::Backup(id) => {
                self.need(
                    Microversion::VOLUME_FROM_BACKUP,
                    "create_volume from a backup (needs microversion 3.47)",
                )
                .await?;
                volume["backup_id"] = json!(id.as_str());
            }
            _ => {
                return Err(Error::unsupported(
                    "create_volume from this source",
                    crate::error::PROVIDER,
                ))
            }
        }
        self.check_source(&request.source, request.size).await?;
        let body = json!({ "volume": volume });
        // Only the create is made idempotent: the attach that may follow is
        // sent to the volume found or made, once.
        let created = idempotency::create_volume(self, request, || async {
            let created = self
                .client
                .create_volume(&body)
                .await
                .map_err(|e| source_not_found(e, &request.source))?;
            convert::volume(created)
        })
        .await?;
        let Some(instance) = &request.attach_to else {
            return Ok(created);
        };
        self.wait_for_volume(
            &created.id,
            Until::State(VolumeState::Available),
            &WaitConfig::default(),
        )
        .await?;
        self.client
            .nova_attach(instance.as_str(), created.id.as_str(), None)
            .await?;
        self.get(&created.id).await
    }

    /// The source must exist, and Cinder refuses a volume smaller than its
    /// source: say so before sending, naming the source or its size.
    async fn check_source(&self, source: &VolumeSource, size: Option<Size>) -> Result<()> {
        let (what, gib) = match source {
            VolumeSource::Snapshot(id) => (
                "snapshot",
                self.client
                    .get_snapshot(id.as_str())
                    .await
                    .map_err(|e| source_not_found(e, source))?
                    .size,
            ),
            VolumeSource::Volume(id) => (
                "source volume",
                self.client
                    .get_volume(id.as_str())
                    .await
                    .map_err(|e| source_not_found(e, source))?
                    .size,
            ),
            VolumeSource::Backup(id) => (
                "backup",
                self.client
                    .get_backup(id.as_str())
                    .await
                    .map_err(|e| source_not_found(e, source))?
                    .size,
            ),
            _ => return Ok(()),
        };
        match (gib, size) {
            (Some(gib), Some(size)) if size.as_gib() < gib => Err(Error::invalid_input(
                "size",
                format!("{size} is smaller than the {what}'s {}", Size::gib(gib)),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) async fn update(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        if let Some(name) = &request.name {
            check_name("name", name)?;
        }
        if let Some(labels) = &request.labels {
            check_metadata(labels)?;
        }
        // One `PUT /volumes/{id}` carries both (Cinder replaces the whole
        // metadata with what it is given, as `UpdateVolume::labels` means)
        // and answers with the volume as it now is.
        let mut fields = serde_json::Map::new();
        if let Some(name) = &request.name {
            fields.insert("name".into(), json!(name));
        }
        if let Some(labels) = &request.labels {
            fields.insert("metadata".into(), json!(labels));
        }
        if fields.is_empty() {
            return self.get(id).await;
        }
        let updated = self
            .client
            .update_volume(id.as_str(), &serde_json::Value::Object(fields))
            .await?;
        convert::volume(updated)
    }

    /// Updates a volume's name and description.
    pub async fn update_volume_details(
        &self,
        id: &VolumeId,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<CinderVolume> {
        let mut fields = json!({});
        if let Some(name) = name {
            check_name("name", name)?;
            fields["name"] = json!(name);
        }
        if let Some(d) = description {
            check_name("description", d)?;
            fields["description"] = json!(d);
        }
        if fields.as_object().is_some_and(serde_json::Map::is_empty) {
            return Err(Error::invalid_input(
                "request",
                "nothing to update: give a name or a description",
            ));
        }
        self.client.update_volume(id.as_str(), &fields).await
    }

    pub(crate) async fn delete(&self, id: &VolumeId) -> Result<()> {
        let v = self.client.get_volume(id.as_str()).await?;
        if !v.attachments.is_empty() || v.status == "in-use" {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.status,
                "delete_volume",
            ));
        }
        self.client.delete_volume(id.as_str(), false, false).await
    }

    /// Deletes a volume the Cinder way: with `cascade` (its snapshots too)
    /// or `force` (admins), and without looking at it first.
    pub async fn delete_volume_with(&self, id: &VolumeId, options: DeleteOptions) -> Result<()> {
        self.client
            .delete_volume(id.as_str(), options.cascade, options.force)
            .await
    }

    /// A volume's metadata.
    pub async fn volume_metadata(&self, id: &VolumeId) -> Result<BTreeMap<String, String>> {
        self.client
            .get_metadata("volumes", ResourceKind::Volume, id.as_str())
            .await
    }

    /// Sets metadata: `replace` replaces all of it (`PUT`), otherwise the
    /// keys given are added or changed (`POST`). Returns the metadata after.
    pub async fn set_volume_metadata(
        &self,
        id: &VolumeId,
        metadata: &BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        check_metadata(metadata)?;
        self.client
            .set_metadata(
                "volumes",
                ResourceKind::Volume,
                id.as_str(),
                metadata,
                replace,
            )
            .await
    }

    /// Deletes one metadata key of a volume.
    pub async fn delete_volume_metadata(&self, id: &VolumeId, key: &str) -> Result<()> {
        self.client
            .delete_metadata_key("volumes", ResourceKind::Volume, id.as_str(), key)
            .await
    }

    // ----- actions -----------------------------------------------------------------

    pub(crate) async fn resize(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        let v = self.client.get_volume(id.as_str()).await?;
        let spoken = self.client.microversion().await?;
        check_extend(
            id.as_str(),
            &v.status,
            Size::gib(v.size.unwrap_or(0)),
            new_size,
            spoken,
        )?;
        self.client
            .volume_action(
                id.as_str(),
                "os-extend",
                json!({ "new_size": new_size.as_gib() }),
            )
            .await?;
        self.get(id).await
    }

    /// Changes a volume's type (`os-retype`), migrating it when `policy` allows.
    pub async fn retype(
        &self,
        id: &VolumeId,
        new_type: &str,
        policy: MigrationPolicy,
    ) -> Result<()> {
        self.client
            .volume_action(
                id.as_str(),
                "os-retype",
                json!({ "new_type": new_type, "migration_policy": policy.as_str() }),
            )
            .await
    }

    /// Marks a volume bootable or not (`os-set_bootable`).
    pub async fn set_bootable(&self, id: &VolumeId, bootable: bool) -> Result<()> {
        self.client
            .volume_action(
                id.as_str(),
                "os-set_bootable",
                json!({ "bootable": bootable }),
            )
            .await
    }

    /// Sets a volume's statuses without doing anything (`os-reset_status`, admins).
    pub async fn reset_status(&self, id: &VolumeId, reset: &ResetStatus) -> Result<()> {
        let mut args = json!({});
        if let Some(s) = &reset.status {
            args["status"] = json!(s);
        }
        if let Some(s) = &reset.attach_status {
            args["attach_status"] = json!(s);
        }
        if let Some(s) = &reset.migration_status {
            args["migration_status"] = json!(s);
        }
        self.client
            .volume_action(id.as_str(), "os-reset_status", args)
            .await
    }

    /// Deletes a volume whatever its state (`os-force_delete`, admins).
    pub async fn force_delete(&self, id: &VolumeId) -> Result<()> {
        self.client
            .volume_action(id.as_str(), "os-force_delete", json!({}))
            .await
    }

    // ----- attach and detach ---------------------------------------------------------

    pub(crate) async fn attach(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        let v = convert::volume(self.client.get_volume(id.as_str()).await?)?;
        if !v.attachments.is_empty() || v.raw_state != "available" {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.raw_state,
                "attach_volume",
            ));
        }
        let server = convert::instance(self.client.nova_server(instance.as_str()).await?)?;
        if server.region != v.region {
            return Err(Error::invalid_input(
                "instance",
                format!(
                    "instance {instance} is in {}, the volume in {}",
                    server.region, v.region
                ),
            ));
        }
        self.client
            .nova_attach(instance.as_str(), id.as_str(), None)
            .await?;
        self.get(id).await
    }

    /// Attaches a volume to a server through Nova's `os-volume_attachments`
    /// (as Xloud recommends), at `device` if given, without the checks of
    /// [`attach_volume`](volume_core::BlockStorage::attach_volume).
    pub async fn attach_to_server(
        &self,
        id: &VolumeId,
        server: &InstanceId,
        device: Option<&str>,
    ) -> Result<ServerVolumeAttachment> {
        self.client
            .nova_attach(server.as_str(), id.as_str(), device)
            .await
    }

    /// Detaches a volume from a server through Nova.
    pub async fn detach_from_server(&self, id: &VolumeId, server: &InstanceId) -> Result<()> {
        self.client.nova_detach(server.as_str(), id.as_str()).await
    }

    /// The volumes Nova has attached to a server.
    pub async fn server_attachments(
        &self,
        server: &InstanceId,
    ) -> Result<Vec<ServerVolumeAttachment>> {
        self.client.nova_attachments(server.as_str()).await
    }

    pub(crate) async fn detach(&self, id: &VolumeId) -> Result<Volume> {
        let v = self.client.get_volume(id.as_str()).await?;
        let servers: Vec<String> = v
            .attachments
            .iter()
            .filter_map(|a| a.server_id.clone())
            .collect();
        if servers.is_empty() {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.status,
                "detach_volume",
            ));
        }
        for server in servers {
            self.client.nova_detach(&server, id.as_str()).await?;
        }
        self.get(id).await
    }

    // ----- the attachments API (3.27+) -------------------------------------------------

    /// Creates an attachment (`POST /attachments`, 3.27+): without a
    /// connector the volume is `reserved`; with one, `attaching` and the
    /// connection information is in the answer.
    pub async fn create_attachment(
        &self,
        volume: &VolumeId,
        instance: Option<&InstanceId>,
        connector: Option<&Value>,
    ) -> Result<CinderAttachment> {
        self.need(
            Microversion::ATTACHMENTS,
            "create_attachment (needs microversion 3.27)",
        )
        .await?;
        let mut attachment = json!({ "volume_uuid": volume.as_str() });
        if let Some(instance) = instance {
            attachment["instance_uuid"] = json!(instance.as_str());
        }
        if let Some(connector) = connector {
            attachment["connector"] = connector.clone();
        }
        self.client
            .create_attachment(&json!({ "attachment": attachment }))
            .await
    }

    /// One attachment (3.27+).
    pub async fn attachment(&self, id: &str) -> Result<CinderAttachment> {
        self.need(
            Microversion::ATTACHMENTS,
            "attachment (needs microversion 3.27)",
        )
        .await?;
        self.client.get_attachment(id).await
    }

    /// The attachments of a volume (3.27+), or all of them.
    pub async fn attachments(&self, volume: Option<&VolumeId>) -> Result<Vec<CinderAttachment>> {
        self.need(
            Microversion::ATTACHMENTS,
            "attachments (needs microversion 3.27)",
        )
        .await?;
        let query: Query = volume
            .map(|v| vec![("volume_id".to_owned(), v.as_str().to_owned())])
            .unwrap_or_default();
        self.client.list_attachments(&query).await
    }

    /// Gives an attachment its connector (3.27+).
    pub async fn update_attachment(&self, id: &str, connector: &Value) -> Result<CinderAttachment> {
        self.need(
            Microversion::ATTACHMENTS,
            "update_attachment (needs microversion 3.27)",
        )
        .await?;
        if connector.as_object().is_none_or(serde_json::Map::is_empty) {
            return Err(Error::invalid_input(
                "connector",
                "must be an object with at least one property",
            ));
        }
        self.client.update_attachment(id, connector).await
    }

    /// Marks an attachment complete (`os-complete`, 3.44+): the volume is `in-use`.
    pub async fn complete_attachment(&self, id: &str) -> Result<()> {
        self.need(
            Microversion::ATTACHMENT_COMPLETE,
            "complete_attachment (needs microversion 3.44)",
        )
        .await?;
        self.client.complete_attachment(id).await
    }

    /// Deletes an attachment (3.27+): the volume is `available` again when
    /// it was the last.
    pub async fn delete_attachment(&self, id: &str) -> Result<()> {
        self.need(
            Microversion::ATTACHMENTS,
            "delete_attachment (needs microversion 3.27)",
        )
        .await?;
        self.client.delete_attachment(id).await
    }

    // ----- snapshots -------------------------------------------------------------------

    /// Takes a snapshot with Cinder's own options (description, `force`);
    /// with an idempotency key, at most once (see
    /// [`volume_core::idempotency`]).
    pub async fn create_snapshot_with(
        &self,
        request: &CreateSnapshot,
        options: &SnapshotOptions,
    ) -> Result<Snapshot> {
        check_name("name", &request.name)?;
        check_metadata(&request.labels)?;
        let spoken = self.client.microversion().await?;
        let mut snapshot = json!({
            "volume_id": request.volume_id.as_str(),
            "name": request.name,
        });
        if let Some(d) = &options.description {
            check_name("description", d)?;
            snapshot["description"] = json!(d);
        }
        if !request.labels.is_empty() {
            snapshot["metadata"] = json!(request.labels);
        }
        if let Some(force) = snapshot_force(spoken, options.force) {
            snapshot["force"] = json!(force);
        }
        let body = json!({ "snapshot": snapshot });
        idempotency::create_snapshot(self, request, || async {
            let created = self
                .client
                .create_snapshot(&body)
                .await
                .map_err(|e| volume_not_found(e, &request.volume_id))?;
            convert::snapshot(created)
        })
        .await
    }

    /// A snapshot as Cinder describes it.
    pub async fn snapshot_details(&self, id: &SnapshotId) -> Result<CinderSnapshot> {
        self.client.get_snapshot(id.as_str()).await
    }

    pub(crate) async fn get_snapshot_core(&self, id: &SnapshotId) -> Result<Snapshot> {
        let s = self.client.get_snapshot(id.as_str()).await?;
        let mut snapshot = convert::snapshot(s)?;
        // A snapshot is in its volume's zone; the snapshot view names none.
        if let Some(volume) = &snapshot.volume_id {
            if let Ok(v) = self.client.get_volume(volume.as_str()).await {
                if let Ok(region) = RegionId::new(v.availability_zone.unwrap_or_default()) {
                    snapshot.region = region;
                }
            }
        }
        Ok(snapshot)
    }

    pub(crate) async fn list_snapshot_page(
        &self,
        query: &ListSnapshots,
        token: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        let mut pairs = page_query(query.page_size, token);
        if let Some(v) = &query.volume_id {
            pairs.push(("volume_id".into(), v.as_str().to_owned()));
        }
        let page = self.client.list_snapshots(&pairs).await?;
        let has_next = next_link(&page.snapshots_links).is_some();
        let last = page.snapshots.last().map(|s| s.id.clone());
        let items = page
            .snapshots
            .into_iter()
            .map(convert::snapshot)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|s| query.volume_id.is_none() || s.volume_id == query.volume_id)
            .collect();
        Ok(Page::new(items, next_token(has_next, last.as_deref())))
    }

    /// Renames a snapshot or changes its description.
    pub async fn update_snapshot(
        &self,
        id: &SnapshotId,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<CinderSnapshot> {
        let mut fields = json!({});
        if let Some(name) = name {
            check_name("name", name)?;
            fields["name"] = json!(name);
        }
        if let Some(d) = description {
            check_name("description", d)?;
            fields["description"] = json!(d);
        }
        self.client.update_snapshot(id.as_str(), &fields).await
    }

    pub(crate) async fn delete_snapshot_core(&self, id: &SnapshotId) -> Result<()> {
        self.client.delete_snapshot(id.as_str()).await
    }

    /// A snapshot's metadata.
    pub async fn snapshot_metadata(&self, id: &SnapshotId) -> Result<BTreeMap<String, String>> {
        self.client
            .get_metadata("snapshots", ResourceKind::Snapshot, id.as_str())
            .await
    }

    /// Sets a snapshot's metadata (`replace` all, or add/change the keys given).
    pub async fn set_snapshot_metadata(
        &self,
        id: &SnapshotId,
        metadata: &BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        check_metadata(metadata)?;
        self.client
            .set_metadata(
                "snapshots",
                ResourceKind::Snapshot,
                id.as_str(),
                metadata,
                replace,
            )
            .await
    }

    // ----- backups ----------------------------------------------------------------------

    /// Backs up a volume with Cinder's own options (container, `force` for
    /// an `in-use` volume, from a snapshot); with an idempotency key, at
    /// most once (see [`volume_core::idempotency`]).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for labels, an idempotency key among them,
    /// below microversion 3.43 (backup metadata).
    pub async fn create_backup_with(
        &self,
        request: &CreateBackup,
        options: &BackupOptions,
    ) -> Result<Backup> {
        check_name("name", &request.name)?;
        check_metadata(&request.labels)?;
        let mut backup = json!({
            "volume_id": request.volume_id.as_str(),
            "name": request.name,
            "incremental": request.incremental,
        });
        if !request.labels.is_empty() {
            // The idempotency key is a label too: say which one was refused.
            let operation = if request.idempotency_key().is_some() {
                "create_backup with an idempotency key (backup metadata needs microversion 3.43)"
            } else {
                "create_backup with labels (needs microversion 3.43)"
            };
            self.need(Microversion::BACKUP_METADATA, operation).await?;
            backup["metadata"] = json!(request.labels);
        }
        if let Some(d) = &options.description {
            check_name("description", d)?;
            backup["description"] = json!(d);
        }
        if let Some(c) = &options.container {
            check_name("container", c)?;
            backup["container"] = json!(c);
        }
        if options.force {
            backup["force"] = json!(true);
        }
        if let Some(s) = &options.snapshot_id {
            backup["snapshot_id"] = json!(s.as_str());
        }
        let body = json!({ "backup": backup });
        idempotency::create_backup(self, request, || async {
            let id = self
                .client
                .create_backup(&body)
                .await
                .map_err(|e| volume_not_found(e, &request.volume_id))?;
            convert::backup(self.client.get_backup(&id).await?)
        })
        .await
    }

    /// A backup as Cinder describes it.
    pub async fn backup_details(&self, id: &BackupId) -> Result<CinderBackup> {
        self.client.get_backup(id.as_str()).await
    }

    pub(crate) async fn get_backup_core(&self, id: &BackupId) -> Result<Backup> {
        convert::backup(self.client.get_backup(id.as_str()).await?)
    }

    pub(crate) async fn list_backup_page(
        &self,
        query: &ListBackups,
        token: Option<&PageToken>,
    ) -> Result<Page<Backup>> {
        let mut pairs = page_query(query.page_size, token);
        if let Some(v) = &query.volume_id {
            pairs.push(("volume_id".into(), v.as_str().to_owned()));
        }
        let page = self.client.list_backups(&pairs).await?;
        let has_next = next_link(&page.backups_links).is_some();
        let last = page.backups.last().map(|b| b.id.clone());
        let items = page
            .backups
            .into_iter()
            .map(convert::backup)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|b| query.volume_id.is_none() || b.volume_id == query.volume_id)
            .collect();
        Ok(Page::new(items, next_token(has_next, last.as_deref())))
    }

    pub(crate) async fn delete_backup_core(&self, id: &BackupId) -> Result<()> {
        self.client.delete_backup(id.as_str()).await
    }

    pub(crate) async fn restore(&self, id: &BackupId, request: &RestoreBackup) -> Result<Volume> {
        let mut restore = json!({});
        if let Some(name) = &request.name {
            check_name("name", name)?;
            restore["name"] = json!(name);
        }
        if let Some(volume) = &request.volume_id {
            // Cinder refuses a target smaller than the backup: say so first.
            let backup = self.client.get_backup(id.as_str()).await?;
            let target = self.client.get_volume(volume.as_str()).await?;
            if let (Some(need), Some(have)) = (backup.size, target.size) {
                if have < need {
                    return Err(Error::invalid_input(
                        "volume_id",
                        format!(
                            "volume {volume} is {}, smaller than the backup's {}",
                            Size::gib(have),
                            Size::gib(need)
                        ),
                    ));
                }
            }
            restore["volume_id"] = json!(volume.as_str());
        }
        let volume_id = self
            .client
            .restore_backup(id.as_str(), &json!({ "restore": restore }))
            .await?;
        let volume_id = VolumeId::new(volume_id)
            .map_err(|e| Error::decode("Cinder restored into an unusable volume id", e))?;
        self.get(&volume_id).await
    }

    // ----- instances ----------------------------------------------------------------------

    pub(crate) async fn list_instance_page(
        &self,
        token: Option<&PageToken>,
    ) -> Result<Page<Instance>> {
        let page = self.client.nova_servers(&page_query(None, token)).await?;
        let has_next = next_link(&page.servers_links).is_some();
        let last = page.servers.last().map(|s| s.id.clone());
        let items = page
            .servers
            .into_iter()
            .map(convert::instance)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, next_token(has_next, last.as_deref())))
    }

    // ----- types, QoS, limits, quotas, zones, messages ----------------------------------------

    /// The volume types this project may use.
    pub async fn volume_types(&self) -> Result<Vec<VolumeType>> {
        self.client.volume_types().await
    }

    /// One volume type, by id.
    pub async fn volume_type(&self, id: &str) -> Result<VolumeType> {
        self.client.volume_type(id).await
    }

    /// A volume type's extra specs.
    pub async fn extra_specs(&self, type_id: &str) -> Result<BTreeMap<String, String>> {
        self.client.extra_specs(type_id).await
    }

    /// Every set of QoS specs (admins).
    pub async fn qos_specs_list(&self) -> Result<Vec<QosSpecs>> {
        self.client.qos_specs_list().await
    }

    /// One set of QoS specs (admins).
    pub async fn qos_specs(&self, id: &str) -> Result<QosSpecs> {
        self.client.qos_specs(id).await
    }

    /// The project's absolute limits and usage (`GET /limits`).
    pub async fn limits(&self) -> Result<AbsoluteLimits> {
        self.client.limits().await
    }

    /// The quota set of the token's project, with usage when `usage`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the token names no project (a token
    /// given without Keystone): use [`Cinder::quotas_of`].
    pub async fn quotas(&self, usage: bool) -> Result<QuotaSet> {
        // The project is known once logged in.
        self.client.login().await?;
        let project = self.project_id().ok_or_else(|| {
            Error::invalid_input("project", "the token names no project; use quotas_of")
        })?;
        self.client.quota_set(&project, usage).await
    }

    /// The quota set of `project`, with usage when `usage`.
    pub async fn quotas_of(&self, project: &str, usage: bool) -> Result<QuotaSet> {
        self.client.quota_set(project, usage).await
    }

    /// The availability zones.
    pub async fn availability_zones(&self) -> Result<Vec<AvailabilityZone>> {
        self.client.availability_zones().await
    }

    /// User messages (3.3+), about `resource` when given: why a volume went
    /// to `error`.
    pub async fn messages(&self, resource: Option<&str>) -> Result<Vec<Message>> {
        self.need(Microversion::MESSAGES, "messages (needs microversion 3.3)")
            .await?;
        let query: Query = resource
            .map(|r| vec![("resource_uuid".to_owned(), r.to_owned())])
            .unwrap_or_default();
        self.client.messages(&query).await
    }

    /// One user message (3.3+).
    pub async fn message(&self, id: &str) -> Result<Message> {
        self.need(Microversion::MESSAGES, "message (needs microversion 3.3)")
            .await?;
        self.client.message(id).await
    }

    pub(crate) fn known_microversion(&self) -> Option<Microversion> {
        self.client.known_microversion()
    }
}
