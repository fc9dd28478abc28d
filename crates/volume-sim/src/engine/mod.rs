//! The synchronous engine: a chunked, copy-on-write block store ([`store`])
//! under a control plane ([`Control`]) that enforces the lifecycle table and
//! a provider [`Policy`], with a virtual [`clock`] and scripted [`fault`]s.
//!
//! The engine is synchronous because wiremock responders are, and it never
//! holds a lock across an `.await` (it has none). [`Engine`] is a cheap,
//! `Send + Sync` handle; clones share one state. The control plane sits behind
//! one mutex; each volume's bytes sit behind a mutex of their own.
//!
//! The data plane ([`Engine::read_at`], [`Engine::write_at`],
//! [`Engine::discard`]) does not take the control plane's mutex: volumes are
//! found in a sharded index the control plane keeps in step, fault decisions
//! skip the mutex while no fault is armed, and transitions due on a wall
//! clock are applied first only once one is due. Reads and writes on
//! different volumes therefore never wait for each other, nor for the
//! control plane, except that a write needing a new chunk (a first write,
//! a copy-up) takes the chunk pool's lock for a few instructions (see
//! `chunk.rs`; no system call is made under it).

pub(crate) mod chunk;
pub mod clock;
mod control;
pub mod exports;
pub mod fault;
mod index;
pub(crate) mod made_up;
mod memory;
pub mod policy;
pub mod store;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use volume_core::{BackupId, Error, SnapshotId, VolumeId};

pub use clock::ClockMode;
pub use control::{Control, EngineConfig, Quota, QuotaUsage, VolumeImage};
pub use fault::{Fault, FaultRule, Injected, SimOp};
pub use policy::{
    AttachedResize, Delays, IdStyle, LifecycleRule, LifecycleVerdict, Policy, LINODE_LIFECYCLE,
    MAX_LABELS, MAX_LABEL_CHARS,
};
pub use store::ImageUsage;

use index::{FaultGate, VolumeIndex};
use store::Image;

type Result<T, E = Error> = std::result::Result<T, E>;

/// The simulator's epoch in manual-clock mode: 2026-01-01T00:00:00Z, so
/// timestamps repeat from run to run.
pub const MANUAL_EPOCH_SECS: u64 = 1_767_225_600;

/// A handle on one simulated cloud. Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// No transition is due on the wall clock.
const NEVER: u64 = u64::MAX;

/// One cloud: the control plane, and what the data plane reads without it.
struct Shared {
    control: Mutex<Control>,
    /// Volumes by id, kept in step by the control plane.
    volumes: Arc<VolumeIndex>,
    /// Whether a fault is armed, and the call counter.
    faults: FaultGate,
    /// When (nanoseconds on the wall since `started`) the next transition
    /// in flight is due, or [`NEVER`]: until then the data plane need not
    /// settle anything.
    due: AtomicU64,
    /// The clock's wall-clock start.
    started: Instant,
    /// How many times the control plane has been locked: a reader that saw
    /// the same count before knows nothing has changed since.
    changes: AtomicU64,
}

impl Shared {
    fn new(control: Control, calls: u64) -> Self {
        let shared = Self {
            volumes: control.volume_index(),
            faults: FaultGate::new(calls, control.faults.armed()),
            due: AtomicU64::new(NEVER),
            started: control.clock.started(),
            changes: AtomicU64::new(0),
            control: Mutex::new(control),
        };
        let control = shared
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shared.note_due(&control);
        drop(control);
        shared
    }

