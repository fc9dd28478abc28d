//! What the engine can hand out as a block device, and the handle a block
//! protocol (the [NBD server](crate::nbd)) reads and writes through.
//!
//! The rules follow the control plane:
//! - a volume is exported read-write while it is attached to an instance
//!   (and not detaching, being deleted or gone);
//! - a snapshot (`snapshot/<id>`) or backup (`backup/<id>`) is exported
//!   read-only while it exists and has not failed.
//!
//! An [`ExportHandle`] is opened once per session. A volume's handle
//! shares the volume's bytes, so writes through it are the same bytes
//! [`Engine::write_at`] writes, and a snapshot taken through any front end
//! captures them. A snapshot's or backup's handle holds a copy-on-write
//! copy of its image (O(1)). [`ExportHandle::is_current`] says whether the
//! export still stands, so a session can end when its volume is detached
//! or deleted.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use volume_core::{BackupId, BackupState, SnapshotId, SnapshotState, Volume, VolumeId};

use super::control::{exportable, lock_image, SharedImage};
use super::store::{Image, RangeError};
use super::Engine;

/// The prefix of a snapshot's export name: `snapshot/<id>`.
pub const SNAPSHOT_PREFIX: &str = "snapshot/";
/// The prefix of a backup's export name: `backup/<id>`.
pub const BACKUP_PREFIX: &str = "backup/";

/// Zero bytes that allocating zero-writes copy from.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// How much an allocating zero-write does under one hold of the volume's
/// lock, so that other sessions get a turn during a large one.
const ZERO_STEP: u64 = 1024 * 1024;

/// What an export name refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExportTarget {
    /// A volume, by id: read-write while attached.
    Volume(VolumeId),
    /// A snapshot: read-only.
    Snapshot(SnapshotId),
    /// A backup: read-only.
    Backup(BackupId),
}

impl ExportTarget {
    /// Parses a canonical export name: `snapshot/<id>`, `backup/<id>`, or a
    /// volume id. `None` when the id is not a valid id.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(id) = name.strip_prefix(SNAPSHOT_PREFIX) {
            SnapshotId::new(id).ok().map(Self::Snapshot)
        } else if let Some(id) = name.strip_prefix(BACKUP_PREFIX) {
            BackupId::new(id).ok().map(Self::Backup)
        } else {
            VolumeId::new(name).ok().map(Self::Volume)
        }
    }

    /// The canonical export name (the inverse of [`Self::parse`]).
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// Whether writes are refused: snapshots and backups.
    pub fn read_only(&self) -> bool {
        !matches!(self, Self::Volume(_))
    }
}

impl fmt::Display for ExportTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Volume(id) => f.write_str(id.as_str()),
            Self::Snapshot(id) => write!(f, "{SNAPSHOT_PREFIX}{}", id.as_str()),
            Self::Backup(id) => write!(f, "{BACKUP_PREFIX}{}", id.as_str()),
        }
    }
}

/// One export that stands now, as [`Engine::exportable`] lists it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Exportable {
    /// The tenant that owns it.
    pub tenant: String,
    /// What it is.
    pub target: ExportTarget,
    /// Its size in bytes now.
    pub size: u64,
    /// The volume, for a volume export (front ends derive aliases from it,
    /// such as the device path a provider shows).
    pub volume: Option<Volume>,
}

/// Why an I/O through an [`ExportHandle`] was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExportError {
    /// The range does not lie within the image.
    OutOfRange,
    /// A write to a read-only export.
    ReadOnly,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfRange => "range out of bounds",
            Self::ReadOnly => "export is read-only",
        })
    }
}

impl std::error::Error for ExportError {}

impl From<RangeError> for ExportError {
    fn from(_: RangeError) -> Self {
        Self::OutOfRange
    }
}

/// The bytes behind a handle.
#[derive(Clone)]
enum Data {
    /// A volume's own image, shared with the engine.
    Live(SharedImage),
    /// A copy of a snapshot's or backup's image, which never changes.
    Frozen(Image),
}

/// A change count no engine reports: the first check always looks.
const NOT_CHECKED: u64 = u64::MAX;

