//! [`Linode`], the client: the operations volume-core's trait needs, built
//! from the endpoints in [`client`](crate::client) with Linode's rules
//! checked first, and the operations only Linode has.

use std::fmt;

use futures::future::join;
use futures::stream::BoxStream;
use volume_core::http::{paginate, redact_url, Url};
use volume_core::{
    CreateVolume, Error, Instance, InstanceId, Labels, ListVolumes, Page, PageToken, RegionId,
    ResourceKind, Result, Size, UpdateVolume, Volume, VolumeId, VolumeSource, VolumeState,
};

use crate::client::{Client, PageQuery};
use crate::convert;
use crate::error::PROVIDER;
use crate::rules::{
    check_label, check_max_size, check_size, clamp_page_size, labels_to_tags, MAX_PAGE_SIZE,
};
use crate::wire::{
    AttachBody, CloneBody, CreateBody, Envelope, LinodeVolume, Region, ResizeBody, UpdateBody,
    VolumeType,
};

/// A client of the Linode API v4 block-storage volumes.
///
/// Made by [`LinodeBuilder`](crate::LinodeBuilder). It implements
/// volume-core's [`BlockStorage`](volume_core::BlockStorage) (see the
/// [crate docs](crate) for what maps to what) and has the operations only
/// Linode offers as methods of its own.
///
/// Cheap to clone: clones share one connection pool and configuration.
/// `Debug` and `Display` never show the token; `Display` is
/// `Linode(api.linode.com)`, for logs.
#[derive(Clone)]
pub struct Linode {
    client: Client,
}

impl fmt::Debug for Linode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = self.client.transport();
        f.debug_struct("Linode")
            .field("base_url", &redact_url(transport.base_url()))
            .field("retry", transport.retry_config())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Linode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.client.transport().base_url();
        let host = url.host_str().unwrap_or("?");
        match url.port() {
            Some(port) => write!(f, "Linode({host}:{port})"),
            None => write!(f, "Linode({host})"),
        }
    }
}

/// Whether a new volume's data is encrypted at rest (in regions with the
/// `Block Storage Encryption` capability). Fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encryption {
    /// `"enabled"`.
    Enabled,
    /// `"disabled"`, the API's default.
    Disabled,
}

impl Encryption {
    /// The word Linode uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }
}

/// What a Linode volume can be created with beyond
/// [`CreateVolume`]: see [`Linode::create_volume_with`].
///
/// ```
/// use volume_linode::{CreateOptions, Encryption};
/// let options = CreateOptions::new().with_config_id(71037128).with_encryption(Encryption::Enabled);
/// assert_eq!(options.config_id, Some(71037128));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateOptions {
    /// The Linode configuration profile to add the volume to; only with
    /// [`CreateVolume::attach_to`]. Without it Linode picks the Linode's only
    /// configuration, or the last booted one.
    pub config_id: Option<u64>,
    /// Encryption at rest; `None` leaves it to Linode.
    pub encryption: Option<Encryption>,
}

impl CreateOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`config_id`](Self::config_id).
    pub fn with_config_id(mut self, config_id: u64) -> Self {
        self.config_id = Some(config_id);
        self
    }

    /// Sets [`encryption`](Self::encryption).
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = Some(encryption);
        self
    }
}

/// How to attach a volume: see [`Linode::attach_with`].
///
/// ```
/// use volume_core::InstanceId;
/// use volume_linode::AttachOptions;
/// let options = AttachOptions::new(InstanceId::new("97254952")?).with_persist_across_boots(false);
/// assert_eq!(options.persist_across_boots, Some(false));
/// # Ok::<(), volume_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttachOptions {
    /// The Linode to attach to (in the volume's region).
    pub linode_id: InstanceId,
    /// The configuration profile to add the volume to; by default the
    /// Linode's last booted one. Not with `persist_across_boots: false`.
    pub config_id: Option<u64>,
    /// `false`: attach to the running Linode without adding the volume to a
    /// configuration (it is gone after a reboot; more than 8 volumes are
    /// then allowed on large Linodes). `None` leaves Linode's default, `true`.
    pub persist_across_boots: Option<bool>,
}

impl AttachOptions {
    /// Attach to `linode_id` with Linode's defaults.
    pub fn new(linode_id: InstanceId) -> Self {
        Self {
            linode_id,
            config_id: None,
            persist_across_boots: None,
        }
    }

