//! The control plane: tenants, regions, instances, volumes, snapshots,
//! backups, quotas and the transitions in flight.
//!
//! Every change is checked against volume-core's lifecycle table first, then
//! against the [`Policy`], then against quotas, and only then applied, so a
//! refused operation changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use volume_core::state::{
    check_backup, check_snapshot, check_volume, BackupOp, SnapshotOp, Transition, VolumeOp,
};
use volume_core::{
    check_grow, Attachment, Backup, BackupId, BackupState, CloneVolume, CreateBackup,
    CreateSnapshot, CreateVolume, Error, Instance, InstanceId, InstanceState, ListBackups,
    ListSnapshots, ListVolumes, Page, PageToken, RegionId, ResourceKind, RestoreBackup, Size,
    Snapshot, SnapshotId, SnapshotState, UpdateVolume, Volume, VolumeId, VolumeSource, VolumeState,
};

use super::clock::Clock;
use super::fault::{Fault, FaultPlan};
use super::policy::{AttachedResize, IdStyle, Policy};
use super::store::Image;

type Result<T, E = Error> = std::result::Result<T, E>;

/// A volume's bytes, locked on their own so that data-plane traffic on two
/// volumes does not contend on the control plane's lock.
pub(crate) type SharedImage = Arc<Mutex<Image>>;

/// Every image a tenant holds, labelled: volumes, snapshots, backups.
pub(crate) type TenantImages = (
    Vec<(VolumeId, Image)>,
    Vec<(SnapshotId, Image)>,
    Vec<(BackupId, Image)>,
);

/// Per-tenant limits. `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Quota {
    /// The most volumes.
    pub volumes: Option<u64>,
    /// The most GiB of volumes in all.
    pub gigabytes: Option<u64>,
    /// The most snapshots.
    pub snapshots: Option<u64>,
    /// The most backups.
    pub backups: Option<u64>,
}

impl Quota {
    /// No limits.
    pub const fn unlimited() -> Self {
        Self {
            volumes: None,
            gigabytes: None,
            snapshots: None,
            backups: None,
        }
    }

    /// At most `n` volumes.
    pub const fn with_volumes(mut self, n: u64) -> Self {
        self.volumes = Some(n);
        self
    }

    /// At most `n` GiB of volumes.
    pub const fn with_gigabytes(mut self, n: u64) -> Self {
        self.gigabytes = Some(n);
        self
    }

    /// At most `n` snapshots.
    pub const fn with_snapshots(mut self, n: u64) -> Self {
        self.snapshots = Some(n);
        self
    }

    /// At most `n` backups.
    pub const fn with_backups(mut self, n: u64) -> Self {
        self.backups = Some(n);
        self
    }
}

/// What a tenant holds against its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QuotaUsage {
    /// Volumes.
    pub volumes: u64,
    /// GiB of volumes.
    pub gigabytes: u64,
    /// Snapshots.
    pub snapshots: u64,
    /// Backups.
    pub backups: u64,
}

#[derive(Debug, Clone)]
struct VolumeRec {
    tenant: String,
    volume: Volume,
    data: SharedImage,
    seq: u64,
}

#[derive(Debug, Clone)]
struct SnapshotRec {
    tenant: String,
    snapshot: Snapshot,
    data: Image,
    seq: u64,
}

#[derive(Debug, Clone)]
struct BackupRec {
    tenant: String,
    backup: Backup,
    data: Image,
    seq: u64,
}

#[derive(Debug, Clone)]
struct InstanceRec {
    tenant: String,
    instance: Instance,
}

#[derive(Debug, Clone)]
struct TenantRec {
    quota: Quota,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Volume(u64),
    Snapshot(u64),
    Backup(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    /// The volume ends in this state.
    Volume(VolumeState),
    /// The volume ends available with no attachments.
    Detached,
    /// The volume is gone.
    RemoveVolume,
    /// The snapshot ends in this state.
    Snapshot(SnapshotState),
    /// The snapshot is gone.
    RemoveSnapshot,
    /// The backup ends in this state.
    Backup(BackupState),
    /// The backup is gone.
    RemoveBackup,
}

/// How the simulator starts: the policy, regions and seeded instances.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// The provider rules.
    pub policy: Policy,
    /// The regions (the first is the default for creates without one).
    pub regions: Vec<RegionId>,
    /// Instances seeded per region for each new tenant (the last of them
    /// stopped when there are two or more).
    pub instances_per_region: u32,
    /// The quota of each new tenant.
    pub quota: Quota,
    /// The seed for ids and faults.
    pub seed: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            regions: ["sim-1", "sim-2"]
                .into_iter()
                .filter_map(|r| RegionId::new(r).ok())
                .collect(),
            instances_per_region: 3,
            quota: Quota::unlimited(),
            seed: 0x5eed,
        }
    }
}

/// The control plane's state. Reach it through
/// [`Engine::with`](super::Engine::with), which holds the lock, brings due
/// transitions up to date first, and lets go after.
#[derive(Debug)]
pub struct Control {
    pub(crate) policy: Policy,
    regions: Vec<RegionId>,
    instances_per_region: u32,
    default_quota: Quota,
    seed: u64,
    pub(crate) clock: Clock,
    pub(crate) faults: FaultPlan,
    next_seq: u64,
    tenants: HashMap<String, TenantRec>,
    volumes: BTreeMap<u64, VolumeRec>,
    snapshots: BTreeMap<u64, SnapshotRec>,
    backups: BTreeMap<u64, BackupRec>,
    instances: BTreeMap<u64, InstanceRec>,
    ids: HashMap<String, u64>,
    pending: BTreeMap<(Duration, u64), (Target, Effect)>,
}

