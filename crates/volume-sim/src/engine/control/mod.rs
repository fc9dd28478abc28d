//! The control plane: tenants, regions, instances, volumes, snapshots,
//! backups, quotas and the transitions in flight.
//!
//! Every change is checked against the lifecycle table first (the
//! [`Policy`]'s own rules, then volume-core's table: see
//! [`Policy::volume_transition`]), then against the rest of the policy, then
//! against quotas, and only then applied, so a refused operation changes
//! nothing.
//!
//! This module holds the state ([`Control`]), id minting, paging and the
//! transition machinery (what is in flight, and how it ends). Each concern
//! has a module of its own that adds methods to [`Control`]:
//! - `tenants`: tenants, quotas and quota usage;
//! - `instances`: the instances volumes attach to;
//! - `volumes`: volumes, their checks and their transitions;
//! - `artifacts`: the one store of point-in-time copies of a volume, generic
//!   over the kind, so snapshots and backups share records, lookups,
//!   listing, deletion, id minting and transitions;
//! - `snapshots` and `backups`: what is particular to each kind (backups are
//!   incremental and restore over a volume);
//! - `images`: read-only copies of a snapshot's data in a region of their
//!   own, that volumes can be made from (LunaNode's replicated images).

mod artifacts;
mod backups;
mod images;
mod instances;
mod snapshots;
mod tenants;
mod volumes;

use super::made_up::{mix, uuid};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use volume_core::state::{Transition, VolumeOp};
use volume_core::{
    Backup, BackupId, BackupState, Error, Labels, Page, PageToken, RegionId, Size, Snapshot,
    SnapshotId, SnapshotState, VolumeId, VolumeState,
};

use super::clock::Clock;
use super::fault::{Fault, FaultPlan};
use super::index::VolumeIndex;
use super::memory;
use super::policy::{IdStyle, Policy};
use super::store::Image;

use artifacts::{ArtifactEnd, Artifacts};
use images::ImageRec;
pub use images::VolumeImage;
use instances::InstanceRec;
use tenants::TenantRec;
pub use tenants::{Quota, QuotaUsage};
pub(crate) use volumes::exportable;
use volumes::{VolumeEnd, VolumeRec};

type Result<T, E = Error> = std::result::Result<T, E>;

/// A volume's bytes, locked on their own so that data-plane traffic on two
/// volumes does not contend on the control plane's lock (nor, padded to a
/// cache line of their own, on each other's lock word).
pub(crate) type SharedImage = Arc<Padded<Mutex<Image>>>;

/// A value on cache lines of its own: two of them never share one, so
/// writes to one (a lock word, an image's counters) do not slow the other.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A new volume's bytes, ready to share with the data plane.
pub(crate) fn shared_image(image: Image) -> SharedImage {
    Arc::new(Padded(Mutex::new(image)))
}

/// Every image a tenant holds, labelled: volumes, snapshots, backups.
pub(crate) type TenantImages = (
    Vec<(VolumeId, Image)>,
    Vec<(SnapshotId, Image)>,
    Vec<(BackupId, Image)>,
);

/// How a transition in flight ends, and on what (by sequence number).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Volume(u64, VolumeEnd),
    Snapshot(u64, ArtifactEnd<SnapshotState>),
    Backup(u64, ArtifactEnd<BackupState>),
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
    snapshots: Artifacts<Snapshot>,
    backups: Artifacts<Backup>,
    /// Images made from snapshots (see `images`), by sequence number.
    images: BTreeMap<u64, ImageRec>,
    instances: BTreeMap<u64, InstanceRec>,
    ids: HashMap<String, u64>,
    /// The timer queue: every transition in flight, by when it is due.
    pending: BTreeMap<(Duration, u64), Pending>,
    /// The queue's keys of each volume's transitions, by volume sequence
    /// number, so a volume's can be cancelled without a scan.
    pending_of_volume: BTreeSet<(u64, Duration, u64)>,
    /// How many of a tenant's volumes bear a name, by [`name_key`], so
    /// unique names are checked without a scan.
    names: HashMap<String, u32>,
    /// How many volumes are attached to each instance, by instance id, so
    /// the attach limit is checked without a scan.
    attached: HashMap<String, u32>,
    /// The data plane's view of `volumes`, kept in step with it.
    volume_index: Arc<VolumeIndex>,
}

