//! One typed, async API for block-storage volumes.
//!
//! `volume-core` holds what every volume-rs backend shares: the model (ids,
//! [`Size`], [`Volume`], [`Snapshot`], [`Backup`], requests), the state enums
//! and the lifecycle table ([`state`]), the [`BlockStorage`] trait and its
//! conveniences ([`BlockStorageExt`]), [`Capabilities`], the one [`Error`]
//! type, the HTTP layer provider crates are built on ([`http`]) and, behind
//! the `conformance` feature, the battery of tests every backend must pass.
//!
//! # Example
//!
//! Code written against the trait works with any backend: the in-memory
//! simulator (`volume-sim`) in tests, a cloud in production.
//!
//! ```
//! use volume_core::{BlockStorage, BlockStorageExt, CreateVolume, Size, WaitConfig};
//!
//! /// Makes a 10 GiB scratch volume, waits for it, and deletes it again.
//! async fn scratch(storage: &dyn BlockStorage) -> volume_core::Result<()> {
//!     let wait = WaitConfig::default();
//!     let volume = storage
//!         .create_volume_and_wait(&CreateVolume::new("scratch", Size::gib(10)), &wait)
//!         .await?;
//!     println!("{} is {} and {}", volume.name, volume.size, volume.state);
//!     storage.delete_volume_and_wait(&volume.id, &wait).await
//! }
//! ```
//!
//! # Feature flags
//!
//! - `conformance`: the conformance battery (module `conformance`) and its macro.
//! - `native-tls`: use the platform's TLS library instead of rustls.

pub mod capability;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod model;
pub mod state;
pub mod storage;
pub mod time;
pub mod wait;
pub mod workflow;

pub use capability::{Capabilities, ResizeMode};
pub use error::{ApiError, BoxError, Error, ErrorDetail, ResourceKind, Result};
pub use model::{
    Attachment, Backup, BackupId, CloneVolume, CreateBackup, CreateSnapshot, CreateVolume,
    Instance, InstanceId, InstanceState, Labels, ListBackups, ListSnapshots, ListVolumes, Page,
    PageToken, RegionId, RestoreBackup, Size, Snapshot, SnapshotId, UpdateVolume, Volume, VolumeId,
    VolumeSource, GIB,
};
pub use state::{BackupState, SnapshotState, VolumeState};
pub use storage::{check_grow, BlockStorage, BlockStorageExt, DynBlockStorage};
pub use wait::{Until, WaitConfig, Waited};

// Re-exported so the crates built on this one, and the conformance macro,
// use the same versions.
#[doc(hidden)]
pub use async_trait::async_trait;
#[doc(hidden)]
pub use futures;
