//! What every case shares: the backend, its capabilities, a random name
//! prefix, the wait settings, a record of what the case created (cleaned up
//! whatever happens), and the assertions that give useful failure messages.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Duration;

use futures::{FutureExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::capability::Capabilities;
use crate::error::{Error, ResourceKind, Result};
use crate::http::BackoffConfig;
use crate::model::{
    Backup, BackupId, CreateBackup, CreateSnapshot, CreateVolume, Instance, InstanceId,
    InstanceState, ListBackups, ListSnapshots, ListVolumes, RegionId, Size, Snapshot, SnapshotId,
    Volume, VolumeId,
};
use crate::state::{BackupState, SnapshotState, VolumeState};
use crate::storage::{BlockStorage, BlockStorageExt};
use crate::wait::{Until, WaitConfig};

/// The environment variable that sets how long a case waits for one
/// transition, in seconds (default 60).
pub(crate) const MAX_WAIT_ENV: &str = "VOLUME_CONFORMANCE_MAX_WAIT";

/// How long a case waits for any one transition.
pub(crate) fn max_wait() -> Duration {
    std::env::var(MAX_WAIT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs)
}

/// The wait settings of the battery: quick polls (10 ms to 1 s) for a
/// simulator or a fake on loopback, for up to [`max_wait`].
pub(crate) fn wait_config() -> WaitConfig {
    WaitConfig::new(
        BackoffConfig::new(Duration::from_millis(10), Duration::from_secs(1)),
        max_wait(),
    )
}

/// For [`Cx::expect_unsupported`]: any (non-empty) operation name will do.
pub(crate) const ANY_OPERATION: &str = "*";

/// What a case created, for the clean-up.
#[derive(Debug, Default)]
struct Created {
    volumes: Vec<VolumeId>,
    snapshots: Vec<SnapshotId>,
    backups: Vec<BackupId>,
}

/// Where a case puts its volumes: the region with the most (running)
/// instances, and those instances.
#[derive(Debug, Clone)]
pub(crate) struct Home {
    /// The region; `None` when the backend lists no instances (volumes then
    /// go to the provider's default region).
    pub(crate) region: Option<RegionId>,
    /// The instances in it, running ones first.
    pub(crate) instances: Vec<Instance>,
    /// Instances in other regions.
    pub(crate) elsewhere: Vec<Instance>,
}

/// How many hex digits tell two shortened names apart (see [`fit_name`]).
const NAME_HASH_LEN: usize = 4;

/// The context of one case.
pub(crate) struct Cx<'a> {
    pub(crate) storage: &'a dyn BlockStorage,
    pub(crate) caps: Capabilities,
    pub(crate) prefix: String,
    pub(crate) wait: WaitConfig,
    case: &'static str,
    created: Mutex<Created>,
    rng: Mutex<StdRng>,
}

impl<'a> Cx<'a> {
    /// A context for `case` against `storage`, with a fresh random prefix.
    pub(crate) fn new(storage: &'a dyn BlockStorage, case: &'static str) -> Self {
        let mut rng = StdRng::from_os_rng();
        // Short (11 characters), so that prefix + the longest word a case
        // uses (20 characters) is rarely shortened by `max_name_len`.
        let prefix = format!("conf{:06x}-", rng.next_u32() & 0xff_ffff);
        Self {
            storage,
            caps: storage.capabilities(),
            prefix,
            wait: wait_config(),
            case,
            created: Mutex::new(Created::default()),
            rng: Mutex::new(rng),
        }
    }

