//! The chaos matrix: every [`BlockStorage`] operation meets every kind of
//! fault, once, through a client and the engine behind it, and what each
//! call answered is checked against what the engine and a fault-free
//! listing say happened.
//!
//! # Cells
//!
//! A cell is one operation ([`OPERATIONS`]) and one [`FaultKind`]. It runs
//! on a backend of its own, built by the caller's factory from the cell's
//! seed:
//!
//! 1. with no fault armed, the fixtures the operation needs are made
//!    through the client (a volume in the region with the most instances;
//!    a snapshot, a backup, an attachment when the operation needs one) and
//!    the world is observed: every volume, snapshot and backup the client
//!    lists, and every one the engine holds;
//! 2. exactly one fault is armed on the operation's [`SimOp`] (it fires on
//!    the first request of that operation, and only there), and the
//!    operation is called through the trait, bounded by [`CALL_TIMEOUT`]
//!    and with any panic caught;
//! 3. the fault is disarmed, the world observed again, and the cell judged:
//!    - **latency**: success, and the change made;
//!    - **error before** (a 4xx or a 5xx, from the seed): an error of the
//!      status's kind (400 `InvalidInput`, 403 `PermissionDenied`, 409
//!      `InvalidState` or `AlreadyExists`, 5xx a retryable error) with
//!      nothing changed, or, for a 5xx, success after the client's own
//!      retry;
//!    - **error after** (a 5xx) and **dropped connection**: a create with
//!      an idempotency key returns the one resource it made (adopted) or an
//!      error with nothing left behind; any other change succeeded or its
//!      error says the outcome is unknown ([`Error::outcome_unknown`])
//!      (whether a change applied twice is not checked here, beyond
//!      resources that appear or vanish); a read succeeds after a retry
//!      or fails with a retryable error;
//!    - **429** with a short `Retry-After` (0 or 1 s, from the seed):
//!      success after the client's retry, or [`Error::RateLimited`] with
//!      nothing changed;
//!    - **stuck** and **error state**: the call returns, and the resource
//!      the operation acts on (or made) is left in a transient state
//!      (stuck) or a failure state (error state), as the fault-free listing
//!      shows it; operations without a transition (reads, renames) succeed.
//!
//!    In every cell: no panic, no duplicate (a create makes at most one
//!    resource), no orphan (a keyed create that fails leaves nothing), no
//!    resource appeared or vanished but the operation's own, the engine and
//!    the listing agree on what was made, and the fault reached the
//!    operation (a cell whose fault never fired tested nothing).
//!
//! Operations the backend's [`Capabilities`] leave out must answer
//! [`Error::Unsupported`]; their cells count as unsupported, not passed.
//!
//! # What a provider's wire cannot say
//!
//! Two facts about a provider are declared by its factory, never guessed
//! by the matrix:
//!
//! - [`ChaosBackend::with_route`]: the client does an operation through a
//!   request its fake counts as another (Cinder clones with `POST
//!   /volumes`), so the cell arms its fault there;
//! - [`ChaosBackend::with_hidden_states`]: volume states the provider has
//!   no word for (Linode shows `attaching`, `detaching` and `deleting` as
//!   `active`, as its fake documents). A stuck or failed cell that leaves
//!   the volume in one is checked in the engine instead, and counted in
//!   [`ChaosReport::engine_checked`].
//!
//! # Seeds and replay
//!
//! Each cell's parameters (names, statuses, delays) come from one `u64`
//! seed, which also names its operation and fault (the low 16 bits), and
//! which the factory gets to seed its fake. Every failure prints its seed
//! and the line that replays it alone:
//!
//! ```text
//! CHAOS_SEED=0x1f3a2b0000000401 cargo test -p volume-linode --all-features --test chaos
//! ```
//!
//! [`CHAOS_SEED_ENV`] runs one cell; [`CHAOS_BASE_ENV`] runs the whole
//! matrix from another base seed (the default, [`DEFAULT_BASE_SEED`], keeps
//! CI repeatable).
//!
//! # Example
//!
//! ```
//! use volume_sim::testing::chaos::{run_matrix, ChaosBackend};
//! use volume_sim::Sim;
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let report = run_matrix("volume-sim", |seed| async move {
//!     let sim = Sim::builder().seed(seed).build();
//!     let engine = sim.engine().clone();
//!     ChaosBackend::new(sim, engine, volume_sim::DEFAULT_TENANT)
//! })
//! .await;
//! println!("{report}");
//! report.assert_clean();
//! # });
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use volume_core::http::BackoffConfig;
use volume_core::idempotency::IdempotencyKey;
use volume_core::{
    BackupId, BackupState, BlockStorage, BlockStorageExt, Capabilities, CloneVolume, CreateBackup,
    CreateSnapshot, CreateVolume, Error, InstanceId, ListBackups, ListSnapshots, ListVolumes,
    RegionId, ResizeMode, RestoreBackup, Size, SnapshotId, SnapshotState, Until, UpdateVolume,
    VolumeId, VolumeState, WaitConfig,
};

use crate::engine::{Engine, Fault, FaultRule, SimOp};

/// Runs one cell alone: its seed, in decimal or `0x` hexadecimal.
pub const CHAOS_SEED_ENV: &str = "CHAOS_SEED";

/// Runs the whole matrix from this base seed instead of
/// [`DEFAULT_BASE_SEED`].
pub const CHAOS_BASE_ENV: &str = "CHAOS_BASE";

/// The base seed of the matrix unless [`CHAOS_BASE_ENV`] says otherwise.
pub const DEFAULT_BASE_SEED: u64 = 0xC4A0_5EED;

/// The longest an operation under a fault may take before its cell fails
/// as hung.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest a backend, its fixtures, or one look at the world may take.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How many cells run at once (each on a backend of its own).
const CONCURRENCY: usize = 4;

/// Every [`BlockStorage`] operation, as the [`SimOp`] its faults are armed
/// on, in matrix order.
pub const OPERATIONS: [SimOp; 19] = [
    SimOp::ListVolumes,
    SimOp::GetVolume,
    SimOp::CreateVolume,
    SimOp::UpdateVolume,
    SimOp::DeleteVolume,
    SimOp::AttachVolume,
    SimOp::DetachVolume,
    SimOp::ResizeVolume,
    SimOp::CloneVolume,
    SimOp::CreateSnapshot,
    SimOp::GetSnapshot,
    SimOp::ListSnapshots,
    SimOp::DeleteSnapshot,
    SimOp::CreateBackup,
    SimOp::GetBackup,
    SimOp::ListBackups,
    SimOp::DeleteBackup,
    SimOp::RestoreBackup,
    SimOp::ListInstances,
];

/// A kind of fault, in matrix order ([`FaultKind::ALL`]); each cell makes
/// it concrete from its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FaultKind {
    /// The answer comes 1 to 20 ms late.
    Latency,
    /// A 4xx (400, 403, 409) or a 5xx (500, 502, 503), nothing changed.
    ErrorBefore,
    /// The change is made, then a 5xx.
    ErrorAfter,
    /// 429 with a `Retry-After` of 0 or 1 s.
    RateLimited,
    /// The operation's transition never ends.
    Stuck,
    /// The operation lands in its failure state.
    ErrorState,
    /// The change is made and the connection closed without an answer.
    DropConnection,
}

impl FaultKind {
    /// Every kind, in matrix order.
    pub const ALL: [Self; 7] = [
        Self::Latency,
        Self::ErrorBefore,
        Self::ErrorAfter,
        Self::RateLimited,
        Self::Stuck,
        Self::ErrorState,
        Self::DropConnection,
    ];

    /// A short name, e.g. `"error-after"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::ErrorBefore => "error-before",
            Self::ErrorAfter => "error-after",
            Self::RateLimited => "429",
            Self::Stuck => "stuck",
            Self::ErrorState => "error-state",
            Self::DropConnection => "dropped-connection",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a cell runs on: a client, the engine behind it, and the tenant the
/// client acts for there. The factory of [`run_matrix`] makes a fresh one
/// per cell (a fake of its own, with instant transitions:
/// `Delays::default()`).
pub struct ChaosBackend {
    storage: Box<dyn BlockStorage>,
    engine: Engine,
    tenant: String,
    hidden: Vec<VolumeState>,
    routes: Vec<(SimOp, SimOp)>,
}

impl ChaosBackend {
    /// `storage` (a client of a fake, or a [`Sim`](crate::Sim)), the engine
    /// behind it, and the tenant it acts for in that engine.
    pub fn new(storage: impl BlockStorage, engine: Engine, tenant: impl Into<String>) -> Self {
        Self {
            storage: Box::new(storage),
            engine,
            tenant: tenant.into(),
            hidden: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// Says that this client does `op` through the request its fake counts
    /// as `served_as` (Cinder clones with `POST /volumes`, a create; LunaNode
    /// reads one snapshot from the snapshot list): `op`'s cells arm their
    /// fault on `served_as`.
    pub fn with_route(mut self, op: SimOp, served_as: SimOp) -> Self {
        self.routes.push((op, served_as));
        self
    }

    /// Volume states the provider's wire has no word for, which its fake
    /// shows as a resting state (as the fake's docs say; Linode, for one,
    /// shows `attaching`, `detaching` and `deleting` as `active`). A stuck
    /// or failed cell that leaves a volume in one of them is checked in the
    /// engine instead of the listing, and counted in
    /// [`ChaosReport::engine_checked`].
    pub fn with_hidden_states(mut self, states: impl IntoIterator<Item = VolumeState>) -> Self {
        self.hidden.extend(states);
        self
    }
}

impl fmt::Debug for ChaosBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChaosBackend")
            .field("storage", &self.storage.to_string())
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// A cell that failed: which, why, and how to run it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellFailure {
    /// The package whose `tests/chaos.rs` ran it.
    pub package: String,
    /// The cell's seed (see [`CHAOS_SEED_ENV`]).
    pub seed: u64,
    /// The operation.
    pub op: SimOp,
    /// The fault kind.
    pub fault: FaultKind,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for CellFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} x {} (seed {:#x}): {}\n    replay: {CHAOS_SEED_ENV}={:#x} cargo test -p {} \
             --all-features --test chaos",
            self.op, self.fault, self.seed, self.reason, self.seed, self.package
        )
    }
}

/// What a matrix run saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaosReport {
    /// The package that ran it, as the caller named it.
    pub name: String,
    /// The base seed.
    pub base_seed: u64,
    /// Cells run (operations x fault kinds, or 1 when replaying).
    pub cells: usize,
    /// Cells whose every check held.
    pub passed: usize,
    /// Cells of operations the backend does not support, which answered
    /// `Unsupported` as they must.
    pub unsupported: usize,
    /// Passed cells whose target's state the provider cannot show (see
    /// [`ChaosBackend::with_hidden_states`]), checked in the engine.
    pub engine_checked: usize,
    /// The cells that failed.
    pub failures: Vec<CellFailure>,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
}

impl ChaosReport {
    /// Panics, listing every failing cell with its seed and replay line,
    /// unless every cell passed or was unsupported.
    ///
    /// # Panics
    /// When any cell failed.
    pub fn assert_clean(&self) {
        assert!(self.failures.is_empty(), "{self}");
        assert_eq!(self.passed + self.unsupported, self.cells, "{self}");
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chaos matrix for {} (base seed {:#x}): {} cells ({}), {} passed \
             ({} checked in the engine), {} unsupported, {} failed, in {:.1?}",
            self.name,
            self.base_seed,
            self.cells,
            if self.cells == OPERATIONS.len() * FaultKind::ALL.len() {
                format!(
                    "{} operations x {} faults",
                    OPERATIONS.len(),
                    FaultKind::ALL.len()
                )
            } else {
                "a replay".to_owned()
            },
            self.passed,
            self.engine_checked,
            self.unsupported,
            self.failures.len(),
            self.elapsed
        )?;
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}

/// A cell's seed: `variation << 16 | op index << 8 | fault index`.
fn cell_seed(variation: u64, op: usize, fault: usize) -> u64 {
    (variation << 16) | ((op as u64) << 8) | fault as u64
}

/// The operation and fault kind a seed names, when it names any.
fn cell_of(seed: u64) -> Option<(SimOp, FaultKind)> {
    let op = usize::try_from((seed >> 8) & 0xff).ok()?;
    let fault = usize::try_from(seed & 0xff).ok()?;
    Some((*OPERATIONS.get(op)?, *FaultKind::ALL.get(fault)?))
}

fn parse_seed(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16).ok(),
        None => text.replace('_', "").parse().ok(),
    }
}

fn env_seed(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let seed = parse_seed(&value);
    assert!(seed.is_some(), "{name}={value:?} is not a seed");
    seed
}

/// Runs the matrix (or, with [`CHAOS_SEED_ENV`] set, its one cell) on
/// backends `factory` makes from each cell's seed, and reports. `name` is
/// the package whose `tests/chaos.rs` runs it (e.g. `"volume-linode"`): the
/// report and its replay lines name it.
pub async fn run_matrix<F, Fut>(name: &str, factory: F) -> ChaosReport
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ChaosBackend>,
{
    Matrix::from_env().run(name, factory).await
}

/// Which cells a run covers: the whole matrix from a base seed, or one
/// cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matrix {
    base_seed: u64,
    only: Option<u64>,
}

