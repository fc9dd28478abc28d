//! Workflows: several calls that together do what a provider cannot do in
//! one, written once for every [`BlockStorage`].
//!
//! - [`grow_volume`]: grows a volume; on a provider that only resizes
//!   detached volumes, an attached one is detached, resized and attached
//!   again to the same instances.
//! - [`copy_volume`]: a new volume with another's contents: a clone where
//!   the provider clones, else a snapshot, a volume from it, and the
//!   snapshot deleted.
//! - [`delete_volume_with_snapshots`]: deletes a volume's snapshots, then
//!   the volume.
//!
//! When a step fails, what the workflow changed is undone (the volume is
//! attached again, a temporary snapshot or a half-made volume is deleted)
//! and the step's error is returned. Where undoing fails too, or cannot be
//! done (a deleted snapshot does not come back), the error is
//! [`Error::Incomplete`], which says what is left. Nothing is deleted
//! before every check that can be made in advance has passed.
//!
//! ```
//! use volume_core::workflow::grow_volume;
//! use volume_core::{BlockStorage, BlockStorageExt, Size, WaitConfig};
//!
//! # async fn demo(cloud: &dyn BlockStorage, id: &volume_core::VolumeId) -> volume_core::Result<()> {
//! // Attached or not, online resize or not: the volume ends at 200 GiB,
//! // attached where it was.
//! let grown = grow_volume(cloud, id, Size::gib(200), &WaitConfig::default()).await?;
//! assert_eq!(grown.size, Size::gib(200));
//! # Ok(()) }
//! ```

use crate::capability::ResizeMode;
use crate::error::{Error, ResourceKind, Result};
use crate::idempotency::IdempotencyKey;
use crate::model::{
    CloneVolume, CreateSnapshot, CreateVolume, InstanceId, ListSnapshots, Size, Snapshot, VolumeId,
};
use crate::state::{SnapshotState, VolumeState};
use crate::storage::{check_grow, BlockStorage, BlockStorageExt};
use crate::wait::{Until, WaitConfig};
use crate::Volume;

use futures::TryStreamExt;

/// Grows volume `id` to `size` and waits until it is usable again.
///
/// With [`ResizeMode::Online`], or on a detached volume, that is one
/// resize. With [`ResizeMode::Offline`] an attached volume is detached,
/// resized and attached again to the same instances; if a step fails, the
/// volume is attached back where it was before the error is returned.
///
/// # Errors
/// [`Error::InvalidInput`] when `size` does not grow the volume;
/// [`Error::Unsupported`] when the provider cannot resize; a step's error
/// (after the volume is attached back); [`Error::Incomplete`] when
/// attaching back failed too.
pub async fn grow_volume<S: BlockStorage + ?Sized>(
    storage: &S,
    id: &VolumeId,
    size: Size,
    wait: &WaitConfig,
) -> Result<Volume> {
    let caps = storage.capabilities();
    let volume = storage.get_volume(id).await?;
    check_grow(volume.size, size)?;
    let instances: Vec<InstanceId> = volume
        .attachments
        .iter()
        .map(|a| a.instance.clone())
        .collect();
    match caps.resize {
        ResizeMode::Unsupported => return Err(Error::unsupported("resize_volume", caps.provider)),
        ResizeMode::Online => return resize_and_wait(storage, id, size, wait, &volume.state).await,
        ResizeMode::Offline if instances.is_empty() => {
            return resize_and_wait(storage, id, size, wait, &volume.state).await;
        }
        ResizeMode::Offline => {}
    }
    if volume.state != VolumeState::InUse {
        return Err(Error::InvalidState {
            kind: ResourceKind::Volume,
            id: id.to_string(),
            state: volume.raw_state.clone(),
            operation: "grow_volume",
            api: None,
        });
    }
    let outcome = async {
        storage.detach_volume(id).await?;
        storage
            .wait_for_volume(id, Until::State(VolumeState::Available), wait)
            .await?;
        resize_and_wait(storage, id, size, wait, &VolumeState::Available).await?;
        attach_all(storage, id, &instances, wait).await
    }
    .await;
    match outcome {
        Ok(volume) => Ok(volume),
        Err(error) => match reattach(storage, id, &instances, wait).await {
            // Attached back as it was; when the resize had gone through,
            // the goal is reached after all.
            Ok(volume) if volume.size >= size => Ok(volume),
            Ok(_) => Err(error),
            Err(undo) => Err(Error::incomplete(
                "grow_volume",
                error,
                Some(undo),
                format!(
                    "volume {id} may be detached from {}",
                    names(instances.iter().map(InstanceId::as_str))
                ),
            )),
        },
    }
}