    /// Runs the case's body, then cleans up what it created whether it
    /// passed or not, then passes its panic on.
    pub(crate) async fn guard(&self, body: impl Future<Output = ()>) {
        let outcome = AssertUnwindSafe(body).catch_unwind().await;
        if outcome.is_err() {
            eprintln!(
                "conformance case `{}` failed against {} (its resources are named {}*)",
                self.case, self.storage, self.prefix
            );
        }
        self.cleanup().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    /// Says that the rest of the case does not apply to this backend.
    pub(crate) fn skip(&self, why: impl Display) {
        eprintln!(
            "conformance case `{}` against {}: rest skipped: {why}",
            self.case, self.storage
        );
    }

    /// A name for a resource of this case, within the backend's
    /// [`max_name_len`](Capabilities::max_name_len) when it has one.
    pub(crate) fn name(&self, what: &str) -> String {
        fit_name(&self.prefix, what, self.caps.max_name_len)
    }

    /// The smallest size plus `plus` GiB, checked against the largest.
    pub(crate) fn size(&self, plus: u64) -> Size {
        let size = Size::gib(self.caps.min_size.as_gib() + plus);
        assert!(
            size <= self.caps.max_size,
            "capabilities: min_size {} + {plus} GiB is larger than max_size {}",
            self.caps.min_size,
            self.caps.max_size
        );
        size
    }

    /// The labels that mark a resource as this case's.
    pub(crate) fn own_labels(&self) -> BTreeMap<String, String> {
        if self.caps.labels {
            BTreeMap::from([("conformance".to_owned(), self.prefix_label())])
        } else {
            BTreeMap::new()
        }
    }

    /// The prefix as a label value (without the trailing dash).
    pub(crate) fn prefix_label(&self) -> String {
        self.prefix.trim_end_matches('-').to_owned()
    }

    /// An id of the same shape as `like` (all digits, a UUID, or anything)
    /// that names nothing.
    pub(crate) fn unknown_id(&self, like: Option<&str>) -> String {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        match like {
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                (2_000_000_000u32 + rng.random_range(0..100_000_000u32)).to_string()
            }
            Some(s) if looks_like_uuid(s) => {
                let a = rng.next_u64();
                let b = rng.next_u64();
                format!(
                    "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                    a >> 32,
                    (a >> 16) & 0xffff,
                    a & 0xfff,
                    b >> 52,
                    b & 0xffff_ffff_ffff
                )
            }
            _ => format!("{}missing-{:08x}", self.prefix, rng.next_u32()),
        }
    }

    // ----- instances ---------------------------------------------------

    /// Every instance the backend lists.
    pub(crate) async fn instances(&self) -> Vec<Instance> {
        self.storage
            .list_all_instances()
            .try_collect()
            .await
            .must("list_all_instances")
    }

    /// Where this case puts its volumes.
    pub(crate) async fn home(&self) -> Home {
        let instances = self.instances().await;
        let mut by_region: BTreeMap<RegionId, Vec<Instance>> = BTreeMap::new();
        for i in &instances {
            by_region
                .entry(i.region.clone())
                .or_default()
                .push(i.clone());
        }
        let running = |v: &Vec<Instance>| v.iter().filter(|i| is_running(i)).count();
        let region = by_region
            .iter()
            .max_by_key(|(_, v)| (running(v), v.len()))
            .map(|(r, _)| r.clone());
        let mut home: Vec<Instance> = instances
            .iter()
            .filter(|i| Some(&i.region) == region.as_ref())
            .cloned()
            .collect();
        home.sort_by_key(|i| !is_running(i));
        let elsewhere = instances
            .into_iter()
            .filter(|i| Some(&i.region) != region.as_ref())
            .collect();
        Home {
            region,
            instances: home,
            elsewhere,
        }
    }

    /// Where this case puts volumes it attaches: like [`home`](Self::home),
    /// but fails when there is no instance to attach to.
    pub(crate) async fn attach_home(&self) -> (RegionId, Vec<Instance>) {
        let home = self.home().await;
        match home.region {
            Some(region) if !home.instances.is_empty() => (region, home.instances),
            _ => panic!(
                "{} lists no instances: the attach cases need a backend seeded with at least \
                 one (running) instance per region (volume-sim and the fakes seed a few)",
                self.storage
            ),
        }
    }

    // ----- volumes -------------------------------------------------------

    /// A request for an empty volume of this case.
    pub(crate) fn volume_request(
        &self,
        what: &str,
        size: Size,
        region: Option<&RegionId>,
    ) -> CreateVolume {
        let mut req = CreateVolume::new(self.name(what), size).with_labels(self.own_labels());
        if let Some(region) = region {
            req = req.with_region(region.clone());
        }
        req
    }

    /// Records a volume for the clean-up.
    pub(crate) fn track_volume(&self, id: &VolumeId) {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if !created.volumes.contains(id) {
            created.volumes.push(id.clone());
        }
    }

    /// Records a snapshot for the clean-up.
    pub(crate) fn track_snapshot(&self, id: &SnapshotId) {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if !created.snapshots.contains(id) {
            created.snapshots.push(id.clone());
        }
    }