    /// Sets [`config_id`](Self::config_id).
    pub fn with_config_id(mut self, config_id: u64) -> Self {
        self.config_id = Some(config_id);
        self
    }

    /// Sets [`persist_across_boots`](Self::persist_across_boots).
    pub fn with_persist_across_boots(mut self, persist: bool) -> Self {
        self.persist_across_boots = Some(persist);
        self
    }
}

/// A Linode id: the decimal digits of an integer. Any other id names
/// nothing on Linode, so it is [`Error::NotFound`] without a request.
pub(crate) fn numeric_id(kind: ResourceKind, id: &str) -> Result<u64> {
    id.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| id.parse::<u64>().ok())
        .flatten()
        // Leading zeros would name another id's volume.
        .filter(|n| n.to_string() == id)
        .ok_or_else(|| Error::not_found(kind, id))
}

/// The Linode page number a core page token carries (page 1 without one).
fn page_number(token: Option<&PageToken>) -> Result<u32> {
    match token {
        None => Ok(1),
        Some(t) => t
            .as_str()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                Error::invalid_input(
                    "page_token",
                    format!(
                        "{:?} is not a Linode page token (a page number from 1)",
                        t.as_str()
                    ),
                )
            }),
    }
}

/// The core page of an envelope: its items converted (and kept when `keep`
/// says so), and the next page number as the token.
fn page_of<T, U>(
    envelope: Envelope<T>,
    convert: impl Fn(T) -> Result<U>,
    keep: impl Fn(&U) -> bool,
) -> Result<Page<U>> {
    let next = envelope.next_page().map(|n| PageToken::new(n.to_string()));
    let mut items = Vec::with_capacity(envelope.data.len());
    for item in envelope.data {
        let item = convert(item)?;
        if keep(&item) {
            items.push(item);
        }
    }
    Ok(Page::new(items, next))
}

/// The `X-Filter` Linode can apply for `query`: the label (the core name)
/// and the tags (the core labels). One condition is sent as it is, several
/// under `+and`. Region, state and instance are not filterable on Linode's
/// volume collection; they are applied to each page after it arrives (and
/// the instance chooses the collection).
pub(crate) fn volume_filter(query: &ListVolumes) -> Result<Option<String>> {
    let mut conditions: Vec<serde_json::Value> = Vec::new();
    if let Some(name) = &query.name {
        conditions.push(serde_json::json!({ "label": name }));
    }
    for tag in labels_to_tags(&query.labels)? {
        conditions.push(serde_json::json!({ "tags": tag }));
    }
    let filter = match conditions.len() {
        0 => return Ok(None),
        1 => conditions.remove(0),
        _ => serde_json::json!({ "+and": conditions }),
    };
    Ok(Some(filter.to_string()))
}

/// Checks that a raw `X-Filter` is a JSON object, as Linode requires.
fn check_raw_filter(filter: &str) -> Result<()> {
    match serde_json::from_str::<serde_json::Value>(filter) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(Error::invalid_input("X-Filter", "must be a JSON object")),
        Err(e) => Err(Error::invalid_input(
            "X-Filter",
            format!("is not valid JSON: {e}"),
        )),
    }
}

impl Linode {
    pub(crate) fn from_client(client: Client) -> Self {
        Self { client }
    }

    /// The API root requests go to, e.g. `https://api.linode.com/v4`.
    pub fn base_url(&self) -> &Url {
        self.client.transport().base_url()
    }

    // ----- provider-only operations ---------------------------------------

    /// A volume as Linode describes it, with what the provider-neutral
    /// [`Volume`] leaves out: `io_ready`, `encryption`, `hardware_type`,
    /// `filesystem_path`, `linode_label`, `locks`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such volume; as for every request.
    pub async fn volume_details(&self, id: &VolumeId) -> Result<LinodeVolume> {
        numeric_id(ResourceKind::Volume, id.as_str())?;
        self.client.get_volume(id.as_str()).await
    }

