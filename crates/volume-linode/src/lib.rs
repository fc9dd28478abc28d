//! Linode API v4 block-storage volumes for volume-rs.
//!
//! [`Linode`] is a typed client of Linode's volume endpoints. It implements
//! volume-core's [`BlockStorage`](volume_core::BlockStorage), so code written
//! against the trait runs on Linode unchanged, and it has what only Linode
//! offers as methods of its own ([`Linode::attach_with`],
//! [`Linode::volumes_of_instance`], [`Linode::list_volumes_filtered`],
//! [`Linode::volume_details`], [`Linode::regions`], ...).
//!
//! # Example
//!
//! Against volume-sim's Linode fake on loopback; for the real API, build the
//! client with [`LinodeBuilder::from_env`] (`LINODE_TOKEN`) instead.
//!
//! ```
//! use volume_core::{
//!     BlockStorage, BlockStorageExt, CreateVolume, RegionId, Size, Until, VolumeState, WaitConfig,
//! };
//! use volume_linode::LinodeBuilder;
//! use volume_sim::engine::ClockMode;
//! use volume_sim::fake::linode::{LinodeFake, DEFAULT_TOKEN};
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let fake = LinodeFake::builder().clock(ClockMode::Wall { speed: 100.0 }).build();
//! let server = fake.start().await;
//! let linode = LinodeBuilder::new()
//!     .with_token(DEFAULT_TOKEN)
//!     .with_base_url(LinodeFake::base_url(&server))
//!     .build()?;
//!
//! let request = CreateVolume::new("data", Size::gib(20))
//!     .with_region(RegionId::new("us-east")?)
//!     .with_label("team", "storage");
//! let wait = WaitConfig::default();
//! let volume = linode.create_volume_and_wait(&request, &wait).await?;
//! assert_eq!(volume.raw_state, "active");
//! assert_eq!(volume.labels["team"], "storage"); // sent as the tag "team=storage"
//!
//! let resizing = linode.resize_volume(&volume.id, Size::gib(30)).await?;
//! assert_eq!(resizing.raw_state, "resizing");
//! let waited = linode
//!     .wait_for_volume(&volume.id, Until::State(VolumeState::Available), &wait)
//!     .await?;
//! println!("{} went through {:?}", volume.id, waited.observed);
//! linode.delete_volume_and_wait(&volume.id, &wait).await?;
//! # Ok::<(), volume_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # How Linode maps to volume-core
//!
//! - Volume ids and Linode (instance) ids are Linode's integers as decimal
//!   text. An id that is not one names nothing on Linode: it is
//!   [`Error::NotFound`](volume_core::Error::NotFound) at once, without a
//!   request. Ids are always sent as one percent-encoded path segment.
//! - The volume's `label` is the core name; its `tags` are the core labels:
//!   tag `t` is the label `t = ""`, and a label with a value, `k = v`, is the
//!   tag `k=v` (so a label key cannot hold `=`).
//! - `status` `active` is `in-use` with a `linode_id` and `available`
//!   without; `creating` and `resizing` are themselves; `contact_support`
//!   is `error`; any other word (`key_rotating`, ...) is `Unknown`, and the
//!   word itself is always in `raw_state`.
//! - Listing: page tokens are Linode page numbers; `page_size` is clamped
//!   to Linode's 25..=500. Name and labels are filtered by Linode
//!   (`X-Filter` on `label` and `tags`); Linode cannot filter volumes on
//!   region or status, so those are applied to each page as it arrives
//!   (pages may then hold fewer items than asked for). `attached_to` lists
//!   `GET /linode/instances/{id}/volumes`.
//! - Rules Linode documents are checked before anything is sent: the
//!   label pattern ([`check_label`]), sizes of 10 to 10240 GiB, grow-only
//!   resize (the volume is looked up first), a region unless attaching at
//!   creation, attach within the volume's region.
//! - The trait's contract is kept where Linode is laxer: `delete_volume`
//!   refuses an attached volume, `attach_volume` an attached one and
//!   `detach_volume` a detached one, each after looking the volume up
//!   ([`Linode::delete_volume_unchecked`] deletes the Linode way).
//!   `detach_volume` returns the volume as it is after the detach (Linode
//!   answers `{}`).
//! - Clones: [`clone_volume`](volume_core::BlockStorage::clone_volume) and
//!   `VolumeSource::Volume`. A clone has its source's size and region
//!   (asking for others is refused), and Linode's clone request takes only
//!   a label: labels for a clone are refused (`InvalidInput` on `labels`)
//!   rather than set by a second request that Linode, like volume-core's
//!   lifecycle, refuses while the clone is `creating`. Tag the clone with
//!   `update_volume` once it is active.
//!
//! # What Linode cannot do
//!
//! Linode has no volume snapshots and no volume backups:
//! [`capabilities()`](volume_core::BlockStorage::capabilities) says so
//! ([`CAPABILITIES`]), and those operations, like `create_volume` from a
//! snapshot or a backup, return
//! [`Error::Unsupported`](volume_core::Error::Unsupported) without a
//! request. Clone a volume to copy it. Volumes attach to one Linode at a
//! time.
//!
//! # Errors and retries
//!
//! Linode's error body (`{"errors": [{"reason", "field"}]}`) is kept whole:
//! every reason and field is in
//! [`ApiError::details`](volume_core::ApiError::details), and the variant
//! follows the status (400 `InvalidInput` naming the field, 401
//! `Unauthenticated`, 403 `PermissionDenied`, 404 `NotFound`, 429
//! `RateLimited` with the `Retry-After`). Requests are retried by
//! volume-core's transport: 429s always after their `Retry-After`, 5xx and
//! transport failures only for requests safe to repeat, never a create.
//!
//! # Feature flags
//!
//! - `native-tls`: use the platform's TLS library instead of rustls.

mod builder;
mod client;
mod convert;
mod error;
mod linode;
mod rules;
mod storage;
mod wire;

pub use builder::{LinodeBuilder, API_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV};
pub use linode::{AttachOptions, CreateOptions, Encryption, Linode};
pub use rules::{check_label, MAX_LABEL_LEN, MAX_PAGE_SIZE, MAX_SIZE, MIN_PAGE_SIZE, MIN_SIZE};
pub use storage::CAPABILITIES;
pub use wire::{LinodeVolume, Price, Region, RegionPrice, VolumeType};

/// The provider name Linode's errors and capabilities carry: `"linode"`.
pub const PROVIDER: &str = error::PROVIDER;

/// volume-core, which this crate is built on.
pub use volume_core;