    /// Records a backup for the clean-up.
    pub(crate) fn track_backup(&self, id: &BackupId) {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if !created.backups.contains(id) {
            created.backups.push(id.clone());
        }
    }

    /// Creates a volume, checks what `create_volume` answered, waits until
    /// it is ready (available, or in use when it is attached at creation) and
    /// checks it again.
    pub(crate) async fn create(&self, req: &CreateVolume) -> Volume {
        let created = self
            .storage
            .create_volume(req)
            .await
            .must(format_args!("create_volume {:?}", req.name));
        self.track_volume(&created.id);
        check_created(req, &created, "create_volume's answer");
        assert!(
            !created.state.is_failure(),
            "create_volume answered volume {} in failure state {:?}",
            created.id,
            created.raw_state
        );
        let target = if req.attach_to.is_some() {
            VolumeState::InUse
        } else {
            VolumeState::Available
        };
        let ready = self
            .wait_volume(&created.id, target, "the new volume")
            .await;
        check_created(req, &ready, "the new volume once ready");
        ready
    }

    /// Creates an empty volume of min + `plus` GiB in `region`.
    pub(crate) async fn volume_in(
        &self,
        what: &str,
        plus: u64,
        region: Option<&RegionId>,
    ) -> Volume {
        self.create(&self.volume_request(what, self.size(plus), region))
            .await
    }

    /// Creates an empty volume of min + `plus` GiB in the home region.
    pub(crate) async fn volume(&self, what: &str, plus: u64) -> Volume {
        let home = self.home().await;
        self.volume_in(what, plus, home.region.as_ref()).await
    }

    /// One volume, which must exist.
    pub(crate) async fn get(&self, id: &VolumeId) -> Volume {
        let v = self
            .storage
            .get_volume(id)
            .await
            .must(format_args!("get_volume {id}"));
        assert_eq!(&v.id, id, "get_volume {id} answered another volume");
        v
    }

    /// Waits until volume `id` is in `state`.
    pub(crate) async fn wait_volume(
        &self,
        id: &VolumeId,
        state: VolumeState,
        what: &str,
    ) -> Volume {
        let waited = self
            .storage
            .wait_for_volume(id, Until::State(state.clone()), &self.wait)
            .await
            .must(format_args!("waiting for {what} ({id}) to be {state}"));
        let v = waited
            .resource
            .unwrap_or_else(|| panic!("waiting for {what} ({id}) to be {state}: it is gone"));
        assert_eq!(v.state, state);
        v
    }

    /// Waits until `check` holds for volume `id`.
    pub(crate) async fn wait_volume_until(
        &self,
        id: &VolumeId,
        what: &str,
        check: impl Fn(&Volume) -> bool + Send + Sync + 'static,
    ) -> Volume {
        self.storage
            .wait_for_volume(id, Until::matches(check), &self.wait)
            .await
            .must(format_args!("waiting for {what} ({id})"))
            .resource
            .unwrap_or_else(|| panic!("waiting for {what} ({id}): it is gone"))
    }

    /// Attaches a volume and waits until it is in use, attached to `instance`.
    pub(crate) async fn attach(&self, id: &VolumeId, instance: &InstanceId) -> Volume {
        let answer = self
            .storage
            .attach_volume(id, instance)
            .await
            .must(format_args!("attach_volume {id} to {instance}"));
        assert_eq!(&answer.id, id, "attach_volume answered another volume");
        let v = self
            .wait_volume(id, VolumeState::InUse, "the attached volume")
            .await;
        assert!(
            attached_to(&v).contains(instance),
            "volume {id} is in use but its attachments {:?} do not name instance {instance}",
            v.attachments
        );
        v
    }

    /// Detaches a volume and waits until it is available with no attachment.
    pub(crate) async fn detach(&self, id: &VolumeId) -> Volume {
        let answer = self
            .storage
            .detach_volume(id)
            .await
            .must(format_args!("detach_volume {id}"));
        assert_eq!(&answer.id, id, "detach_volume answered another volume");
        let v = self
            .wait_volume(id, VolumeState::Available, "the detached volume")
            .await;
        assert!(
            v.attachments.is_empty(),
            "volume {id} is available after detaching but still lists attachments {:?}",
            v.attachments
        );
        v
    }

