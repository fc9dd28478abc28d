//! LunaNode Dynamic API block-storage volumes for volume-rs.
//!
//! [`LunaNode`] speaks LunaNode's Dynamic API (`https://dynamic.lunanode.com/api/`):
//! every action is a form-encoded `POST /api/volume/<action>/` carrying the
//! parameters as JSON in `req`, signed with HMAC-SHA512 under the API key
//! with a fresh nonce on every attempt; every value is a string; and a
//! failure comes back as HTTP 200 with `{"success": "no", "error": "..."}`,
//! which the client turns into volume-core's [`Error`](volume_core::Error)
//! by its text, keeping the text. It implements
//! [`BlockStorage`](volume_core::BlockStorage), and adds what only LunaNode
//! has: VMs and images, snapshot replication to an image in any region,
//! volumes from images, and both of LunaNode's status words.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_core::{BlockStorage, CreateVolume, Size};
//! use volume_lunanode::LunaNodeBuilder;
//! use volume_sim::fake::lunanode::{LunaNodeFake, DEFAULT_API_ID, DEFAULT_API_KEY};
//!
//! // volume-sim's LunaNode fake, on a loopback port.
//! let fake = LunaNodeFake::builder().build();
//! let server = fake.start().await;
//! let lunanode = LunaNodeBuilder::new()
//!     .with_api_id(DEFAULT_API_ID)
//!     .with_api_key(DEFAULT_API_KEY)
//!     .with_endpoint(LunaNodeFake::base_url(&server))
//!     .build()?;
//!
//! let volume = lunanode
//!     .create_volume(&CreateVolume::new("data", Size::gib(10)))
//!     .await?;
//! assert_eq!(volume.region.as_str(), "toronto");
//! assert_eq!(lunanode.get_volume(&volume.id).await?.size, Size::gib(10));
//! # Ok::<(), volume_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # What LunaNode cannot do, and what this crate does about it
//!
//! - No pages: every listing is one page. `list_volumes` reads
//!   `volume/list` and then `volume/info` of each volume (at most eight at
//!   once), because only `info` says whether a volume is attached; the
//!   core filters are applied here, LunaNode filtering only by region.
//! - No clones and no backups: [`Error::Unsupported`](volume_core::Error::Unsupported),
//!   said in advance by [`CAPABILITIES`].
//! - No labels and no volume types: a request that sets them is refused
//!   with `InvalidInput` before anything is sent, except for an
//!   idempotency key
//!   ([`with_idempotency_key`](volume_core::CreateVolume::with_idempotency_key)):
//!   LunaNode keeps no free text but the label given at creation, so the
//!   key rides at its end, `<name> vrs-idem=<key>` (as LunaNode's own
//!   lobster finds a volume it made by its label). A name ending so is
//!   shown as the core name before the suffix and the label `vrs-idem`;
//!   after a create whose outcome is unknown the key is looked up in
//!   `volume/list` (only the volumes that carry it are read with `info`) or
//!   the snapshot lists, and what carries it is adopted (see
//!   [`volume_core::idempotency`]). A rename through the trait keeps the
//!   key. With the longest key (32 characters) the name has 213 of the 255
//!   characters this crate sends.
//! - Extend only while detached: checked before sending.
//! - Snapshot actions need a region: the client looks in its own region
//!   first, then the others of [`REGIONS`].
//! - Two status vocabularies (`volume/list`: `pending`/`active`;
//!   `volume/info`: `available`/`in-use`/...): merged into one state, both
//!   words kept in [`VolumeDetails`].
//! - Error texts are not documented: they are mapped by the words they
//!   hold (see the `error` module's table), and anything unrecognised is
//!   [`Error::Api`](volume_core::Error::Api) with the text as its message.
//! - Nonces are Unix seconds; this client never sends one twice (the
//!   current second, or one more than the last), so a burst runs the nonce
//!   ahead of the clock by the number of requests beyond one a second.
//!   How far ahead LunaNode tolerates is not documented (volume-sim's fake
//!   allows five minutes by default); LunaNode's own clients instead reuse
//!   the current second.
//!
//! # Feature flags
//!
//! None.

mod auth;
mod builder;
mod client;
mod convert;
mod error;
mod idem;
mod lunanode;
mod rules;
mod storage;
mod wire;

pub use builder::{
    LunaNodeBuilder, API_ID_ENV, API_ID_LEN, API_KEY_ENV, API_KEY_LEN, DEFAULT_ENDPOINT, REGION_ENV,
};
pub use lunanode::{Image, LunaNode, Polling, VolumeDetails};
pub use rules::{DEFAULT_REGION, MAX_NAME_LEN, MAX_SIZE, MIN_SIZE, REGIONS};
pub use storage::CAPABILITIES;
pub use volume_core;