async fn resize_and_wait<S: BlockStorage + ?Sized>(
    storage: &S,
    id: &VolumeId,
    size: Size,
    wait: &WaitConfig,
    settled: &VolumeState,
) -> Result<Volume> {
    storage.resize_volume(id, size).await?;
    let target = settled.clone();
    let waited = storage
        .wait_for_volume(
            id,
            Until::matches(move |v: &Volume| v.size >= size && v.state == target),
            wait,
        )
        .await?;
    waited
        .resource
        .ok_or_else(|| Error::not_found(ResourceKind::Volume, id.as_str()))
}

async fn attach_all<S: BlockStorage + ?Sized>(
    storage: &S,
    id: &VolumeId,
    instances: &[InstanceId],
    wait: &WaitConfig,
) -> Result<Volume> {
    let mut last = None;
    for instance in instances {
        storage.attach_volume(id, instance).await?;
        let instance = instance.clone();
        last = storage
            .wait_for_volume(
                id,
                Until::matches(move |v: &Volume| {
                    v.state == VolumeState::InUse
                        && v.attachments.iter().any(|a| a.instance == instance)
                }),
                wait,
            )
            .await?
            .resource;
    }
    // The last wait saw the volume as it is; read it only when it did not.
    match last {
        Some(volume) => Ok(volume),
        None => storage.get_volume(id).await,
    }
}

/// Attaches `id` to whichever of `instances` it is not attached to, once
/// it has settled.
async fn reattach<S: BlockStorage + ?Sized>(
    storage: &S,
    id: &VolumeId,
    instances: &[InstanceId],
    wait: &WaitConfig,
) -> Result<Volume> {
    let settled = storage
        .wait_for_volume(
            id,
            Until::matches(|v: &Volume| {
                matches!(v.state, VolumeState::Available | VolumeState::InUse)
            }),
            wait,
        )
        .await?
        .resource
        .ok_or_else(|| Error::not_found(ResourceKind::Volume, id.as_str()))?;
    let missing: Vec<InstanceId> = instances
        .iter()
        .filter(|i| !settled.attachments.iter().any(|a| &a.instance == *i))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(settled);
    }
    attach_all(storage, id, &missing, wait).await
}

/// A new volume `name` with the contents of volume `id`, ready to use: a
/// clone where the provider clones; else a snapshot of `id`, a volume from
/// it, and the snapshot deleted. A failed step deletes what the workflow
/// made before its error is returned.
///
/// # Errors
/// [`Error::Unsupported`] when the provider has neither clones nor volumes
/// from snapshots; a step's error (after cleaning up);
/// [`Error::Incomplete`] when cleaning up failed too (or the copy is made
/// but its temporary snapshot could not be deleted).
pub async fn copy_volume<S: BlockStorage + ?Sized>(
    storage: &S,
    id: &VolumeId,
    name: &str,
    wait: &WaitConfig,
) -> Result<Volume> {
    let caps = storage.capabilities();
    if caps.clone {
        let copy = storage.clone_volume(id, &CloneVolume::new(name)).await?;
        return settle_or_delete(storage, copy.id, wait, "copy_volume").await;
    }
    if !(caps.snapshots && caps.volume_from_snapshot) {
        return Err(Error::unsupported("copy_volume", caps.provider));
    }
    let source = storage.get_volume(id).await?;
    // Keys, so that a create whose answer is lost is adopted rather than
    // left behind (see `idempotency`; providers without labels keep them
    // elsewhere).
    let snapshot_request = CreateSnapshot::new(id.clone(), format!("{name}-copy-source"))
        .with_idempotency_key(&IdempotencyKey::random());
    let snapshot = storage.create_snapshot(&snapshot_request).await?;
    let made = async {
        storage
            .wait_for_snapshot(&snapshot.id, Until::State(SnapshotState::Available), wait)
            .await?;
        let request = CreateVolume::from_snapshot(name, snapshot.id.clone())
            .with_size(source.size)
            .with_region(source.region.clone())
            .with_idempotency_key(&IdempotencyKey::random());
        let copy = storage.create_volume(&request).await?;
        settle_or_delete(storage, copy.id, wait, "copy_volume").await
    }
    .await;
    let cleanup = delete_snapshot_and_wait(storage, &snapshot, wait).await;
    match (made, cleanup) {
        (Ok(copy), Ok(())) => Ok(copy),
        (Err(error), Ok(())) => Err(error),
        (Ok(copy), Err(cleanup)) => Err(Error::incomplete(
            "copy_volume",
            cleanup,
            None,
            format!(
                "the copy {} is made, but its temporary snapshot {} is left",
                copy.id, snapshot.id
            ),
        )),
        (Err(error), Err(undo)) => Err(Error::incomplete(
            "copy_volume",
            error,
            Some(undo),
            format!("the temporary snapshot {} is left", snapshot.id),
        )),
    }
}