    /// Every volume attached to the Linode `instance`
    /// (`GET /linode/instances/{id}/volumes`), a page at a time as the
    /// stream is read. The stream's first item is [`Error::NotFound`] (for
    /// the instance) when there is no such Linode.
    pub fn volumes_of_instance(&self, instance: &InstanceId) -> BoxStream<'static, Result<Volume>> {
        let this = self.clone();
        let instance = instance.clone();
        paginate(move |token| {
            let this = this.clone();
            let instance = instance.clone();
            async move {
                numeric_id(ResourceKind::Instance, instance.as_str())?;
                let page = page_number(token.as_ref())?;
                let envelope = this
                    .client
                    .instance_volumes(instance.as_str(), PageQuery::page(page))
                    .await?;
                page_of(envelope, convert::volume, |_| true)
            }
        })
    }

    /// Every volume that matches `filter`, a raw `X-Filter` (a JSON object,
    /// see Linode's "Filtering and sorting"), fetched a page at a time:
    /// for what [`ListVolumes`] cannot say, such as
    /// `{"+or": [{"label": "a"}, {"label": "b"}]}` or
    /// `{"+order_by": "label", "+order": "desc"}`.
    ///
    /// Linode filters volumes on `label` and `tags`; other fields are
    /// refused with a 400 (`Cannot filter on ...`), which comes out of the
    /// stream as [`Error::InvalidInput`] on field `X-Filter`. So does a
    /// `filter` that is not a JSON object, before any request.
    pub fn list_volumes_filtered(&self, filter: &str) -> BoxStream<'static, Result<Volume>> {
        let this = self.clone();
        let filter = filter.to_owned();
        paginate(move |token| {
            let this = this.clone();
            let filter = filter.clone();
            async move {
                check_raw_filter(&filter)?;
                let q = PageQuery {
                    page: page_number(token.as_ref())?,
                    page_size: Some(MAX_PAGE_SIZE),
                    filter: Some(&filter),
                };
                page_of(this.client.list_volumes(q).await?, convert::volume, |_| {
                    true
                })
            }
        })
    }

    /// Attaches a volume with Linode's options: a configuration profile, or
    /// `persist_across_boots: false`.
    ///
    /// Before the attach request, the volume and the Linode are looked up
    /// (concurrently) and Linode's rules checked: the volume is not attached
    /// already, the Linode is in its region, `config_id` is not given with
    /// `persist_across_boots: false`, which also needs the Linode running.
    /// Attaching is accepted while the volume is still `creating`.
    ///
    /// # Errors
    /// - [`Error::NotFound`] for the volume or the Linode (`kind` says which);
    /// - [`Error::InvalidState`] when the volume is attached already, or the
    ///   Linode is not running for `persist_across_boots: false`;
    /// - [`Error::InvalidInput`] on `linode_id` for another region, on
    ///   `config_id` with `persist_across_boots: false`.
    pub async fn attach_with(&self, id: &VolumeId, options: &AttachOptions) -> Result<Volume> {
        numeric_id(ResourceKind::Volume, id.as_str())?;
        let linode_id = numeric_id(ResourceKind::Instance, options.linode_id.as_str())?;
        if options.persist_across_boots == Some(false) && options.config_id.is_some() {
            return Err(Error::invalid_input(
                "config_id",
                "cannot be given with persist_across_boots: false (the volume is then in no configuration)",
            ));
        }
        let (volume, instance) = join(
            self.client.get_volume(id.as_str()),
            self.client.get_instance(options.linode_id.as_str()),
        )
        .await;
        let volume = convert::volume(volume?)?;
        let instance = convert::instance(instance?)?;
        if !volume.attachments.is_empty() {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                VolumeState::InUse.as_str(),
                "attach_volume",
            ));
        }
        if instance.region != volume.region {
            return Err(Error::invalid_input(
                "linode_id",
                format!(
                    "Linode {} is in region {} but volume {id} is in {}: they must be in the same region",
                    instance.id, instance.region, volume.region
                ),
            ));
        }
        if options.persist_across_boots == Some(false)
            && instance.state != volume_core::InstanceState::Running
        {
            return Err(Error::invalid_state(
                ResourceKind::Instance,
                instance.id.as_str(),
                instance.raw_state,
                "attach_volume",
            ));
        }
        let body = AttachBody {
            linode_id,
            config_id: options.config_id,
            persist_across_boots: options.persist_across_boots,
        };
        convert::volume(self.client.attach_volume(id.as_str(), &body).await?)
    }

    /// Creates a volume with Linode's own options: the configuration profile
    /// to attach it in, and encryption. Otherwise as
    /// [`create_volume`](volume_core::BlockStorage::create_volume).
    ///
    /// # Errors
    /// As `create_volume`; [`Error::InvalidInput`] on `config_id` without
    /// [`CreateVolume::attach_to`], and on `encryption` or `config_id` for
    /// a clone (a clone keeps its source's encryption and is not attached).
    pub async fn create_volume_with(
        &self,
        request: &CreateVolume,
        options: &CreateOptions,
    ) -> Result<Volume> {
        match &request.source {
            VolumeSource::Empty => self.create_empty(request, options).await,
            VolumeSource::Volume(source) => {
                if options.encryption.is_some() {
                    return Err(Error::invalid_input(
                        "encryption",
                        "a Linode clone keeps its source's encryption",
                    ));
                }
                if options.config_id.is_some() {
                    return Err(Error::invalid_input(
                        "config_id",
                        "a Linode clone is not attached when it is made",
                    ));
                }
                self.create_clone(source, request).await
            }
            VolumeSource::Snapshot(_) => Err(Error::unsupported(
                "create_volume from a snapshot",
                PROVIDER,
            )),
            VolumeSource::Backup(_) => {
                Err(Error::unsupported("create_volume from a backup", PROVIDER))
            }
            _ => Err(Error::unsupported(
                "create_volume from this source",
                PROVIDER,
            )),
        }
    }

    /// Deletes a volume without the checks of
    /// [`delete_volume`](volume_core::BlockStorage::delete_volume): one
    /// `DELETE`, whatever the volume's state.
    ///
    /// The trait's `delete_volume` refuses an attached volume (that is the
    /// provider-neutral contract); Linode itself deletes a volume attached
    /// to a powered-off Linode (recorded on real traffic), detaching it
    /// first. Use this to get Linode's behaviour.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such volume; whatever Linode
    /// answers otherwise.
    pub async fn delete_volume_unchecked(&self, id: &VolumeId) -> Result<()> {
        numeric_id(ResourceKind::Volume, id.as_str())?;
        self.client.delete_volume(id.as_str()).await
    }

    /// The volume types and their prices (`GET /volumes/types`; no token
    /// needed). Linode has one type, `volume`; prices differ in some regions.
    ///
    /// # Errors
    /// As for every request.
    pub async fn volume_types(&self) -> Result<Vec<VolumeType>> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let envelope = self.client.volume_types(PageQuery::page(page)).await?;
            let next = envelope.next_page();
            all.extend(envelope.data);
            match next {
                Some(n) if n > page => page = n,
                _ => return Ok(all),
            }
        }
    }

    /// Every region (`GET /regions`; no token needed). Volumes can be made
    /// in those with [`Region::has_block_storage`].
    ///
    /// # Errors
    /// As for every request.
    pub async fn regions(&self) -> Result<Vec<Region>> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let envelope = self
                .client
                .list_regions(PageQuery {
                    page,
                    page_size: Some(MAX_PAGE_SIZE),
                    filter: None,
                })
                .await?;
            let next = envelope.next_page();
            all.extend(envelope.data);
            match next {
                Some(n) if n > page => page = n,
                _ => return Ok(all),
            }
        }
    }

    /// One region.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a region Linode does not have.
    pub async fn region(&self, id: &RegionId) -> Result<Region> {
        self.client.get_region(id.as_str()).await
    }

    /// One Linode, as a core [`Instance`] (`running` is
    /// [`Running`](volume_core::InstanceState::Running), `offline` and
    /// `stopped` are [`Stopped`](volume_core::InstanceState::Stopped), any
    /// other word is `Unknown`).
    ///
    /// # Errors
    /// [`Error::NotFound`] (for the instance) when there is no such Linode.
    pub async fn instance(&self, id: &InstanceId) -> Result<Instance> {
        numeric_id(ResourceKind::Instance, id.as_str())?;
        convert::instance(self.client.get_instance(id.as_str()).await?)
    }

    // ----- what the trait needs ---------------------------------------------

    /// One page of `query`: from `GET /volumes`, or from the instance's
    /// collection when `query.attached_to` is set; label and tags filtered by
    /// Linode, the rest of the query (region, state) on each page.
    pub(crate) async fn list_volume_page(
        &self,
        query: &ListVolumes,
        token: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        let filter = volume_filter(query)?;
        let q = PageQuery {
            page: page_number(token)?,
            page_size: query.page_size.map(clamp_page_size),
            filter: filter.as_deref(),
        };
        let envelope = match &query.attached_to {
            None => self.client.list_volumes(q).await?,
            Some(instance) => {
                // Nothing is attached to a Linode that does not exist.
                if numeric_id(ResourceKind::Instance, instance.as_str()).is_err() {
                    return Ok(Page::last(Vec::new()));
                }
                match self.client.instance_volumes(instance.as_str(), q).await {
                    Err(e) if e.is_not_found() => return Ok(Page::last(Vec::new())),
                    other => other?,
                }
            }
        };
        page_of(envelope, convert::volume, |v| query.matches(v))
    }

    pub(crate) async fn get(&self, id: &VolumeId) -> Result<Volume> {
        numeric_id(ResourceKind::Volume, id.as_str())?;
        convert::volume(self.client.get_volume(id.as_str()).await?)
    }

    /// `POST /volumes` for an empty volume, after Linode's rules.
    async fn create_empty(
        &self,
        request: &CreateVolume,
        options: &CreateOptions,
    ) -> Result<Volume> {
        check_label(&request.name)?;
        if let Some(size) = request.size {
            check_size(size)?;
        }
        check_no_volume_type(request)?;
        let tags = labels_to_tags(&request.labels)?;
        let linode_id = match &request.attach_to {
            Some(instance) => Some(numeric_id(ResourceKind::Instance, instance.as_str())?),
            None => None,
        };
        if linode_id.is_none() && request.region.is_none() {
            return Err(Error::invalid_input(
                "region",
                "Linode needs a region for a volume that is not attached at creation",
            ));
        }
        if options.config_id.is_some() && linode_id.is_none() {
            return Err(Error::invalid_input(
                "config_id",
                "can only be given with an instance to attach to (attach_to)",
            ));
        }
        let body = CreateBody {
            label: request.name.clone(),
            region: request.region.as_ref().map(|r| r.as_str().to_owned()),
            size: request.size.map(Size::as_gib),
            linode_id,
            config_id: options.config_id,
            tags,
            encryption: options.encryption.map(Encryption::as_str),
        };
        convert::volume(self.client.create_volume(&body).await?)
    }

    /// A clone made through `create_volume`: Linode clones have the
    /// source's size and region, so a request for another size or region is
    /// refused (after looking the source up).
    async fn create_clone(&self, source: &VolumeId, request: &CreateVolume) -> Result<Volume> {
        check_label(&request.name)?;
        check_no_clone_labels(&request.labels)?;
        numeric_id(ResourceKind::Volume, source.as_str())?;
        check_no_volume_type(request)?;
        if request.attach_to.is_some() {
            return Err(Error::invalid_input(
                "attach_to",
                "a Linode clone cannot be attached when it is made; attach it once created",
            ));
        }
        if request.size.is_some() || request.region.is_some() {
            let src = self.get(source).await?;
            if let Some(size) = request.size.filter(|s| *s != src.size) {
                return Err(Error::invalid_input(
                    "size",
                    format!(
                        "a Linode clone has its source's size ({}), not {size}; grow it once created",
                        src.size
                    ),
                ));
            }
            if let Some(region) = request.region.as_ref().filter(|r| **r != src.region) {
                return Err(Error::invalid_input(
                    "region",
                    format!(
                        "a Linode clone is in its source's region ({}), not {region}",
                        src.region
                    ),
                ));
            }
        }
        self.clone_named(source, &request.name, &request.labels)
            .await
    }

    /// `POST /volumes/{id}/clone`. Linode's clone request takes only a
    /// label, and a volume cannot be updated while it is `creating` (the
    /// lifecycle volume-core and Linode share), so labels for the clone are
    /// refused rather than set half-way: tag the clone with
    /// [`update_volume`](volume_core::BlockStorage::update_volume) once it is
    /// active.
    pub(crate) async fn clone_named(
        &self,
        source: &VolumeId,
        name: &str,
        labels: &Labels,
    ) -> Result<Volume> {
        check_label(name)?;
        check_no_clone_labels(labels)?;
        numeric_id(ResourceKind::Volume, source.as_str())?;
        let body = CloneBody {
            label: name.to_owned(),
        };
        convert::volume(self.client.clone_volume(source.as_str(), &body).await?)
    }

    pub(crate) async fn update(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        numeric_id(ResourceKind::Volume, id.as_str())?;
        if let Some(name) = &request.name {
            check_label(name)?;
        }
        let tags = request.labels.as_ref().map(labels_to_tags).transpose()?;
        if request.name.is_none() && tags.is_none() {
            return self.get(id).await;
        }
        let body = UpdateBody {
            label: request.name.clone(),
            tags,
        };
        convert::volume(self.client.update_volume(id.as_str(), &body).await?)
    }

    /// Looks the volume up, refuses to delete it while it is attached (the
    /// trait's contract) or rotating its keys (Linode's rule), then deletes.
    pub(crate) async fn delete(&self, id: &VolumeId) -> Result<()> {
        let v = self.get(id).await?;
        if !v.attachments.is_empty() || v.raw_state == "key_rotating" {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.state.as_str(),
                "delete_volume",
            ));
        }
        self.client.delete_volume(id.as_str()).await
    }

    /// Looks the volume up, refuses when it is not attached, detaches
    /// (Linode answers `{}`) and returns the volume as it is then.
    pub(crate) async fn detach(&self, id: &VolumeId) -> Result<Volume> {
        let v = self.get(id).await?;
        if v.attachments.is_empty() {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.state.as_str(),
                "detach_volume",
            ));
        }
        self.client.detach_volume(id.as_str()).await?;
        self.get(id).await
    }

    /// Checks the new size, looks the volume up, checks that it grows and
    /// that the volume is `active` (Linode's rule), then resizes.
    pub(crate) async fn resize(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        numeric_id(ResourceKind::Volume, id.as_str())?;
        check_max_size(new_size)?;
        let v = self.get(id).await?;
        volume_core::check_grow(v.size, new_size)?;
        if v.raw_state != "active" {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                v.raw_state,
                "resize_volume",
            ));
        }
        let body = ResizeBody {
            size: new_size.as_gib(),
        };
        convert::volume(self.client.resize_volume(id.as_str(), &body).await?)
    }

    pub(crate) async fn list_instance_page(
        &self,
        token: Option<&PageToken>,
    ) -> Result<Page<Instance>> {
        let q = PageQuery {
            page: page_number(token)?,
            page_size: Some(MAX_PAGE_SIZE),
            filter: None,
        };
        page_of(
            self.client.list_instances(q).await?,
            convert::instance,
            |_| true,
        )
    }
}

