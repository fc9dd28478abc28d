//! [`Rancher`], the client: the operations volume-core's trait needs, built
//! from the requests in [`client`](crate::client) with Cattle's rules
//! checked first, and every volume, snapshot and backup operation Cattle
//! offers, following the `links` and `actions` of the resources it returns.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use volume_core::http::{paginate_links, redact_url, Backoff, Url};
use volume_core::{
    BackupId, Error, RegionId, ResourceKind, Result, SnapshotId, VolumeId, WaitConfig,
};

use crate::builder::ApiVersion;
use crate::client::Client;
use crate::rules::{
    check_description, check_filter_field, check_name, check_v1_create, offered, MAX_PAGE_SIZE,
};
use crate::wire::{
    BackupInput, Collection, CreateBody, Host, RancherBackup, RancherSnapshot, RancherVolume,
    Resource, RestoreInput, RevertInput, SnapshotInput, StorageDriver, Transitioning, UpdateBody,
};

/// A client of the volumes of Rancher 1.x (Cattle), API `v2-beta` or `v1`.
///
/// Made by [`RancherBuilder`](crate::RancherBuilder). It implements
/// volume-core's [`BlockStorage`](volume_core::BlockStorage) (see the
/// [crate docs](crate) for what maps to what) and has every operation
/// Cattle offers on volumes, snapshots and backups as methods of its own.
///
/// Operations on a resource take the resource as last read (a
/// [`RancherVolume`], ...) and follow its `links` and `actions`: an action
/// that is not in its `actions` map is refused with
/// [`Error::InvalidState`] naming the state, before anything is sent, and a
/// link to another scheme, host or port is never followed.
///
/// Cheap to clone: clones share one connection pool and configuration.
/// `Debug` and `Display` never show the secret key; `Display` is
/// `Rancher(<host>:<port>)`, for logs.
#[derive(Clone)]
pub struct Rancher {
    client: Client,
    version: ApiVersion,
    project: Option<String>,
    driver: String,
    /// The default driver as last read by [`Rancher::read_driver`].
    driver_info: Arc<RwLock<Option<StorageDriver>>>,
    /// The region of resources that name no project.
    region: RegionId,
}

impl fmt::Debug for Rancher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = self.client.transport();
        f.debug_struct("Rancher")
            .field("base_url", &redact_url(transport.base_url()))
            .field("version", &self.version)
            .field("project", &self.project)
            .field("driver", &self.driver)
            .field("retry", transport.retry_config())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rancher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.client.transport().base_url();
        let host = url.host_str().unwrap_or("?");
        match url.port() {
            Some(port) => write!(f, "Rancher({host}:{port})"),
            None => write!(f, "Rancher({host})"),
        }
    }
}

/// A filter modifier of Cattle's collections: `name_prefix=fo` is
/// `Filter::new("name", Modifier::Prefix, "fo")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Modifier {
    /// Equal (no suffix).
    Eq,
    /// `_ne`: not equal.
    Ne,
    /// `_lt`: less than (dates, numbers).
    Lt,
    /// `_lte`: at most.
    Lte,
    /// `_gt`: more than.
    Gt,
    /// `_gte`: at least.
    Gte,
    /// `_prefix`: starts with (strings).
    Prefix,
    /// `_like`: SQL `LIKE` pattern (strings; `%` is any text).
    Like,
    /// `_notlike`: not `LIKE`.
    NotLike,
    /// `_null`: is null (the value is ignored).
    Null,
    /// `_notnull`: is not null (the value is ignored).
    NotNull,
}

impl Modifier {
    /// The suffix of the query parameter, e.g. `_prefix` (empty for `Eq`).
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::Eq => "",
            Self::Ne => "_ne",
            Self::Lt => "_lt",
            Self::Lte => "_lte",
            Self::Gt => "_gt",
            Self::Gte => "_gte",
            Self::Prefix => "_prefix",
            Self::Like => "_like",
            Self::NotLike => "_notlike",
            Self::Null => "_null",
            Self::NotNull => "_notnull",
        }
    }
}