    /// Deletes a volume, waits until it is gone, and checks that it is.
    pub(crate) async fn delete_volume(&self, id: &VolumeId) {
        self.storage
            .delete_volume(id)
            .await
            .must(format_args!("delete_volume {id}"));
        self.storage
            .wait_for_volume(id, Until::Deleted, &self.wait)
            .await
            .must(format_args!("waiting for volume {id} to be deleted"));
        let err = self
            .storage
            .get_volume(id)
            .await
            .must_err(format_args!("get_volume {id} after deleting it"));
        expect_not_found(
            &err,
            ResourceKind::Volume,
            id.as_str(),
            "get_volume after delete",
        );
    }

    /// Every volume `query` lists (through `list_all_volumes`), each checked
    /// against the query.
    pub(crate) async fn list(&self, query: &ListVolumes) -> Vec<Volume> {
        let all: Vec<Volume> = self
            .storage
            .list_all_volumes(query.clone())
            .try_collect()
            .await
            .must(format_args!("list_all_volumes {query:?}"));
        for v in &all {
            assert!(
                query.matches(v),
                "list_volumes {query:?} returned volume {} ({:?}, region {}, state {}, \
                 attachments {:?}, labels {:?}) that does not match it",
                v.id,
                v.name,
                v.region,
                v.state,
                v.attachments,
                v.labels
            );
        }
        assert_no_duplicates(all.iter().map(|v| &v.id), "list_all_volumes");
        all
    }

    /// How many times `query` lists volume `id`.
    pub(crate) async fn times_listed(&self, query: &ListVolumes, id: &VolumeId) -> usize {
        self.list(query)
            .await
            .iter()
            .filter(|v| &v.id == id)
            .count()
    }

    /// Checks that volume `id` is listed by `query` exactly once.
    pub(crate) async fn assert_listed(&self, query: &ListVolumes, id: &VolumeId, what: &str) {
        let n = self.times_listed(query, id).await;
        assert_eq!(
            n, 1,
            "{what}: list_volumes {query:?} lists volume {id} {n} times, not once"
        );
    }

    /// Checks that volume `id` is not listed by `query`.
    pub(crate) async fn assert_not_listed(&self, query: &ListVolumes, id: &VolumeId, what: &str) {
        let n = self.times_listed(query, id).await;
        assert_eq!(n, 0, "{what}: list_volumes {query:?} lists volume {id}");
    }

    /// Checks that a refused operation changed nothing: state, size, name,
    /// labels and attachments as before, and still listed.
    pub(crate) async fn assert_unchanged(&self, before: &Volume, what: &str) {
        let now = self.get(&before.id).await;
        assert_eq!(
            now.state, before.state,
            "{what} was refused but changed the state of volume {}",
            before.id
        );
        assert_eq!(
            now.size, before.size,
            "{what} was refused but changed the size of volume {}",
            before.id
        );
        assert_eq!(
            now.name, before.name,
            "{what} was refused but renamed volume {}",
            before.id
        );
        assert_eq!(
            now.labels, before.labels,
            "{what} was refused but changed the labels of volume {}",
            before.id
        );
        assert_eq!(
            attached_to(&now),
            attached_to(before),
            "{what} was refused but changed the attachments of volume {}",
            before.id
        );
        self.assert_listed(
            &ListVolumes::new().with_name(&before.name),
            &before.id,
            what,
        )
        .await;
    }

    // ----- snapshots and backups ------------------------------------------

    /// Takes a snapshot of `volume` and waits until it is available.
    pub(crate) async fn snapshot(&self, volume: &Volume, what: &str) -> Snapshot {
        let name = self.name(what);
        let answer = self
            .storage
            .create_snapshot(&CreateSnapshot::new(volume.id.clone(), &name))
            .await
            .must(format_args!("create_snapshot of volume {}", volume.id));
        self.track_snapshot(&answer.id);
        check_snapshot(&answer, volume, &name, "create_snapshot's answer");
        let snap = self
            .storage
            .wait_for_snapshot(
                &answer.id,
                Until::State(SnapshotState::Available),
                &self.wait,
            )
            .await
            .must(format_args!(
                "waiting for snapshot {} to be available",
                answer.id
            ))
            .resource
            .unwrap_or_else(|| panic!("snapshot {} disappeared", answer.id));
        check_snapshot(&snap, volume, &name, "the new snapshot once available");
        // Some providers keep the volume busy while the snapshot is taken.
        self.wait_volume(&volume.id, volume.state.clone(), "the snapshotted volume")
            .await;
        snap
    }

