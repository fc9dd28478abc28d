//! The chaos matrix (see `volume_sim::testing::chaos`) against
//! `LunaNode` talking to volume-sim's LunaNode fake on loopback: every
//! operation under every kind of fault, each cell on a fake of its own
//! with instant transitions, seeded from the cell's seed. The client polls
//! every millisecond for at most 2 s, so a stuck operation ends the call
//! quickly.

use std::time::Duration;

use volume_core::http::{BackoffConfig, RetryConfig};
use volume_lunanode::{LunaNodeBuilder, Polling};
use volume_sim::engine::{Delays, SimOp};
use volume_sim::fake::lunanode::{LunaNodeFake, DEFAULT_API_ID, DEFAULT_API_KEY, DEFAULT_TENANT};
use volume_sim::testing::chaos::{run_matrix, ChaosBackend};
use volume_sim::testing::Served;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_under_every_fault() {
    let report = run_matrix("volume-lunanode", |seed| async move {
        let fake = LunaNodeFake::builder()
            .delays(Delays::default())
            .seed(seed)
            .build();
        let server = fake.start().await;
        let client = LunaNodeBuilder::new()
            .with_api_id(DEFAULT_API_ID)
            .with_api_key(DEFAULT_API_KEY)
            .with_endpoint(LunaNodeFake::base_url(&server))
            .with_retry(RetryConfig::default().with_backoff(BackoffConfig::new(
                Duration::from_millis(5),
                Duration::from_millis(50),
            )))
            .with_polling(Polling {
                interval: Duration::from_millis(1),
                max_wait: Duration::from_secs(2),
            })
            .build()
            .expect("a client of the fake");
        let engine = fake.engine().clone();
        // LunaNode has no snapshot-info call: the client reads one snapshot
        // from `volume/snapshot-list`, which the fake counts as a listing.
        ChaosBackend::new(Served::new(client, server), engine, DEFAULT_TENANT)
            .with_route(SimOp::GetSnapshot, SimOp::ListSnapshots)
    })
    .await;
    println!("{report}");
    report.assert_clean();
}