impl Matrix {
    /// Every cell, their seeds drawn from `base_seed`.
    pub const fn new(base_seed: u64) -> Self {
        Self {
            base_seed,
            only: None,
        }
    }

    /// The one cell `seed` names (what [`CHAOS_SEED_ENV`] replays).
    pub const fn cell(seed: u64) -> Self {
        Self {
            base_seed: DEFAULT_BASE_SEED,
            only: Some(seed),
        }
    }

    /// The cells the environment asks for: the one cell of
    /// [`CHAOS_SEED_ENV`], else every cell from [`CHAOS_BASE_ENV`] or
    /// [`DEFAULT_BASE_SEED`].
    ///
    /// # Panics
    /// When either variable is set to something that is not a seed.
    pub fn from_env() -> Self {
        Self {
            base_seed: env_seed(CHAOS_BASE_ENV).unwrap_or(DEFAULT_BASE_SEED),
            only: env_seed(CHAOS_SEED_ENV),
        }
    }

    /// The seeds of the cells this run covers, in matrix order.
    pub fn seeds(&self) -> Vec<u64> {
        if let Some(seed) = self.only {
            return vec![seed];
        }
        let mut rng = StdRng::seed_from_u64(self.base_seed);
        let mut seeds = Vec::new();
        for op in 0..OPERATIONS.len() {
            for fault in 0..FaultKind::ALL.len() {
                let variation = rng.random::<u64>() >> 16;
                seeds.push(cell_seed(variation, op, fault));
            }
        }
        seeds
    }