/// One condition of a [`ListQuery`]; several are ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Filter {
    /// A field of the resource's schema that is a collection filter
    /// (`name`, `state`, `driver`, `sizeMb`, `volumeId`, ...).
    pub field: String,
    /// How the value is compared.
    pub modifier: Modifier,
    /// The value (sent percent-encoded).
    pub value: String,
}

impl Filter {
    /// `field<modifier>=value`.
    pub fn new(field: impl Into<String>, modifier: Modifier, value: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            modifier,
            value: value.into(),
        }
    }
}

/// Sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Order {
    /// `asc` (Cattle's default).
    #[default]
    Asc,
    /// `desc`.
    Desc,
}

/// Which resources of a collection to list, and how: Cattle's filters
/// with modifiers, `sort`/`order`, the page size (`limit`) and the
/// `_removed` option.
///
/// ```
/// use volume_rancher::{ListQuery, Modifier, Order};
///
/// let q = ListQuery::new()
///     .with_filter("name", Modifier::Prefix, "db-")
///     .with_filter("sizeMb", Modifier::Gte, "1024")
///     .sorted_by("name", Order::Desc)
///     .with_limit(50);
/// assert_eq!(q.filters.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListQuery {
    /// The conditions, all of which must hold.
    pub filters: Vec<Filter>,
    /// The field to sort on (a collection filter field; others are ignored
    /// by Cattle).
    pub sort: Option<String>,
    /// The sort order.
    pub order: Option<Order>,
    /// The page size (`limit`, 1 to 1000; Cattle's default is 100).
    pub limit: Option<u32>,
    /// Also list removed resources (`_removed`), which Cattle hides.
    pub include_removed: bool,
}

impl ListQuery {
    /// Everything, in pages of Cattle's default size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the condition `field<modifier>=value`.
    pub fn with_filter(
        mut self,
        field: impl Into<String>,
        modifier: Modifier,
        value: impl Into<String>,
    ) -> Self {
        self.filters.push(Filter::new(field, modifier, value));
        self
    }

    /// Adds the condition `field=value`.
    pub fn with_eq(self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.with_filter(field, Modifier::Eq, value)
    }

    /// Sorts on `field`, in `order`.
    pub fn sorted_by(mut self, field: impl Into<String>, order: Order) -> Self {
        self.sort = Some(field.into());
        self.order = Some(order);
        self
    }

    /// Sets the page size.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Lists removed resources too.
    pub fn including_removed(mut self) -> Self {
        self.include_removed = true;
        self
    }

    /// The query parameters, in order.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a field that is not a schema field name
    /// (ASCII letters and digits), or a limit of 0.
    pub(crate) fn to_pairs(&self) -> Result<Vec<(String, String)>> {
        let mut pairs = Vec::with_capacity(self.filters.len() + 4);
        for f in &self.filters {
            check_filter_field(&f.field)?;
            let value = match f.modifier {
                Modifier::Null | Modifier::NotNull => "true".to_owned(),
                _ => f.value.clone(),
            };
            pairs.push((format!("{}{}", f.field, f.modifier.suffix()), value));
        }
        if let Some(sort) = &self.sort {
            check_filter_field(sort)?;
            pairs.push(("sort".to_owned(), sort.clone()));
        }
        if let Some(order) = self.order {
            let word = match order {
                Order::Asc => "asc",
                Order::Desc => "desc",
            };
            pairs.push(("order".to_owned(), word.to_owned()));
        }
        if let Some(limit) = self.limit {
            if limit == 0 {
                return Err(Error::invalid_input("limit", "must be at least 1"));
            }
            pairs.push(("limit".to_owned(), limit.min(MAX_PAGE_SIZE).to_string()));
        }
        if self.include_removed {
            pairs.push(("_removed".to_owned(), "true".to_owned()));
        }
        Ok(pairs)
    }
}

