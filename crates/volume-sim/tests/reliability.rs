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
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.orphans, 0, "{report:?}");
    assert_eq!(report.wrong, 0, "{report:?}");
    assert_eq!(report.succeeded, 1_000, "{report:?}");
}
