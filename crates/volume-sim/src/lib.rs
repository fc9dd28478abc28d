//! An in-memory block-storage cloud for tests: real bytes, copy-on-write
//! snapshots, clones and backups, each provider's lifecycle rules, a virtual
//! clock and scripted faults.
//!
//! [`Sim`] implements volume-core's [`BlockStorage`](volume_core::BlockStorage),
//! so code written against the trait runs against it unchanged. Underneath,
//! [`engine`] is a synchronous core: a chunked sparse block store
//! ([`engine::store`]) and a control plane that enforces volume-core's
//! lifecycle table and a provider [`Policy`](engine::Policy).
//!
//! # Example
//!
//! ```
//! use volume_core::{BlockStorage, CreateSnapshot, CreateVolume, Size, VolumeSource};
//! use volume_sim::Sim;
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let sim = Sim::new();
//! let vol = sim.create_volume(&CreateVolume::new("data", Size::gib(1))).await?;
//! sim.write_at(&vol.id, 0, b"v1").await?;
//! let snap = sim.create_snapshot(&CreateSnapshot::new(vol.id.clone(), "before")).await?;
//! sim.write_at(&vol.id, 0, b"v2").await?;
//!
//! // The snapshot still holds what was there when it was taken.
//! let mut buf = [0u8; 2];
//! sim.read_snapshot_at(&snap.id, 0, &mut buf).await?;
//! assert_eq!(&buf, b"v1");
//!
//! // A volume made from it starts with those bytes, and shares them until written.
//! let restored = sim
//!     .create_volume(&CreateVolume::from_snapshot("restored", snap.id.clone()))
//!     .await?;
//! sim.read_at(&restored.id, 0, &mut buf).await?;
//! assert_eq!(&buf, b"v1");
//! # Ok::<(), volume_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Time and faults
//!
//! Transitions are instant by default. Give the policy [`Delays`](engine::Delays)
//! and they take simulated time, which moves only when the test says
//! ([`Sim::advance`], [`Sim::step`], [`Sim::run_until_quiet`]). Faults are
//! scripted with [`FaultRule`](engine::FaultRule) and recorded ([`Sim::injected`]).
//!
//! # Fakes
//!
//! [`fake`] serves each provider's wire protocol from the engine (Linode and
//! Exoscale), mounted on a wiremock server for tests; [`serve`] and the
//! `volume-sim` binary put every fake on one TCP port for other tools.
//!
//! # Block devices
//!
//! [`nbd`] exports attached volumes (read-write), snapshots and backups
//! (read-only) over the Network Block Device protocol, so qemu-img, qemu-io,
//! nbdcopy or the kernel's nbd-client see disks whose bytes are the
//! engine's; [`Sim::serve_nbd`] does it for one tenant in tests.
//!
//! # Feature flags
//!
//! - `server` (default): the `volume-sim` binary and `cli`, its flags and
//!   serving loop, shared with `volume serve` (adds clap and tokio's signal
//!   handling). The library, fakes and [`serve`] included, does not need it.
//! - `testing`: `volume_sim::testing`, test support for provider crates
//!   (pinned requests, the catch-all mock, sample loading, a conformance
//!   backend that owns its fake server). For `[dev-dependencies]`.

#[cfg(feature = "server")]
pub mod cli;
pub mod engine;
pub mod fake;
pub mod nbd;
pub mod serve;
mod sim;
#[cfg(feature = "testing")]
pub mod testing;

pub use sim::{Sim, SimBuilder, DEFAULT_TENANT};
