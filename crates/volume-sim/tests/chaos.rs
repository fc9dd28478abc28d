//! The chaos matrix against the in-process simulator: every operation
//! under every kind of fault (see `volume_sim::testing::chaos`), each cell
//! on a `Sim` of its own seeded from the cell's seed.

use volume_sim::testing::chaos::{run_matrix, ChaosBackend};
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
