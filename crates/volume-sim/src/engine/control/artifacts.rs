//! One store for the point-in-time copies of a volume (snapshots and
//! backups), written once and generic over the kind.
//!
//! The two kinds keep the same record (tenant, resource, a copy-on-write
//! image, sequence number) and go through the same steps: taken from a
//! volume the lifecycle table allows it for, counted against a quota,
//! looked up by id within a tenant, listed in pages filtered by volume,
//! used as a volume's source, deleted through `deleting`. What differs is
//! data, given by [`ArtifactKind`]: the lifecycle table of the kind, its
//! policy switch, its delays, its quota counter and its operation names.
//! What is only one kind's (incremental backups, restoring over a volume)
//! stays in that kind's module.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, SystemTime};

use volume_core::state::{Transition, VolumeOp};
use volume_core::{
    Backup, BackupId, BackupState, Error, Labels, Page, PageToken, RegionId, ResourceKind, Size,
    Snapshot, SnapshotId, SnapshotState, VolumeId,
};

use super::super::fault::Fault;
use super::super::policy::{Delays, Policy};
use super::super::store::Image;
use super::{lock_image, Control, Pending, QuotaUsage, Result};

/// What a new snapshot or backup is taken from: its name, its volume's id,
/// size and region, its labels and the bytes it keeps.
pub(super) struct Taken<'a> {
    pub(super) name: &'a str,
    pub(super) volume_id: &'a VolumeId,
    pub(super) size: Size,
    pub(super) region: RegionId,
    pub(super) labels: &'a Labels,
    pub(super) data: Image,
}

/// What a resource of either kind offers the store. Snapshots and backups
/// share these fields in volume-core, so one macro implements it for both.
pub(super) trait ArtifactResource: Clone + fmt::Debug {
    /// The id type.
    type Id: Clone + fmt::Debug;
    /// The state type.
    type State: Clone + PartialEq + fmt::Debug;

    /// A new resource of volume `volume_id`, with no labels yet.
    fn new(
        id: Self::Id,
        name: &str,
        volume_id: &VolumeId,
        size: Size,
        region: RegionId,
        state: Self::State,
    ) -> Self;
    /// Wraps a minted id.
    fn make_id(raw: String) -> Result<Self::Id>;
    /// The id as a string, for the id index and errors.
    fn id_str(id: &Self::Id) -> &str;
    /// Its id.
    fn id(&self) -> &Self::Id;
    /// Its state.
    fn state(&self) -> &Self::State;
    /// Moves it to `state`, keeping the provider word in step.
    fn set_state(&mut self, state: Self::State);
    /// The volume it was taken from.
    fn volume_id(&self) -> Option<&VolumeId>;
    /// Its size (the volume's when taken).
    fn size(&self) -> Size;
    /// Its region (the volume's).
    fn region(&self) -> &RegionId;
    /// Sets the labels asked for and the creation time.
    fn stamp(&mut self, labels: &Labels, at: SystemTime);
}

macro_rules! artifact_resource {
    ($resource:ident, $id:ident, $state:ident) => {
        impl ArtifactResource for $resource {
            type Id = $id;
            type State = $state;

            fn new(
                id: $id,
                name: &str,
                volume_id: &VolumeId,
                size: Size,
                region: RegionId,
                state: $state,
            ) -> Self {
                $resource::new(id, name, Some(volume_id.clone()), size, region, state)
            }
            fn make_id(raw: String) -> Result<$id> {
                $id::new(raw)
            }
            fn id_str(id: &$id) -> &str {
                id.as_str()
            }
            fn id(&self) -> &$id {
                &self.id
            }
            fn state(&self) -> &$state {
                &self.state
            }
            fn set_state(&mut self, state: $state) {
                self.raw_state = state.as_str().to_owned();
                self.state = state;
            }
            fn volume_id(&self) -> Option<&VolumeId> {
                self.volume_id.as_ref()
            }
            fn size(&self) -> Size {
                self.size
            }
            fn region(&self) -> &RegionId {
                &self.region
            }
            fn stamp(&mut self, labels: &Labels, at: SystemTime) {
                self.labels = labels.clone();
                self.created_at = Some(at);
            }
        }
    };
}

