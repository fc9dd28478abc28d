//! [`Sim`]: the async [`BlockStorage`] over the engine, for tests and the
//! quickstart.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use volume_core::idempotency;
use volume_core::{
    async_trait, ApiError, Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup,
    CreateSnapshot, CreateVolume, Error, Instance, InstanceId, InstanceState, ListBackups,
    ListSnapshots, ListVolumes, Page, PageToken, RegionId, RestoreBackup, Result, Size, Snapshot,
    SnapshotId, UpdateVolume, Volume, VolumeId,
};

use crate::engine::{
    ClockMode, Control, Engine, EngineConfig, Fault, FaultRule, Injected, Policy, Quota,
    QuotaUsage, SimOp, Usage,
};

/// The tenant a [`Sim`] acts for unless told otherwise.
pub const DEFAULT_TENANT: &str = "default";

/// An in-memory block-storage cloud that implements [`BlockStorage`].
///
/// Volumes hold real bytes; snapshots, clones and backups share them
/// copy-on-write. Cheap to clone: clones share one simulated cloud and act
/// for the same tenant; [`Sim::tenant`] gives a handle for another tenant of
/// the same cloud, and [`Sim::fork`] an independent copy of all of it.
///
/// ```
/// use volume_core::{BlockStorage, CreateVolume, Size};
/// use volume_sim::Sim;
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let sim = Sim::new();
/// let vol = sim.create_volume(&CreateVolume::new("data", Size::gib(1))).await?;
/// sim.write_at(&vol.id, 4096, b"hello").await?;
/// let mut buf = [0u8; 5];
/// sim.read_at(&vol.id, 4096, &mut buf).await?;
/// assert_eq!(&buf, b"hello");
/// # Ok::<(), volume_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Sim {
    engine: Engine,
    tenant: Arc<str>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sim(tenant {})", self.tenant)
    }
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds a [`Sim`] with a policy, regions, quota, seed and clock of your choice.
#[derive(Debug, Clone)]
#[must_use]
pub struct SimBuilder {
    config: EngineConfig,
    clock: ClockMode,
}

impl SimBuilder {
    /// Sets the provider policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.config.policy = policy;
        self
    }

    /// Sets the regions (the first is the default).
    pub fn regions<I, S>(mut self, regions: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.regions = regions
            .into_iter()
            .map(RegionId::new)
            .collect::<Result<_>>()?;
        Ok(self)
    }

    /// How many instances each tenant gets per region.
    pub fn instances_per_region(mut self, n: u32) -> Self {
        self.config.instances_per_region = n;
        self
    }

    /// The quota of every tenant.
    pub fn quota(mut self, quota: Quota) -> Self {
        self.config.quota = quota;
        self
    }

    /// The seed for ids and faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// How the clock moves (manual by default).
    pub fn clock(mut self, mode: ClockMode) -> Self {
        self.clock = mode;
        self
    }

    /// The simulator, acting for [`DEFAULT_TENANT`].
    pub fn build(self) -> Sim {
        let engine = Engine::with_clock(self.config, self.clock);
        Sim::on(engine, DEFAULT_TENANT)
    }
}

impl Sim {
    /// A simulator with the default policy (everything supported, instant
    /// transitions), regions `sim-1` and `sim-2`, three instances per region.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder.
    pub fn builder() -> SimBuilder {
        SimBuilder {
            config: EngineConfig::default(),
            clock: ClockMode::Manual,
        }
    }

    /// A `Sim` acting for `tenant` on `engine`.
    pub fn on(engine: Engine, tenant: &str) -> Self {
        engine.with(|c| c.ensure_tenant(tenant));
        Self {
            engine,
            tenant: Arc::from(tenant),
        }
    }

    /// A handle on the same cloud acting for `tenant`, who sees none of the
    /// other tenants' resources.
    pub fn tenant(&self, tenant: &str) -> Self {
        Self::on(self.engine.clone(), tenant)
    }