    /// Runs the cells on backends `factory` makes from each cell's seed
    /// (as [`run_matrix`]).
    pub async fn run<F, Fut>(&self, name: &str, factory: F) -> ChaosReport
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = ChaosBackend>,
    {
        run_cells(name, self.base_seed, &self.seeds(), factory).await
    }
}

async fn run_cells<F, Fut>(name: &str, base_seed: u64, seeds: &[u64], factory: F) -> ChaosReport
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ChaosBackend>,
{
    let start = Instant::now();
    let factory = &factory;
    let outcomes: Vec<(u64, Outcome)> = futures::stream::iter(seeds.iter().copied())
        .map(|seed| async move { (seed, run_cell(seed, factory).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = ChaosReport {
        name: name.to_owned(),
        base_seed,
        cells: seeds.len(),
        passed: 0,
        unsupported: 0,
        engine_checked: 0,
        failures: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for (seed, outcome) in outcomes {
        match outcome {
            Outcome::Passed => report.passed += 1,
            Outcome::EngineChecked => {
                report.passed += 1;
                report.engine_checked += 1;
            }
            Outcome::Unsupported => report.unsupported += 1,
            Outcome::Failed(reason) => {
                let (op, fault) = cell_of(seed).unwrap_or((SimOp::Read, FaultKind::Latency));
                report.failures.push(CellFailure {
                    package: name.to_owned(),
                    seed,
                    op,
                    fault,
                    reason,
                });
            }
        }
    }
    report.failures.sort_by_key(|f| f.seed & 0xffff);
    report.elapsed = start.elapsed();
    report
}

#[derive(Debug)]
enum Outcome {
    Passed,
    /// Passed, with the target's state checked in the engine.
    EngineChecked,
    Unsupported,
    Failed(String),
}

/// Runs one cell, with any panic in it (factory, fixtures, client) caught.
async fn run_cell<F, Fut>(seed: u64, factory: &F) -> Outcome
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ChaosBackend>,
{
    let Some((op, kind)) = cell_of(seed) else {
        return Outcome::Failed(format!("seed {seed:#x} names no cell"));
    };
    let cell = async {
        let backend = tokio::time::timeout(SETUP_TIMEOUT, factory(seed))
            .await
            .map_err(|_| format!("the factory took more than {SETUP_TIMEOUT:?}"))?;
        Cell::new(seed, op, kind, backend).run().await
    };
    match AssertUnwindSafe(cell).catch_unwind().await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(reason)) => Outcome::Failed(reason),
        Err(panic) => Outcome::Failed(format!("panicked: {}", panic_message(&*panic))),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// The parameters a cell draws from its seed.
#[derive(Debug)]
struct Params {
    fault: Fault,
    /// For `ErrorBefore`/`ErrorAfter`: the status.
    status: u16,
    tag: String,
}

impl Params {
    fn new(seed: u64, kind: FaultKind) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let tag = format!("{:x}", rng.random::<u32>());
        let five = [500, 502, 503][rng.random_range(0..3)];
        let (fault, status) = match kind {
            FaultKind::Latency => (
                Fault::Latency(Duration::from_millis(rng.random_range(1..=20))),
                0,
            ),
            FaultKind::ErrorBefore => {
                let status = if rng.random_bool(0.5) {
                    [400, 403, 409][rng.random_range(0..3)]
                } else {
                    five
                };
                let message = format!("chaos {tag}: refused before the change");
                (Fault::ErrorBefore { status, message }, status)
            }
            FaultKind::ErrorAfter => {
                let message = format!("chaos {tag}: failed after the change");
                (
                    Fault::ErrorAfter {
                        status: five,
                        message,
                    },
                    five,
                )
            }
            FaultKind::RateLimited => (
                Fault::RateLimited {
                    retry_after: Duration::from_secs(u64::from(rng.random_ratio(1, 4))),
                },
                429,
            ),
            FaultKind::Stuck => (Fault::Stuck, 0),
            FaultKind::ErrorState => (Fault::LandInError, 0),
            FaultKind::DropConnection => (Fault::DropConnection, 0),
        };
        Self { fault, status, tag }
    }
}

/// Everything the client lists, fault-free, and everything the engine holds.
#[derive(Debug, Default)]
struct World {
    volumes: BTreeMap<String, Seen>,
    snapshots: BTreeMap<String, SnapshotState>,
    backups: BTreeMap<String, BackupState>,
    engine_volumes: BTreeSet<String>,
    engine_snapshots: BTreeSet<String>,
    engine_backups: BTreeSet<String>,
}

/// What the judge looks at of a listed volume.
#[derive(Debug)]
struct Seen {
    state: VolumeState,
    size: Size,
    attached: Option<InstanceId>,
    name: String,
}

/// The kind of resource an operation makes, when it makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    Volume,
    Snapshot,
    Backup,
}

/// What an operation returned, reduced to what the judge needs.
#[derive(Debug)]
enum Returned {
    Nothing,
    Id(String),
    Ids(Vec<String>),
}

struct Fixtures {
    region: Option<RegionId>,
    instance: Option<InstanceId>,
    volume: Option<VolumeId>,
    snapshot: Option<SnapshotId>,
    backup: Option<BackupId>,
    size: Size,
}

struct Cell {
    op: SimOp,
    kind: FaultKind,
    params: Params,
    backend: ChaosBackend,
    caps: Capabilities,
}

fn quick_wait() -> WaitConfig {
    WaitConfig::new(
        BackoffConfig::new(Duration::from_millis(2), Duration::from_millis(50)),
        Duration::from_secs(10),
    )
}

/// `work`, failing the cell when it takes longer than [`SETUP_TIMEOUT`].
async fn bounded<T>(
    what: &str,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(SETUP_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(format!("{what} took more than {SETUP_TIMEOUT:?}")))
}

/// `Err` with `what` and the error, for the `?` of a cell.
fn step<T>(what: &str, result: volume_core::Result<T>) -> Result<T, String> {
    result.map_err(|e| format!("{what} (no fault armed) failed: {e}"))
}

impl Cell {
    fn new(seed: u64, op: SimOp, kind: FaultKind, backend: ChaosBackend) -> Self {
        let caps = backend.storage.capabilities();
        Self {
            op,
            kind,
            params: Params::new(seed, kind),
            backend,
            caps,
        }
    }

    fn storage(&self) -> &dyn BlockStorage {
        &*self.backend.storage
    }

    /// The operation the fault is armed on: the cell's, or the one its
    /// fake serves it as.
    fn armed_op(&self) -> SimOp {
        self.backend
            .routes
            .iter()
            .find(|(op, _)| *op == self.op)
            .map_or(self.op, |(_, served)| *served)
    }

    fn name(&self, what: &str) -> String {
        format!("chaos-{}-{what}", self.params.tag)
    }

    fn supported(&self) -> bool {
        let c = &self.caps;
        match self.op {
            SimOp::UpdateVolume => c.update,
            SimOp::AttachVolume | SimOp::DetachVolume => c.attach,
            SimOp::ResizeVolume => c.resize != ResizeMode::Unsupported,
            SimOp::CloneVolume => c.clone,
            SimOp::CreateSnapshot
            | SimOp::GetSnapshot
            | SimOp::ListSnapshots
            | SimOp::DeleteSnapshot => c.snapshots,
            SimOp::CreateBackup
            | SimOp::GetBackup
            | SimOp::ListBackups
            | SimOp::DeleteBackup
            | SimOp::RestoreBackup => c.backups,
            _ => true,
        }
    }

    async fn run(self) -> Result<Outcome, String> {
        let fixtures = bounded("making the fixtures", self.fixtures()).await?;
        if !self.supported() {
            return self.unsupported(&fixtures).await;
        }
        let before = bounded("observing the world", self.observe()).await?;
        if before.engine_volumes.is_empty() {
            return Err(format!(
                "the engine holds no volume of tenant {:?} after the fixtures were made: \
                 the factory names the wrong tenant",
                self.backend.tenant
            ));
        }
        let engine = &self.backend.engine;
        let already = engine.injected().len();
        let armed = self.armed_op();
        engine.inject(FaultRule::new(self.params.fault.clone()).on(armed).times(1));
        let called = tokio::time::timeout(
            CALL_TIMEOUT,
            AssertUnwindSafe(self.call(&fixtures)).catch_unwind(),
        )
        .await;
        engine.clear_faults();
        let result = match called {
            Err(_) => {
                return Err(format!(
                    "the call did not return within {CALL_TIMEOUT:?} (hung)"
                ))
            }
            Ok(Err(panic)) => {
                return Err(format!("the client panicked: {}", panic_message(&*panic)))
            }
            Ok(Ok(result)) => result,
        };
        let fired = engine.injected()[already..].iter().any(|i| i.op == armed);
        if !fired {
            return Err(format!(
                "the {} fault never reached {armed:?} (the call answered {}): the cell tested nothing",
                self.kind,
                describe(&result)
            ));
        }
        let after = bounded("observing the world", self.observe()).await?;
        self.judge(&fixtures, &result, &before, &after)
            .map_err(|why| {
                format!(
                    "{why}; the call answered {}; {}",
                    describe(&result),
                    self.engine_view(&fixtures)
                )
            })
    }

    /// An unsupported operation, called with the fault armed: it must
    /// answer `Unsupported`.
    async fn unsupported(&self, fixtures: &Fixtures) -> Result<Outcome, String> {
        self.backend.engine.inject(
            FaultRule::new(self.params.fault.clone())
                .on(self.armed_op())
                .times(1),
        );
        let result = tokio::time::timeout(CALL_TIMEOUT, self.call(fixtures))
            .await
            .map_err(|_| format!("the call did not return within {CALL_TIMEOUT:?} (hung)"))?;
        self.backend.engine.clear_faults();
        match result {
            Err(Error::Unsupported { .. }) => Ok(Outcome::Unsupported),
            other => Err(format!(
                "{:?} is not in the capabilities, but the call answered {} instead of Unsupported",
                self.op,
                describe(&other)
            )),
        }
    }

    /// Makes what the operation needs, with no fault armed.
    async fn fixtures(&self) -> Result<Fixtures, String> {
        let s = self.storage();
        let instances: Vec<_> = step(
            "list_all_instances",
            s.list_all_instances().try_collect::<Vec<_>>().await,
        )?;
        let mut by_region: BTreeMap<&RegionId, Vec<&volume_core::Instance>> = BTreeMap::new();
        for i in &instances {
            by_region.entry(&i.region).or_default().push(i);
        }
        let home = by_region.iter().max_by_key(|(_, v)| v.len());
        let region = home.map(|(r, _)| (*r).clone());
        let instance = home.and_then(|(_, v)| v.first()).map(|i| i.id.clone());
        let size = self.caps.min_size;
        let mut fixtures = Fixtures {
            region,
            instance,
            volume: None,
            snapshot: None,
            backup: None,
            size,
        };
        let mut request = CreateVolume::new(self.name("vol"), size);
        if let Some(region) = &fixtures.region {
            request = request.with_region(region.clone());
        }
        let volume = step(
            "create_volume_and_wait",
            s.create_volume_and_wait(&request, &quick_wait()).await,
        )?;
        let id = volume.id.clone();
        fixtures.volume = Some(id.clone());
        if !self.supported() {
            return Ok(fixtures);
        }
        match self.op {
            SimOp::DetachVolume => {
                let instance = fixtures
                    .instance
                    .clone()
                    .ok_or("the backend lists no instance to attach to")?;
                step("attach_volume", s.attach_volume(&id, &instance).await)?;
                step(
                    "waiting for the attachment",
                    s.wait_for_volume(&id, Until::State(VolumeState::InUse), &quick_wait())
                        .await,
                )?;
            }
            SimOp::AttachVolume if fixtures.instance.is_none() => {
                return Err("the backend lists no instance to attach to".to_owned());
            }
            SimOp::GetSnapshot | SimOp::ListSnapshots | SimOp::DeleteSnapshot => {
                let snap = step(
                    "create_snapshot",
                    s.create_snapshot(&CreateSnapshot::new(id.clone(), self.name("snap")))
                        .await,
                )?;
                step(
                    "waiting for the snapshot",
                    s.wait_for_snapshot(
                        &snap.id,
                        Until::State(SnapshotState::Available),
                        &quick_wait(),
                    )
                    .await,
                )?;
                fixtures.snapshot = Some(snap.id);
            }
            SimOp::GetBackup | SimOp::ListBackups | SimOp::DeleteBackup | SimOp::RestoreBackup => {
                let backup = step(
                    "create_backup",
                    s.create_backup(&CreateBackup::new(id.clone(), self.name("backup")))
                        .await,
                )?;
                step(
                    "waiting for the backup",
                    s.wait_for_backup(
                        &backup.id,
                        Until::State(BackupState::Available),
                        &quick_wait(),
                    )
                    .await,
                )?;
                step(
                    "waiting for the volume after its backup",
                    s.wait_for_volume(&id, Until::State(VolumeState::Available), &quick_wait())
                        .await,
                )?;
                fixtures.backup = Some(backup.id);
            }
            _ => {}
        }
        Ok(fixtures)
    }

    fn key(&self) -> IdempotencyKey {
        IdempotencyKey::new(format!("chaos-{}", self.params.tag)).expect("a valid key")
    }

    /// Calls the cell's operation through the trait.
    async fn call(&self, fx: &Fixtures) -> volume_core::Result<Returned> {
        let s = self.storage();
        // Ids of things an unsupported operation never gets to look at.
        let any = || fx.volume.as_ref().map_or("1", VolumeId::as_str).to_owned();
        let volume = || fx.volume.clone().expect("a volume fixture");
        let snapshot = || {
            fx.snapshot
                .clone()
                .unwrap_or_else(|| SnapshotId::new(any()).expect("an id"))
        };
        let backup = || {
            fx.backup
                .clone()
                .unwrap_or_else(|| BackupId::new(any()).expect("an id"))
        };
        let instance = || {
            fx.instance
                .clone()
                .unwrap_or_else(|| InstanceId::new(any()).expect("an id"))
        };
        let id = |v: volume_core::Volume| Returned::Id(v.id.to_string());
        Ok(match self.op {
            SimOp::ListVolumes => {
                let page = s.list_volumes(&ListVolumes::new(), None).await?;
                Returned::Ids(page.items.into_iter().map(|v| v.id.to_string()).collect())
            }
            SimOp::GetVolume => id(s.get_volume(&volume()).await?),
            SimOp::CreateVolume => {
                let mut request =
                    CreateVolume::new(self.name("new"), fx.size).with_idempotency_key(&self.key());
                if let Some(region) = &fx.region {
                    request = request.with_region(region.clone());
                }
                id(s.create_volume(&request).await?)
            }
            SimOp::UpdateVolume => id(s
                .update_volume(
                    &volume(),
                    &UpdateVolume::new().with_name(self.name("renamed")),
                )
                .await?),
            SimOp::DeleteVolume => {
                s.delete_volume(&volume()).await?;
                Returned::Nothing
            }
            SimOp::AttachVolume => id(s.attach_volume(&volume(), &instance()).await?),
            SimOp::DetachVolume => id(s.detach_volume(&volume()).await?),
            SimOp::ResizeVolume => id(s.resize_volume(&volume(), self.grown(fx)).await?),
            SimOp::CloneVolume => id(s
                .clone_volume(&volume(), &CloneVolume::new(self.name("clone")))
                .await?),
            SimOp::CreateSnapshot => {
                let request = CreateSnapshot::new(volume(), self.name("snap"))
                    .with_idempotency_key(&self.key());
                Returned::Id(s.create_snapshot(&request).await?.id.to_string())
            }
            SimOp::GetSnapshot => Returned::Id(s.get_snapshot(&snapshot()).await?.id.to_string()),
            SimOp::ListSnapshots => {
                let page = s.list_snapshots(&ListSnapshots::new(), None).await?;
                Returned::Ids(page.items.into_iter().map(|x| x.id.to_string()).collect())
            }
            SimOp::DeleteSnapshot => {
                s.delete_snapshot(&snapshot()).await?;
                Returned::Nothing
            }
            SimOp::CreateBackup => {
                let request = CreateBackup::new(volume(), self.name("backup"))
                    .with_idempotency_key(&self.key());
                Returned::Id(s.create_backup(&request).await?.id.to_string())
            }
            SimOp::GetBackup => Returned::Id(s.get_backup(&backup()).await?.id.to_string()),
            SimOp::ListBackups => {
                let page = s.list_backups(&ListBackups::new(), None).await?;
                Returned::Ids(page.items.into_iter().map(|x| x.id.to_string()).collect())
            }
            SimOp::DeleteBackup => {
                s.delete_backup(&backup()).await?;
                Returned::Nothing
            }
            SimOp::RestoreBackup => id(s
                .restore_backup(
                    &backup(),
                    &RestoreBackup::to_new_volume(self.name("restored")),
                )
                .await?),
            SimOp::ListInstances => {
                let page = s.list_instances(None).await?;
                Returned::Ids(page.items.into_iter().map(|i| i.id.to_string()).collect())
            }
            other => unreachable!("{other:?} is not a BlockStorage operation"),
        })
    }

    fn grown(&self, fx: &Fixtures) -> Size {
        Size::gib(fx.size.as_gib() + 1)
    }

    /// The world, with no fault armed: what the client lists and what the
    /// engine holds.
    async fn observe(&self) -> Result<World, String> {
        let s = self.storage();
        let mut world = World::default();
        let volumes: Vec<_> = s
            .list_all_volumes(ListVolumes::new())
            .try_collect()
            .await
            .map_err(|e| format!("listing volumes once the fault was disarmed failed: {e}"))?;
        for v in volumes {
            if v.state == VolumeState::Deleted {
                continue;
            }
            let attached = v.attached_to().cloned();
            world.volumes.insert(
                v.id.to_string(),
                Seen {
                    state: v.state,
                    size: v.size,
                    attached,
                    name: v.name,
                },
            );
        }
        if self.caps.snapshots {
            let snapshots: Vec<_> = s
                .list_all_snapshots(ListSnapshots::new())
                .try_collect()
                .await
                .map_err(|e| {
                    format!("listing snapshots once the fault was disarmed failed: {e}")
                })?;
            for x in snapshots {
                if x.state != SnapshotState::Deleted {
                    world.snapshots.insert(x.id.to_string(), x.state);
                }
            }
        }
        if self.caps.backups {
            let backups: Vec<_> = s
                .list_all_backups(ListBackups::new())
                .try_collect()
                .await
                .map_err(|e| format!("listing backups once the fault was disarmed failed: {e}"))?;
            for x in backups {
                if x.state != BackupState::Deleted {
                    world.backups.insert(x.id.to_string(), x.state);
                }
            }
        }
        let tenant = &self.backend.tenant;
        self.backend.engine.with(|c| {
            world.engine_volumes = c
                .all_volumes(tenant)
                .into_iter()
                .filter(|v| v.state != VolumeState::Deleted)
                .map(|v| v.id.to_string())
                .collect();
            let (snapshots, backups) = c.all_artifacts(tenant);
            world.engine_snapshots = snapshots
                .into_iter()
                .filter(|x| x.state != SnapshotState::Deleted)
                .map(|x| x.id.to_string())
                .collect();
            world.engine_backups = backups
                .into_iter()
                .filter(|x| x.state != BackupState::Deleted)
                .map(|x| x.id.to_string())
                .collect();
        });
        Ok(world)
    }

    fn made(&self) -> Option<Made> {
        match self.op {
            SimOp::CreateVolume | SimOp::CloneVolume | SimOp::RestoreBackup => Some(Made::Volume),
            SimOp::CreateSnapshot => Some(Made::Snapshot),
            SimOp::CreateBackup => Some(Made::Backup),
            _ => None,
        }
    }

    /// Whether the operation's transition can be stuck or fail (reads and
    /// renames have none).
    fn has_transition(&self) -> bool {
        self.op.is_mutation() && self.op != SimOp::UpdateVolume
    }

    /// Judges the cell. `Err` says what was wrong.
    fn judge(
        &self,
        fx: &Fixtures,
        result: &volume_core::Result<Returned>,
        before: &World,
        after: &World,
    ) -> Result<Outcome, String> {
        if let Err(Error::Unsupported { .. }) = result {
            return Err(format!(
                "answered Unsupported, but the capabilities include {:?}",
                self.op
            ));
        }
        if self.kind == FaultKind::ErrorBefore && self.params.status < 500 && result.is_ok() {
            return Err(format!(
                "succeeded after a {} refusal, which a client must not retry",
                self.params.status
            ));
        }
        self.judge_untouched(fx, before, after)?;
        if let Some(made) = self.made() {
            return self
                .judge_create(made, result, before, after)
                .map(|()| Outcome::Passed);
        }
        if !self.op.is_mutation() {
            return self.judge_read(fx, result).map(|()| Outcome::Passed);
        }
        self.judge_change(fx, result, after)
    }

    /// Nothing but the operation's own resources changed: no resource
    /// vanished but its target, and no resource appeared unless it makes
    /// one (checked by `judge_create`).
    fn judge_untouched(&self, fx: &Fixtures, before: &World, after: &World) -> Result<(), String> {
        let target_volume = fx.volume.as_ref().map(ToString::to_string);
        let deleting = |kind: SimOp| self.op == kind;
        let gone = |b: &BTreeSet<&String>, a: &BTreeSet<&String>| {
            b.difference(a).map(|s| (*s).clone()).collect::<Vec<_>>()
        };
        let (bv, av): (BTreeSet<_>, BTreeSet<_>) = (
            before.volumes.keys().collect(),
            after.volumes.keys().collect(),
        );
        for id in gone(&bv, &av) {
            if !(deleting(SimOp::DeleteVolume) && Some(&id) == target_volume.as_ref()) {
                return Err(format!("volume {id} vanished"));
            }
        }
        let (bs, as_): (BTreeSet<_>, BTreeSet<_>) = (
            before.snapshots.keys().collect(),
            after.snapshots.keys().collect(),
        );
        for id in gone(&bs, &as_) {
            if !(deleting(SimOp::DeleteSnapshot)
                && Some(&id) == fx.snapshot.as_ref().map(ToString::to_string).as_ref())
            {
                return Err(format!("snapshot {id} vanished"));
            }
        }
        let (bb, ab): (BTreeSet<_>, BTreeSet<_>) = (
            before.backups.keys().collect(),
            after.backups.keys().collect(),
        );
        for id in gone(&bb, &ab) {
            if !(deleting(SimOp::DeleteBackup)
                && Some(&id) == fx.backup.as_ref().map(ToString::to_string).as_ref())
            {
                return Err(format!("backup {id} vanished"));
            }
        }
        let made = self.made();
        let news = [
            (
                Made::Volume,
                "volume",
                new_ids(&before.volumes, &after.volumes),
            ),
            (
                Made::Snapshot,
                "snapshot",
                new_ids(&before.snapshots, &after.snapshots),
            ),
            (
                Made::Backup,
                "backup",
                new_ids(&before.backups, &after.backups),
            ),
        ];
        for (kind, word, new) in news {
            if Some(kind) != made && !new.is_empty() {
                return Err(format!("{:?} made {word}s {new:?}", self.op));
            }
        }
        Ok(())
    }

    fn judge_create(
        &self,
        made: Made,
        result: &volume_core::Result<Returned>,
        before: &World,
        after: &World,
    ) -> Result<(), String> {
        let (listed, engine, states): (Vec<String>, usize, Vec<(String, Class)>) = match made {
            Made::Volume => {
                let new = new_ids(&before.volumes, &after.volumes);
                let states = new
                    .iter()
                    .map(|id| (id.clone(), Class::of_volume(&after.volumes[id].state)))
                    .collect();
                (
                    new,
                    after
                        .engine_volumes
                        .difference(&before.engine_volumes)
                        .count(),
                    states,
                )
            }
            Made::Snapshot => {
                let new = new_ids(&before.snapshots, &after.snapshots);
                let states = new
                    .iter()
                    .map(|id| (id.clone(), Class::of_snapshot(&after.snapshots[id])))
                    .collect();
                (
                    new,
                    after
                        .engine_snapshots
                        .difference(&before.engine_snapshots)
                        .count(),
                    states,
                )
            }
            Made::Backup => {
                let new = new_ids(&before.backups, &after.backups);
                let states = new
                    .iter()
                    .map(|id| (id.clone(), Class::of_backup(&after.backups[id])))
                    .collect();
                (
                    new,
                    after
                        .engine_backups
                        .difference(&before.engine_backups)
                        .count(),
                    states,
                )
            }
        };
        if engine != listed.len() {
            return Err(format!(
                "the engine made {engine} resources but the listing shows {} new ({listed:?})",
                listed.len()
            ));
        }
        if listed.len() > 1 {
            return Err(format!(
                "duplicates: {} resources made ({listed:?})",
                listed.len()
            ));
        }
        let keyed = self.op != SimOp::CloneVolume && self.op != SimOp::RestoreBackup;
        match result {
            Ok(Returned::Id(id)) => {
                if listed.as_slice() != [id.clone()] {
                    return Err(format!(
                        "returned {id}, but the listing shows {listed:?} as made"
                    ));
                }
            }
            Ok(other) => return Err(format!("answered {other:?}")),
            Err(e) => match self.kind {
                FaultKind::ErrorBefore | FaultKind::RateLimited | FaultKind::Latency => {
                    self.expected_error(e)?;
                    if !listed.is_empty() {
                        return Err(format!("failed but made {listed:?}"));
                    }
                }
                FaultKind::ErrorAfter | FaultKind::DropConnection => {
                    if keyed && !listed.is_empty() {
                        return Err(format!(
                            "orphan: a keyed create failed ({e}) and left {listed:?}"
                        ));
                    }
                    if !listed.is_empty() && !e.outcome_unknown() {
                        return Err(format!(
                            "made {listed:?} but its error does not say the outcome is unknown"
                        ));
                    }
                }
                FaultKind::Stuck | FaultKind::ErrorState => {}
            },
        }
        match self.kind {
            FaultKind::Stuck | FaultKind::ErrorState => {
                let want = if self.kind == FaultKind::Stuck {
                    Class::Transient
                } else {
                    Class::Failure
                };
                match states.as_slice() {
                    [(_, class)] if *class == want => Ok(()),
                    [(id, class)] => Err(format!(
                        "{id} is listed {class:?} where the fault leaves it {want:?}"
                    )),
                    _ => Err(format!(
                        "nothing was made, where the fault leaves one resource {want:?}"
                    )),
                }
            }
            _ => Ok(()),
        }
    }

    fn judge_read(
        &self,
        fx: &Fixtures,
        result: &volume_core::Result<Returned>,
    ) -> Result<(), String> {
        let want = match self.op {
            SimOp::ListVolumes | SimOp::GetVolume => fx.volume.as_ref().map(ToString::to_string),
            SimOp::ListSnapshots | SimOp::GetSnapshot => {
                fx.snapshot.as_ref().map(ToString::to_string)
            }
            SimOp::ListBackups | SimOp::GetBackup => fx.backup.as_ref().map(ToString::to_string),
            SimOp::ListInstances => fx.instance.as_ref().map(ToString::to_string),
            _ => None,
        };
        match result {
            Ok(returned) => {
                let has = match (returned, &want) {
                    (_, None) => true,
                    (Returned::Id(id), Some(w)) => id == w,
                    (Returned::Ids(ids), Some(w)) => ids.contains(w),
                    (Returned::Nothing, Some(_)) => false,
                };
                if has {
                    Ok(())
                } else {
                    Err(format!("the answer lacks {want:?}"))
                }
            }
            Err(e) => match self.kind {
                FaultKind::Latency | FaultKind::Stuck | FaultKind::ErrorState => Err(format!(
                    "a read failed under a fault that leaves reads alone: {e}"
                )),
                FaultKind::ErrorBefore | FaultKind::RateLimited => self.expected_error(e),
                FaultKind::ErrorAfter | FaultKind::DropConnection => {
                    if e.is_retryable() {
                        Ok(())
                    } else {
                        Err(format!(
                            "a read failed with an error that is not retryable: {e}"
                        ))
                    }
                }
            },
        }
    }

    /// An error that `ErrorBefore`/`RateLimited`/`Latency` may give.
    fn expected_error(&self, e: &Error) -> Result<(), String> {
        let status = self.params.status;
        let fits = match self.kind {
            FaultKind::RateLimited => matches!(e, Error::RateLimited { .. }),
            FaultKind::ErrorBefore => match status {
                400 => matches!(e, Error::InvalidInput { .. }),
                403 => matches!(e, Error::PermissionDenied { .. }),
                409 => matches!(e, Error::InvalidState { .. } | Error::AlreadyExists { .. }),
                _ => e.is_retryable(),
            },
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "the error is not of the kind a {} ({}) should give: {e:?}",
                self.kind,
                if status == 0 {
                    "-".to_owned()
                } else {
                    status.to_string()
                }
            ))
        }
    }

    /// A change to an existing resource: made at most once, and only when
    /// the fault lets it.
    fn judge_change(
        &self,
        fx: &Fixtures,
        result: &volume_core::Result<Returned>,
        after: &World,
    ) -> Result<Outcome, String> {
        let (changed, class) = self.target_after(fx, after);
        let transition = self.has_transition();
        let upsets = matches!(self.kind, FaultKind::Stuck | FaultKind::ErrorState);
        match result {
            _ if upsets => {
                if result.is_err() && !transition {
                    return Err(
                        "failed, though the operation has no transition to upset".to_owned()
                    );
                }
                if !transition {
                    return if changed {
                        Ok(Outcome::Passed)
                    } else {
                        Err("the change was not made".to_owned())
                    };
                }
                let want = if self.kind == FaultKind::Stuck {
                    Class::Transient
                } else {
                    Class::Failure
                };
                if changed && class == Some(want) {
                    return Ok(Outcome::Passed);
                }
                // The provider may have no word for the state: look inside.
                if let Some(state) = self.hidden_engine_state(fx) {
                    return if Class::of_volume(&state) == want {
                        Ok(Outcome::EngineChecked)
                    } else {
                        Err(format!(
                            "the engine has the target {state:?}, where the fault leaves it {want:?}"
                        ))
                    };
                }
                if changed {
                    Err(format!(
                        "the target is listed {class:?} where the fault leaves it {want:?}"
                    ))
                } else {
                    Err(format!(
                        "the change does not show (the target is listed {class:?})"
                    ))
                }
            }
            Ok(_) => {
                if changed {
                    Ok(Outcome::Passed)
                } else {
                    Err("succeeded, but the change was not made".to_owned())
                }
            }
            Err(e) => match self.kind {
                FaultKind::ErrorAfter | FaultKind::DropConnection => {
                    if e.outcome_unknown() {
                        Ok(Outcome::Passed)
                    } else {
                        Err(format!(
                            "the change {} made, but the error does not say the outcome is unknown",
                            if changed { "was" } else { "may have been" }
                        ))
                    }
                }
                _ => {
                    self.expected_error(e)?;
                    if changed {
                        Err("failed, but the change was made".to_owned())
                    } else {
                        Ok(Outcome::Passed)
                    }
                }
            },
        }
    }

    /// What the engine holds of the cell's fixtures, for failure messages.
    fn engine_view(&self, fx: &Fixtures) -> String {
        let b = &self.backend;
        b.engine.with(|c| {
            let mut view = Vec::new();
            if let Some(id) = &fx.volume {
                view.push(match c.get_volume(&b.tenant, id) {
                    Ok(v) => format!("volume {id} {}", v.state),
                    Err(_) => format!("volume {id} absent"),
                });
            }
            if let Some(id) = &fx.snapshot {
                view.push(match c.get_snapshot(&b.tenant, id) {
                    Ok(x) => format!("snapshot {id} {}", x.state),
                    Err(_) => format!("snapshot {id} absent"),
                });
            }
            if let Some(id) = &fx.backup {
                view.push(match c.get_backup(&b.tenant, id) {
                    Ok(x) => format!("backup {id} {}", x.state),
                    Err(_) => format!("backup {id} absent"),
                });
            }
            format!("the engine has: {}", view.join(", "))
        })
    }

    /// The engine's state of the target volume, when it is one the
    /// provider cannot show (see [`ChaosBackend::with_hidden_states`]).
    fn hidden_engine_state(&self, fx: &Fixtures) -> Option<VolumeState> {
        let id = fx.volume.as_ref()?;
        let b = &self.backend;
        let state = b.engine.with(|c| c.get_volume(&b.tenant, id)).ok()?.state;
        b.hidden.contains(&state).then_some(state)
    }

    /// Whether the operation's change shows on its target, and the
    /// target's state class, from the fault-free listing.
    fn target_after(&self, fx: &Fixtures, after: &World) -> (bool, Option<Class>) {
        let vid = fx
            .volume
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let volume = after.volumes.get(&vid);
        let vclass = volume.map(|v| Class::of_volume(&v.state));
        match self.op {
            SimOp::DeleteVolume => (
                volume.is_none_or(|v| v.state == VolumeState::Deleting || v.state.is_failure()),
                vclass,
            ),
            SimOp::DeleteSnapshot => {
                let id = fx
                    .snapshot
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let s = after.snapshots.get(&id);
                (
                    s.is_none_or(|s| *s == SnapshotState::Deleting || s.is_failure()),
                    s.map(Class::of_snapshot),
                )
            }
            SimOp::DeleteBackup => {
                let id = fx
                    .backup
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let b = after.backups.get(&id);
                (
                    b.is_none_or(|b| *b == BackupState::Deleting || b.is_failure()),
                    b.map(Class::of_backup),
                )
            }
            SimOp::AttachVolume => (
                volume.is_some_and(|v| {
                    v.attached.as_ref() == fx.instance.as_ref()
                        || matches!(v.state, VolumeState::Attaching)
                        || v.state.is_failure()
                }),
                vclass,
            ),
            SimOp::DetachVolume => (
                volume.is_some_and(|v| {
                    v.attached.is_none()
                        || matches!(v.state, VolumeState::Detaching)
                        || v.state.is_failure()
                }),
                vclass,
            ),
            SimOp::ResizeVolume => (
                volume.is_some_and(|v| {
                    v.size == self.grown(fx)
                        || matches!(v.state, VolumeState::Resizing | VolumeState::ErrorResizing)
                }),
                vclass,
            ),
            SimOp::UpdateVolume => (
                volume.is_some_and(|v| v.name == self.name("renamed")),
                vclass,
            ),
            _ => (false, vclass),
        }
    }
}

