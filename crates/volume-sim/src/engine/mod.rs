//! The synchronous engine: a chunked, copy-on-write block store ([`store`])
//! under a control plane ([`Control`]) that enforces the lifecycle table and
//! a provider [`Policy`], with a virtual [`clock`] and scripted [`fault`]s.
//!
//! The engine is synchronous because wiremock responders are, and it never
//! holds a lock across an `.await` (it has none). [`Engine`] is a cheap,
//! `Send + Sync` handle; clones share one state. The control plane sits behind
//! one mutex; each volume's bytes sit behind a mutex of their own, so reads
//! and writes on different volumes run in parallel.

pub mod clock;
mod control;
pub mod exports;
pub mod fault;
pub(crate) mod made_up;
pub mod policy;
pub mod store;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use volume_core::{BackupId, Error, SnapshotId, VolumeId};

pub use clock::ClockMode;
pub use control::{Control, EngineConfig, Quota, QuotaUsage};
pub use fault::{Fault, FaultRule, Injected, SimOp};
pub use policy::{
    AttachedResize, Delays, IdStyle, LifecycleRule, LifecycleVerdict, Policy, LINODE_LIFECYCLE,
};
pub use store::ImageUsage;

use control::lock_image;
use store::Image;

type Result<T, E = Error> = std::result::Result<T, E>;

/// The simulator's epoch in manual-clock mode: 2026-01-01T00:00:00Z, so
/// timestamps repeat from run to run.
pub const MANUAL_EPOCH_SECS: u64 = 1_767_225_600;

/// A handle on one simulated cloud. Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Engine {
    control: Arc<Mutex<Control>>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("provider", &self.lock().policy.provider)
            .finish_non_exhaustive()
    }
}

/// Byte accounting for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Usage {
    /// The sum of every volume's logical size, in bytes.
    pub logical_bytes: u64,
    /// Bytes held in memory for all volumes, snapshots and backups together,
    /// each shared chunk counted once.
    pub allocated_bytes: u64,
    /// Per volume.
    pub volumes: Vec<(VolumeId, ImageUsage)>,
    /// Per snapshot.
    pub snapshots: Vec<(SnapshotId, ImageUsage)>,
    /// Per backup.
    pub backups: Vec<(BackupId, ImageUsage)>,
}

impl Engine {
    /// A simulator with `config`, on a manual clock.
    pub fn new(config: EngineConfig) -> Self {
        Self::with_clock(config, ClockMode::Manual)
    }