impl Clone for Control {
    /// A deep copy: volume data gets locks of its own, and shares chunks
    /// copy-on-write with the original.
    fn clone(&self) -> Self {
        let volume_index = Arc::new(VolumeIndex::default());
        let volumes = self
            .volumes
            .iter()
            .map(|(seq, rec)| {
                let image = lock_image(&rec.data).clone();
                let mut rec = rec.clone();
                rec.data = shared_image(image);
                volume_index.insert(rec.volume.id.as_str(), &rec.tenant, Arc::clone(&rec.data));
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
            images: self.images.clone(),
            instances: self.instances.clone(),
            ids: self.ids.clone(),
            pending: self.pending.clone(),
            pending_of_volume: self.pending_of_volume.clone(),
            names: self.names.clone(),
            attached: self.attached.clone(),
            volume_index,
        }
    }
}

/// The key of `name` among `tenant`'s volume names.
fn name_key(tenant: &str, name: &str) -> String {
    let mut key = String::with_capacity(tenant.len() + 1 + name.len());
    key.push_str(tenant);
    key.push('\0');
    key.push_str(name);
    key
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
            snapshots: Artifacts::default(),
            backups: Artifacts::default(),
            images: BTreeMap::new(),
            instances: BTreeMap::new(),
            ids: HashMap::new(),
            pending: BTreeMap::new(),
            pending_of_volume: BTreeSet::new(),
            names: HashMap::new(),
            attached: HashMap::new(),
            volume_index: Arc::new(VolumeIndex::default()),
        }
    }

    /// The data plane's index of this control plane's volumes.
    pub(crate) fn volume_index(&self) -> Arc<VolumeIndex> {
        Arc::clone(&self.volume_index)
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

    // ----- ids -------------------------------------------------------------

    /// A fresh sequence number and the id it is known by, in the policy's
    /// id style (`prefix` for the readable style).
    fn mint(&mut self, prefix: &str) -> (u64, String) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = match self.policy.id_style {
            IdStyle::Prefixed => format!("{prefix}-{seq}"),
            IdStyle::Numeric => (1000 + seq).to_string(),
            IdStyle::Uuid => {
                let hi = mix(self.seed ^ seq);
                let lo = mix(hi ^ seq.rotate_left(32));
                uuid(hi, lo)
            }
        };
        self.ids.insert(id.clone(), seq);
        (seq, id)
    }

    fn seq_of(&self, id: &str) -> Option<u64> {
        self.ids.get(id).copied()
    }

    /// Every image `tenant` holds, labelled, for accounting.
    pub(crate) fn images(&self, tenant: &str) -> TenantImages {
        let v = all_of(
            &self.volumes,
            |r| r.tenant == tenant,
            |r| (r.volume.id.clone(), lock_image(&r.data).clone()),
        );
        (
            v,
            self.snapshots.images(tenant),
            self.backups.images(tenant),
        )
    }

    /// Every one of `tenant`'s snapshots and backups, oldest first (for
    /// the block-device exports).
    pub(crate) fn all_artifacts(&self, tenant: &str) -> (Vec<Snapshot>, Vec<Backup>) {
        (self.snapshots.all(tenant), self.backups.all(tenant))
    }

    // ----- checks shared by every kind -------------------------------------

    fn check_name(&self, name: &str) -> Result<()> {
        (self.policy.name_rule)(name).map_err(|reason| Error::invalid_input("name", reason))
    }

    fn check_labels(&self, labels: &Labels) -> Result<()> {
        if !self.policy.labels && !labels.is_empty() {
            return Err(Error::invalid_input(
                "labels",
                format!("{} does not keep labels", self.policy.provider),
            ));
        }
        super::policy::check_labels(labels.iter())
            .map_err(|reason| Error::invalid_input("labels", reason))
    }

    fn unsupported(&self, operation: &'static str) -> Error {
        Error::unsupported(operation, self.policy.provider)
    }

    /// What `op` does to volume `id` in `state`: the policy's rules first,
    /// then the core table. The one place the engine checks a volume
    /// transition.
    fn check_volume(
        &self,
        id: &VolumeId,
        state: &VolumeState,
        op: VolumeOp,
    ) -> Result<Transition<VolumeState>> {
        self.policy.check_volume(id.as_str(), state, op)
    }

    // ----- paging ----------------------------------------------------------

    /// One page of the records in `records` that `keep` keeps, from where
    /// `page` says, of the size asked for (within the policy's limits), each
    /// shown through `view`. Tokens are sequence numbers, so pages stay right
    /// while records are added and deleted between calls.
    fn page_of<R, T>(
        &self,
        records: &BTreeMap<u64, R>,
        page: Option<&PageToken>,
        page_size: Option<u32>,
        keep: impl Fn(&R) -> bool,
        view: impl Fn(&R) -> T,
    ) -> Result<Page<T>> {
        let size = page_size
            .unwrap_or(self.policy.default_page_size)
            .clamp(1, self.policy.max_page_size.max(1)) as usize;
        let first = match page {
            None => 0,
            Some(t) => t.as_str().parse::<u64>().map_err(|_| {
                Error::invalid_input(
                    "page",
                    format!("{:?} is not a page token of this simulator", t.as_str()),
                )
            })?,
        };
        let mut items = records.range(first..).filter(|(_, r)| keep(r));
        let mut out = Vec::with_capacity(size.min(1024));
        for (_, rec) in items.by_ref().take(size) {
            out.push(view(rec));
        }
        let next = items.next().map(|(seq, _)| PageToken::new(seq.to_string()));
        Ok(Page::new(out, next))
    }

    // ----- transitions -----------------------------------------------------

    /// Applies every transition due by now.
    pub(crate) fn settle(&mut self) {
        let now = self.clock.now();
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (due, n) = *entry.key();
            let end = entry.remove();
            if let Pending::Volume(seq, _) = &end {
                self.pending_of_volume.remove(&(*seq, due, n));
            }
            self.apply(end);
        }
    }

    /// When the next transition is due, if any is in flight.
    pub(crate) fn next_due(&self) -> Option<Duration> {
        self.pending.keys().next().map(|(due, _)| *due)
    }

    fn apply(&mut self, end: Pending) {
        let gone = match end {
            Pending::Volume(seq, end) => {
                self.end_volume(seq, end);
                return;
            }
            Pending::Snapshot(seq, end) => self
                .snapshots
                .end(seq, end, &mut self.ids)
                .map(|(tenant, bytes)| (tenant, bytes, QuotaUsage::ONE_SNAPSHOT)),
            Pending::Backup(seq, end) => self
                .backups
                .end(seq, end, &mut self.ids)
                .map(|(tenant, bytes)| (tenant, bytes, QuotaUsage::ONE_BACKUP)),
        };
        if let Some((tenant, bytes, one)) = gone {
            self.release_quota(&tenant, one);
            memory::freed(bytes);
        }
    }

    /// Ends a transition after `delay`: at once when it is zero. A `Stuck`
    /// fault leaves it in its transient state for good; `LandInError` swaps
    /// `done` for `failure`.
    fn finish(&mut self, delay: Duration, done: Pending, failure: Pending, fault: Option<&Fault>) {
        let end = match fault {
            Some(Fault::Stuck) => return,
            Some(Fault::LandInError) => failure,
            _ => done,
        };
        if delay.is_zero() {
            self.apply(end);
        } else {
            let due = self.clock.now().saturating_add(delay);
            let n = self.next_seq;
            self.next_seq += 1;
            if let Pending::Volume(seq, _) = &end {
                self.pending_of_volume.insert((*seq, due, n));
            }
            self.pending.insert((due, n), end);
        }
    }
}

/// What `view` shows of each record `keep` keeps, in sequence order.
fn all_of<R, T>(
    records: &BTreeMap<u64, R>,
    keep: impl Fn(&R) -> bool,
    view: impl Fn(&R) -> T,
) -> Vec<T> {
    records.values().filter(|r| keep(r)).map(view).collect()
}