artifact_resource!(Snapshot, SnapshotId, SnapshotState);
artifact_resource!(Backup, BackupId, BackupState);

/// What an artifact is used for, in its kind's lifecycle table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArtifactUse {
    /// Its data becomes a volume's (a new volume, or restored over one).
    Source,
    /// It is deleted.
    Delete,
}

/// The operation names a kind reports in `Unsupported` errors.
#[derive(Debug, Clone, Copy)]
pub(super) struct ArtifactOps {
    pub(super) create: &'static str,
    pub(super) get: &'static str,
    pub(super) list: &'static str,
    pub(super) delete: &'static str,
}

/// One kind of artifact: the data that tells snapshots from backups.
pub(super) trait ArtifactKind {
    /// What the kind stores.
    type Resource: ArtifactResource;
    /// Used in not-found errors.
    const RESOURCE: ResourceKind;
    /// For readable ids (`snap-3`).
    const PREFIX: &'static str;
    /// Operation names.
    const OPS: ArtifactOps;
    /// The volume operation that takes one.
    const TAKE: VolumeOp;
    /// One more of this kind, against the quota.
    const ONE: QuotaUsage;
    /// The state while it is taken.
    const TAKING: State<Self>;
    /// The state it ends in once taken.
    const DONE: State<Self>;
    /// The state a `LandInError` fault leaves it in (taking or deleting it).
    const FAILED: State<Self>;

    /// Whether the provider has this kind at all.
    fn enabled(policy: &Policy) -> bool;
    /// How long taking one takes.
    fn delay(delays: &Delays) -> Duration;
    /// The kind's lifecycle table.
    fn check(id: &str, state: &State<Self>, what: ArtifactUse) -> Result<Transition<State<Self>>>;
    /// Wraps an end for the transition queue.
    fn pending(seq: u64, end: ArtifactEnd<State<Self>>) -> Pending;
    /// The store of this kind in `control`.
    fn store(control: &Control) -> &Artifacts<Self::Resource>;
    /// The same, to change.
    fn store_mut(control: &mut Control) -> &mut Artifacts<Self::Resource>;

    /// What a caller sends to take one.
    type Request;
    /// The parts of a request every kind has.
    fn parts(req: &Self::Request) -> NewArtifact<'_>;
    /// The operation a request needs that the policy lacks, if any (checked
    /// right after the kind itself).
    fn unsupported_request(_policy: &Policy, _req: &Self::Request) -> Option<&'static str> {
        None
    }
    /// The kind's own checks of a request against what the tenant holds,
    /// once the volume's lifecycle allows taking one.
    fn check_request(_control: &Control, _tenant: &str, _req: &Self::Request) -> Result<()> {
        Ok(())
    }
    /// Records what only this kind keeps from the request.
    fn shape(_resource: &mut Self::Resource, _req: &Self::Request) {}
}