    /// Backs up `volume` and waits until the backup is available (and the
    /// volume back in its state).
    pub(crate) async fn backup(&self, volume: &Volume, what: &str, incremental: bool) -> Backup {
        let name = self.name(what);
        let answer = self
            .storage
            .create_backup(&CreateBackup::new(volume.id.clone(), &name).incremental(incremental))
            .await
            .must(format_args!(
                "create_backup (incremental: {incremental}) of volume {}",
                volume.id
            ));
        self.track_backup(&answer.id);
        check_backup(
            &answer,
            volume,
            &name,
            incremental,
            "create_backup's answer",
        );
        let backup = self
            .storage
            .wait_for_backup(&answer.id, Until::State(BackupState::Available), &self.wait)
            .await
            .must(format_args!(
                "waiting for backup {} to be available",
                answer.id
            ))
            .resource
            .unwrap_or_else(|| panic!("backup {} disappeared", answer.id));
        check_backup(
            &backup,
            volume,
            &name,
            incremental,
            "the new backup once available",
        );
        self.wait_volume(&volume.id, volume.state.clone(), "the backed-up volume")
            .await;
        backup
    }

    /// Every snapshot `query` lists.
    pub(crate) async fn snapshots(&self, query: &ListSnapshots) -> Vec<Snapshot> {
        let all: Vec<Snapshot> = self
            .storage
            .list_all_snapshots(query.clone())
            .try_collect()
            .await
            .must(format_args!("list_all_snapshots {query:?}"));
        if let Some(vol) = &query.volume_id {
            for s in &all {
                assert!(
                    s.volume_id.as_ref() == Some(vol),
                    "list_snapshots {query:?} returned snapshot {} of volume {:?}",
                    s.id,
                    s.volume_id
                );
            }
        }
        assert_no_duplicates(all.iter().map(|s| &s.id), "list_all_snapshots");
        all
    }

    /// Every backup `query` lists.
    pub(crate) async fn backups(&self, query: &ListBackups) -> Vec<Backup> {
        let all: Vec<Backup> = self
            .storage
            .list_all_backups(query.clone())
            .try_collect()
            .await
            .must(format_args!("list_all_backups {query:?}"));
        if let Some(vol) = &query.volume_id {
            for b in &all {
                assert!(
                    b.volume_id.as_ref() == Some(vol),
                    "list_backups {query:?} returned backup {} of volume {:?}",
                    b.id,
                    b.volume_id
                );
            }
        }
        assert_no_duplicates(all.iter().map(|b| &b.id), "list_all_backups");
        all
    }

    /// Deletes a snapshot, waits until it is gone and checks that it is.
    pub(crate) async fn delete_snapshot(&self, id: &SnapshotId) {
        self.storage
            .delete_snapshot(id)
            .await
            .must(format_args!("delete_snapshot {id}"));
        self.storage
            .wait_for_snapshot(id, Until::Deleted, &self.wait)
            .await
            .must(format_args!("waiting for snapshot {id} to be deleted"));
        let err = self
            .storage
            .get_snapshot(id)
            .await
            .must_err(format_args!("get_snapshot {id} after deleting it"));
        expect_not_found(
            &err,
            ResourceKind::Snapshot,
            id.as_str(),
            "get_snapshot after delete",
        );
    }

    /// Deletes a backup, waits until it is gone and checks that it is.
    pub(crate) async fn delete_backup(&self, id: &BackupId) {
        self.storage
            .delete_backup(id)
            .await
            .must(format_args!("delete_backup {id}"));
        self.storage
            .wait_for_backup(id, Until::Deleted, &self.wait)
            .await
            .must(format_args!("waiting for backup {id} to be deleted"));
        let err = self
            .storage
            .get_backup(id)
            .await
            .must_err(format_args!("get_backup {id} after deleting it"));
        expect_not_found(
            &err,
            ResourceKind::Backup,
            id.as_str(),
            "get_backup after delete",
        );
    }

    // ----- checks on errors --------------------------------------------------