/// How a state reads: at rest, on its way, or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Resting,
    Transient,
    Failure,
}

impl Class {
    fn of(transient: bool, failure: bool) -> Self {
        if failure {
            Self::Failure
        } else if transient {
            Self::Transient
        } else {
            Self::Resting
        }
    }

    fn of_volume(s: &VolumeState) -> Self {
        Self::of(s.is_transient(), s.is_failure())
    }

    fn of_snapshot(s: &SnapshotState) -> Self {
        Self::of(s.is_transient(), s.is_failure())
    }

    fn of_backup(s: &BackupState) -> Self {
        Self::of(s.is_transient(), s.is_failure())
    }
}

fn new_ids<V>(before: &BTreeMap<String, V>, after: &BTreeMap<String, V>) -> Vec<String> {
    after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .cloned()
        .collect()
}

fn describe(result: &volume_core::Result<Returned>) -> String {
    match result {
        Ok(Returned::Nothing) => "Ok".to_owned(),
        Ok(Returned::Id(id)) => format!("Ok({id})"),
        Ok(Returned::Ids(ids)) => format!("Ok({} items)", ids.len()),
        Err(e) => format!("Err({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_name_their_cell_and_parse_both_ways() {
        let seed = cell_seed(0xabc, 2, 6);
        assert_eq!(
            cell_of(seed),
            Some((SimOp::CreateVolume, FaultKind::DropConnection))
        );
        assert_eq!(cell_of(cell_seed(1, 19, 0)), None);
        assert_eq!(parse_seed(&format!("{seed:#x}")), Some(seed));
        assert_eq!(parse_seed(&seed.to_string()), Some(seed));
        assert_eq!(parse_seed("soon"), None);
    }

    #[test]
    fn a_matrix_covers_every_cell_once_and_a_replay_one() {
        let seeds = Matrix::new(7).seeds();
        assert_eq!(seeds.len(), OPERATIONS.len() * FaultKind::ALL.len());
        let cells: std::collections::HashSet<_> =
            seeds.iter().map(|s| cell_of(*s).unwrap()).collect();
        assert_eq!(cells.len(), seeds.len());
        assert_eq!(Matrix::new(7).seeds(), seeds);
        assert_ne!(Matrix::new(8).seeds(), seeds);
        assert_eq!(Matrix::cell(seeds[40]).seeds(), [seeds[40]]);
    }
}