/// A volume to create: see [`Rancher::create`].
///
/// ```
/// use volume_rancher::NewVolume;
/// let v = NewVolume::new("db-data")
///     .with_driver("rancher-nfs")
///     .with_driver_opt("size", "1G")
///     .with_description("the database");
/// assert_eq!(v.driver.as_deref(), Some("rancher-nfs"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewVolume {
    /// Its name (required, at most 255 characters).
    pub name: String,
    /// Its storage driver's name; without it (and without
    /// `storage_driver_id`) the client's default driver.
    pub driver: Option<String>,
    /// Its storage driver, by id (v2-beta only).
    pub storage_driver_id: Option<String>,
    /// The driver's options.
    pub driver_opts: BTreeMap<String, String>,
    /// Its description (at most 1024 characters).
    pub description: Option<String>,
    /// The host to put it on (v2-beta only).
    pub host_id: Option<String>,
    /// Its size in MiB, for drivers with the `schedule.size` capability
    /// (v2-beta only).
    pub size_mb: Option<u64>,
    /// The stack it belongs to (v2-beta only).
    pub stack_id: Option<String>,
}

impl NewVolume {
    /// A volume named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Sets [`driver`](Self::driver).
    pub fn with_driver(mut self, driver: impl Into<String>) -> Self {
        self.driver = Some(driver.into());
        self
    }

    /// Sets [`storage_driver_id`](Self::storage_driver_id).
    pub fn with_storage_driver_id(mut self, id: impl Into<String>) -> Self {
        self.storage_driver_id = Some(id.into());
        self
    }

    /// Adds one driver option.
    pub fn with_driver_opt(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.driver_opts.insert(key.into(), value.into());
        self
    }

    /// Sets [`description`](Self::description).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets [`host_id`](Self::host_id).
    pub fn with_host_id(mut self, host_id: impl Into<String>) -> Self {
        self.host_id = Some(host_id.into());
        self
    }

    /// Sets [`size_mb`](Self::size_mb).
    pub fn with_size_mb(mut self, size_mb: u64) -> Self {
        self.size_mb = Some(size_mb);
        self
    }

    /// Sets [`stack_id`](Self::stack_id).
    pub fn with_stack_id(mut self, stack_id: impl Into<String>) -> Self {
        self.stack_id = Some(stack_id.into());
        self
    }
}

/// What [`Rancher::update`] changes: the fields Cattle lets a volume change
/// (`description`, `driverOpts`, `hostId`); `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeChanges {
    /// A new description.
    pub description: Option<String>,
    /// New driver options (replacing them all).
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// A new host (v2-beta only).
    pub host_id: Option<String>,
}

impl VolumeChanges {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`description`](Self::description).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets [`driver_opts`](Self::driver_opts).
    pub fn with_driver_opts(mut self, opts: BTreeMap<String, String>) -> Self {
        self.driver_opts = Some(opts);
        self
    }

    /// Sets [`host_id`](Self::host_id).
    pub fn with_host_id(mut self, host_id: impl Into<String>) -> Self {
        self.host_id = Some(host_id.into());
        self
    }
}

/// One page of a collection and the link to the next.
pub(crate) type PageOf<T> = (Vec<T>, Option<String>);