    /// Checks that `result` is [`Error::Unsupported`] for `operation` from
    /// this backend's provider.
    #[track_caller]
    pub(crate) fn expect_unsupported<T: Debug>(
        &self,
        result: Result<T>,
        operation: &str,
        what: impl Display,
    ) {
        let err = result.must_err(format_args!(
            "{what}: the capabilities exclude it, so it must be refused with Unsupported"
        ));
        match &err {
            Error::Unsupported {
                operation: op,
                provider,
            } => {
                assert_eq!(
                    *provider, self.caps.provider,
                    "{what}: Unsupported names provider {provider:?}, the capabilities {:?}",
                    self.caps.provider
                );
                assert!(
                    *op == operation || (operation == ANY_OPERATION && !op.is_empty()),
                    "{what}: Unsupported names operation {op:?}, expected {operation:?}"
                );
            }
            other => panic!(
                "{what}: the capabilities exclude it, so it must be refused with \
                 Unsupported; got {other} ({other:?})"
            ),
        }
    }

    /// When `supported`, `result` must succeed (and is returned); otherwise
    /// it must be [`Error::Unsupported`] for `operation`.
    #[track_caller]
    pub(crate) fn gated<T: Debug>(
        &self,
        supported: bool,
        operation: &str,
        result: Result<T>,
        what: impl Display,
    ) -> Option<T> {
        if supported {
            Some(result.must(what))
        } else {
            self.expect_unsupported(result, operation, what);
            None
        }
    }

    /// When `supported`, `result` must be not-found for `kind` `id`;
    /// otherwise [`Error::Unsupported`] for `operation`.
    #[track_caller]
    pub(crate) fn expect_missing<T: Debug>(
        &self,
        supported: bool,
        operation: &str,
        result: Result<T>,
        kind: ResourceKind,
        id: &str,
        what: impl Display,
    ) {
        if supported {
            let err = result.must_err(format_args!("{what} (an unknown {kind} {id:?})"));
            expect_not_found(&err, kind, id, what);
        } else {
            self.expect_unsupported(result, operation, what);
        }
    }

    // ----- clean-up ----------------------------------------------------------

    /// Deletes what the case created and left behind: backups, snapshots,
    /// then volumes (detached first). Best effort: problems are printed.
    async fn cleanup(&self) {
        let created = std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()));
        let warn = |what: String, e: Error| {
            eprintln!(
                "conformance case `{}`: clean-up of {what} failed: {e}",
                self.case
            );
        };
        for id in created.backups.iter().rev() {
            match self.storage.delete_backup(id).await {
                Ok(()) => {
                    if let Err(e) = self
                        .storage
                        .wait_for_backup(id, Until::Deleted, &self.wait)
                        .await
                    {
                        warn(format!("backup {id}"), e);
                    }
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => warn(format!("backup {id}"), e),
            }
        }
        for id in created.snapshots.iter().rev() {
            match self.storage.delete_snapshot(id).await {
                Ok(()) => {
                    if let Err(e) = self
                        .storage
                        .wait_for_snapshot(id, Until::Deleted, &self.wait)
                        .await
                    {
                        warn(format!("snapshot {id}"), e);
                    }
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => warn(format!("snapshot {id}"), e),
            }
        }
        for id in created.volumes.iter().rev() {
            let v = match self.storage.get_volume(id).await {
                Ok(v) => v,
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    warn(format!("volume {id}"), e);
                    continue;
                }
            };
            let settled = if v.state.is_transient() {
                self.storage
                    .wait_for_volume(
                        id,
                        Until::matches(|v: &Volume| !v.state.is_transient()),
                        &self.wait,
                    )
                    .await
                    .ok()
                    .and_then(|w| w.resource)
                    .unwrap_or(v)
            } else {
                v
            };
            if !settled.attachments.is_empty() || settled.state == VolumeState::InUse {
                let detached = match self.storage.detach_volume(id).await {
                    Ok(_) => {
                        self.storage
                            .wait_for_volume(id, Until::State(VolumeState::Available), &self.wait)
                            .await
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = detached {
                    warn(format!("volume {id} (detaching)"), e);
                }
            }
            if let Err(e) = self.storage.delete_volume_and_wait(id, &self.wait).await {
                warn(format!("volume {id}"), e);
            }
        }
    }
}

impl Debug for Cx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cx")
            .field("case", &self.case)
            .field("storage", &format_args!("{}", self.storage))
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

// ----- free-standing checks ------------------------------------------------

/// `Result` assertions with messages that say what was being done.
pub(crate) trait Must<T> {
    /// The value, or a panic naming `what` and the error.
    fn must(self, what: impl Display) -> T;
    /// The error, or a panic naming `what` and the value.
    fn must_err(self, what: impl Display) -> Error;
}

impl<T: Debug> Must<T> for Result<T> {
    #[track_caller]
    fn must(self, what: impl Display) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{what} failed: {e}\n  error: {e:?}"),
        }
    }

    #[track_caller]
    fn must_err(self, what: impl Display) -> Error {
        match self {
            Ok(v) => panic!("{what} succeeded but must be refused; it answered {v:?}"),
            Err(e) => e,
        }
    }
}

