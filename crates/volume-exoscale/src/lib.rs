//! Exoscale API v2 block-storage volumes for volume-rs.
//!
//! [`Exoscale`] is a typed client of Exoscale's block-storage endpoints in
//! one zone. It implements volume-core's
//! [`BlockStorage`](volume_core::BlockStorage), so code written against the
//! trait runs on Exoscale unchanged, and it has what only Exoscale offers as
//! methods of its own ([`Exoscale::zones`], [`Exoscale::for_zone`],
//! [`Exoscale::volume_details`], [`Exoscale::update_snapshot`],
//! [`Exoscale::wait_for_operation`], ...).
//!
//! # Example
//!
//! Against volume-sim's Exoscale fake on loopback; for the real API, build
//! the client with [`ExoscaleBuilder::from_env`] (`EXOSCALE_API_KEY`,
//! `EXOSCALE_API_SECRET`, `EXOSCALE_ZONE`) instead, without an endpoint.
//!
//! ```
//! use std::time::Duration;
//! use volume_core::{BlockStorage, CreateSnapshot, CreateVolume, Size, VolumeState};
//! use volume_exoscale::{ExoscaleBuilder, OperationPolling};
//! use volume_sim::engine::ClockMode;
//! use volume_sim::fake::exoscale::{ExoscaleFake, DEFAULT_KEY, DEFAULT_SECRET};
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let fake = ExoscaleFake::builder().clock(ClockMode::Wall { speed: 100.0 }).build();
//! let server = fake.start().await;
//! let exo = ExoscaleBuilder::new()
//!     .with_api_key(DEFAULT_KEY)
//!     .with_api_secret(DEFAULT_SECRET)
//!     .with_endpoint(ExoscaleFake::base_url(&server))
//!     // A fake answers quickly: poll operations every 10 ms, not every 3 s.
//!     .with_operation_polling(OperationPolling::fixed(
//!         Duration::from_millis(10),
//!         Duration::from_secs(60),
//!     ))
//!     .build()?;
//!
//! // Each mutation waits for its Exoscale operation and returns the result.
//! let volume = exo
//!     .create_volume(&CreateVolume::new("data", Size::gib(10)).with_label("team", "storage"))
//!     .await?;
//! assert_eq!(volume.state, VolumeState::Available);
//! assert_eq!(volume.raw_state, "detached");
//! let snapshot = exo
//!     .create_snapshot(&CreateSnapshot::new(volume.id.clone(), "before-upgrade"))
//!     .await?;
//! let copy = exo
//!     .create_volume(
//!         &CreateVolume::from_snapshot("copy", snapshot.id.clone()).with_size(Size::gib(20)),
//!     )
//!     .await?;
//! assert_eq!(copy.size, Size::gib(20));
//! exo.delete_volume(&copy.id).await?;
//! exo.delete_snapshot(&snapshot.id).await?;
//! exo.delete_volume(&volume.id).await?;
//! # Ok::<(), volume_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # How Exoscale maps to volume-core
//!
//! - Zones are independent: a client works in one zone (its region), at
//!   `https://api-<zone>.exoscale.com/v2`; [`Exoscale::for_zone`] makes a
//!   client of another zone from `GET /v2/zone`. A request for another
//!   region is refused (`InvalidInput` on `region`); a listing filtered on
//!   another region is empty.
//! - Ids are UUIDs. An id that is not one names nothing on Exoscale: it is
//!   [`Error::NotFound`](volume_core::Error::NotFound) at once, without a
//!   request.
//! - Every request is signed with `EXO2-HMAC-SHA256` ([`sign`]) over the
//!   exact bytes sent, afresh for each attempt; `GET /v2/zone` is sent
//!   unsigned. Action paths keep their colon (`/v2/block-storage/<id>:attach`).
//! - Every mutation but a resize answers an operation; the client polls it
//!   ([`OperationPolling`]: Exoscale's own cadence by default, bounded) and
//!   returns the resource its `reference.id` names, fetched once the
//!   operation succeeded. An operation that fails is
//!   [`Error::Failed`](volume_core::Error::Failed), with Exoscale's `reason`
//!   and `message` as its reason (see [`Exoscale::wait_for_operation`]).
//!   `:resize-volume` answers the volume itself, at once.
//! - Sizes are GiB on the wire, as in volume-core (a size of 2^30 or more,
//!   which only the pre-GA API sent, is read as bytes).
//! - Volume states: `detached` is `available`, `attached` is `in-use`, the
//!   others are the core states of the same name, any other word is
//!   `Unknown`; snapshot states: `allocated`, `creating` and `promoting` are
//!   `creating`, `created` is `available`, `destroying` `deleting`,
//!   `destroyed` `deleted`, `partially-destroyed` and `error` `error`. The
//!   word itself is always in `raw_state`. A snapshot's size is the size of
//!   the volume it was taken of (`volume-size`).
//! - Rules Exoscale documents are checked before anything is sent: names of
//!   1 to 255 characters ([`check_name`]), sizes of 1 to 10000 GiB (Exoscale
//!   documents no maximum; 10000 is its CSI driver's), grow-only resize of a
//!   volume that is detached or attached to a stopped instance (both looked
//!   up first), a volume from a snapshot no smaller than the snapshot.
//! - The trait's contract is kept where it says more than Exoscale:
//!   `delete_volume` refuses an attached volume, `attach_volume` an attached
//!   one and `detach_volume` a detached one, after looking the volume up;
//!   `attach_volume` looks the instance up, so an unknown instance is
//!   not-found for the instance. `create_volume` with `attach_to` creates
//!   the volume, then attaches it (two operations; if the attach fails the
//!   volume is left, detached).
//! - Listings are not paged by Exoscale: every listing is one page,
//!   whatever `page_size` asks, filtered by this client (only
//!   `instance-id` is filtered by Exoscale).
//!
//! # What Exoscale cannot do
//!
//! Exoscale has no volume clones and no volume backups:
//! [`capabilities()`](volume_core::BlockStorage::capabilities) says so
//! ([`CAPABILITIES`]), and those operations (and `create_volume` from a
//! volume or a backup) return
//! [`Error::Unsupported`](volume_core::Error::Unsupported) without a
//! request. A clone through a temporary snapshot is not offered: it would
//! not be exact (the source is busy `snapshotting` meanwhile, and a
//! snapshot is left behind if deleting it fails); take a snapshot and
//! create a volume from it. Volumes attach to one instance at a time.
//!
//! # Errors and retries
//!
//! Every error body Exoscale's clients read is read (`message`, `error`,
//! RFC 9457 Problem Details): the message, the `errors` entries (as
//! [`ApiError::details`](volume_core::ApiError::details)) and the problem
//! `type` (as the code) are kept, and the variant follows the status (400
//! `InvalidInput`, 401 `Unauthenticated`, 403 `PermissionDenied`, which is
//! what a bad or expired signature gets, 404 `NotFound`, 409 and 412
//! `InvalidState`, 429 `RateLimited`). Requests are retried by volume-core's
//! transport: GETs (operation polls included) after 429s, 5xx and transport
//! failures; mutations only after a 429 or a connection that could not be
//! made, never blindly.
//!
//! # Feature flags
//!
//! - `native-tls`: use the platform's TLS library instead of rustls.

mod builder;
mod client;
mod convert;
mod error;
mod exoscale;
mod poll;
mod rules;
pub mod sign;
mod storage;
mod wire;

pub use builder::{
    endpoint_of, ExoscaleBuilder, API_KEY_ENV, API_SECRET_ENV, DEFAULT_ZONE, ZONE_ENV,
};
pub use exoscale::Exoscale;
pub use poll::OperationPolling;
pub use rules::{check_name, MAX_NAME_LEN, MAX_SIZE, MIN_SIZE};
pub use sign::Clock;
pub use storage::CAPABILITIES;
pub use wire::{ExoscaleSnapshot, ExoscaleVolume, Operation, Ref, Reference, Zone};

/// The provider name Exoscale's errors and capabilities carry: `"exoscale"`.
pub const PROVIDER: &str = error::PROVIDER;

/// volume-core, which this crate is built on.
pub use volume_core;
