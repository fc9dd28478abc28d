//! OpenStack Cinder v3 block-storage volumes for volume-rs, with Keystone v3
//! authentication and Nova for attaching.
//!
//! [`Cinder`] is a typed client of Cinder's volume API. It implements
//! volume-core's [`BlockStorage`](volume_core::BlockStorage), so code
//! written against the trait runs on any OpenStack cloud (Xloud included)
//! unchanged, and it has Cinder's own operations as methods: volume
//! metadata, `os-retype`, `os-set_bootable`, `os-reset_status`,
//! `os-force_delete`, the attachments API, Nova attach and detach, volume
//! types and extra specs, QoS specs, limits, quotas with usage,
//! availability zones and user messages.
//!
//! # Example
//!
//! Against volume-sim's Cinder fake (Keystone, Cinder and Nova) on
//! loopback; for a real cloud, build the client with
//! [`CinderBuilder::from_env`] (`OS_CLOUD`, or `OS_AUTH_URL`,
//! `OS_USERNAME`, `OS_PASSWORD`, ...) instead.
//!
//! ```
//! use volume_cinder::{CinderBuilder, Domain, Microversion};
//! use volume_core::{BlockStorage, BlockStorageExt, CreateVolume, Size, WaitConfig};
//! use volume_sim::engine::ClockMode;
//! use volume_sim::fake::cinder::{CinderFake, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER};
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let fake = CinderFake::builder().clock(ClockMode::Wall { speed: 100.0 }).build();
//! let server = fake.start().await;
//! let cinder = CinderBuilder::new()
//!     .with_auth_url(CinderFake::auth_url(&server))
//!     .with_username(DEFAULT_USER, Domain::Name("Default".into()))
//!     .with_password(DEFAULT_PASSWORD)
//!     .with_project_name(DEFAULT_PROJECT, Domain::Name("Default".into()))
//!     .build()?;
//! assert_eq!(cinder.connect().await?, Microversion::NEWEST_KNOWN);
//!
//! let wait = WaitConfig::default();
//! let request = CreateVolume::new("data", Size::gib(10)).with_label("team", "storage");
//! let volume = cinder.create_volume_and_wait(&request, &wait).await?;
//! assert_eq!(volume.raw_state, "available");
//! assert_eq!(volume.labels["team"], "storage"); // Cinder metadata
//! cinder.delete_volume_and_wait(&volume.id, &wait).await?;
//! # Ok::<(), volume_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! `examples/cinder.rs` in the repository runs the same against a real
//! cloud when `OS_CLOUD` or `OS_AUTH_URL` is set, and against volume-sim's
//! Cinder fake otherwise.
//!
//! # Authentication
//!
//! Keystone v3: a password (user and project by name or id, with their
//! domains; a name without a domain is looked up in the domain with id
//! `default`), an application credential (by id, or by name with its
//! user; no scope is sent), or a pre-issued token (exchanged for a scoped
//! one with a catalog when an auth URL is given, else sent as it is to the
//! endpoint given). Cinder's endpoint is the first catalog entry of type
//! `block-storage`, `volumev3` or `block-store` (or `volume` with a `/v3`
//! URL) with the interface (`public` by default) and region asked for; a
//! `/v2` endpoint is never used. The token and the endpoint are renewed
//! together a minute before the token expires and once after a `401`, with
//! one login shared by all concurrent requests. Configuration comes from
//! [`CinderBuilder`]'s setters, `OS_*` variables
//! ([`CinderBuilder::from_env`]) or `clouds.yaml` and `secure.yaml`
//! ([`CinderBuilder::from_cloud`]). Passwords, secrets and tokens are
//! [`Secret`](volume_core::http::Secret)s and never printed.
//!
//! # Microversions
//!
//! The client reads the server's range from the version document once and
//! speaks `min(server max, 3.71)`, sending `OpenStack-API-Version: volume
//! X.Y` on every Cinder call ([`CinderBuilder::with_microversion`] pins one
//! instead; a server with no version document at its versioned root is
//! spoken to at 3.0). Features that need a later version than the one spoken are
//! refused before sending with [`Error::Unsupported`](volume_core::Error),
//! whose operation names the version: the attachments API (3.27; complete
//! 3.44), volumes from backups (3.47), backup labels (3.43), messages
//! (3.3). Extending an `in-use` volume needs 3.42 and is refused with
//! `InvalidState` below it. A snapshot sends `"force": true` below 3.66
//! (so an `in-use` volume can be snapshotted) and no `force` from 3.66,
//! where `"force": false` would be a 400. A 406 (a version the server does
//! not offer) is `InvalidInput` on `microversion` and never retried.
//!
//! # How Cinder maps to volume-core
//!
//! - Ids are Cinder's UUIDs, sent as one percent-encoded path segment.
//! - `name` is the core name; `metadata` the core labels (keys of letters,
//!   digits and `-_:. /`, checked before sending); the availability zone
//!   the core region (and an instance's region is its Nova zone).
//! - States: see [`convert`] for the table; the word Cinder
//!   sent is always in `raw_state`.
//! - Listing pages with `limit` and `marker` (the core page token is the
//!   marker); name, status (where one Cinder word matches), zone and labels
//!   (Cinder's `metadata` filter, at every microversion) are filtered by
//!   Cinder, instance on each page as it arrives (and labels again).
//!   [`Cinder::volumes`] follows `volumes_links` instead.
//! - An idempotency key
//!   ([`with_idempotency_key`](volume_core::CreateVolume::with_idempotency_key))
//!   is the metadata entry `vrs-idem` of the volume, snapshot or backup.
//!   After a create whose outcome is unknown, a volume's key is looked up
//!   with the `metadata` filter, a snapshot's or backup's among those of its
//!   volume, and what carries it is adopted (see
//!   [`volume_core::idempotency`]). Only the create is covered:
//!   `create_volume` with `attach_to` attaches the volume found or made,
//!   once. Backup metadata needs microversion 3.43: below it a keyed
//!   backup is [`Error::Unsupported`](volume_core::Error) before sending,
//!   as any labelled backup is.
//! - Attach and detach go through Nova's `os-volume_attachments`, as Xloud
//!   recommends; the volume and the server must be in the same zone.
//!   `create_volume` with `attach_to` creates the volume in the server's
//!   zone, waits until it is `available`, then attaches it.
//! - `delete_volume` refuses an attached volume after looking at it;
//!   [`Cinder::delete_volume_with`] deletes the Cinder way (`cascade`,
//!   `force`).
//! - Errors: Cinder's and Nova's faults (`{"itemNotFound": {"code",
//!   "message"}}`) and Keystone's `{"error": {...}}` keep the fault name as
//!   the code, the message, the status and `x-openstack-request-id`. 400
//!   "Invalid volume: ..." (a state rule) and 409 are `InvalidState`, other
//!   400s `InvalidInput`, 401 `Unauthenticated`, 403 `PermissionDenied`,
//!   404 `NotFound`, 406 `InvalidInput` on `microversion`, 413 `overLimit`
//!   (a quota) `QuotaExceeded`, 413 `overLimitFault` and 429 `RateLimited`.
//!
//! # What Cinder cannot do here
//!
//! - Multi-attach is a property of the volume type; the core trait attaches
//!   one server at a time, and [`CAPABILITIES`] does not claim it.
//! - `capabilities()` says `Online` resize only once the version spoken is
//!   known to be 3.42 or later: call [`Cinder::connect`] first.
//! - Snapshots carry no zone in Cinder's view; `get_snapshot` looks up the
//!   volume's, other listings report Cinder's default zone `nova`.
//!
//! # Feature flags
//!
//! None.

mod auth;
mod builder;
mod cinder;
mod client;
mod clouds;
pub mod convert;
mod error;
mod microversion;
mod rules;
mod storage;
mod wire;

pub use auth::{Domain, Interface, Named};
pub use builder::{CinderBuilder, DEFAULT_DOMAIN_ID};
pub use cinder::{
    BackupOptions, Cinder, DeleteOptions, ListOptions, MigrationPolicy, ResetStatus,
    SnapshotOptions, VolumeOptions,
};
pub use microversion::Microversion;
pub use rules::{MAX_NAME_LEN, MAX_PAGE_SIZE, MIN_SIZE};
pub use storage::CAPABILITIES;
pub use volume_core;
pub use wire::{
    AbsoluteLimits, AvailabilityZone, CinderAttachment, CinderBackup, CinderSnapshot, CinderVolume,
    Message, QosSpecs, Quota, QuotaSet, ServerVolumeAttachment, VolumeAttachmentInfo, VolumeType,
};