/// Refuses labels for a clone: see [`Linode::clone_named`].
fn check_no_clone_labels(labels: &Labels) -> Result<()> {
    if labels.is_empty() {
        return Ok(());
    }
    Err(Error::invalid_input(
        "labels",
        "Linode's clone request takes no tags, and a volume cannot be updated while it is \
         being created: clone without labels, then set them with update_volume once the \
         clone is active",
    ))
}

/// Linode volumes have no type to choose (`hardware_type` is Linode's pick).
fn check_no_volume_type(request: &CreateVolume) -> Result<()> {
    match &request.volume_type {
        Some(t) => Err(Error::invalid_input(
            "volume_type",
            format!("Linode has no volume types to choose from (asked for {t:?}); hardware_type is Linode's choice"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_integers_are_linode_ids() {
        assert_eq!(numeric_id(ResourceKind::Volume, "123").unwrap(), 123);
        assert_eq!(numeric_id(ResourceKind::Volume, "0").unwrap(), 0);
        for bad in [
            "",
            "+1",
            "-1",
            "007",
            "1.5",
            "abc",
            "1 ",
            "99999999999999999999999",
        ] {
            let e = numeric_id(ResourceKind::Instance, bad).unwrap_err();
            assert!(
                matches!(&e, Error::NotFound { kind: ResourceKind::Instance, id, .. } if id == bad),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn page_tokens_are_page_numbers() {
        assert_eq!(page_number(None).unwrap(), 1);
        assert_eq!(page_number(Some(&PageToken::new("3"))).unwrap(), 3);
        for bad in ["0", "-1", "x", ""] {
            assert!(page_number(Some(&PageToken::new(bad))).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        assert_eq!(volume_filter(&ListVolumes::new()).unwrap(), None);
        assert_eq!(
            volume_filter(&ListVolumes::new().with_name("db"))
                .unwrap()
                .unwrap(),
            r#"{"label":"db"}"#
        );
        assert_eq!(
            volume_filter(&ListVolumes::new().with_label("team", "a"))
                .unwrap()
                .unwrap(),
            r#"{"tags":"team=a"}"#
        );
        assert_eq!(
            volume_filter(
                &ListVolumes::new()
                    .with_name("db")
                    .with_label("x", "")
                    .with_label("team", "a")
                    .with_region(RegionId::new("us-east").unwrap())
            )
            .unwrap()
            .unwrap(),
            r#"{"+and":[{"label":"db"},{"tags":"team=a"},{"tags":"x"}]}"#
        );
        assert!(check_raw_filter(r#"{"label": "a"}"#).is_ok());
        assert!(check_raw_filter("[1]").is_err());
        assert!(check_raw_filter("{").is_err());
    }
}