    /// The tenant this handle acts for.
    pub fn tenant_name(&self) -> &str {
        &self.tenant
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// An independent copy of the whole cloud, acting for the same tenant.
    pub fn fork(&self) -> Self {
        Self {
            engine: self.engine.fork(),
            tenant: Arc::clone(&self.tenant),
        }
    }

    /// Serves this tenant's exports over NBD on `addr` (for tests; the
    /// `volume-sim` binary has `--nbd-listen`): its attached volumes
    /// read-write under their ids, its snapshots (`snapshot/<id>`) and
    /// backups (`backup/<id>`) read-only, with the default
    /// [`NbdLimits`](crate::nbd::NbdLimits). See [`crate::nbd`].
    ///
    /// # Errors
    /// When `addr` cannot be bound.
    pub async fn serve_nbd(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<crate::nbd::NbdServer> {
        let source = crate::nbd::ExportSource::new(self.engine.clone(), [&*self.tenant]);
        crate::nbd::NbdServer::bind(
            addr,
            crate::nbd::NbdExports::new().with(source),
            crate::nbd::NbdLimits::default(),
        )
        .await
    }

    // ----- clock, faults, quotas, instances -----------------------------

    /// Moves the simulated clock forward.
    pub fn advance(&self, by: Duration) {
        self.engine.advance(by);
    }

    /// Moves the clock to the next transition. `false` when none is in flight.
    pub fn step(&self) -> bool {
        self.engine.step()
    }

    /// Runs every transition in flight to its end.
    pub fn run_until_quiet(&self) -> Duration {
        self.engine.run_until_quiet()
    }

    /// Scripts a fault.
    pub fn inject(&self, rule: FaultRule) {
        self.engine.inject(rule);
    }

    /// Every fault injected so far.
    pub fn injected(&self) -> Vec<Injected> {
        self.engine.injected()
    }

    /// Sets this tenant's quota.
    pub fn set_quota(&self, quota: Quota) {
        self.engine.with(|c| c.set_quota(&self.tenant, quota));
    }

    /// What this tenant holds against its quota.
    pub fn quota_usage(&self) -> QuotaUsage {
        self.engine.with(|c| c.quota_usage(&self.tenant))
    }

    /// Adds an instance in `region`.
    pub fn add_instance(&self, region: &RegionId, name: &str) -> Instance {
        self.engine
            .with(|c| c.add_instance(&self.tenant, region, name, InstanceState::Running))
    }

    /// Starts or stops an instance.
    pub fn set_instance_state(&self, id: &InstanceId, state: InstanceState) -> Result<Instance> {
        self.engine
            .with(|c| c.set_instance_state(&self.tenant, id, state))
    }

    /// Byte accounting over everything this tenant holds.
    pub fn usage(&self) -> Usage {
        self.engine.usage(&self.tenant)
    }

    // ----- data plane ------------------------------------------------------

    /// Reads `buf.len()` bytes of a volume at `offset`.
    pub async fn read_at(&self, id: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<()> {
        let fault = self.before(SimOp::Read).await?;
        self.engine.read_at(&self.tenant, id, offset, buf)?;
        after(SimOp::Read, fault, ())
    }

    /// Writes `data` into a volume at `offset`.
    pub async fn write_at(&self, id: &VolumeId, offset: u64, data: &[u8]) -> Result<()> {
        let fault = self.before(SimOp::Write).await?;
        self.engine.write_at(&self.tenant, id, offset, data)?;
        after(SimOp::Write, fault, ())
    }

    /// Discards `len` bytes at `offset`: they read as zeros, whole chunks are freed.
    pub async fn discard(&self, id: &VolumeId, offset: u64, len: u64) -> Result<()> {
        let fault = self.before(SimOp::Write).await?;
        self.engine.discard(&self.tenant, id, offset, len)?;
        after(SimOp::Write, fault, ())
    }

    /// Reads a snapshot's bytes.
    pub async fn read_snapshot_at(
        &self,
        id: &SnapshotId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<()> {
        let fault = self.before(SimOp::Read).await?;
        self.engine
            .read_snapshot_at(&self.tenant, id, offset, buf)?;
        after(SimOp::Read, fault, ())
    }

    /// Reads a backup's bytes.
    pub async fn read_backup_at(&self, id: &BackupId, offset: u64, buf: &mut [u8]) -> Result<()> {
        let fault = self.before(SimOp::Read).await?;
        self.engine.read_backup_at(&self.tenant, id, offset, buf)?;
        after(SimOp::Read, fault, ())
    }

    // ----- fault plumbing --------------------------------------------------

    /// Applies the faults that act before an operation (latency, errors,
    /// rate limits) and returns the one the operation itself must see.
    async fn before(&self, op: SimOp) -> Result<Option<Fault>> {
        match self.engine.decide_fault(op) {
            // The usual case, kept free of the latency branch's timer.
            None => Ok(None),
            Some(fault) => self.with_fault(fault).await,
        }
    }

    /// [`before`](Self::before) once a fault was drawn.
    async fn with_fault(&self, fault: Fault) -> Result<Option<Fault>> {
        let fault = Some(fault);
        match &fault {
            Some(Fault::Latency(d)) => tokio::time::sleep(*d).await,
            Some(Fault::ErrorBefore { status, message }) => {
                return Err(fault_error(*status, message, false));
            }
            Some(Fault::RateLimited { retry_after }) => {
                return Err(Error::RateLimited {
                    retry_after: Some(*retry_after),
                    api: Some(Box::new(ApiError::new("sim", 429, "injected rate limit"))),
                });
            }
            _ => {}
        }
        Ok(fault)
    }

    /// Runs one control-plane operation with its faults.
    async fn run<T>(
        &self,
        op: SimOp,
        f: impl FnOnce(&mut Control, &str, Option<&Fault>) -> Result<T>,
    ) -> Result<T> {
        let fault = self.before(op).await?;
        let out = self.engine.with(|c| f(c, &self.tenant, fault.as_ref()))?;
        after(op, fault, out)
    }
}

/// Applies the faults that act after an operation took effect.
fn after<T>(op: SimOp, fault: Option<Fault>, out: T) -> Result<T> {
    match fault {
        Some(Fault::ErrorAfter { status, message }) => {
            Err(fault_error(status, &message, op.is_mutation()))
        }
        Some(Fault::DropConnection) => Err(Error::Transport {
            message: "the simulator dropped the connection (injected)".to_owned(),
            outcome_unknown: op.is_mutation(),
            timed_out: false,
            source: None,
        }),
        _ => Ok(out),
    }
}

fn fault_error(status: u16, message: &str, after_change: bool) -> Error {
    let api = ApiError::new("sim", status, message).with_outcome_unknown(after_change);
    Error::from_status(api, volume_core::ResourceKind::Other, "", None)
}

#[async_trait]
impl BlockStorage for Sim {
    fn capabilities(&self) -> Capabilities {
        self.engine.with(|c| c.policy().capabilities())
    }

    async fn list_volumes(
        &self,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        self.run(SimOp::ListVolumes, |c, t, _| c.list_volumes(t, query, page))
            .await
    }

    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.run(SimOp::GetVolume, |c, t, _| c.get_volume(t, id))
            .await
    }

    async fn create_volume(&self, request: &CreateVolume) -> Result<Volume> {
        idempotency::create_volume(self, request, || {
            self.run(SimOp::CreateVolume, |c, t, f| {
                c.create_volume(t, request, f)
            })
        })
        .await
    }

    async fn update_volume(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        self.run(SimOp::UpdateVolume, |c, t, _| {
            c.update_volume(t, id, request)
        })
        .await
    }

    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        self.run(SimOp::DeleteVolume, |c, t, f| c.delete_volume(t, id, f))
            .await
    }

    async fn attach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        self.run(SimOp::AttachVolume, |c, t, f| {
            c.attach_volume(t, id, instance, f)
        })
        .await
    }

    async fn detach_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.run(SimOp::DetachVolume, |c, t, f| c.detach_volume(t, id, f))
            .await
    }