impl Rancher {
    pub(crate) fn from_parts(
        client: Client,
        version: ApiVersion,
        project: Option<String>,
        driver: String,
    ) -> Self {
        let region = project
            .as_deref()
            .and_then(|p| RegionId::new(p).ok())
            .unwrap_or_else(|| RegionId::new("environment").expect("a valid region id"));
        Self {
            client,
            version,
            project,
            driver,
            driver_info: Arc::new(RwLock::new(None)),
            region,
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn fallback_region(&self) -> &RegionId {
        &self.region
    }

    /// The API root requests are built on, e.g.
    /// `http://rancher:8080/v2-beta/projects/1a5`.
    pub fn base_url(&self) -> &Url {
        self.client.transport().base_url()
    }

    /// The API version spoken.
    pub fn api_version(&self) -> ApiVersion {
        self.version
    }

    /// The project (environment) requests are scoped to, when one was
    /// given (an environment API key needs none).
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// The driver `create_volume` uses without a `volume_type`.
    pub fn default_driver(&self) -> &str {
        &self.driver
    }

    /// The default driver as [`read_driver`](Self::read_driver) last read
    /// it, when it has.
    pub fn driver_info(&self) -> Option<StorageDriver> {
        self.driver_info
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether the default driver, as last read, has `capability`: asked
    /// under the lock, without copying the driver.
    pub(crate) fn driver_has(&self, capability: &str) -> bool {
        self.driver_info
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_some_and(|d| d.has_capability(capability))
    }

    // ----- storage drivers and hosts -------------------------------------

    /// Reads the default driver (`GET /storagedrivers?name=<driver>`) and
    /// keeps what its volumes can do: from then on
    /// [`capabilities()`](volume_core::BlockStorage::capabilities) reports
    /// snapshots only when it has the `snapshot` capability, and
    /// `create_volume` refuses a size when it lacks `schedule.size`.
    ///
    /// # Errors
    /// [`Error::NotFound`] (a volume type) when no driver has that name; as
    /// for every request.
    pub async fn read_driver(&self) -> Result<StorageDriver> {
        let query = [("name".to_owned(), self.driver.clone())];
        let page: Collection<StorageDriver> = self
            .client
            .list("storagedrivers", ResourceKind::VolumeType, &query, None)
            .await?;
        let driver = page
            .data
            .into_iter()
            .find(|d| d.name == self.driver)
            .ok_or_else(|| Error::not_found(ResourceKind::VolumeType, self.driver.clone()))?;
        *self
            .driver_info
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(driver.clone());
        Ok(driver)
    }

    /// Every storage driver, a page at a time as the stream is read.
    pub fn storage_drivers(&self, query: &ListQuery) -> BoxStream<'static, Result<StorageDriver>> {
        self.stream(query)
    }

    /// One storage driver.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none with that id.
    pub async fn storage_driver(&self, id: &str) -> Result<StorageDriver> {
        self.get_by_id(id).await
    }

    /// Every host (where volumes may live), a page at a time.
    pub fn hosts(&self, query: &ListQuery) -> BoxStream<'static, Result<Host>> {
        self.stream(query)
    }

    /// One host.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none with that id.
    pub async fn host(&self, id: &str) -> Result<Host> {
        self.get_by_id(id).await
    }

    // ----- volumes ---------------------------------------------------------

    /// Every volume `query` selects, a page at a time as the stream is read,
    /// following `pagination.next` (removed volumes only with
    /// [`ListQuery::including_removed`]).
    pub fn volumes(&self, query: &ListQuery) -> BoxStream<'static, Result<RancherVolume>> {
        self.stream(query)
    }

    /// One volume, removed ones included (their `removed` is set).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none with that id.
    pub async fn volume(&self, id: &VolumeId) -> Result<RancherVolume> {
        self.get_by_id(id.as_str()).await
    }

    /// Creates a volume (`POST /volumes`; Cattle answers 201 with the volume,
    /// still `requested` or `registering`: see
    /// [`wait_settled`](Self::wait_settled)).
    ///
    /// Without `driver` and `storage_driver_id` it is made with the
    /// client's default driver.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`] before sending for a name or description
    ///   Cattle would refuse, and on API v1 for a field v1 lacks;
    /// - [`Error::AlreadyExists`] for a name taken on the same driver
    ///   (Cattle's `NotUnique`);
    /// - [`Error::InvalidInput`] on `sizeMb` from Cattle when the driver
    ///   takes no size (`InvalidOption`).
    pub async fn create(&self, new: &NewVolume) -> Result<RancherVolume> {
        check_name("name", &new.name)?;
        check_description(new.description.as_deref())?;
        let driver = match (&new.driver, &new.storage_driver_id) {
            (None, None) => Some(self.driver.as_str()),
            (d, _) => d.as_deref(),
        };
        check_v1_create(
            self.version,
            driver,
            &[
                ("storageDriverId", new.storage_driver_id.is_some()),
                ("hostId", new.host_id.is_some()),
                ("sizeMb", new.size_mb.is_some()),
                ("stackId", new.stack_id.is_some()),
            ],
        )?;
        let body = CreateBody {
            name: &new.name,
            driver,
            storage_driver_id: new.storage_driver_id.as_deref(),
            driver_opts: (!new.driver_opts.is_empty()).then_some(&new.driver_opts),
            description: new.description.as_deref(),
            host_id: new.host_id.as_deref(),
            size_mb: new.size_mb,
            stack_id: new.stack_id.as_deref(),
        };
        self.client.create_volume(&body).await
    }

