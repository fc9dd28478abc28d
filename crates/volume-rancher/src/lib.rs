//! Rancher 1.x (Cattle) volumes for volume-rs.
//!
//! [`Rancher`] is a typed client of the volumes, snapshots, backups,
//! storage drivers and hosts of Rancher 1.x's API (`v2-beta`, Rancher 1.2 to
//! 1.6, or `v1`). It implements volume-core's
//! [`BlockStorage`](volume_core::BlockStorage), so code written against the
//! trait runs on Rancher unchanged as far as Rancher can go (see below), and
//! it has every volume operation Cattle offers as methods of its own:
//! listing with Cattle's filters ([`ListQuery`]), create, update, remove and
//! purge, `allocate`/`deallocate`, `snapshot`, `reverttosnapshot`,
//! `restorefrombackup`, snapshot backups, and waiting by Cattle's own rule
//! ([`Rancher::wait_settled`]).
//!
//! # Example
//!
//! Against volume-sim's Rancher fake on loopback; for a real server, build
//! the client with [`RancherBuilder::from_env`] (`CATTLE_URL`,
//! `CATTLE_ACCESS_KEY`, `CATTLE_SECRET_KEY`, or their `RANCHER_*` names).
//!
//! ```
//! use futures::TryStreamExt;
//! use volume_core::{SnapshotId, WaitConfig};
//! use volume_rancher::{ListQuery, Modifier, NewVolume, RancherBuilder, StorageDriver};
//! use volume_sim::engine::ClockMode;
//! use volume_sim::fake::rancher::{
//!     RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
//! };
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let fake = RancherFake::builder().clock(ClockMode::Wall { speed: 100.0 }).build();
//! let server = fake.start().await;
//! let rancher = RancherBuilder::new()
//!     .with_url(RancherFake::base_url(&server))
//!     .with_access_key(DEFAULT_ACCESS_KEY)
//!     .with_secret_key(DEFAULT_SECRET_KEY)
//!     .with_project(DEFAULT_PROJECT_ID)
//!     .build()?;
//!
//! // A storage driver whose volumes have snapshots.
//! let drivers: Vec<StorageDriver> = rancher.storage_drivers(&ListQuery::new()).try_collect().await?;
//! let driver = drivers.iter().find(|d| d.has_capability(StorageDriver::SNAPSHOT)).unwrap();
//!
//! let wait = WaitConfig::default();
//! let volume = rancher.create(&NewVolume::new("db-data").with_driver(&driver.name)).await?;
//! let volume = rancher.wait_settled(&volume, &wait).await?; // Cattle's rule: until `transitioning` is "no"
//! assert_eq!(volume.state, "inactive");
//!
//! let snapshot = rancher.snapshot(&volume, Some("before-upgrade")).await?;
//! let snapshot = rancher.wait_settled(&snapshot, &wait).await?;
//! assert_eq!(snapshot.state, "created");
//!
//! let named: Vec<_> = rancher
//!     .volumes(&ListQuery::new().with_filter("name", Modifier::Prefix, "db-"))
//!     .try_collect()
//!     .await?;
//! assert_eq!(named.len(), 1);
//!
//! // The volume's `actions` map says what its state allows; the client
//! // follows it, and refuses what it does not offer before sending.
//! let volume = rancher.refresh(&volume).await?;
//! let reverting = rancher
//!     .revert_to_snapshot(&volume, &SnapshotId::new(snapshot.id.clone())?)
//!     .await?;
//! let volume = rancher.wait_settled(&reverting, &wait).await?;
//! assert!(rancher.purge(&volume).await.is_err()); // only a removed volume can be purged
//! let removed = rancher.wait_settled(&rancher.remove(&volume).await?, &wait).await?;
//! assert_eq!(removed.state, "removed");
//! # Ok::<(), volume_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! `examples/rancher.rs` at the root of the repository runs the same kind of
//! program against volume-sim's Rancher fake, or a real server when
//! `CATTLE_URL` is set.
//!
//! # Hypermedia
//!
//! Cattle is a hypermedia API, and the client uses it as one: it follows
//! the `links` (`self`, `storageDriver`, `volume`, ...), `actions` and
//! `pagination.next` URLs it receives, and builds URLs from the base URL
//! only where it has no link yet (a first listing, a lookup by id). A link
//! to another scheme, host or port is refused with
//! [`Error::InvalidInput`](volume_core::Error::InvalidInput) and never sent
//! (so the key never leaves the server). An action absent from a
//! resource's `actions` map, which holds exactly the actions valid in its
//! state, is refused with
//! [`Error::InvalidState`](volume_core::Error::InvalidState) naming the
//! state, before anything is sent.
//!
//! # How Rancher maps to volume-core
//!
//! - A volume's region is its project (`accountId`, e.g. `1a5`); instances
//!   are hosts (`active` is running).
//! - States: `requested`/`registering` are creating, `inactive` and
//!   `detached` available, `active` in use when containers mount the volume
//!   (one attachment per container, with the mount path as device),
//!   `reverting-*`/`restoring-*` restoring, `removing`/`purging` deleting,
//!   `removed`/`purged` deleted; the word is always in `raw_state`. A
//!   `transitioning` of `error` is the failure state
//!   ([`VolumeState::Error`](volume_core::VolumeState::Error)), which the
//!   core's waiters stop on at once.
//! - Sizes are `sizeMb`, whole GiB in the core (a volume without `sizeMb`,
//!   from a driver that takes no size, has size 0). `create_volume` makes
//!   the volume with the `volume_type` as driver, or the client's default
//!   driver ([`RancherBuilder::with_driver`], `local` by default).
//! - Labels: none, but for an idempotency key
//!   ([`with_idempotency_key`](volume_core::CreateVolume::with_idempotency_key)).
//!   A volume keeps it as its description, exactly `vrs-idem=<key>`, found
//!   with Cattle's `description` filter; a snapshot (whose description
//!   cannot be set: the `snapshot` action takes only a name) at the end of
//!   its name, `<name> vrs-idem=<key>`, found among its volume's snapshots.
//!   Either shows as the core label `vrs-idem` (and the snapshot's core name
//!   without the suffix); after a create whose outcome is unknown, what
//!   carries the key is adopted (see [`volume_core::idempotency`]). Any
//!   other label is refused with `InvalidInput`.
//! - A removed volume is still readable from Cattle by id
//!   ([`Rancher::volume`]), but through the trait it is gone: `get_volume`
//!   is not-found, as after any delete. `delete_volume` is Cattle's remove;
//!   [`Rancher::purge`] purges.
//!
//! # What Rancher cannot do
//!
//! [`capabilities()`](volume_core::BlockStorage::capabilities) says so in
//! advance ([`CAPABILITIES`]), and those operations return
//! [`Error::Unsupported`](volume_core::Error::Unsupported) without a
//! request:
//!
//! - no attach or detach call: Rancher mounts volumes into the containers of
//!   the services that declare them;
//! - no resize, no clone, no rename and no labels but the idempotency key
//!   ([`Rancher::update`] changes description, driver options and host;
//!   changing a keyed volume's description drops its key);
//! - no volume made from a snapshot or a backup: Cattle reverts a volume to
//!   its own snapshot and restores a volume from its own backup, in place, so
//!   the trait's backups (which restore into new volumes) are unsupported;
//!   use [`Rancher::backup`], [`Rancher::revert_to_snapshot`] and
//!   [`Rancher::restore_from_backup`];
//! - snapshots exist only where the storage driver has the `snapshot`
//!   capability: `capabilities()` reports them once the default driver is
//!   read ([`RancherBuilder::connect`] or [`Rancher::read_driver`]), and
//!   `create_snapshot` on a volume whose driver lacks it is `Unsupported`.
//!
//! # Errors and retries
//!
//! Cattle's error resource is kept whole: its `code` (`NotUnique`,
//! `MissingRequired`, `Not Found`, `Method not allowed`, ...), `message`,
//! `detail` and `fieldName` are in the
//! [`ApiError`](volume_core::ApiError). 422 validation errors are
//! [`InvalidInput`](volume_core::Error::InvalidInput) on their field, except
//! `NotUnique`, which is
//! [`AlreadyExists`](volume_core::Error::AlreadyExists); a 405 (a delete not
//! allowed in the volume's state) and a 409 are
//! [`InvalidState`](volume_core::Error::InvalidState). Requests are retried
//! by volume-core's transport: actions and creates are never repeated
//! blindly.
//!
//! # Feature flags
//!
//! - `native-tls`: use the platform's TLS library instead of rustls.

mod builder;
mod client;
mod convert;
mod error;
mod idem;
mod rancher;
mod rules;
mod storage;
mod wire;

pub use builder::{ApiVersion, RancherBuilder, ACCESS_KEY_ENV, SECRET_KEY_ENV, URL_ENV};
pub use rancher::{Filter, ListQuery, Modifier, NewVolume, Order, Rancher, VolumeChanges};
pub use rules::{check_name, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, MAX_PAGE_SIZE, MAX_SIZE, MIN_SIZE};
pub use storage::CAPABILITIES;
pub use wire::{
    Host, MountEntry, RancherBackup, RancherSnapshot, RancherVolume, Resource, StorageDriver,
    Transitioning,
};

/// The provider name Rancher's errors and capabilities carry: `"rancher"`.
pub const PROVIDER: &str = error::PROVIDER;

/// volume-core, which this crate is built on.
pub use volume_core;