/// Waits for a new volume to be available; if it does not get there, it is
/// deleted before the error is returned.
async fn settle_or_delete<S: BlockStorage + ?Sized>(
    storage: &S,
    id: VolumeId,
    wait: &WaitConfig,
    step: &'static str,
) -> Result<Volume> {
    let settled = storage
        .wait_for_volume(&id, Until::State(VolumeState::Available), wait)
        .await
        .and_then(|w| {
            w.resource
                .ok_or_else(|| Error::not_found(ResourceKind::Volume, id.as_str()))
        });
    match settled {
        Ok(volume) => Ok(volume),
        Err(error) => match storage.delete_volume_and_wait(&id, wait).await {
            Ok(()) => Err(error),
            Err(undo) => Err(Error::incomplete(
                step,
                error,
                Some(undo),
                format!("the half-made volume {id} is left"),
            )),
        },
    }
}

/// How many times a clean-up delete is sent when it fails in a way worth
/// repeating.
const CLEANUP_ATTEMPTS: u32 = 3;

async fn delete_snapshot_and_wait<S: BlockStorage + ?Sized>(
    storage: &S,
    snapshot: &Snapshot,
    wait: &WaitConfig,
) -> Result<()> {
    let mut attempt = 1;
    loop {
        match delete_snapshot_once(storage, snapshot, wait).await {
            Err(e) if e.is_retryable() && attempt < CLEANUP_ATTEMPTS => attempt += 1,
            done => return done,
        }
    }
}

async fn delete_snapshot_once<S: BlockStorage + ?Sized>(
    storage: &S,
    snapshot: &Snapshot,
    wait: &WaitConfig,
) -> Result<()> {
    match storage.delete_snapshot(&snapshot.id).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        // The delete may have gone through: look before calling it failed.
        Err(e) if e.outcome_unknown() => {
            return match storage.get_snapshot(&snapshot.id).await {
                Err(gone) if gone.is_not_found() => Ok(()),
                Ok(s) if s.state == SnapshotState::Deleting => storage
                    .wait_for_snapshot(&snapshot.id, Until::Deleted, wait)
                    .await
                    .map(drop),
                _ => Err(e),
            };
        }
        Err(e) => return Err(e),
    }
    storage
        .wait_for_snapshot(&snapshot.id, Until::Deleted, wait)
        .await?;
    Ok(())
}

/// Deletes volume `id` and every snapshot of it (snapshots first, for the
/// providers that refuse to delete a volume that has some), and waits until
/// all are gone: how many snapshots were deleted.
///
/// Checked first, before anything is deleted: the volume is not attached
/// and none of its snapshots is still being taken (the workflow waits for
/// those to settle).
///
/// # Errors
/// [`Error::InvalidState`] for an attached volume (nothing deleted); a
/// step's error when nothing was deleted yet; [`Error::Incomplete`] once
/// something was, saying what is left (deleted snapshots cannot be
/// brought back).
pub async fn delete_volume_with_snapshots<S: BlockStorage + ?Sized>(
    storage: &S,
    id: &VolumeId,
    wait: &WaitConfig,
) -> Result<usize> {
    let volume = storage.get_volume(id).await?;
    if !volume.attachments.is_empty() {
        return Err(Error::InvalidState {
            kind: ResourceKind::Volume,
            id: id.to_string(),
            state: volume.raw_state.clone(),
            operation: "delete_volume_with_snapshots",
            api: None,
        });
    }
    let snapshots: Vec<Snapshot> = if storage.capabilities().snapshots {
        storage
            .list_all_snapshots(ListSnapshots::new().with_volume(id.clone()))
            .try_collect()
            .await?
    } else {
        Vec::new()
    };
    for snapshot in &snapshots {
        storage
            .wait_for_snapshot(
                &snapshot.id,
                Until::matches(|s: &Snapshot| s.state != SnapshotState::Creating),
                wait,
            )
            .await?;
    }
    let mut deleted = 0;
    for snapshot in &snapshots {
        if let Err(error) = delete_snapshot_and_wait(storage, snapshot, wait).await {
            if deleted == 0 {
                return Err(error);
            }
            return Err(Error::incomplete(
                "delete_volume_with_snapshots",
                error,
                None,
                format!(
                    "{deleted} of {} snapshots deleted; volume {id} and the rest are left",
                    snapshots.len()
                ),
            ));
        }
        deleted += 1;
    }
    match storage.delete_volume_and_wait(id, wait).await {
        Ok(()) => Ok(deleted),
        Err(error) if deleted == 0 => Err(error),
        Err(error) => Err(Error::incomplete(
            "delete_volume_with_snapshots",
            error,
            None,
            format!("its {deleted} snapshots are deleted; volume {id} is left"),
        )),
    }
}

fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