/// Whether an instance is running.
pub(crate) fn is_running(i: &Instance) -> bool {
    i.state == InstanceState::Running
}

/// The instances a volume is attached to.
pub(crate) fn attached_to(v: &Volume) -> Vec<InstanceId> {
    let mut ids: Vec<InstanceId> = v.attachments.iter().map(|a| a.instance.clone()).collect();
    ids.sort();
    ids
}

fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Checks that no id comes twice.
#[track_caller]
pub(crate) fn assert_no_duplicates<'i, I: Ord + Display + 'i>(
    ids: impl IntoIterator<Item = &'i I>,
    what: &str,
) {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        assert!(seen.insert(id), "{what} returned {id} more than once");
    }
}

/// Checks a new volume against the request that made it.
#[track_caller]
pub(crate) fn check_created(req: &CreateVolume, v: &Volume, what: &str) {
    assert_eq!(v.name, req.name, "{what}: name");
    if let Some(size) = req.size {
        assert_eq!(v.size, size, "{what}: size of volume {}", v.id);
    }
    if let Some(region) = &req.region {
        assert_eq!(&v.region, region, "{what}: region of volume {}", v.id);
    }
    assert!(!v.id.as_str().is_empty(), "{what}: empty id");
    for (k, val) in &req.labels {
        // Labels are checked only where they are kept; callers pass none
        // to a backend without the capability.
        assert_eq!(
            v.labels.get(k),
            Some(val),
            "{what}: label {k:?} of volume {} (labels {:?})",
            v.id,
            v.labels
        );
    }
    if let Some(instance) = &req.attach_to {
        if v.state == VolumeState::InUse {
            assert!(
                attached_to(v).contains(instance),
                "{what}: volume {} is in use but not attached to {instance} ({:?})",
                v.id,
                v.attachments
            );
        }
    }
}

/// Checks a snapshot against the volume it was taken of.
#[track_caller]
fn check_snapshot(s: &Snapshot, volume: &Volume, name: &str, what: &str) {
    assert_eq!(s.name, name, "{what}: name of snapshot {}", s.id);
    if let Some(v) = &s.volume_id {
        assert_eq!(v, &volume.id, "{what}: volume of snapshot {}", s.id);
    }
    assert_eq!(s.size, volume.size, "{what}: size of snapshot {}", s.id);
    assert_eq!(
        s.region, volume.region,
        "{what}: region of snapshot {}",
        s.id
    );
    assert!(
        !s.state.is_failure(),
        "{what}: snapshot {} is in state {:?}",
        s.id,
        s.raw_state
    );
}

/// Checks a backup against the volume it was taken of.
#[track_caller]
fn check_backup(b: &Backup, volume: &Volume, name: &str, incremental: bool, what: &str) {
    assert_eq!(b.name, name, "{what}: name of backup {}", b.id);
    assert_eq!(
        b.volume_id.as_ref(),
        Some(&volume.id),
        "{what}: volume of backup {}",
        b.id
    );
    assert_eq!(b.size, volume.size, "{what}: size of backup {}", b.id);
    assert_eq!(b.region, volume.region, "{what}: region of backup {}", b.id);
    assert_eq!(
        b.incremental, incremental,
        "{what}: backup {} incremental flag",
        b.id
    );
    assert!(
        !b.state.is_failure(),
        "{what}: backup {} is in state {:?}",
        b.id,
        b.raw_state
    );
}