    /// A simulator with `config`, on a clock that moves as `mode` says.
    pub fn with_clock(config: EngineConfig, mode: ClockMode) -> Self {
        let epoch = match mode {
            ClockMode::Manual => SystemTime::UNIX_EPOCH + Duration::from_secs(MANUAL_EPOCH_SECS),
            ClockMode::Wall { .. } => SystemTime::now(),
        };
        let clock = clock::Clock::new(mode, epoch);
        Self {
            control: Arc::new(Mutex::new(Control::new(config, clock))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        // Every control-plane change checks first and applies after, so a
        // panic cannot leave a half-applied change behind: carry on.
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the control plane, with every transition due by now applied first.
    pub fn with<R>(&self, f: impl FnOnce(&mut Control) -> R) -> R {
        let mut control = self.lock();
        control.settle();
        f(&mut control)
    }

    /// An independent copy of the whole state (volume data shared
    /// copy-on-write, so this is cheap).
    pub fn fork(&self) -> Self {
        let copy = self.lock().clone();
        Self {
            control: Arc::new(Mutex::new(copy)),
        }
    }

    // ----- clock -----------------------------------------------------------

    /// Simulated time since the epoch.
    pub fn now(&self) -> Duration {
        self.lock().now()
    }

    /// Moves the clock forward by `by`, applying every transition due.
    pub fn advance(&self, by: Duration) {
        let mut c = self.lock();
        c.clock.advance(by);
        c.settle();
    }

    /// Moves the clock to the next transition due and applies it (and any
    /// due at the same time). Returns `false` when nothing is in flight.
    pub fn step(&self) -> bool {
        let mut c = self.lock();
        c.settle();
        match c.next_due() {
            Some(due) => {
                c.clock.advance_to(due);
                c.settle();
                true
            }
            None => false,
        }
    }

    /// Steps until no transition is in flight (stuck ones never end and are
    /// not in flight). Returns how far the clock moved.
    pub fn run_until_quiet(&self) -> Duration {
        let start = self.now();
        while self.step() {}
        self.now().saturating_sub(start)
    }

    // ----- faults ----------------------------------------------------------

    /// Adds a scripted fault.
    pub fn inject(&self, rule: FaultRule) {
        self.lock().faults.add(rule);
    }

    /// Removes every scripted fault that has not fired.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Every fault injected so far.
    pub fn injected(&self) -> Vec<Injected> {
        self.lock().faults.injected().to_vec()
    }

    /// Counts a call of `op` and says which fault it gets, if any. Every
    /// front end (the in-process `Sim`, each fake) calls this once per
    /// operation, before it acts.
    pub fn decide_fault(&self, op: SimOp) -> Option<Fault> {
        self.lock().faults.decide(op)
    }

    // ----- data plane ------------------------------------------------------

    fn data(&self, tenant: &str, id: &VolumeId) -> Result<Arc<Mutex<Image>>> {
        self.with(|c| c.volume_data(tenant, id))
    }

    /// Reads `buf.len()` bytes of a volume at `offset`.
    ///
    /// # Errors
    /// Not found, or [`Error::InvalidInput`] when the range is out of bounds.
    pub fn read_at(&self, tenant: &str, id: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<()> {
        let data = self.data(tenant, id)?;
        let image = lock_image(&data);
        image.read_at(offset, buf).map_err(range_error)
    }

    /// Writes `data` into a volume at `offset`.
    ///
    /// # Errors
    /// Not found, or [`Error::InvalidInput`] when the range is out of bounds;
    /// nothing is written then.
    pub fn write_at(&self, tenant: &str, id: &VolumeId, offset: u64, bytes: &[u8]) -> Result<()> {
        let data = self.data(tenant, id)?;
        let mut image = lock_image(&data);
        image.write_at(offset, bytes).map_err(range_error)
    }

    /// Discards `len` bytes of a volume at `offset`: they read as zeros and
    /// whole chunks are freed.
    pub fn discard(&self, tenant: &str, id: &VolumeId, offset: u64, len: u64) -> Result<()> {
        let data = self.data(tenant, id)?;
        let mut image = lock_image(&data);
        image.discard(offset, len).map_err(range_error)
    }

    /// Reads a snapshot's bytes.
    pub fn read_snapshot_at(
        &self,
        tenant: &str,
        id: &SnapshotId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<()> {
        let image = self.with(|c| c.snapshot_data(tenant, id))?;
        image.read_at(offset, buf).map_err(range_error)
    }

    /// Reads a backup's bytes.
    pub fn read_backup_at(
        &self,
        tenant: &str,
        id: &BackupId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<()> {
        let image = self.with(|c| c.backup_data(tenant, id))?;
        image.read_at(offset, buf).map_err(range_error)
    }

    /// Byte accounting over everything `tenant` holds.
    pub fn usage(&self, tenant: &str) -> Usage {
        let (volumes, snapshots, backups) = self.with(|c| c.images(tenant));
        let all: Vec<&Image> = volumes
            .iter()
            .map(|(_, i)| i)
            .chain(snapshots.iter().map(|(_, i)| i))
            .chain(backups.iter().map(|(_, i)| i))
            .collect();
        let report = store::usage(&all);
        let mut per = report.images.into_iter();
        let volumes = label(volumes, &mut per);
        let snapshots = label(snapshots, &mut per);
        let backups = label(backups, &mut per);
        Usage {
            logical_bytes: volumes.iter().map(|(_, u)| u.logical).sum(),
            allocated_bytes: report.allocated,
            volumes,
            snapshots,
            backups,
        }
    }
}

fn range_error(e: store::RangeError) -> Error {
    Error::invalid_input("offset", e.to_string())
}

/// Pairs each id with the next figure of the accounting, which lists images
/// in the order they were given.
fn label<I>(
    ids: Vec<(I, Image)>,
    per: &mut impl Iterator<Item = ImageUsage>,
) -> Vec<(I, ImageUsage)> {
    ids.into_iter()
        .map(|(id, _)| (id, per.next().unwrap_or_default()))
        .collect()
}