/// Declares an artifact kind from its data, and the public operations every
/// kind has (create, get, list, delete, and the data-plane copy), which only
/// call the generic ones. Invoked once per kind:
///
/// ```text
/// artifact_kind! {
///     Kind stores Resource (Id, State) taken by CreateRequest
///     listed by ListQuery, prefix "p", counted in plural,
///     table check_fn(source op, delete op), delay singular,
///     ops create_fn get_fn list_fn delete_fn data_fn;
///     // the kind's own request rules (ArtifactKind's provided methods), if any
/// }
/// ```
///
/// `Resource` also names the not-found kind, the volume operation that takes
/// one and the pending variant; `plural` the policy switch, the quota counter
/// and the `Control` field; `singular` the delay.
macro_rules! artifact_kind {
    ($kind:ident stores $resource:ident ($id:ident, $state:ident) taken by $request:ident
     listed by $query:ident, prefix $prefix:literal, counted in $many:ident,
     table $table:ident($source_op:expr, $delete_op:expr), delay $one:ident,
     ops $create:ident $get:ident $list:ident $delete:ident $data:ident;
     $($rules:tt)*) => {
        /// The artifact kind; a type only (no values).
        #[derive(Debug)]
        pub(super) enum $kind {}

        impl super::artifacts::ArtifactKind for $kind {
            type Resource = $resource;
            const RESOURCE: volume_core::ResourceKind = volume_core::ResourceKind::$resource;
            const PREFIX: &'static str = $prefix;
            const OPS: super::artifacts::ArtifactOps = super::artifacts::ArtifactOps {
                create: stringify!($create),
                get: stringify!($get),
                list: stringify!($list),
                delete: stringify!($delete),
            };
            const TAKE: volume_core::state::VolumeOp = volume_core::state::VolumeOp::$resource;
            const ONE: super::QuotaUsage = super::QuotaUsage {
                $many: 1,
                ..super::QuotaUsage::NONE
            };
            const TAKING: $state = $state::Creating;
            const DONE: $state = $state::Available;
            const FAILED: $state = $state::Error;

            fn enabled(policy: &super::super::policy::Policy) -> bool {
                policy.$many
            }

            fn delay(delays: &super::super::policy::Delays) -> std::time::Duration {
                delays.$one
            }

            fn check(
                id: &str,
                state: &$state,
                what: super::artifacts::ArtifactUse,
            ) -> super::Result<volume_core::state::Transition<$state>> {
                let op = match what {
                    super::artifacts::ArtifactUse::Source => $source_op,
                    super::artifacts::ArtifactUse::Delete => $delete_op,
                };
                volume_core::state::$table(id, state, op)
            }

            fn pending(seq: u64, end: super::artifacts::ArtifactEnd<$state>) -> super::Pending {
                super::Pending::$resource(seq, end)
            }

            fn store(control: &super::Control) -> &super::artifacts::Artifacts<$resource> {
                &control.$many
            }

            fn store_mut(
                control: &mut super::Control,
            ) -> &mut super::artifacts::Artifacts<$resource> {
                &mut control.$many
            }

            type Request = volume_core::$request;

            fn parts(req: &volume_core::$request) -> super::artifacts::NewArtifact<'_> {
                super::artifacts::NewArtifact {
                    name: &req.name,
                    volume_id: &req.volume_id,
                    labels: &req.labels,
                }
            }

            $($rules)*
        }

        impl super::Control {
            #[doc = concat!("Takes a ", stringify!($one), " of a volume.")]
            pub fn $create(
                &mut self,
                tenant: &str,
                req: &volume_core::$request,
                fault: Option<&super::super::fault::Fault>,
            ) -> super::Result<$resource> {
                self.create_artifact::<$kind>(tenant, req, fault)
            }

            #[doc = concat!("One ", stringify!($one), " of `tenant`'s.")]
            pub fn $get(&self, tenant: &str, id: &$id) -> super::Result<$resource> {
                self.get_artifact::<$kind>(tenant, id)
            }

            #[doc = concat!("One page of `tenant`'s ", stringify!($many), ", of one volume or all.")]
            pub fn $list(
                &self,
                tenant: &str,
                query: &volume_core::$query,
                page: Option<&volume_core::PageToken>,
            ) -> super::Result<volume_core::Page<$resource>> {
                let volume = query.volume_id.as_ref();
                self.list_artifacts::<$kind>(tenant, volume, query.page_size, page)
            }

            #[doc = concat!("Deletes a ", stringify!($one), ": `deleting`, then gone.")]
            pub fn $delete(
                &mut self,
                tenant: &str,
                id: &$id,
                fault: Option<&super::super::fault::Fault>,
            ) -> super::Result<()> {
                self.delete_artifact::<$kind>(tenant, id, fault)
            }

            #[doc = concat!("A copy of a ", stringify!($one), "'s data (O(1): chunks are shared).")]
            pub(crate) fn $data(
                &self,
                tenant: &str,
                id: &$id,
            ) -> super::Result<super::super::store::Image> {
                self.artifact_rec::<$kind>(tenant, id).map(|r| r.data.clone())
            }
        }
    };
}
pub(super) use artifact_kind;

