//! The conformance battery against the simulator: directly, through
//! `Arc<dyn BlockStorage>`, with transitions that take time, with a
//! Linode-like policy (10 GiB minimum, offline resize, numeric ids, small
//! pages) and with most capabilities switched off.

use std::sync::Arc;
use std::time::Duration;

use volume_core::{BlockStorage, DynBlockStorage, Size};
use volume_sim::engine::{AttachedResize, ClockMode, Delays, IdStyle, Policy};
use volume_sim::Sim;

/// The default simulator.
async fn sim() -> Sim {
    Sim::new()
}

/// The default simulator, behind `Arc<dyn BlockStorage>`.
async fn dyn_sim() -> DynBlockStorage {
    Arc::new(Sim::new())
}

/// Every transition takes 2 simulated seconds, on a clock running 200 times
/// faster than the wall clock (10 ms each): the waiters have work to do.
async fn slow_sim() -> Sim {
    Sim::builder()
        .policy(Policy::default().with_delays(Delays::uniform(Duration::from_secs(2))))
        .clock(ClockMode::Wall { speed: 200.0 })
        .build()
}

/// Like Linode: 10 GiB to 10 TiB, resize only while detached, numeric ids,
/// no clones or backups, volumes from snapshots never larger.
async fn linode_like() -> Box<dyn BlockStorage> {
    let mut policy = Policy::default();
    policy.provider = "linode-like";
    policy.min_size = Size::gib(10);
    policy.max_size = Size::gib(10 * 1024);
    policy.attached_resize = AttachedResize::Refused;
    policy.id_style = IdStyle::Numeric;
    policy.clone = false;
    policy.backups = false;
    policy.incremental_backups = false;
    policy.volume_from_snapshot_larger = false;
    policy.default_page_size = 25;
    policy.max_page_size = 100;
    Box::new(Sim::builder().policy(policy).build())
}

/// Almost nothing but volumes: no snapshots, backups, clones, resize or
/// labels; UUID ids.
async fn bare() -> Sim {
    let mut policy = Policy::default();
    policy.provider = "bare";
    policy.id_style = IdStyle::Uuid;
    policy.snapshots = false;
    policy.volume_from_snapshot = false;
    policy.volume_from_snapshot_larger = false;
    policy.clone = false;
    policy.backups = false;
    policy.incremental_backups = false;
    policy.labels = false;
    Sim::builder().policy(policy).build()
}

volume_core::conformance_tests!(sim);
volume_core::conformance_tests!(mod through_arc_dyn, dyn_sim);
volume_core::conformance_tests!(mod with_delays, slow_sim);
volume_core::conformance_tests!(mod like_linode, linode_like);
volume_core::conformance_tests!(mod with_little, bare);

/// `run_all` runs every case against one backend and reports them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_reports_every_case() {
    let sim = Sim::new();
    let report = volume_core::conformance::run_all(&sim).await;
    assert_eq!(report.outcomes.len(), volume_core::conformance::CASES.len());
    assert!(report.passed(), "{report}");
}

/// The battery bites: a backend with one bug fails the cases about it.
mod mutants {
    use std::fmt;

    use futures::FutureExt;
    use volume_core::conformance::CASES;
    use volume_core::{
        async_trait, Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup,
        CreateSnapshot, CreateVolume, Error, Instance, InstanceId, ListBackups, ListSnapshots,
        ListVolumes, Page, PageToken, ResourceKind, RestoreBackup, Result, Size, Snapshot,
        SnapshotId, UpdateVolume, Volume, VolumeId,
    };
    use volume_sim::Sim;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Bug {
        None,
        /// Not-found for a volume says "resource".
        NotFoundKindOther,
        /// Ids go into the path unescaped: `?`, `#` and a trailing `/` cut them.
        PathNotEscaped,
        /// Each page after the first repeats the last item of the one before.
        DuplicatePages,
        /// A shrink answers the volume unchanged instead of refusing.
        ShrinkAccepted,
        /// Capabilities say no clones, but clones work.
        CloneNotDeclared,
        /// Deleting an attached volume detaches it first.
        DeleteAttached,
        /// The name filter is ignored.
        IgnoresNameFilter,
        /// An unknown instance is reported as an unknown volume.
        InstanceNotFoundAsVolume,
        /// State errors say neither state nor operation.
        VagueInvalidState,
    }