    /// Changes a volume's description, driver options or host
    /// (`PUT <links.self>`); Cattle offers this while the volume is
    /// `inactive` or `active` (its `update` action).
    ///
    /// # Errors
    /// [`Error::InvalidState`] naming the state when the volume's `actions`
    /// has no `update`, before sending.
    pub async fn update(
        &self,
        volume: &RancherVolume,
        changes: &VolumeChanges,
    ) -> Result<RancherVolume> {
        check_description(changes.description.as_deref())?;
        if self.version == ApiVersion::V1 && changes.host_id.is_some() {
            return Err(Error::invalid_input(
                "hostId",
                "is not a volume field of Rancher API v1 (use v2-beta)",
            ));
        }
        offered(volume, "update", "update_volume")?;
        let body = UpdateBody {
            description: changes.description.as_deref(),
            driver_opts: changes.driver_opts.as_ref(),
            host_id: changes.host_id.as_deref(),
        };
        let link = self.self_link(volume)?;
        self.client
            .update(&link, ResourceKind::Volume, volume.id(), &body)
            .await
    }

    /// Removes a volume (`DELETE <links.self>`; Cattle answers 200 with it
    /// `removing`). A removed volume is hidden from listings and can be
    /// [purged](Self::purge).
    ///
    /// # Errors
    /// [`Error::InvalidState`] naming the state when its `actions` has no
    /// `remove` (an `active` volume, mounted in a container), before sending;
    /// Cattle's own 405 maps to the same.
    pub async fn remove(&self, volume: &RancherVolume) -> Result<RancherVolume> {
        offered(volume, "remove", "delete_volume")?;
        let link = self.self_link(volume)?;
        self.client
            .delete(&link, ResourceKind::Volume, volume.id())
            .await
    }

    /// Purges a removed volume (its `purge` action): `purging`, then
    /// `purged`.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `purge` (it is not
    /// removed), before sending.
    pub async fn purge(&self, volume: &RancherVolume) -> Result<RancherVolume> {
        self.volume_action(volume, "purge", "purge", None::<&()>)
            .await
    }

    /// Allocates an `inactive` volume (its `allocate` action).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `allocate`.
    pub async fn allocate(&self, volume: &RancherVolume) -> Result<RancherVolume> {
        self.volume_action(volume, "allocate", "allocate", None::<&()>)
            .await
    }

    /// Deallocates an `active` volume (its `deallocate` action).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `deallocate`.
    pub async fn deallocate(&self, volume: &RancherVolume) -> Result<RancherVolume> {
        self.volume_action(volume, "deallocate", "deallocate", None::<&()>)
            .await
    }

    /// Takes a snapshot (the `snapshot` action, which answers 200 with the
    /// new snapshot, `requested` or `creating`). Cattle offers it on
    /// `active` and `inactive` volumes of drivers with the `snapshot`
    /// capability.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `snapshot`, before
    /// sending; [`Error::InvalidInput`] for a name over 255 characters.
    pub async fn snapshot(
        &self,
        volume: &RancherVolume,
        name: Option<&str>,
    ) -> Result<RancherSnapshot> {
        if let Some(name) = name {
            check_name("name", name)?;
        }
        let link = offered(volume, "snapshot", "create_snapshot")?;
        self.client
            .action(
                link,
                ResourceKind::Volume,
                volume.id(),
                Some(&SnapshotInput { name }),
            )
            .await
    }

    /// Reverts a volume to one of its `created` snapshots (the
    /// `reverttosnapshot` action: `reverting-*`, then back).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `reverttosnapshot`
    /// (no `snapshot` capability, or a running container uses it);
    /// [`Error::InvalidInput`] from Cattle (`InvalidReference`) for a
    /// snapshot of another volume or not `created`.
    pub async fn revert_to_snapshot(
        &self,
        volume: &RancherVolume,
        snapshot: &SnapshotId,
    ) -> Result<RancherVolume> {
        let input = RevertInput {
            snapshot_id: snapshot.as_str(),
        };
        self.volume_action(
            volume,
            "reverttosnapshot",
            "revert_to_snapshot",
            Some(&input),
        )
        .await
    }

