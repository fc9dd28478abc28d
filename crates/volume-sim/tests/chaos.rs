//! The chaos matrix against the in-process simulator: every operation
//! under every kind of fault (see `volume_sim::testing::chaos`), each cell
//! on a `Sim` of its own seeded from the cell's seed. Then the matrix
//! against a careless client, to show that it catches what it is for.

use volume_core::{
    async_trait, Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup,
    CreateSnapshot, CreateVolume, Instance, InstanceId, ListBackups, ListSnapshots, ListVolumes,
    Page, PageToken, RestoreBackup, Result, Size, Snapshot, SnapshotId, UpdateVolume, Volume,
    VolumeId,
};
use volume_sim::engine::SimOp;
use volume_sim::testing::chaos::{
    run_matrix, ChaosBackend, FaultKind, Matrix, DEFAULT_BASE_SEED, OPERATIONS,
};
use volume_sim::{Sim, DEFAULT_TENANT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_under_every_fault() {
    let report = run_matrix("volume-sim", |seed| async move {
        // The default policy: everything supported, instant transitions.
        let sim = Sim::builder().seed(seed).build();
        let engine = sim.engine().clone();
        ChaosBackend::new(sim, engine, DEFAULT_TENANT)
    })
    .await;
    println!("{report}");
    report.assert_clean();
}

/// A client that gets it wrong on purpose: its creates drop the
/// idempotency key and try again on any error, its volume deletes swallow
/// errors, and its `restore_backup` panics.
#[derive(Debug)]
struct Careless(Sim);

impl std::fmt::Display for Careless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "careless {}", self.0)
    }
}

#[async_trait]
impl BlockStorage for Careless {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn list_volumes(&self, q: &ListVolumes, p: Option<&PageToken>) -> Result<Page<Volume>> {
        self.0.list_volumes(q, p).await
    }
    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.0.get_volume(id).await
    }
    async fn create_volume(&self, request: &CreateVolume) -> Result<Volume> {
        let mut blind = request.clone();
        blind.labels.clear();
        match self.0.create_volume(&blind).await {
            Ok(v) => Ok(v),
            Err(_) => self.0.create_volume(&blind).await,
        }
    }
    async fn update_volume(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        self.0.update_volume(id, request).await
    }
    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        let _ = self.0.delete_volume(id).await;
        Ok(())
    }
    async fn attach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        self.0.attach_volume(id, instance).await
    }
    async fn detach_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.0.detach_volume(id).await
    }
    async fn resize_volume(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        self.0.resize_volume(id, new_size).await
    }
    async fn clone_volume(&self, id: &VolumeId, request: &CloneVolume) -> Result<Volume> {
        self.0.clone_volume(id, request).await
    }
    async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        self.0.create_snapshot(request).await
    }
    async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.0.get_snapshot(id).await
    }
    async fn list_snapshots(
        &self,
        q: &ListSnapshots,
        p: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        self.0.list_snapshots(q, p).await
    }
    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        self.0.delete_snapshot(id).await
    }
    async fn create_backup(&self, request: &CreateBackup) -> Result<Backup> {
        self.0.create_backup(request).await
    }
    async fn get_backup(&self, id: &BackupId) -> Result<Backup> {
        self.0.get_backup(id).await
    }
    async fn list_backups(&self, q: &ListBackups, p: Option<&PageToken>) -> Result<Page<Backup>> {
        self.0.list_backups(q, p).await
    }
    async fn delete_backup(&self, id: &BackupId) -> Result<()> {
        self.0.delete_backup(id).await
    }
    async fn restore_backup(&self, _id: &BackupId, _request: &RestoreBackup) -> Result<Volume> {
        panic!("careless restore_backup")
    }
    async fn list_instances(&self, p: Option<&PageToken>) -> Result<Page<Instance>> {
        self.0.list_instances(p).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_careless_client_fails_the_cells_it_should() {
    // The whole matrix, whatever CHAOS_SEED says.
    let report = Matrix::new(DEFAULT_BASE_SEED)
        .run("volume-sim", |seed| async move {
            let sim = Sim::builder().seed(seed).build();
            let engine = sim.engine().clone();
            ChaosBackend::new(Careless(sim), engine, DEFAULT_TENANT)
        })
        .await;
    println!("{report}");
    let failed = |op: SimOp, fault: FaultKind| {
        report
            .failures
            .iter()
            .find(|f| f.op == op && f.fault == fault)
            .map(|f| f.reason.clone())
    };
    // Every cell ran: a panic fails its cell, not the matrix.
    assert_eq!(report.cells, OPERATIONS.len() * FaultKind::ALL.len());
    let duplicate = failed(SimOp::CreateVolume, FaultKind::ErrorAfter).expect("a duplicate");
    assert!(duplicate.contains("duplicates"), "{duplicate}");
    let dropped = failed(SimOp::CreateVolume, FaultKind::DropConnection).expect("a duplicate");
    assert!(dropped.contains("duplicates"), "{dropped}");
    // A swallowed refusal: a success where a 4xx must stay an error, or
    // where a 5xx changed nothing (the seed picks the status).
    let swallowed = failed(SimOp::DeleteVolume, FaultKind::ErrorBefore).expect("a lie");
    assert!(
        swallowed.contains("the change was not made")
            || swallowed.contains("a client must not retry"),
        "{swallowed}"
    );
    for fault in FaultKind::ALL {
        let panicked = failed(SimOp::RestoreBackup, fault).expect("a panic");
        assert!(panicked.contains("careless restore_backup"), "{panicked}");
    }
    // And the rest of the careless client is the simulator: it passes.
    assert!(report.failures.iter().all(|f| matches!(
        f.op,
        SimOp::CreateVolume | SimOp::DeleteVolume | SimOp::RestoreBackup
    )));
    assert!(report.passed > 100, "{report}");
    // Every failure names its seed and how to replay it.
    let text = report.to_string();
    assert!(text.contains("CHAOS_SEED=0x"), "{text}");
}