/// Checks that `err` is not-found for `kind` (and names `id`, when it
/// names one).
#[track_caller]
pub(crate) fn expect_not_found(err: &Error, kind: ResourceKind, id: &str, what: impl Display) {
    match err {
        Error::NotFound { kind: k, id: i, .. } => {
            assert_eq!(
                *k, kind,
                "{what}: not-found is about kind `{k}`, but {id:?} was looked up as kind `{kind}`"
            );
            assert!(
                i.is_empty() || i == id,
                "{what}: not-found names {kind} {i:?}, but the unknown id was {id:?}"
            );
        }
        other => panic!("{what}: expected {kind} {id:?} not found; got {other} ({other:?})"),
    }
}

/// Checks that `err` is [`Error::InvalidState`].
#[track_caller]
pub(crate) fn expect_invalid_state(err: &Error, what: impl Display) {
    assert!(
        matches!(err, Error::InvalidState { .. }),
        "{what}: expected InvalidState; got {err} ({err:?})"
    );
}

/// `prefix` + `what`, shortened to `limit` characters when there is one.
///
/// A shortened name keeps the whole prefix (cleanup and listings find a
/// case's resources by it), the start of `what`, and four hex digits of a
/// hash of `what`, so two words with the same start still give two names.
/// The same word always gives the same name.
///
/// # Panics
///
/// When `limit` leaves no room for one character of `what` after the prefix
/// and the hash: the backend cannot run the battery as declared.
pub(crate) fn fit_name(prefix: &str, what: &str, limit: Option<usize>) -> String {
    let name = format!("{prefix}{what}");
    let Some(limit) = limit else {
        return name;
    };
    if name.chars().count() <= limit {
        return name;
    }
    let needed = prefix.chars().count() + NAME_HASH_LEN + 1;
    assert!(
        limit >= needed,
        "capabilities: max_name_len {limit} is too short for the conformance battery, \
         whose names need at least {needed} characters ({name:?})"
    );
    let head: String = what.chars().take(limit - needed + 1).collect();
    format!("{prefix}{head}{:04x}", fnv1a(what) & 0xffff)
}

/// FNV-1a over the bytes of `s`: a stable hash (unlike std's, which may
/// change between releases) for shortened names.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Checks that `err` is [`Error::InvalidInput`] on `field`.
#[track_caller]
pub(crate) fn expect_invalid_input(err: &Error, field: &str, what: impl Display) {
    match err {
        Error::InvalidInput {
            field: f, reason, ..
        } => {
            assert_eq!(
                f, field,
                "{what}: InvalidInput names field {f:?} ({reason})"
            );
            assert!(!reason.is_empty(), "{what}: InvalidInput gives no reason");
        }
        other => panic!("{what}: expected InvalidInput on {field:?}; got {other} ({other:?})"),
    }
}

/// Checks that `err` refuses a request for the resource's state or for the
/// request's content ([`Error::InvalidState`] or [`Error::InvalidInput`]).
#[track_caller]
pub(crate) fn expect_refused(err: &Error, what: impl Display) {
    assert!(
        matches!(err, Error::InvalidState { .. } | Error::InvalidInput { .. }),
        "{what}: expected InvalidState or InvalidInput; got {err} ({err:?})"
    );
}

#[cfg(test)]
mod tests {
    use super::fit_name;

    #[test]
    fn names_fit_the_limit_only_when_there_is_one() {
        let long = "a-rather-long-word-for-a-name";
        assert_eq!(
            fit_name("conf123456-", long, None),
            format!("conf123456-{long}")
        );
        assert_eq!(fit_name("conf123456-", "snap", Some(32)), "conf123456-snap");
        let short = fit_name("conf123456-", long, Some(20));
        assert_eq!(short.chars().count(), 20, "{short}");
        assert!(short.starts_with("conf123456-a-rat"), "{short}");
        // Stable, and distinct for words with the same start.
        assert_eq!(short, fit_name("conf123456-", long, Some(20)));
        assert_ne!(
            short,
            fit_name("conf123456-", "a-rather-long-word-for-another", Some(20))
        );
    }

    #[test]
    #[should_panic(expected = "max_name_len 15 is too short")]
    fn a_limit_below_the_prefix_is_refused_clearly() {
        fit_name("conf123456-", "snapshot", Some(15));
    }
}