/// An open export: the bytes one session reads and writes. Cheap to clone.
#[derive(Clone)]
pub struct ExportHandle {
    engine: Engine,
    tenant: Arc<str>,
    target: ExportTarget,
    data: Data,
    size: u64,
    /// The engine's change count when the export was last found standing
    /// (see [`is_current`](Self::is_current)); shared by clones.
    seen: Arc<AtomicU64>,
}

impl fmt::Debug for ExportHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportHandle")
            .field("tenant", &self.tenant)
            .field("target", &self.target)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

fn snapshot_stands(state: &SnapshotState) -> bool {
    matches!(state, SnapshotState::Creating | SnapshotState::Available)
}

fn backup_stands(state: &BackupState) -> bool {
    matches!(
        state,
        BackupState::Creating | BackupState::Available | BackupState::Restoring
    )
}

impl Engine {
    /// Every export that stands now for `tenants`, in order: each tenant's
    /// attached volumes, then its snapshots, then its backups.
    pub fn exportable(&self, tenants: &[String]) -> Vec<Exportable> {
        self.with(|c| {
            let mut out = Vec::new();
            for tenant in tenants {
                // Shared records: only the exported volumes are copied.
                for v in c.all_volumes_shared(tenant) {
                    if !exportable(&v) {
                        continue;
                    }
                    let Some(data) = c.attached_volume_data(tenant, &v.id) else {
                        continue;
                    };
                    let size = lock_image(&data).len();
                    out.push(Exportable {
                        tenant: tenant.clone(),
                        target: ExportTarget::Volume(v.id.clone()),
                        size,
                        volume: Some((*v).clone()),
                    });
                }
                let (snapshots, backups) = c.all_artifacts(tenant);
                for s in snapshots.into_iter().filter(|s| snapshot_stands(&s.state)) {
                    if let Ok(image) = c.snapshot_data(tenant, &s.id) {
                        out.push(Exportable {
                            tenant: tenant.clone(),
                            target: ExportTarget::Snapshot(s.id),
                            size: image.len(),
                            volume: None,
                        });
                    }
                }
                for b in backups.into_iter().filter(|b| backup_stands(&b.state)) {
                    if let Ok(image) = c.backup_data(tenant, &b.id) {
                        out.push(Exportable {
                            tenant: tenant.clone(),
                            target: ExportTarget::Backup(b.id),
                            size: image.len(),
                            volume: None,
                        });
                    }
                }
            }
            out
        })
    }

    /// Opens `target` of `tenant` for I/O, if it is exported now.
    pub fn open_export(&self, tenant: &str, target: &ExportTarget) -> Option<ExportHandle> {
        let data = self.with(|c| match target {
            ExportTarget::Volume(id) => c.attached_volume_data(tenant, id).map(Data::Live),
            ExportTarget::Snapshot(id) => c
                .get_snapshot(tenant, id)
                .ok()
                .filter(|s| snapshot_stands(&s.state))
                .and_then(|_| c.snapshot_data(tenant, id).ok())
                .map(Data::Frozen),
            ExportTarget::Backup(id) => c
                .get_backup(tenant, id)
                .ok()
                .filter(|b| backup_stands(&b.state))
                .and_then(|_| c.backup_data(tenant, id).ok())
                .map(Data::Frozen),
        })?;
        let size = match &data {
            Data::Live(shared) => lock_image(shared).len(),
            Data::Frozen(image) => image.len(),
        };
        Some(ExportHandle {
            engine: self.clone(),
            tenant: Arc::from(tenant),
            target: target.clone(),
            data,
            size,
            seen: Arc::new(AtomicU64::new(NOT_CHECKED)),
        })
    }
}

impl ExportHandle {
    /// What this handle exports.
    pub fn target(&self) -> &ExportTarget {
        &self.target
    }

    /// The tenant that owns it.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The size in bytes when the handle was opened. A volume resized later
    /// keeps this size for this handle's checks; new handles see the new one.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether writes are refused.
    pub fn read_only(&self) -> bool {
        matches!(self.data, Data::Frozen(_))
    }