/// The state type of kind `K`.
pub(super) type State<K> = <<K as ArtifactKind>::Resource as ArtifactResource>::State;

/// How an artifact's transition ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ArtifactEnd<S> {
    /// It ends in this state.
    State(S),
    /// It is gone.
    Remove,
}

/// One artifact: whose it is, what the provider shows, and its bytes.
#[derive(Debug, Clone)]
pub(super) struct ArtifactRec<R> {
    pub(super) tenant: String,
    pub(super) resource: R,
    pub(super) data: Image,
    pub(super) seq: u64,
}

/// Every artifact of one kind, in sequence (creation) order.
#[derive(Debug, Clone)]
pub(super) struct Artifacts<R> {
    recs: BTreeMap<u64, ArtifactRec<R>>,
    /// How many there are of each volume, by volume id, so a policy that
    /// refuses to delete a volume with snapshots asks without a scan.
    per_volume: HashMap<String, u64>,
}

impl<R> Default for Artifacts<R> {
    fn default() -> Self {
        Self {
            recs: BTreeMap::new(),
            per_volume: HashMap::new(),
        }
    }
}

/// What a new artifact is asked to be.
#[derive(Debug, Clone, Copy)]
pub(super) struct NewArtifact<'a> {
    pub(super) name: &'a str,
    pub(super) volume_id: &'a VolumeId,
    pub(super) labels: &'a Labels,
}

/// A new volume's starting data, smallest size and region, from its source.
pub(super) type VolumeStart = (Option<Image>, Option<Size>, Option<RegionId>);

impl<R: ArtifactResource> Artifacts<R> {
    fn of<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = &'a ArtifactRec<R>> + 'a {
        self.recs.values().filter(move |r| r.tenant == tenant)
    }

    /// Every one of `tenant`'s artifacts, oldest first.
    pub(super) fn all(&self, tenant: &str) -> Vec<R> {
        self.of(tenant).map(|r| r.resource.clone()).collect()
    }

    /// How many `tenant` holds.
    pub(super) fn count(&self, tenant: &str) -> u64 {
        self.of(tenant).count() as u64
    }

    /// How many there are of volume `volume` (volume ids are unique across
    /// tenants, so these are the volume's tenant's).
    pub(super) fn count_of_volume(&self, volume: &VolumeId) -> u64 {
        self.per_volume.get(volume.as_str()).copied().unwrap_or(0)
    }

    /// Adds a record, counted for its volume.
    pub(super) fn insert(&mut self, rec: ArtifactRec<R>) {
        if let Some(v) = rec.resource.volume_id() {
            *self.per_volume.entry(v.as_str().to_owned()).or_default() += 1;
        }
        self.recs.insert(rec.seq, rec);
    }

    /// `tenant`'s artifacts of volume `volume`.
    pub(super) fn of_volume<'a>(
        &'a self,
        tenant: &'a str,
        volume: &'a VolumeId,
    ) -> impl Iterator<Item = &'a R> + 'a {
        self.of(tenant)
            .map(|r| &r.resource)
            .filter(move |r| r.volume_id() == Some(volume))
    }

    /// Every image `tenant` holds, labelled, for accounting.
    pub(super) fn images(&self, tenant: &str) -> Vec<(R::Id, Image)> {
        self.of(tenant)
            .map(|r| (r.resource.id().clone(), r.data.clone()))
            .collect()
    }

    /// Artifact `seq`, to change.
    pub(super) fn get_mut(&mut self, seq: u64) -> Option<&mut R> {
        self.recs.get_mut(&seq).map(|r| &mut r.resource)
    }

    /// Ends a transition; removing forgets the id too, and returns whose
    /// the artifact was and the bytes its image referenced.
    pub(super) fn end(
        &mut self,
        seq: u64,
        end: ArtifactEnd<R::State>,
        ids: &mut HashMap<String, u64>,
    ) -> Option<(String, u64)> {
        match end {
            ArtifactEnd::Remove => {
                let rec = self.recs.remove(&seq)?;
                ids.remove(R::id_str(rec.resource.id()));
                if let Some(v) = rec.resource.volume_id() {
                    if let Some(n) = self.per_volume.get_mut(v.as_str()) {
                        *n -= 1;
                        if *n == 0 {
                            self.per_volume.remove(v.as_str());
                        }
                    }
                }
                let bytes = rec.data.allocated_bytes();
                Some((rec.tenant, bytes))
            }
            ArtifactEnd::State(state) => {
                if let Some(r) = self.get_mut(seq) {
                    r.set_state(state);
                }
                None
            }
        }
    }
}