    async fn resize_volume(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        self.run(SimOp::ResizeVolume, |c, t, f| {
            c.resize_volume(t, id, new_size, f)
        })
        .await
    }

    async fn clone_volume(&self, id: &VolumeId, request: &CloneVolume) -> Result<Volume> {
        self.run(SimOp::CloneVolume, |c, t, f| {
            c.clone_volume(t, id, request, f)
        })
        .await
    }

    async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        idempotency::create_snapshot(self, request, || {
            self.run(SimOp::CreateSnapshot, |c, t, f| {
                c.create_snapshot(t, request, f)
            })
        })
        .await
    }

    async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.run(SimOp::GetSnapshot, |c, t, _| c.get_snapshot(t, id))
            .await
    }

    async fn list_snapshots(
        &self,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        self.run(SimOp::ListSnapshots, |c, t, _| {
            c.list_snapshots(t, query, page)
        })
        .await
    }

    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        self.run(SimOp::DeleteSnapshot, |c, t, f| c.delete_snapshot(t, id, f))
            .await
    }

    async fn create_backup(&self, request: &CreateBackup) -> Result<Backup> {
        idempotency::create_backup(self, request, || {
            self.run(SimOp::CreateBackup, |c, t, f| {
                c.create_backup(t, request, f)
            })
        })
        .await
    }

    async fn get_backup(&self, id: &BackupId) -> Result<Backup> {
        self.run(SimOp::GetBackup, |c, t, _| c.get_backup(t, id))
            .await
    }

    async fn list_backups(
        &self,
        query: &ListBackups,
        page: Option<&PageToken>,
    ) -> Result<Page<Backup>> {
        self.run(SimOp::ListBackups, |c, t, _| c.list_backups(t, query, page))
            .await
    }

    async fn delete_backup(&self, id: &BackupId) -> Result<()> {
        self.run(SimOp::DeleteBackup, |c, t, f| c.delete_backup(t, id, f))
            .await
    }

    async fn restore_backup(&self, id: &BackupId, request: &RestoreBackup) -> Result<Volume> {
        self.run(SimOp::RestoreBackup, |c, t, f| {
            c.restore_backup(t, id, request, f)
        })
        .await
    }

    async fn list_instances(&self, page: Option<&PageToken>) -> Result<Page<Instance>> {
        self.run(SimOp::ListInstances, |c, t, _| {
            c.list_instances(t, page, None)
        })
        .await
    }
}