    /// Whether the export still stands: the volume is still attached (and
    /// is still the same volume), or the snapshot or backup still exists.
    pub fn is_current(&self) -> bool {
        // Nothing has taken the control plane since the export was last
        // found standing: it still stands, and no lock is needed. I/O of
        // sessions thus never queues on the control plane while the
        // cloud's state is left alone.
        if self.engine.changes() == self.seen.load(Ordering::Acquire) {
            return true;
        }
        let tenant = &*self.tenant;
        self.engine.with(|c| {
            let stands = match (&self.target, &self.data) {
                (ExportTarget::Volume(id), Data::Live(mine)) => c
                    .attached_volume_data(tenant, id)
                    .is_some_and(|now| Arc::ptr_eq(&now, mine)),
                (ExportTarget::Snapshot(id), _) => c
                    .get_snapshot(tenant, id)
                    .is_ok_and(|s| snapshot_stands(&s.state)),
                (ExportTarget::Backup(id), _) => c
                    .get_backup(tenant, id)
                    .is_ok_and(|b| backup_stands(&b.state)),
                (ExportTarget::Volume(_), Data::Frozen(_)) => false,
            };
            // Read with the lock held, so it counts this check and nothing
            // after it: a later change takes the lock, and moves the count.
            if stands {
                self.seen.store(self.engine.changes(), Ordering::Release);
            }
            stands
        })
    }

    /// Checks `offset..offset + len` against the size this handle was
    /// opened with.
    fn check(&self, offset: u64, len: u64) -> Result<(), ExportError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(ExportError::OutOfRange),
        }
    }

    fn live(&self) -> Result<&SharedImage, ExportError> {
        match &self.data {
            Data::Live(shared) => Ok(shared),
            Data::Frozen(_) => Err(ExportError::ReadOnly),
        }
    }

    /// Reads `buf.len()` bytes at `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ExportError> {
        self.check(offset, buf.len() as u64)?;
        match &self.data {
            Data::Live(shared) => lock_image(shared).read_at(offset, buf)?,
            Data::Frozen(image) => image.read_at(offset, buf)?,
        }
        Ok(())
    }

    /// Writes `bytes` at `offset`.
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), ExportError> {
        let shared = self.live()?;
        self.check(offset, bytes.len() as u64)?;
        lock_image(shared).write_at(offset, bytes)?;
        Ok(())
    }

    /// Discards `len` bytes at `offset`: they read as zeros, and whole
    /// chunks become holes.
    pub fn discard(&self, offset: u64, len: u64) -> Result<(), ExportError> {
        let shared = self.live()?;
        self.check(offset, len)?;
        lock_image(shared).discard(offset, len)?;
        Ok(())
    }

    /// Writes zeros over `len` bytes at `offset` and keeps them allocated
    /// (no holes), in steps of 1 MiB so other writers get a turn.
    pub fn write_zeroes(&self, offset: u64, len: u64) -> Result<(), ExportError> {
        let shared = self.live()?;
        self.check(offset, len)?;
        let end = offset + len;
        let mut pos = offset;
        while pos < end {
            let step_end = end.min(pos.saturating_add(ZERO_STEP));
            let mut image = lock_image(shared);
            while pos < step_end {
                // At most 64 KiB, so the cast is lossless.
                let n = (step_end - pos).min(ZEROS.len() as u64) as usize;
                image.write_at(pos, &ZEROS[..n])?;
                pos += n as u64;
            }
        }
        Ok(())
    }

    /// Allocation of `offset..offset + len` as runs `(length, allocated)`
    /// (see [`Image::allocation`]); at most `max_runs` of them.
    pub fn allocation(
        &self,
        offset: u64,
        len: u64,
        max_runs: usize,
    ) -> Result<Vec<(u64, bool)>, ExportError> {
        self.check(offset, len)?;
        Ok(match &self.data {
            Data::Live(shared) => lock_image(shared).allocation(offset, len, max_runs)?,
            Data::Frozen(image) => image.allocation(offset, len, max_runs)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ["vol-1", "snapshot/snap-2", "backup/bak-3"] {
            let t = ExportTarget::parse(name).unwrap();
            assert_eq!(t.name(), name);
        }
        assert!(ExportTarget::parse("snapshot/").is_none());
        assert!(ExportTarget::parse("").is_none());
        assert!(ExportTarget::parse("snapshot/x").unwrap().read_only());
        assert!(!ExportTarget::parse("x").unwrap().read_only());
    }
}
