//! The simulator itself under faults that hide a create's outcome: with an
//! idempotency key, no create is made twice and none is left behind.

use volume_core::{CreateVolume, Size};
use volume_sim::testing::faulted_creates;
use volume_sim::Sim;

#[tokio::test]
async fn faulted_creates_make_no_duplicates_and_no_orphans() {
    let sim = Sim::new();
    let template = CreateVolume::new("idem", Size::gib(1));
    let report = faulted_creates(&sim, sim.engine(), &template, 1_000).await;
    report.assert_clean();
}

#[tokio::test]
async fn faulted_snapshot_creates_make_no_duplicates_and_no_orphans() {
    use volume_core::{BlockStorage, CreateSnapshot};
    use volume_sim::testing::faulted_snapshot_creates;
    let sim = Sim::new();
    let volume = sim
        .create_volume(&CreateVolume::new("snapped", Size::gib(1)))
        .await
        .unwrap();
    let template = CreateSnapshot::new(volume.id, "s");
    faulted_snapshot_creates(&sim, sim.engine(), &template, 200)
        .await
        .assert_clean();
}