impl Control {
    /// `tenant`'s artifact `id` of kind `K`.
    pub(super) fn artifact_rec<K: ArtifactKind>(
        &self,
        tenant: &str,
        id: &<K::Resource as ArtifactResource>::Id,
    ) -> Result<&ArtifactRec<K::Resource>> {
        let id = K::Resource::id_str(id);
        self.seq_of(id)
            .and_then(|seq| K::store(self).recs.get(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(K::RESOURCE, id))
    }

    /// The artifact as it is now (after a change that may have ended at once).
    pub(super) fn artifact_now<K: ArtifactKind>(&self, seq: u64) -> Result<K::Resource> {
        K::store(self)
            .recs
            .get(&seq)
            .map(|r| r.resource.clone())
            .ok_or_else(|| Error::not_found(K::RESOURCE, seq.to_string()))
    }

    /// Refuses `operation` as unsupported when the provider lacks kind `K`.
    fn require<K: ArtifactKind>(&self, operation: &'static str) -> Result<()> {
        if K::enabled(&self.policy) {
            Ok(())
        } else {
            Err(self.unsupported(operation))
        }
    }

    /// Where a new volume made from artifact `id` starts, when the kind's
    /// table allows it.
    pub(super) fn artifact_source<K: ArtifactKind>(
        &self,
        tenant: &str,
        id: &<K::Resource as ArtifactResource>::Id,
    ) -> Result<VolumeStart> {
        let rec = self.artifact_rec::<K>(tenant, id)?;
        let r = &rec.resource;
        K::check(K::Resource::id_str(id), r.state(), ArtifactUse::Source)?;
        Ok((
            Some(rec.data.clone()),
            Some(r.size()),
            Some(r.region().clone()),
        ))
    }

    /// Takes an artifact of kind `K` from a volume: every check first (the
    /// policy, the name, the volume's lifecycle, the kind's own
    /// [`check_request`](ArtifactKind::check_request), labels, quota),
    /// then the record, which ends `DONE` after the kind's delay. The
    /// volume shows the transition's `during` state meanwhile, when the
    /// table gives it one.
    pub(super) fn create_artifact<K: ArtifactKind>(
        &mut self,
        tenant: &str,
        request: &K::Request,
        fault: Option<&Fault>,
    ) -> Result<K::Resource> {
        self.require::<K>(K::OPS.create)?;
        if let Some(operation) = K::unsupported_request(&self.policy, request) {
            return Err(self.unsupported(operation));
        }
        let req = K::parts(request);
        self.check_name(req.name)?;
        let vrec = self.volume_rec(tenant, req.volume_id)?;
        let t = self.check_volume(req.volume_id, &vrec.volume.state, K::TAKE)?;
        let volume_busy = t.during != vrec.volume.state;
        K::check_request(self, tenant, request)?;
        self.check_labels(req.labels)?;
        self.check_quota(tenant, K::ONE)?;
        let data = lock_image(&vrec.data).clone();
        let (size, region, vseq) = (vrec.volume.size, vrec.volume.region.clone(), vrec.seq);
        let source = Taken {
            name: req.name,
            volume_id: req.volume_id,
            size,
            region,
            labels: req.labels,
            data,
        };
        let seq = self.record_artifact::<K>(
            tenant,
            source,
            |r| K::shape(r, request),
            |c| {
                if volume_busy {
                    c.run_volume(vseq, K::TAKE, &t, None);
                }
            },
            fault,
        );
        self.artifact_now::<K>(seq)
    }

    /// Records a new artifact of kind `K` holding `source.data`, charges
    /// it to `tenant`'s quota, runs `then` (the source volume's own
    /// transition, when it has one) and schedules the end of the taking:
    /// the one place a snapshot or backup comes to exist, whatever it is
    /// taken from, with its id minted before anything else is scheduled.
    /// The caller has checked the request and the quota.
    pub(super) fn record_artifact<K: ArtifactKind>(
        &mut self,
        tenant: &str,
        source: Taken<'_>,
        shape: impl FnOnce(&mut K::Resource),
        then: impl FnOnce(&mut Self),
        fault: Option<&Fault>,
    ) -> u64 {
        let (seq, id) = self.mint(K::PREFIX);
        let id = K::Resource::make_id(id).unwrap_or_else(|_| unreachable!("minted ids are valid"));
        let mut resource = K::Resource::new(
            id,
            source.name,
            source.volume_id,
            source.size,
            source.region,
            K::TAKING,
        );
        resource.stamp(source.labels, self.clock.system_time(self.clock.now()));
        shape(&mut resource);
        K::store_mut(self).insert(ArtifactRec {
            tenant: tenant.to_owned(),
            resource,
            data: source.data,
            seq,
        });
        self.charge_quota(tenant, K::ONE);
        then(self);
        let delay = K::delay(&self.policy.delays);
        self.finish(
            delay,
            K::pending(seq, ArtifactEnd::State(K::DONE)),
            K::pending(seq, ArtifactEnd::State(K::FAILED)),
            fault,
        );
        seq
    }

    /// Shows artifact `seq` in `during` now, and schedules its end: `done`
    /// after `delay`, or `failure` when the fault says so.
    pub(super) fn run_artifact<K: ArtifactKind>(
        &mut self,
        seq: u64,
        during: State<K>,
        delay: Duration,
        (done, failure): (ArtifactEnd<State<K>>, ArtifactEnd<State<K>>),
        fault: Option<&Fault>,
    ) {
        if let Some(r) = K::store_mut(self).get_mut(seq) {
            r.set_state(during);
        }
        self.finish(
            delay,
            K::pending(seq, done),
            K::pending(seq, failure),
            fault,
        );
    }

    /// One artifact of kind `K`.
    pub(super) fn get_artifact<K: ArtifactKind>(
        &self,
        tenant: &str,
        id: &<K::Resource as ArtifactResource>::Id,
    ) -> Result<K::Resource> {
        self.require::<K>(K::OPS.get)?;
        self.artifact_rec::<K>(tenant, id)
            .map(|r| r.resource.clone())
    }

    /// One page of `tenant`'s artifacts of kind `K`, of one volume or all.
    pub(super) fn list_artifacts<K: ArtifactKind>(
        &self,
        tenant: &str,
        volume: Option<&VolumeId>,
        page_size: Option<u32>,
        page: Option<&PageToken>,
    ) -> Result<Page<K::Resource>> {
        self.require::<K>(K::OPS.list)?;
        let keep = |r: &ArtifactRec<K::Resource>| {
            r.tenant == tenant && volume.is_none_or(|v| r.resource.volume_id() == Some(v))
        };
        self.page_of(&K::store(self).recs, page, page_size, keep, |r| {
            r.resource.clone()
        })
    }

    /// Deletes an artifact of kind `K`: `deleting`, then gone after the
    /// delete delay (or `FAILED` under a `LandInError` fault).
    pub(super) fn delete_artifact<K: ArtifactKind>(
        &mut self,
        tenant: &str,
        id: &<K::Resource as ArtifactResource>::Id,
        fault: Option<&Fault>,
    ) -> Result<()> {
        self.require::<K>(K::OPS.delete)?;
        let rec = self.artifact_rec::<K>(tenant, id)?;
        let seq = rec.seq;
        let t = K::check(
            K::Resource::id_str(id),
            rec.resource.state(),
            ArtifactUse::Delete,
        )?;
        let delay = self.policy.delays.delete;
        let ends = (ArtifactEnd::Remove, ArtifactEnd::State(K::FAILED));
        self.run_artifact::<K>(seq, t.during, delay, ends, fault);
        Ok(())
    }
}