    /// Records when the next transition falls due on the wall clock. Called
    /// with the control plane locked, after every change.
    fn note_due(&self, control: &Control) {
        let due = control
            .next_due()
            .and_then(|due| control.clock.wall_deadline(due))
            .map_or(NEVER, |d| u64::try_from(d.as_nanos()).unwrap_or(NEVER));
        self.due.store(due, Ordering::Release);
    }
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
            shared: Arc::new(Shared::new(Control::new(config, clock), 0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        // Every control-plane change checks first and applies after, so a
        // panic cannot leave a half-applied change behind: carry on.
        let guard = self
            .shared
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Counted once held, before anything can change.
        self.shared.changes.fetch_add(1, Ordering::AcqRel);
        guard
    }

    /// How many times the control plane has been taken so far (see
    /// [`ExportHandle::is_current`](exports::ExportHandle::is_current)).
    pub(crate) fn changes(&self) -> u64 {
        self.shared.changes.load(Ordering::Acquire)
    }

    /// Runs `f` on the control plane, with every transition due by now applied first.
    pub fn with<R>(&self, f: impl FnOnce(&mut Control) -> R) -> R {
        let mut control = self.lock();
        control.settle();
        let out = f(&mut control);
        self.shared.note_due(&control);
        out
    }

    /// An independent copy of the whole state (volume data shared
    /// copy-on-write, so this is cheap).
    pub fn fork(&self) -> Self {
        let copy = self.lock().clone();
        Self {
            shared: Arc::new(Shared::new(copy, self.shared.faults.calls())),
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
        self.shared.note_due(&c);
    }

    /// Moves the clock to the next transition due and applies it (and any
    /// due at the same time). Returns `false` when nothing is in flight.
    pub fn step(&self) -> bool {
        let mut c = self.lock();
        c.settle();
        let stepped = match c.next_due() {
            Some(due) => {
                c.clock.advance_to(due);
                c.settle();
                true
            }
            None => false,
        };
        self.shared.note_due(&c);
        stepped
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
        let mut c = self.lock();
        c.faults.add(rule);
        self.shared.faults.set_armed(c.faults.armed());
    }

    /// Removes every scripted fault that has not fired.
    pub fn clear_faults(&self) {
        let mut c = self.lock();
        c.faults.clear();
        self.shared.faults.set_armed(c.faults.armed());
    }

    /// How many faults have been injected so far (without copying them).
    pub fn injected_count(&self) -> usize {
        self.lock().faults.injected().len()
    }

    /// Every fault injected so far.
    pub fn injected(&self) -> Vec<Injected> {
        self.lock().faults.injected().to_vec()
    }

    /// Counts a call of `op` and says which fault it gets, if any. Every
    /// front end (the in-process `Sim`, each fake) calls this once per
    /// operation, before it acts.
    ///
    /// While no fault is armed this takes no lock: it counts the call on a
    /// counter of the calling thread's own and answers `None`.
    pub fn decide_fault(&self, op: SimOp) -> Option<Fault> {
        let gate = &self.shared.faults;
        if !gate.armed() {
            gate.count();
            return None;
        }
        // Armed: counted and numbered under the lock, so that calls made at
        // the same time get distinct numbers (`nth` rules depend on them).
        let mut c = self.lock();
        gate.count();
        let fault = c.faults.decide(op, gate.calls());
        gate.set_armed(c.faults.armed());
        fault
    }

    // ----- data plane ------------------------------------------------------

    /// Runs `f` on volume `id`'s bytes, locked, without the control plane's
    /// lock (unless a transition has fallen due on the wall clock, which is
    /// applied first, as every control-plane call does).
    fn on_volume<R>(
        &self,
        tenant: &str,
        id: &VolumeId,
        f: impl FnOnce(&mut Image) -> R,
    ) -> Result<R> {
        let due = self.shared.due.load(Ordering::Acquire);
        if due != NEVER && self.shared.started.elapsed().as_nanos() >= u128::from(due) {
            self.with(|_| ());
        }
        self.shared
            .volumes
            .with(tenant, id.as_str(), f)
            .ok_or_else(|| Error::not_found(volume_core::ResourceKind::Volume, id.as_str()))
    }

    /// Reads `buf.len()` bytes of a volume at `offset`.
    ///
    /// # Errors
    /// Not found, or [`Error::InvalidInput`] when the range is out of bounds.
    pub fn read_at(&self, tenant: &str, id: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.on_volume(tenant, id, |image| image.read_at(offset, buf))?
            .map_err(range_error)
    }

    /// Writes `data` into a volume at `offset`.
    ///
    /// # Errors
    /// Not found, or [`Error::InvalidInput`] when the range is out of bounds;
    /// nothing is written then.
    pub fn write_at(&self, tenant: &str, id: &VolumeId, offset: u64, bytes: &[u8]) -> Result<()> {
        self.on_volume(tenant, id, |image| image.write_at(offset, bytes))?
            .map_err(range_error)
    }

    /// Discards `len` bytes of a volume at `offset`: they read as zeros and
    /// whole chunks are freed.
    pub fn discard(&self, tenant: &str, id: &VolumeId, offset: u64, len: u64) -> Result<()> {
        let freed = self.on_volume(tenant, id, |image| {
            let before = image.allocated_bytes();
            image
                .discard(offset, len)
                .map(|()| before - image.allocated_bytes())
        })?;
        memory::freed(freed.map_err(range_error)?);
        Ok(())
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
