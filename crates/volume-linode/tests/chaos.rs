//! The chaos matrix (see `volume_sim::testing::chaos`) against `Linode`
//! talking to volume-sim's Linode fake on loopback: every operation under
//! every kind of fault, each cell on a fake of its own with instant
//! transitions, seeded from the cell's seed.

use std::time::Duration;

use volume_core::http::{BackoffConfig, RetryConfig};
use volume_core::VolumeState;
use volume_linode::LinodeBuilder;
use volume_sim::engine::Delays;
use volume_sim::fake::linode::{LinodeFake, DEFAULT_TENANT, DEFAULT_TOKEN};
use volume_sim::testing::chaos::{run_matrix, ChaosBackend};
use volume_sim::testing::Served;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_under_every_fault() {
    let report = run_matrix("volume-linode", |seed| async move {
        let fake = LinodeFake::builder()
            .delays(Delays::default())
            .seed(seed)
            .build();
        let server = fake.start().await;
        let client = LinodeBuilder::new()
            .with_token(DEFAULT_TOKEN)
            .with_base_url(LinodeFake::base_url(&server))
            .with_retry(RetryConfig::default().with_backoff(BackoffConfig::new(
                Duration::from_millis(5),
                Duration::from_millis(50),
            )))
            .build()
            .expect("a client of the fake");
        let engine = fake.engine().clone();
        // Linode has no word for these: the fake shows them `active`.
        ChaosBackend::new(Served::new(client, server), engine, DEFAULT_TENANT).with_hidden_states([
            VolumeState::Attaching,
            VolumeState::Detaching,
            VolumeState::Deleting,
        ])
    })
    .await;
    println!("{report}");
    report.assert_clean();
}
