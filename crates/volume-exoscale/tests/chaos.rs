//! The chaos matrix (see `volume_sim::testing::chaos`) against
//! `Exoscale` talking to volume-sim's Exoscale fake on loopback: every
//! operation under every kind of fault, each cell on a fake of its own
//! with instant transitions, seeded from the cell's seed. Operations are
//! polled every millisecond for at most 2 s, so a stuck one ends the call
//! quickly.

use std::time::Duration;

use volume_core::http::{BackoffConfig, RetryConfig};
use volume_core::VolumeState;
use volume_exoscale::{ExoscaleBuilder, OperationPolling};
use volume_sim::engine::Delays;
use volume_sim::fake::exoscale::{ExoscaleFake, DEFAULT_KEY, DEFAULT_SECRET, DEFAULT_TENANT};
use volume_sim::testing::chaos::{run_matrix, ChaosBackend};
use volume_sim::testing::Served;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_under_every_fault() {
    let report = run_matrix("volume-exoscale", |seed| async move {
        let fake = ExoscaleFake::builder()
            .delays(Delays::default())
            .seed(seed)
            .build();
        let server = fake.start().await;
        let client = ExoscaleBuilder::new()
            .with_api_key(DEFAULT_KEY)
            .with_api_secret(DEFAULT_SECRET)
            .with_zone(fake.zone().as_str())
            .with_endpoint(ExoscaleFake::base_url(&server))
            .with_retry(RetryConfig::default().with_backoff(BackoffConfig::new(
                Duration::from_millis(5),
                Duration::from_millis(50),
            )))
            .with_operation_polling(OperationPolling::fixed(
                Duration::from_millis(1),
                Duration::from_secs(2),
            ))
            .build()
            .expect("a client of the fake");
        let engine = fake.engine().clone();
        // Exoscale has no word for a resize under way: the fake shows the
        // volume `attached` or `detached`.
        ChaosBackend::new(Served::new(client, server), engine, DEFAULT_TENANT)
            .with_hidden_states([VolumeState::Resizing])
    })
    .await;
    println!("{report}");
    report.assert_clean();
}