    /// Restores a volume from one of its backups (the `restorefrombackup`
    /// action: `restoring-*`, then back).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no
    /// `restorefrombackup`; [`Error::InvalidInput`] from Cattle
    /// (`InvalidReference`) for a backup of another volume or not `created`.
    pub async fn restore_from_backup(
        &self,
        volume: &RancherVolume,
        backup: &BackupId,
    ) -> Result<RancherVolume> {
        let input = RestoreInput {
            backup_id: backup.as_str(),
        };
        self.volume_action(volume, "restorefrombackup", "restore_backup", Some(&input))
            .await
    }

    // ----- snapshots and backups -----------------------------------------

    /// Every snapshot `query` selects (e.g. `volumeId=1v67`), a page at a time.
    pub fn snapshots(&self, query: &ListQuery) -> BoxStream<'static, Result<RancherSnapshot>> {
        self.stream(query)
    }

    /// One snapshot, removed ones included.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none with that id.
    pub async fn snapshot_by_id(&self, id: &SnapshotId) -> Result<RancherSnapshot> {
        self.get_by_id(id.as_str()).await
    }

    /// Removes a snapshot (`DELETE <links.self>`).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `remove`.
    pub async fn remove_snapshot(&self, snapshot: &RancherSnapshot) -> Result<RancherSnapshot> {
        offered(snapshot, "remove", "delete_snapshot")?;
        let link = self.self_link(snapshot)?;
        self.client
            .delete(&link, ResourceKind::Snapshot, snapshot.id())
            .await
    }

    /// Backs a snapshot up to a backup target (its `backup` action).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `backup`;
    /// [`Error::InvalidInput`] for a name over 255 characters.
    pub async fn backup(
        &self,
        snapshot: &RancherSnapshot,
        backup_target_id: &str,
        name: Option<&str>,
    ) -> Result<RancherBackup> {
        if let Some(name) = name {
            check_name("name", name)?;
        }
        let link = offered(snapshot, "backup", "create_backup")?;
        let input = BackupInput {
            backup_target_id,
            name,
        };
        self.client
            .action(link, ResourceKind::Snapshot, snapshot.id(), Some(&input))
            .await
    }

    /// Every backup `query` selects, a page at a time.
    pub fn backups(&self, query: &ListQuery) -> BoxStream<'static, Result<RancherBackup>> {
        self.stream(query)
    }

    /// One backup, removed ones included.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none with that id.
    pub async fn backup_by_id(&self, id: &BackupId) -> Result<RancherBackup> {
        self.get_by_id(id.as_str()).await
    }

    /// Removes a backup (`DELETE <links.self>`).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when its `actions` has no `remove`.
    pub async fn remove_backup(&self, backup: &RancherBackup) -> Result<RancherBackup> {
        offered(backup, "remove", "delete_backup")?;
        let link = self.self_link(backup)?;
        self.client
            .delete(&link, ResourceKind::Backup, backup.id())
            .await
    }

    // ----- following and waiting -------------------------------------------

    /// Reads `resource` again, through its `links.self`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is gone; as for every request.
    pub async fn refresh<R>(&self, resource: &R) -> Result<R>
    where
        R: Resource + DeserializeOwned,
    {
        let link = self.self_link(resource)?;
        self.client.follow(&link, R::KIND, resource.id()).await
    }

    /// Waits until Cattle is done with `resource`, by Cattle's own rule (as
    /// the cattle client's `wait_success`): while its `transitioning` is
    /// `yes`, read it again; then `no` is success and `error` a failure.
    ///
    /// Polls with `config`'s backoff, for at most `config.max_wait`.
    ///
    /// # Errors
    /// - [`Error::Failed`] with the state and `transitioningMessage` when
    ///   `transitioning` is `error` (at once: waiting cannot help);
    /// - [`Error::Timeout`] with the last state seen;
    /// - [`Error::NotFound`] when it disappears; as for every request.
    pub async fn wait_settled<R>(&self, resource: &R, config: &WaitConfig) -> Result<R>
    where
        R: Resource + DeserializeOwned + Clone,
    {
        let start = tokio::time::Instant::now();
        let mut backoff = match config.seed {
            Some(seed) => Backoff::seeded(config.backoff, seed),
            None => Backoff::new(config.backoff),
        };
        let mut current = resource.clone();
        loop {
            match current.transitioning() {
                Transitioning::No => return Ok(current),
                Transitioning::Error => {
                    return Err(Error::Failed {
                        kind: R::KIND,
                        id: current.id().to_owned(),
                        state: current.state().to_owned(),
                        reason: current.transitioning_message().map(str::to_owned),
                    })
                }
                Transitioning::Yes | Transitioning::Other(_) => {}
            }
            let waited = start.elapsed();
            if waited >= config.max_wait {
                return Err(Error::Timeout {
                    what: format!(
                        "{} {} to finish its transition",
                        R::KIND.as_str(),
                        current.id()
                    ),
                    waited,
                    last_seen: Some(current.state().to_owned()),
                });
            }
            let mut delay = backoff.next_delay();
            loop {
                let left = config.max_wait.saturating_sub(start.elapsed());
                tokio::time::sleep(delay.min(left).max(Duration::from_millis(1))).await;
                match self.refresh(&current).await {
                    Ok(fresh) => {
                        current = fresh;
                        break;
                    }
                    // As the core's waiters do: a passing failure is
                    // polled through, within the same time budget.
                    Err(e) if e.is_retryable() && start.elapsed() < config.max_wait => {
                        delay = e.retry_after().unwrap_or_else(|| backoff.next_delay());
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }

    // ----- shared steps ------------------------------------------------------

    /// `links.self`, or the URL built from the collection and id when the
    /// resource came without one.
    fn self_link<R: Resource>(&self, resource: &R) -> Result<String> {
        if let Some(link) = resource.self_link() {
            return Ok(link.to_owned());
        }
        let request = volume_core::http::Request::get([R::COLLECTION, resource.id()]);
        Ok(self.client.transport().url_for(&request)?.to_string())
    }

    /// A volume action that answers the volume.
    async fn volume_action<B: serde::Serialize>(
        &self,
        volume: &RancherVolume,
        action: &str,
        operation: &'static str,
        input: Option<&B>,
    ) -> Result<RancherVolume> {
        let link = offered(volume, action, operation)?;
        self.client
            .action(link, ResourceKind::Volume, volume.id(), input)
            .await
    }

    /// `GET /<collection>/<id>`; an id that cannot be one path segment
    /// (`.`, `..`) names nothing.
    pub(crate) async fn get_by_id<R: Resource + DeserializeOwned>(&self, id: &str) -> Result<R> {
        if id == "." || id == ".." {
            return Err(Error::not_found(R::KIND, id));
        }
        self.client.get(R::COLLECTION, R::KIND, id).await
    }

    /// One page of `R`'s collection: the first (with `query`) or the one
    /// `next` links to.
    pub(crate) async fn page<R: Resource + DeserializeOwned>(
        &self,
        query: &[(String, String)],
        next: Option<&str>,
    ) -> Result<PageOf<R>> {
        let page: Collection<R> = self
            .client
            .list(R::COLLECTION, R::KIND, query, next)
            .await?;
        let next = page.next();
        Ok((page.data, next))
    }

    fn stream<R>(&self, query: &ListQuery) -> BoxStream<'static, Result<R>>
    where
        R: Resource + DeserializeOwned + Send + 'static,
    {
        let pairs = match query.to_pairs() {
            Ok(pairs) => pairs,
            Err(e) => return futures::stream::once(async move { Err(e) }).boxed(),
        };
        let this = self.clone();
        paginate_links(move |next: Option<String>| {
            let this = this.clone();
            let pairs = pairs.clone();
            async move { this.page::<R>(&pairs, next.as_deref()).await }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_parameters() {
        let q = ListQuery::new()
            .with_eq("name", "a b")
            .with_filter("name", Modifier::NotLike, "x%")
            .with_filter("hostId", Modifier::Null, "ignored")
            .sorted_by("created", Order::Desc)
            .with_limit(5000)
            .including_removed();
        let pairs = q.to_pairs().unwrap();
        let want: Vec<(String, String)> = [
            ("name", "a b"),
            ("name_notlike", "x%"),
            ("hostId_null", "true"),
            ("sort", "created"),
            ("order", "desc"),
            ("limit", "1000"),
            ("_removed", "true"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        assert_eq!(pairs, want);
        assert!(ListQuery::new().with_eq("name&x", "1").to_pairs().is_err());
        assert!(ListQuery::new().with_limit(0).to_pairs().is_err());
    }
}