    #[derive(Debug)]
    struct Broken {
        sim: Sim,
        bug: Bug,
    }

    impl fmt::Display for Broken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Broken({:?})", self.bug)
        }
    }

    impl Broken {
        fn id(&self, id: &VolumeId) -> VolumeId {
            if self.bug != Bug::PathNotEscaped {
                return id.clone();
            }
            let cut = id.as_str().split(['?', '#']).next().unwrap_or_default();
            VolumeId::new(cut.trim_end_matches('/')).unwrap_or_else(|_| id.clone())
        }

        fn fix<T>(&self, r: Result<T>) -> Result<T> {
            r.map_err(|e| match (self.bug, e) {
                (
                    Bug::NotFoundKindOther,
                    Error::NotFound {
                        kind: ResourceKind::Volume,
                        id,
                        ..
                    },
                ) => Error::not_found(ResourceKind::Other, id),
                (
                    Bug::InstanceNotFoundAsVolume,
                    Error::NotFound {
                        kind: ResourceKind::Instance,
                        id,
                        ..
                    },
                ) => Error::not_found(ResourceKind::Volume, id),
                (Bug::VagueInvalidState, Error::InvalidState { kind, id, .. }) => {
                    Error::invalid_state(kind, id, "", "request")
                }
                (_, e) => e,
            })
        }
    }

    #[async_trait]
    impl BlockStorage for Broken {
        fn capabilities(&self) -> Capabilities {
            let caps = self.sim.capabilities();
            if self.bug == Bug::CloneNotDeclared {
                caps.with_clone(false)
            } else {
                caps
            }
        }
        async fn list_volumes(
            &self,
            q: &ListVolumes,
            page: Option<&PageToken>,
        ) -> Result<Page<Volume>> {
            let mut q = q.clone();
            if self.bug == Bug::IgnoresNameFilter {
                q.name = None;
            }
            let mut p = self.fix(self.sim.list_volumes(&q, page).await)?;
            if self.bug == Bug::DuplicatePages && page.is_some() && !p.items.is_empty() {
                p.items.insert(0, p.items[0].clone());
            }
            Ok(p)
        }
        async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
            self.fix(self.sim.get_volume(&self.id(id)).await)
        }
        async fn create_volume(&self, r: &CreateVolume) -> Result<Volume> {
            self.fix(self.sim.create_volume(r).await)
        }
        async fn update_volume(&self, id: &VolumeId, r: &UpdateVolume) -> Result<Volume> {
            self.fix(self.sim.update_volume(id, r).await)
        }
        async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
            let id = self.id(id);
            if self.bug == Bug::DeleteAttached {
                if let Ok(v) = self.sim.get_volume(&id).await {
                    if !v.attachments.is_empty() {
                        self.sim.detach_volume(&id).await?;
                    }
                }
            }
            self.fix(self.sim.delete_volume(&id).await)
        }
        async fn attach_volume(&self, id: &VolumeId, i: &InstanceId) -> Result<Volume> {
            self.fix(self.sim.attach_volume(id, i).await)
        }
        async fn detach_volume(&self, id: &VolumeId) -> Result<Volume> {
            self.fix(self.sim.detach_volume(id).await)
        }
        async fn resize_volume(&self, id: &VolumeId, size: Size) -> Result<Volume> {
            if self.bug == Bug::ShrinkAccepted {
                if let Ok(v) = self.sim.get_volume(id).await {
                    if size < v.size {
                        return Ok(v);
                    }
                }
            }
            self.fix(self.sim.resize_volume(id, size).await)
        }
        async fn clone_volume(&self, id: &VolumeId, r: &CloneVolume) -> Result<Volume> {
            self.fix(self.sim.clone_volume(id, r).await)
        }
        async fn create_snapshot(&self, r: &CreateSnapshot) -> Result<Snapshot> {
            self.fix(self.sim.create_snapshot(r).await)
        }
        async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
            self.fix(self.sim.get_snapshot(id).await)
        }
        async fn list_snapshots(
            &self,
            q: &ListSnapshots,
            p: Option<&PageToken>,
        ) -> Result<Page<Snapshot>> {
            self.fix(self.sim.list_snapshots(q, p).await)
        }
        async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
            self.fix(self.sim.delete_snapshot(id).await)
        }
        async fn create_backup(&self, r: &CreateBackup) -> Result<Backup> {
            self.fix(self.sim.create_backup(r).await)
        }
        async fn get_backup(&self, id: &BackupId) -> Result<Backup> {
            self.fix(self.sim.get_backup(id).await)
        }
        async fn list_backups(
            &self,
            q: &ListBackups,
            p: Option<&PageToken>,
        ) -> Result<Page<Backup>> {
            self.fix(self.sim.list_backups(q, p).await)
        }
        async fn delete_backup(&self, id: &BackupId) -> Result<()> {
            self.fix(self.sim.delete_backup(id).await)
        }
        async fn restore_backup(&self, id: &BackupId, r: &RestoreBackup) -> Result<Volume> {
            self.fix(self.sim.restore_backup(id, r).await)
        }
        async fn list_instances(&self, p: Option<&PageToken>) -> Result<Page<Instance>> {
            self.fix(self.sim.list_instances(p).await)
        }
    }

    /// Whether case `name` passes against a fresh `Broken` with `bug`.
    async fn passes(name: &str, bug: Bug) -> bool {
        let case = CASES
            .iter()
            .find(|c| c.name == name)
            .expect("a case of that name");
        let storage = Broken {
            sim: Sim::new(),
            bug,
        };
        std::panic::AssertUnwindSafe((case.run)(&storage))
            .catch_unwind()
            .await
            .is_ok()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_bug_fails_the_cases_about_it() {
        let expectations: &[(Bug, &[&str])] = &[
            (
                Bug::NotFoundKindOther,
                &[
                    "volume_ids_not_found",
                    "volume_round_trip",
                    "errors_are_useful",
                ],
            ),
            (Bug::PathNotEscaped, &["odd_ids_are_not_found"]),
            (Bug::DuplicatePages, &["list_volumes_pages"]),
            (
                Bug::ShrinkAccepted,
                &["resize_refuses_shrink_and_same_size"],
            ),
            (
                Bug::CloneNotDeclared,
                &[
                    "clone_is_independent",
                    "clone_through_create",
                    "unsupported_operations_say_so",
                ],
            ),
            (Bug::DeleteAttached, &["delete_attached_is_refused"]),
            (
                Bug::IgnoresNameFilter,
                &["list_volumes_filters", "volume_round_trip"],
            ),
            (
                Bug::InstanceNotFoundAsVolume,
                &["attach_to_unknown_instance_is_not_found"],
            ),
            (Bug::VagueInvalidState, &["errors_are_useful"]),
        ];
        let mut missed = Vec::new();
        for (bug, cases) in expectations {
            for case in *cases {
                if passes(case, *bug).await {
                    missed.push(format!("{case} passes with bug {bug:?}"));
                }
            }
        }
        assert!(missed.is_empty(), "the battery misses bugs: {missed:#?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wrapper_without_a_bug_passes_everything() {
        let storage = Broken {
            sim: Sim::new(),
            bug: Bug::None,
        };
        let report = volume_core::conformance::run_all(&storage).await;
        assert!(report.passed(), "{report}");
    }
}