impl Clone for Control {
    /// A deep copy: volume data gets locks of its own, and shares chunks
    /// copy-on-write with the original.
    fn clone(&self) -> Self {
        let volumes = self
            .volumes
            .iter()
            .map(|(seq, rec)| {
                let image = lock_image(&rec.data).clone();
                let mut rec = rec.clone();
                rec.data = Arc::new(Mutex::new(image));
                (*seq, rec)
            })
            .collect();
        Self {
            policy: self.policy.clone(),
            regions: self.regions.clone(),
            instances_per_region: self.instances_per_region,
            default_quota: self.default_quota,
            seed: self.seed,
            clock: self.clock.clone(),
            faults: self.faults.clone(),
            next_seq: self.next_seq,
            tenants: self.tenants.clone(),
            volumes,
            snapshots: self.snapshots.clone(),
            backups: self.backups.clone(),
            instances: self.instances.clone(),
            ids: self.ids.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// Locks a volume's data. A panic while it was held cannot leave the image
/// half-written in a way later readers would trip on (writes are
/// chunk-by-chunk), so a poisoned lock is taken over rather than spread.
pub(crate) fn lock_image(data: &SharedImage) -> std::sync::MutexGuard<'_, Image> {
    data.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn bytes_of(size: Size) -> Result<u64> {
    size.bytes()
        .ok_or_else(|| Error::invalid_input("size", format!("{size} is too large")))
}

/// A 64-bit mix (splitmix64), for UUID-shaped ids that repeat from run to run.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Control {
    pub(crate) fn new(config: EngineConfig, clock: Clock) -> Self {
        Self {
            policy: config.policy,
            regions: config.regions,
            instances_per_region: config.instances_per_region,
            default_quota: config.quota,
            seed: config.seed,
            clock,
            faults: FaultPlan::new(config.seed),
            next_seq: 1,
            tenants: HashMap::new(),
            volumes: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            backups: BTreeMap::new(),
            instances: BTreeMap::new(),
            ids: HashMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The volume types (the first is the default).
    pub fn volume_types(&self) -> &[&'static str] {
        self.policy.volume_types
    }

    /// The regions.
    pub fn regions(&self) -> &[RegionId] {
        &self.regions
    }

    /// Simulated time since the epoch.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// The wall-clock form of a simulated instant.
    pub fn system_time(&self, at: Duration) -> std::time::SystemTime {
        self.clock.system_time(at)
    }

    // ----- ids and tenants -------------------------------------------------

    fn mint(&mut self, prefix: &str) -> (u64, String) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = match self.policy.id_style {
            IdStyle::Prefixed => format!("{prefix}-{seq}"),
            IdStyle::Numeric => (1000 + seq).to_string(),
            IdStyle::Uuid => {
                let hi = mix(self.seed ^ seq);
                let lo = mix(hi ^ seq.rotate_left(32));
                format!(
                    "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                    hi >> 32,
                    (hi >> 16) & 0xffff,
                    hi & 0x0fff,
                    0x8000 | ((lo >> 48) & 0x3fff),
                    lo & 0xffff_ffff_ffff
                )
            }
        };
        self.ids.insert(id.clone(), seq);
        (seq, id)
    }

    /// Makes sure `tenant` exists, seeding its instances the first time.
    pub fn ensure_tenant(&mut self, tenant: &str) {
        if self.tenants.contains_key(tenant) {
            return;
        }
        self.tenants.insert(
            tenant.to_owned(),
            TenantRec {
                quota: self.default_quota,
            },
        );
        let per = self.instances_per_region;
        for region in self.regions.clone() {
            for n in 1..=per {
                let state = if per >= 2 && n == per {
                    InstanceState::Stopped
                } else {
                    InstanceState::Running
                };
                self.add_instance(tenant, &region, &format!("{region}-vm{n}"), state);
            }
        }
    }

    /// Sets `tenant`'s quota.
    pub fn set_quota(&mut self, tenant: &str, quota: Quota) {
        self.ensure_tenant(tenant);
        if let Some(t) = self.tenants.get_mut(tenant) {
            t.quota = quota;
        }
    }

    /// What `tenant` holds against its quota.
    pub fn quota_usage(&self, tenant: &str) -> QuotaUsage {
        let mut u = QuotaUsage::default();
        for rec in self.volumes.values().filter(|r| r.tenant == tenant) {
            u.volumes += 1;
            u.gigabytes += rec.volume.size.as_gib();
        }
        u.snapshots = self
            .snapshots
            .values()
            .filter(|r| r.tenant == tenant)
            .count() as u64;
        u.backups = self.backups.values().filter(|r| r.tenant == tenant).count() as u64;
        u
    }

    fn check_quota(
        &self,
        tenant: &str,
        more_volumes: u64,
        more_gib: u64,
        more_snapshots: u64,
        more_backups: u64,
    ) -> Result<()> {
        let quota = self
            .tenants
            .get(tenant)
            .map(|t| t.quota)
            .unwrap_or_default();
        let used = self.quota_usage(tenant);
        let over = |limit: Option<u64>, used: u64, more: u64, what: &str| -> Result<()> {
            match limit {
                Some(limit) if more > 0 && used.saturating_add(more) > limit => {
                    Err(Error::quota_exceeded(format!(
                        "{what}: {used} used of {limit}, {more} more requested"
                    )))
                }
                _ => Ok(()),
            }
        };
        over(quota.volumes, used.volumes, more_volumes, "volumes")?;
        over(quota.gigabytes, used.gigabytes, more_gib, "gigabytes")?;
        over(quota.snapshots, used.snapshots, more_snapshots, "snapshots")?;
        over(quota.backups, used.backups, more_backups, "backups")
    }

    // ----- instances -------------------------------------------------------

    /// Adds an instance to `tenant` in `region`.
    pub fn add_instance(
        &mut self,
        tenant: &str,
        region: &RegionId,
        name: &str,
        state: InstanceState,
    ) -> Instance {
        let (seq, id) = self.mint("inst");
        let instance = Instance::new(
            InstanceId::new(id).unwrap_or_else(|_| unreachable!("minted ids are valid")),
            name,
            region.clone(),
            state,
        );
        self.instances.insert(
            seq,
            InstanceRec {
                tenant: tenant.to_owned(),
                instance: instance.clone(),
            },
        );
        instance
    }

    /// Starts or stops an instance.
    pub fn set_instance_state(
        &mut self,
        tenant: &str,
        id: &InstanceId,
        state: InstanceState,
    ) -> Result<Instance> {
        let rec = self.instance_rec_mut(tenant, id)?;
        rec.instance.raw_state = state.to_string();
        rec.instance.state = state;
        Ok(rec.instance.clone())
    }

    /// One instance.
    pub fn instance(&self, tenant: &str, id: &InstanceId) -> Result<Instance> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.instances.get(&seq))
            .filter(|r| r.tenant == tenant)
            .map(|r| r.instance.clone())
            .ok_or_else(|| Error::not_found(ResourceKind::Instance, id.as_str()))
    }

    fn instance_rec_mut(&mut self, tenant: &str, id: &InstanceId) -> Result<&mut InstanceRec> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.instances.get_mut(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Instance, id.as_str()))
    }

    /// One page of `tenant`'s instances.
    pub fn list_instances(
        &self,
        tenant: &str,
        page: Option<&PageToken>,
        page_size: Option<u32>,
    ) -> Result<Page<Instance>> {
        paged(
            self.instances
                .range(self.after(page)?..)
                .map(|(s, r)| (*s, r))
                .filter(|(_, r)| r.tenant == tenant),
            self.page_size(page_size),
            |r| r.instance.clone(),
        )
    }

    /// The volumes attached to an instance.
    pub fn volumes_of_instance(&self, tenant: &str, id: &InstanceId) -> Result<Vec<Volume>> {
        self.instance(tenant, id)?;
        Ok(self
            .volumes
            .values()
            .filter(|r| {
                r.tenant == tenant && r.volume.attachments.iter().any(|a| a.instance == *id)
            })
            .map(|r| r.volume.clone())
            .collect())
    }

    // ----- lookups ---------------------------------------------------------

    fn seq_of(&self, id: &str) -> Option<u64> {
        self.ids.get(id).copied()
    }

    fn volume_rec(&self, tenant: &str, id: &VolumeId) -> Result<&VolumeRec> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.volumes.get(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Volume, id.as_str()))
    }

    fn volume_rec_mut(&mut self, tenant: &str, id: &VolumeId) -> Result<&mut VolumeRec> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.volumes.get_mut(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Volume, id.as_str()))
    }

    fn snapshot_rec(&self, tenant: &str, id: &SnapshotId) -> Result<&SnapshotRec> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.snapshots.get(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Snapshot, id.as_str()))
    }

    fn backup_rec(&self, tenant: &str, id: &BackupId) -> Result<&BackupRec> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.backups.get(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Backup, id.as_str()))
    }

    /// A volume's data, for the data plane (which locks it on its own).
    pub(crate) fn volume_data(&self, tenant: &str, id: &VolumeId) -> Result<SharedImage> {
        self.volume_rec(tenant, id).map(|r| Arc::clone(&r.data))
    }

    /// A copy of a snapshot's data (O(1): chunks are shared).
    pub(crate) fn snapshot_data(&self, tenant: &str, id: &SnapshotId) -> Result<Image> {
        self.snapshot_rec(tenant, id).map(|r| r.data.clone())
    }

    /// A copy of a backup's data (O(1)).
    pub(crate) fn backup_data(&self, tenant: &str, id: &BackupId) -> Result<Image> {
        self.backup_rec(tenant, id).map(|r| r.data.clone())
    }

    /// Every image `tenant` holds, labelled, for accounting.
    pub(crate) fn images(&self, tenant: &str) -> TenantImages {
        let v = self
            .volumes
            .values()
            .filter(|r| r.tenant == tenant)
            .map(|r| (r.volume.id.clone(), lock_image(&r.data).clone()))
            .collect();
        let s = self
            .snapshots
            .values()
            .filter(|r| r.tenant == tenant)
            .map(|r| (r.snapshot.id.clone(), r.data.clone()))
            .collect();
        let b = self
            .backups
            .values()
            .filter(|r| r.tenant == tenant)
            .map(|r| (r.backup.id.clone(), r.data.clone()))
            .collect();
        (v, s, b)
    }

    // ----- paging ----------------------------------------------------------

    fn page_size(&self, asked: Option<u32>) -> usize {
        asked
            .unwrap_or(self.policy.default_page_size)
            .clamp(1, self.policy.max_page_size.max(1)) as usize
    }

    /// The first sequence number a page token asks for.
    fn after(&self, page: Option<&PageToken>) -> Result<u64> {
        match page {
            None => Ok(0),
            Some(t) => t.as_str().parse::<u64>().map_err(|_| {
                Error::invalid_input(
                    "page",
                    format!("{:?} is not a page token of this simulator", t.as_str()),
                )
            }),
        }
    }

    // ----- transitions -----------------------------------------------------

    /// Applies every transition due by now.
    pub(crate) fn settle(&mut self) {
        let now = self.clock.now();
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (target, effect) = entry.remove();
            self.apply(target, effect);
        }
    }

    /// When the next transition is due, if any is in flight.
    pub(crate) fn next_due(&self) -> Option<Duration> {
        self.pending.keys().next().map(|(due, _)| *due)
    }

    fn apply(&mut self, target: Target, effect: Effect) {
        match (target, effect) {
            (Target::Volume(seq), Effect::RemoveVolume) => {
                if let Some(rec) = self.volumes.remove(&seq) {
                    self.ids.remove(rec.volume.id.as_str());
                }
            }
            (Target::Volume(seq), Effect::Detached) => {
                if let Some(rec) = self.volumes.get_mut(&seq) {
                    rec.volume.attachments.clear();
                    set_volume_state(&mut rec.volume, VolumeState::Available);
                }
            }
            (Target::Volume(seq), Effect::Volume(state)) => {
                if let Some(rec) = self.volumes.get_mut(&seq) {
                    set_volume_state(&mut rec.volume, state);
                }
            }
            (Target::Snapshot(seq), Effect::RemoveSnapshot) => {
                if let Some(rec) = self.snapshots.remove(&seq) {
                    self.ids.remove(rec.snapshot.id.as_str());
                }
            }
            (Target::Snapshot(seq), Effect::Snapshot(state)) => {
                if let Some(rec) = self.snapshots.get_mut(&seq) {
                    rec.snapshot.raw_state = state.as_str().to_owned();
                    rec.snapshot.state = state;
                }
            }
            (Target::Backup(seq), Effect::RemoveBackup) => {
                if let Some(rec) = self.backups.remove(&seq) {
                    self.ids.remove(rec.backup.id.as_str());
                }
            }
            (Target::Backup(seq), Effect::Backup(state)) => {
                if let Some(rec) = self.backups.get_mut(&seq) {
                    rec.backup.raw_state = state.as_str().to_owned();
                    rec.backup.state = state;
                }
            }
            (target, effect) => {
                tracing::error!(
                    ?target,
                    ?effect,
                    "volume-sim: a transition does not fit its target"
                );
            }
        }
    }

    /// Ends a transition after `delay`: at once when it is zero. A `Stuck`
    /// fault leaves it in its transient state for good; `LandInError` swaps
    /// the end for `failure`.
    fn finish(
        &mut self,
        target: Target,
        delay: Duration,
        effect: Effect,
        failure: Option<Effect>,
        fault: Option<&Fault>,
    ) {
        let effect = match (fault, failure) {
            (Some(Fault::Stuck), _) => return,
            (Some(Fault::LandInError), Some(failure)) => failure,
            _ => effect,
        };
        if delay.is_zero() {
            self.apply(target, effect);
        } else {
            let due = self.clock.now().saturating_add(delay);
            let n = self.next_seq;
            self.next_seq += 1;
            self.pending.insert((due, n), (target, effect));
        }
    }

    // ----- volumes ---------------------------------------------------------

    fn check_name(&self, name: &str) -> Result<()> {
        (self.policy.name_rule)(name).map_err(|reason| Error::invalid_input("name", reason))
    }

    fn check_unique_name(&self, tenant: &str, name: &str, except: Option<u64>) -> Result<()> {
        if self.policy.unique_names
            && self
                .volumes
                .iter()
                .any(|(seq, r)| r.tenant == tenant && r.volume.name == name && Some(*seq) != except)
        {
            return Err(Error::already_exists(ResourceKind::Volume, name));
        }
        Ok(())
    }

    fn check_size(&self, size: Size) -> Result<()> {
        self.policy
            .check_size(size)
            .map_err(|reason| Error::invalid_input("size", reason))
    }

    fn unsupported(&self, operation: &'static str) -> Error {
        Error::unsupported(operation, self.policy.provider)
    }

    /// One page of `tenant`'s volumes that match `query`.
    pub fn list_volumes(
        &self,
        tenant: &str,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        paged(
            self.volumes
                .range(self.after(page)?..)
                .map(|(s, r)| (*s, r))
                .filter(|(_, r)| r.tenant == tenant && query.matches(&r.volume)),
            self.page_size(query.page_size),
            |r| r.volume.clone(),
        )
    }

    /// Every one of `tenant`'s volumes, oldest first (for fakes that filter
    /// and page in their provider's own way).
    pub fn all_volumes(&self, tenant: &str) -> Vec<Volume> {
        self.volumes
            .values()
            .filter(|r| r.tenant == tenant)
            .map(|r| r.volume.clone())
            .collect()
    }

    /// Every one of `tenant`'s instances, oldest first.
    pub fn all_instances(&self, tenant: &str) -> Vec<Instance> {
        self.instances
            .values()
            .filter(|r| r.tenant == tenant)
            .map(|r| r.instance.clone())
            .collect()
    }

    /// One volume.
    pub fn get_volume(&self, tenant: &str, id: &VolumeId) -> Result<Volume> {
        self.volume_rec(tenant, id).map(|r| r.volume.clone())
    }

    /// Creates a volume: empty, from a snapshot, a clone or from a backup.
    pub fn create_volume(
        &mut self,
        tenant: &str,
        req: &CreateVolume,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        self.ensure_tenant(tenant);
        self.check_name(&req.name)?;
        self.check_unique_name(tenant, &req.name, None)?;
        let volume_type = match &req.volume_type {
            Some(t) if self.policy.volume_types.contains(&t.as_str()) => Some(t.clone()),
            Some(t) => {
                return Err(Error::invalid_input(
                    "volume_type",
                    format!("{t:?} is not one of {:?}", self.policy.volume_types),
                ))
            }
            None => self.policy.volume_types.first().map(|t| (*t).to_owned()),
        };
        // The instance to attach to decides the region when none is given.
        let instance = match &req.attach_to {
            Some(i) => Some(self.instance(tenant, i)?),
            None => None,
        };
        // What the data starts from, and the smallest size it allows.
        let (data, source_size, source_region) = match &req.source {
            VolumeSource::Empty => (None, None, None),
            VolumeSource::Snapshot(id) => {
                if !self.policy.volume_from_snapshot {
                    return Err(self.unsupported("create_volume (from a snapshot)"));
                }
                let rec = self.snapshot_rec(tenant, id)?;
                check_snapshot(id.as_str(), &rec.snapshot.state, SnapshotOp::CreateVolume)?;
                (
                    Some(rec.data.clone()),
                    Some(rec.snapshot.size),
                    Some(rec.snapshot.region.clone()),
                )
            }
            VolumeSource::Volume(id) => {
                if !self.policy.clone {
                    return Err(self.unsupported("clone_volume"));
                }
                let rec = self.volume_rec(tenant, id)?;
                check_volume(id.as_str(), &rec.volume.state, VolumeOp::Clone)?;
                (
                    Some(lock_image(&rec.data).clone()),
                    Some(rec.volume.size),
                    Some(rec.volume.region.clone()),
                )
            }
            VolumeSource::Backup(id) => {
                if !self.policy.backups {
                    return Err(self.unsupported("restore_backup"));
                }
                let rec = self.backup_rec(tenant, id)?;
                check_backup(id.as_str(), &rec.backup.state, BackupOp::Restore)?;
                (
                    Some(rec.data.clone()),
                    Some(rec.backup.size),
                    Some(rec.backup.region.clone()),
                )
            }
            other => {
                return Err(Error::invalid_input(
                    "source",
                    format!("{other:?} is not known to this simulator"),
                ))
            }
        };
        let size = match (req.size, source_size, self.policy.default_size) {
            (Some(s), _, _) => s,
            (None, Some(s), _) => s,
            (None, None, Some(s)) => s,
            (None, None, None) => return Err(Error::invalid_input("size", "is required")),
        };
        self.check_size(size)?;
        if let Some(min) = source_size {
            if size < min {
                return Err(Error::invalid_input(
                    "size",
                    format!("must be at least the source's {min}, got {size}"),
                ));
            }
            if size > min
                && matches!(req.source, VolumeSource::Snapshot(_))
                && !self.policy.volume_from_snapshot_larger
            {
                return Err(Error::invalid_input(
                    "size",
                    format!("must equal the snapshot's {min}"),
                ));
            }
        }
        let region =
            match (&req.region, &instance, &source_region) {
                (Some(r), _, _) => r.clone(),
                (None, Some(i), _) => i.region.clone(),
                (None, None, Some(r)) => r.clone(),
                (None, None, None) => self.regions.first().cloned().ok_or_else(|| {
                    Error::invalid_input("region", "the simulator has no regions")
                })?,
            };
        if !self.regions.contains(&region) {
            return Err(Error::invalid_input(
                "region",
                format!("{region} is not a region of this simulator"),
            ));
        }
        if let Some(r) = &source_region {
            if *r != region {
                return Err(Error::invalid_input(
                    "region",
                    format!("the source is in {r}, not {region}"),
                ));
            }
        }
        if let Some(i) = &instance {
            self.check_attachable(tenant, i, &region)?;
        }
        if !self.policy.labels && !req.labels.is_empty() {
            return Err(Error::invalid_input(
                "labels",
                format!("{} does not keep labels", self.policy.provider),
            ));
        }
        self.check_quota(tenant, 1, size.as_gib(), 0, 0)?;

        // Every check passed: from here on nothing can fail.
        let bytes = bytes_of(size)?;
        let mut image = data.unwrap_or_else(|| Image::new(0));
        image.resize(bytes);
        let (seq, id) = self.mint("vol");
        let id = VolumeId::new(id).unwrap_or_else(|_| unreachable!("minted ids are valid"));
        let mut volume = Volume::new(id, req.name.clone(), size, region, VolumeState::Creating);
        volume.labels = req.labels.clone();
        volume.source = req.source.clone();
        volume.volume_type = volume_type;
        volume.created_at = Some(self.clock.system_time(self.clock.now()));
        let after = if let Some(i) = &instance {
            volume.attachments.push(Attachment::new(i.id.clone()));
            VolumeState::InUse
        } else {
            VolumeState::Available
        };
        self.volumes.insert(
            seq,
            VolumeRec {
                tenant: tenant.to_owned(),
                volume,
                data: Arc::new(Mutex::new(image)),
                seq,
            },
        );
        let delay = match req.source {
            VolumeSource::Backup(_) => self.policy.delays.restore,
            _ => self.policy.delays.create,
        };
        self.finish(
            Target::Volume(seq),
            delay,
            Effect::Volume(after),
            Some(Effect::Volume(VolumeState::Error)),
            fault,
        );
        Ok(self.volumes[&seq].volume.clone())
    }

    fn check_attachable(&self, tenant: &str, instance: &Instance, region: &RegionId) -> Result<()> {
        if instance.region != *region {
            return Err(Error::invalid_input(
                "instance_id",
                format!(
                    "instance {} is in {}, the volume in {region}",
                    instance.id, instance.region
                ),
            ));
        }
        let attached = self
            .volumes
            .values()
            .filter(|r| {
                r.tenant == tenant
                    && r.volume
                        .attachments
                        .iter()
                        .any(|a| a.instance == instance.id)
            })
            .count();
        if attached >= self.policy.max_attachments_per_instance as usize {
            return Err(Error::invalid_input(
                "instance_id",
                format!(
                    "instance {} has the maximum of {} volumes attached",
                    instance.id, self.policy.max_attachments_per_instance
                ),
            ));
        }
        Ok(())
    }

    /// Renames or relabels a volume.
    pub fn update_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        req: &UpdateVolume,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        check_volume(id.as_str(), &rec.volume.state, VolumeOp::Update)?;
        if let Some(name) = &req.name {
            self.check_name(name)?;
            self.check_unique_name(tenant, name, Some(seq))?;
        }
        if let Some(labels) = &req.labels {
            if !self.policy.labels && !labels.is_empty() {
                return Err(Error::invalid_input(
                    "labels",
                    format!("{} does not keep labels", self.policy.provider),
                ));
            }
        }
        let rec = self.volume_rec_mut(tenant, id)?;
        if let Some(name) = &req.name {
            rec.volume.name.clone_from(name);
        }
        if let Some(labels) = &req.labels {
            rec.volume.labels.clone_from(labels);
        }
        Ok(rec.volume.clone())
    }

    /// Deletes a volume.
    pub fn delete_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        fault: Option<&Fault>,
    ) -> Result<()> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        let t = check_volume(id.as_str(), &rec.volume.state, VolumeOp::Delete)?;
        // A volume that failed into an error state can still hold an
        // attachment; deleting it would orphan that, so it is refused too.
        if !rec.volume.attachments.is_empty() {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                rec.volume.state.as_str(),
                VolumeOp::Delete.name(),
            ));
        }
        if !self.policy.delete_with_snapshots {
            let n = self
                .snapshots
                .values()
                .filter(|s| s.tenant == tenant && s.snapshot.volume_id.as_ref() == Some(id))
                .count();
            if n > 0 {
                return Err(Error::InvalidState {
                    kind: ResourceKind::Volume,
                    id: id.to_string(),
                    state: format!("{} with {n} snapshot(s)", rec.volume.state),
                    operation: VolumeOp::Delete.name(),
                    api: None,
                });
            }
        }
        self.set_during(seq, &t);
        let delay = self.policy.delays.delete;
        self.finish(
            Target::Volume(seq),
            delay,
            Effect::RemoveVolume,
            Some(Effect::Volume(VolumeState::ErrorDeleting)),
            fault,
        );
        Ok(())
    }

    fn set_during(&mut self, seq: u64, t: &Transition<VolumeState>) {
        if let Some(rec) = self.volumes.get_mut(&seq) {
            set_volume_state(&mut rec.volume, t.during.clone());
        }
    }

    /// Attaches a volume to an instance.
    pub fn attach_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        instance: &InstanceId,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        let region = rec.volume.region.clone();
        let t = check_volume(id.as_str(), &rec.volume.state, VolumeOp::Attach)?;
        let inst = self.instance(tenant, instance)?;
        self.check_attachable(tenant, &inst, &region)?;
        self.set_during(seq, &t);
        if let Some(rec) = self.volumes.get_mut(&seq) {
            rec.volume
                .attachments
                .push(Attachment::new(instance.clone()));
        }
        let delay = self.policy.delays.attach;
        self.finish(
            Target::Volume(seq),
            delay,
            Effect::Volume(t.after),
            Some(Effect::Volume(VolumeState::Error)),
            fault,
        );
        Ok(self.volumes[&seq].volume.clone())
    }

    /// Detaches a volume.
    pub fn detach_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        let t = check_volume(id.as_str(), &rec.volume.state, VolumeOp::Detach)?;
        if self.policy.detach_needs_stopped {
            for a in &rec.volume.attachments {
                let inst = self.instance(tenant, &a.instance)?;
                if inst.state == InstanceState::Running {
                    return Err(Error::invalid_state(
                        ResourceKind::Instance,
                        inst.id.as_str(),
                        inst.raw_state,
                        VolumeOp::Detach.name(),
                    ));
                }
            }
        }
        self.set_during(seq, &t);
        let delay = self.policy.delays.detach;
        self.finish(
            Target::Volume(seq),
            delay,
            Effect::Detached,
            Some(Effect::Volume(VolumeState::Error)),
            fault,
        );
        Ok(self.volumes[&seq].volume.clone())
    }

    /// Grows a volume.
    pub fn resize_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        new_size: Size,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        check_grow(rec.volume.size, new_size)?;
        self.check_size(new_size)?;
        let t = check_volume(id.as_str(), &rec.volume.state, VolumeOp::Resize)?;
        if rec.volume.state == VolumeState::InUse {
            match self.policy.attached_resize {
                AttachedResize::Allowed => {}
                AttachedResize::Refused => {
                    return Err(Error::invalid_state(
                        ResourceKind::Volume,
                        id.as_str(),
                        rec.volume.state.as_str(),
                        VolumeOp::Resize.name(),
                    ));
                }
                AttachedResize::StoppedInstanceOnly => {
                    for a in &rec.volume.attachments {
                        let inst = self.instance(tenant, &a.instance)?;
                        if inst.state != InstanceState::Stopped {
                            return Err(Error::invalid_state(
                                ResourceKind::Instance,
                                inst.id.as_str(),
                                inst.raw_state,
                                VolumeOp::Resize.name(),
                            ));
                        }
                    }
                }
            }
        }
        let grow = new_size.as_gib() - rec.volume.size.as_gib();
        self.check_quota(tenant, 0, grow, 0, 0)?;
        let bytes = bytes_of(new_size)?;
        let data = Arc::clone(&rec.data);
        lock_image(&data).resize(bytes);
        if let Some(rec) = self.volumes.get_mut(&seq) {
            rec.volume.size = new_size;
        }
        self.set_during(seq, &t);
        let delay = self.policy.delays.resize;
        self.finish(
            Target::Volume(seq),
            delay,
            Effect::Volume(t.after),
            Some(Effect::Volume(VolumeState::ErrorResizing)),
            fault,
        );
        Ok(self.volumes[&seq].volume.clone())
    }

    /// Clones a volume.
    pub fn clone_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        req: &CloneVolume,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        if !self.policy.clone {
            return Err(self.unsupported("clone_volume"));
        }
        let rec = self.volume_rec(tenant, id)?;
        let create = CreateVolume::new(req.name.clone(), rec.volume.size)
            .with_region(rec.volume.region.clone())
            .with_source(VolumeSource::Volume(id.clone()))
            .with_labels(req.labels.clone());
        let create = match &rec.volume.volume_type {
            Some(t) => create.with_volume_type(t.clone()),
            None => create,
        };
        self.create_volume(tenant, &create, fault)
    }

    // ----- snapshots -------------------------------------------------------

    /// Takes a snapshot.
    pub fn create_snapshot(
        &mut self,
        tenant: &str,
        req: &CreateSnapshot,
        fault: Option<&Fault>,
    ) -> Result<Snapshot> {
        if !self.policy.snapshots {
            return Err(self.unsupported("create_snapshot"));
        }
        self.check_name(&req.name)?;
        let rec = self.volume_rec(tenant, &req.volume_id)?;
        check_volume(
            req.volume_id.as_str(),
            &rec.volume.state,
            VolumeOp::Snapshot,
        )?;
        if !self.policy.labels && !req.labels.is_empty() {
            return Err(Error::invalid_input(
                "labels",
                format!("{} does not keep labels", self.policy.provider),
            ));
        }
        self.check_quota(tenant, 0, 0, 1, 0)?;
        let data = lock_image(&rec.data).clone();
        let (size, region) = (rec.volume.size, rec.volume.region.clone());
        let (seq, id) = self.mint("snap");
        let id = SnapshotId::new(id).unwrap_or_else(|_| unreachable!("minted ids are valid"));
        let mut snapshot = Snapshot::new(
            id,
            req.name.clone(),
            Some(req.volume_id.clone()),
            size,
            region,
            SnapshotState::Creating,
        );
        snapshot.labels = req.labels.clone();
        snapshot.created_at = Some(self.clock.system_time(self.clock.now()));
        self.snapshots.insert(
            seq,
            SnapshotRec {
                tenant: tenant.to_owned(),
                snapshot,
                data,
                seq,
            },
        );
        let delay = self.policy.delays.snapshot;
        self.finish(
            Target::Snapshot(seq),
            delay,
            Effect::Snapshot(SnapshotState::Available),
            Some(Effect::Snapshot(SnapshotState::Error)),
            fault,
        );
        Ok(self.snapshots[&seq].snapshot.clone())
    }

    /// One snapshot.
    pub fn get_snapshot(&self, tenant: &str, id: &SnapshotId) -> Result<Snapshot> {
        if !self.policy.snapshots {
            return Err(self.unsupported("get_snapshot"));
        }
        self.snapshot_rec(tenant, id).map(|r| r.snapshot.clone())
    }

    /// One page of snapshots.
    pub fn list_snapshots(
        &self,
        tenant: &str,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        if !self.policy.snapshots {
            return Err(self.unsupported("list_snapshots"));
        }
        paged(
            self.snapshots
                .range(self.after(page)?..)
                .map(|(s, r)| (*s, r))
                .filter(|(_, r)| {
                    r.tenant == tenant
                        && query
                            .volume_id
                            .as_ref()
                            .is_none_or(|v| r.snapshot.volume_id.as_ref() == Some(v))
                }),
            self.page_size(query.page_size),
            |r| r.snapshot.clone(),
        )
    }

    /// Deletes a snapshot.
    pub fn delete_snapshot(
        &mut self,
        tenant: &str,
        id: &SnapshotId,
        fault: Option<&Fault>,
    ) -> Result<()> {
        if !self.policy.snapshots {
            return Err(self.unsupported("delete_snapshot"));
        }
        let rec = self.snapshot_rec(tenant, id)?;
        let seq = rec.seq;
        let t = check_snapshot(id.as_str(), &rec.snapshot.state, SnapshotOp::Delete)?;
        if let Some(rec) = self.snapshots.get_mut(&seq) {
            rec.snapshot.raw_state = t.during.as_str().to_owned();
            rec.snapshot.state = t.during;
        }
        let delay = self.policy.delays.delete;
        self.finish(
            Target::Snapshot(seq),
            delay,
            Effect::RemoveSnapshot,
            Some(Effect::Snapshot(SnapshotState::Error)),
            fault,
        );
        Ok(())
    }

    // ----- backups ---------------------------------------------------------

    /// Backs up a volume.
    pub fn create_backup(
        &mut self,
        tenant: &str,
        req: &CreateBackup,
        fault: Option<&Fault>,
    ) -> Result<Backup> {
        if !self.policy.backups {
            return Err(self.unsupported("create_backup"));
        }
        if req.incremental && !self.policy.incremental_backups {
            return Err(self.unsupported("create_backup (incremental)"));
        }
        self.check_name(&req.name)?;
        let rec = self.volume_rec(tenant, &req.volume_id)?;
        let vseq = rec.seq;
        let t = check_volume(req.volume_id.as_str(), &rec.volume.state, VolumeOp::Backup)?;
        if req.incremental
            && !self.backups.values().any(|b| {
                b.tenant == tenant
                    && b.backup.volume_id.as_ref() == Some(&req.volume_id)
                    && b.backup.state == BackupState::Available
            })
        {
            return Err(Error::invalid_input(
                "incremental",
                "the volume has no available backup to build on",
            ));
        }
        if !self.policy.labels && !req.labels.is_empty() {
            return Err(Error::invalid_input(
                "labels",
                format!("{} does not keep labels", self.policy.provider),
            ));
        }
        self.check_quota(tenant, 0, 0, 0, 1)?;
        let data = lock_image(&rec.data).clone();
        let (size, region) = (rec.volume.size, rec.volume.region.clone());
        let (seq, id) = self.mint("bak");
        let id = BackupId::new(id).unwrap_or_else(|_| unreachable!("minted ids are valid"));
        let mut backup = Backup::new(
            id,
            req.name.clone(),
            Some(req.volume_id.clone()),
            size,
            region,
            BackupState::Creating,
        );
        backup.incremental = req.incremental;
        backup.labels = req.labels.clone();
        backup.created_at = Some(self.clock.system_time(self.clock.now()));
        self.backups.insert(
            seq,
            BackupRec {
                tenant: tenant.to_owned(),
                backup,
                data,
                seq,
            },
        );
        // The volume shows backing-up for as long as the backup is made.
        self.set_during(vseq, &t);
        let delay = self.policy.delays.backup;
        self.finish(
            Target::Volume(vseq),
            delay,
            Effect::Volume(t.after.clone()),
            Some(Effect::Volume(t.after)),
            None,
        );
        self.finish(
            Target::Backup(seq),
            delay,
            Effect::Backup(BackupState::Available),
            Some(Effect::Backup(BackupState::Error)),
            fault,
        );
        Ok(self.backups[&seq].backup.clone())
    }

    /// One backup.
    pub fn get_backup(&self, tenant: &str, id: &BackupId) -> Result<Backup> {
        if !self.policy.backups {
            return Err(self.unsupported("get_backup"));
        }
        self.backup_rec(tenant, id).map(|r| r.backup.clone())
    }

    /// One page of backups.
    pub fn list_backups(
        &self,
        tenant: &str,
        query: &ListBackups,
        page: Option<&PageToken>,
    ) -> Result<Page<Backup>> {
        if !self.policy.backups {
            return Err(self.unsupported("list_backups"));
        }
        paged(
            self.backups
                .range(self.after(page)?..)
                .map(|(s, r)| (*s, r))
                .filter(|(_, r)| {
                    r.tenant == tenant
                        && query
                            .volume_id
                            .as_ref()
                            .is_none_or(|v| r.backup.volume_id.as_ref() == Some(v))
                }),
            self.page_size(query.page_size),
            |r| r.backup.clone(),
        )
    }

    /// Deletes a backup.
    pub fn delete_backup(
        &mut self,
        tenant: &str,
        id: &BackupId,
        fault: Option<&Fault>,
    ) -> Result<()> {
        if !self.policy.backups {
            return Err(self.unsupported("delete_backup"));
        }
        let rec = self.backup_rec(tenant, id)?;
        let seq = rec.seq;
        let t = check_backup(id.as_str(), &rec.backup.state, BackupOp::Delete)?;
        if let Some(rec) = self.backups.get_mut(&seq) {
            rec.backup.raw_state = t.during.as_str().to_owned();
            rec.backup.state = t.during;
        }
        let delay = self.policy.delays.delete;
        self.finish(
            Target::Backup(seq),
            delay,
            Effect::RemoveBackup,
            Some(Effect::Backup(BackupState::Error)),
            fault,
        );
        Ok(())
    }

    /// Restores a backup into a new volume or over an existing one.
    pub fn restore_backup(
        &mut self,
        tenant: &str,
        id: &BackupId,
        req: &RestoreBackup,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        if !self.policy.backups {
            return Err(self.unsupported("restore_backup"));
        }
        let rec = self.backup_rec(tenant, id)?;
        let bseq = rec.seq;
        let bt = check_backup(id.as_str(), &rec.backup.state, BackupOp::Restore)?;
        let Some(target) = &req.volume_id else {
            let name = req.name.clone().unwrap_or_else(|| format!("restore-{id}"));
            let create = CreateVolume::from_backup(name, id.clone());
            return self.create_volume(tenant, &create, fault);
        };
        let (size, data) = (rec.backup.size, rec.data.clone());
        let vrec = self.volume_rec(tenant, target)?;
        let vseq = vrec.seq;
        let vt = check_volume(target.as_str(), &vrec.volume.state, VolumeOp::RestoreInto)?;
        if vrec.volume.region != rec.backup.region {
            return Err(Error::invalid_input(
                "volume_id",
                format!(
                    "the backup is in {}, volume {target} in {}",
                    rec.backup.region, vrec.volume.region
                ),
            ));
        }
        if vrec.volume.size < size {
            return Err(Error::invalid_input(
                "volume_id",
                format!(
                    "volume {target} is {}, smaller than the backup's {size}",
                    vrec.volume.size
                ),
            ));
        }
        let mut image = data;
        image.resize(bytes_of(vrec.volume.size)?);
        *lock_image(&vrec.data) = image;
        self.set_during(vseq, &vt);
        if let Some(rec) = self.backups.get_mut(&bseq) {
            rec.backup.raw_state = bt.during.as_str().to_owned();
            rec.backup.state = bt.during;
        }
        let delay = self.policy.delays.restore;
        self.finish(
            Target::Backup(bseq),
            delay,
            Effect::Backup(bt.after.clone()),
            Some(Effect::Backup(bt.after)),
            None,
        );
        self.finish(
            Target::Volume(vseq),
            delay,
            Effect::Volume(vt.after),
            Some(Effect::Volume(VolumeState::ErrorRestoring)),
            fault,
        );
        Ok(self.volumes[&vseq].volume.clone())
    }
}

fn set_volume_state(volume: &mut Volume, state: VolumeState) {
    volume.raw_state = state.as_str().to_owned();
    volume.state = state;
}

/// One page from records in sequence order: `size` items, and a token for
/// the item after the last when there is one. Tokens are sequence numbers,
/// so pages stay right while items are added and deleted between calls.
fn paged<'a, R: 'a, T>(
    mut items: impl Iterator<Item = (u64, &'a R)>,
    size: usize,
    view: impl Fn(&R) -> T,
) -> Result<Page<T>> {
    let mut out = Vec::with_capacity(size.min(1024));
    for (_, rec) in items.by_ref().take(size) {
        out.push(view(rec));
    }
    let next = items.next().map(|(seq, _)| PageToken::new(seq.to_string()));
    Ok(Page::new(out, next))
}
